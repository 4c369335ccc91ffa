//! In-memory connections (`HttpConnectionDispatcher::connect_in_memory`) run a hub exactly
//! as a WebSocket would: handshake, dispatch, fan-out, authorization of the request, and
//! the disconnect when the client end is dropped.
#![allow(clippy::unwrap_used, missing_docs)]

use bytes::Bytes;
use signalr::endpoint::InMemoryConnectError;
use signalr::hub::UserId;
use signalr::prelude::*;
use signalr::protocol::{HubProtocol, OutboundMessage};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[signalr::hub]
pub trait Depot {
    async fn echo(&self, text: String) -> String;
    async fn whoami(&self, cx: &Ctx) -> String;
}

#[signalr::hub]
#[authorize]
pub trait Members {
    async fn hello(&self) -> u32;
}

#[derive(Default)]
struct DepotHub {
    left: Arc<AtomicUsize>,
}

impl Depot for DepotHub {
    async fn echo(&self, text: String) -> String {
        text
    }

    async fn whoami(&self, cx: &Ctx) -> String {
        format!(
            "{} over {}",
            cx.user_id().unwrap_or("nobody"),
            cx.transport().name()
        )
    }

    async fn on_disconnected(&self, _cx: &Ctx, _reason: &DisconnectReason) {
        self.left.fetch_add(1, Ordering::SeqCst);
    }
}

struct MembersHub;

impl Members for MembersHub {
    async fn hello(&self) -> u32 {
        1
    }
}

fn request(user: Option<&str>) -> axum::http::request::Parts {
    let mut request = axum::http::Request::new(()).into_parts().0;
    if let Some(user) = user {
        request.extensions.insert(UserId::new(user));
    }
    request
}

fn handshake(protocol: HubProtocol) -> Bytes {
    Bytes::from(format!(
        "{{\"protocol\":\"{}\",\"version\":1}}\u{1e}",
        protocol.name()
    ))
}

fn invocation<A: serde::Serialize>(protocol: HubProtocol, target: &str, arguments: &A) -> Bytes {
    OutboundMessage::Invocation {
        invocation_id: Some("1"),
        target,
        arguments,
        stream_ids: &[],
    }
    .encode(protocol)
    .unwrap()
}

#[tokio::test]
async fn an_in_memory_client_handshakes_invokes_and_is_reached_by_a_broadcast() {
    let server = DepotHub::default().into_server();
    let context = server.context();
    let endpoint = server.into_dispatcher();
    let mut json = endpoint.connect_in_memory(request(Some("ada"))).unwrap();
    json.send(handshake(HubProtocol::Json)).await.unwrap();
    assert_eq!(&json.recv().await.unwrap()[..], b"{}\x1e");
    json.send(invocation(HubProtocol::Json, "Echo", &("crate 7",)))
        .await
        .unwrap();
    assert_eq!(
        &json.recv().await.unwrap()[..],
        &b"{\"type\":3,\"invocationId\":\"1\",\"result\":\"crate 7\"}\x1e"[..]
    );
    json.send(invocation(HubProtocol::Json, "WhoAmI", &()))
        .await
        .unwrap();
    let answer = json.recv().await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.contains("ada over WebSockets"), "{answer}");

    let mut msgpack = endpoint.connect_in_memory(request(None)).unwrap();
    msgpack
        .send(handshake(HubProtocol::MessagePack))
        .await
        .unwrap();
    assert_eq!(&msgpack.recv().await.unwrap()[..], b"{}\x1e");
    assert_eq!(endpoint.connection_count(), 2);

    context
        .clients()
        .all()
        .send("Arrived", &("pallet",))
        .await
        .unwrap();
    assert_eq!(
        &json.recv().await.unwrap()[..],
        &b"{\"type\":1,\"target\":\"Arrived\",\"arguments\":[\"pallet\"]}\x1e"[..]
    );
    let expected = OutboundMessage::Invocation {
        invocation_id: None,
        target: "Arrived",
        arguments: &("pallet",),
        stream_ids: &[],
    }
    .encode(HubProtocol::MessagePack)
    .unwrap();
    assert_eq!(msgpack.recv().await.unwrap(), expected);
}

#[tokio::test]
async fn dropping_the_client_end_disconnects_it() {
    let hub = DepotHub::default();
    let left = hub.left.clone();
    let endpoint = hub.into_server().into_dispatcher();
    let mut client = endpoint.connect_in_memory(request(None)).unwrap();
    client.send(handshake(HubProtocol::Json)).await.unwrap();
    client.recv().await.unwrap();
    drop(client);
    tokio::time::timeout(Duration::from_secs(5), async {
        while left.load(Ordering::SeqCst) == 0 || endpoint.connection_count() != 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("on_disconnected ran and the connection is gone");
}

#[tokio::test]
async fn bad_input_ends_the_connection_with_a_reason() {
    let endpoint = DepotHub::default().into_server().into_dispatcher();
    let mut client = endpoint.connect_in_memory(request(None)).unwrap();
    client
        .send(Bytes::from_static(
            b"{\"protocol\":\"carrier-pigeon\",\"version\":1}\x1e",
        ))
        .await
        .unwrap();
    let answer = client.recv().await.unwrap();
    assert!(
        String::from_utf8_lossy(&answer).contains("carrier-pigeon"),
        "{answer:?}"
    );
    assert_eq!(client.recv().await, None, "the server ended the connection");
}

#[tokio::test]
async fn an_authorized_hub_checks_the_request_of_an_in_memory_connection() {
    let endpoint = MembersHub.into_server().into_dispatcher();
    assert_eq!(
        endpoint.connect_in_memory(request(None)).unwrap_err(),
        InMemoryConnectError::Refused(axum::http::StatusCode::UNAUTHORIZED)
    );
    assert!(endpoint.connect_in_memory(request(Some("bob"))).is_ok());
}

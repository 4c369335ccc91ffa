//! A lifetime manager installed with `HubServer::lifetime_manager` carries every send,
//! group change, client result and connection event of a running hub, with hub code
//! unchanged: here a manager that counts what passes and delegates to the default.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
use common::http::serve;
use common::invocation;
use common::ws::Client;

use signalr::hub::{
    BoxFuture, ClientInvocation, ClientTarget, DefaultHubLifetimeManager, GroupError,
    HubConnectionContext, HubDispatcher, HubLifetimeManager, SerializedHubMessage,
};
use signalr::prelude::*;
use signalr::protocol::{CompletionMessage, RawValue};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[signalr::hub_client]
pub trait Room {
    async fn said(&self, text: String);
    async fn pick(&self) -> u32;
}

#[signalr::hub]
pub trait Rooms {
    async fn join(&self, cx: &Ctx, room: String) -> Result<(), HubError>;
    async fn say(&self, cx: &Ctx, room: String, text: String) -> Result<(), HubError>;
    async fn ask(&self, cx: &Ctx) -> Result<u32, HubError>;
}

struct Hub {
    counts: Arc<Counts>,
}

impl Rooms for Hub {
    async fn on_disconnected(&self, cx: &Ctx, _reason: &DisconnectReason) {
        // Still in the hub: the manager has not been told yet, and the room still
        // reaches the others.
        let left = self.counts.disconnected.load(Ordering::SeqCst) == 0;
        self.counts.hook_ran_first.store(left, Ordering::SeqCst);
        let _ = cx.clients().group("dock").said("someone left".into()).await;
    }

    async fn join(&self, cx: &Ctx, room: String) -> Result<(), HubError> {
        Ok(cx.groups().add_to_group(cx.connection_id(), &room).await?)
    }

    async fn say(&self, cx: &Ctx, room: String, text: String) -> Result<(), HubError> {
        Ok(cx.clients().others_in_group(&room).said(text).await?)
    }

    async fn ask(&self, cx: &Ctx) -> Result<u32, HubError> {
        Ok(cx.clients().caller().pick().await?)
    }
}

/// What passed through the manager.
#[derive(Debug, Default)]
struct Counts {
    connected: AtomicUsize,
    disconnected: AtomicUsize,
    sends: AtomicUsize,
    group_changes: AtomicUsize,
    invocations: AtomicUsize,
    results: AtomicUsize,
    hook_ran_first: AtomicBool,
}

/// Counts, then delegates to the default manager.
struct Counting {
    inner: DefaultHubLifetimeManager,
    counts: Arc<Counts>,
}

fn bump(counter: &AtomicUsize) {
    counter.fetch_add(1, Ordering::SeqCst);
}

impl HubLifetimeManager for Counting {
    fn on_connected(&self, connection: HubConnectionContext) -> BoxFuture<'_, ()> {
        bump(&self.counts.connected);
        self.inner.on_connected(connection)
    }

    fn on_disconnected<'a>(&'a self, connection_id: &'a str) -> BoxFuture<'a, ()> {
        bump(&self.counts.disconnected);
        self.inner.on_disconnected(connection_id)
    }

    fn send<'a>(
        &'a self,
        target: &'a ClientTarget,
        message: &'a SerializedHubMessage<'a>,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        bump(&self.counts.sends);
        self.inner.send(target, message)
    }

    fn add_to_group<'a>(
        &'a self,
        connection_id: &'a str,
        group: &'a str,
    ) -> BoxFuture<'a, Result<(), GroupError>> {
        bump(&self.counts.group_changes);
        self.inner.add_to_group(connection_id, group)
    }

    fn remove_from_group<'a>(
        &'a self,
        connection_id: &'a str,
        group: &'a str,
    ) -> BoxFuture<'a, Result<(), GroupError>> {
        bump(&self.counts.group_changes);
        self.inner.remove_from_group(connection_id, group)
    }

    fn invoke_connection<'a>(
        &'a self,
        connection_id: &'a str,
        invocation: ClientInvocation<'a>,
    ) -> BoxFuture<'a, Result<RawValue, ClientResultError>> {
        bump(&self.counts.invocations);
        self.inner.invoke_connection(connection_id, invocation)
    }

    fn set_connection_result(&self, connection_id: &str, completion: CompletionMessage) -> bool {
        bump(&self.counts.results);
        self.inner.set_connection_result(connection_id, completion)
    }
}

fn counted_hub() -> (HubServer<impl HubDispatcher>, Arc<Counts>) {
    let counts = Arc::new(Counts::default());
    let server = Hub {
        counts: counts.clone(),
    }
    .into_server()
    .lifetime_manager(Counting {
        inner: DefaultHubLifetimeManager::new(),
        counts: counts.clone(),
    });
    (server, counts)
}

async fn eventually(what: &str, check: impl Fn() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < Duration::from_secs(3), "{what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn group_sends_and_group_changes_go_through_the_installed_manager() {
    let (server, counts) = counted_hub();
    let addr = serve(server).await;
    let mut listener = Client::json(addr).await;
    let mut speaker = Client::json(addr).await;
    listener
        .send_text(&invocation(Some("1"), "Join", "[\"dock\"]"))
        .await;
    assert_eq!(
        listener.next_text().await,
        "{\"type\":3,\"invocationId\":\"1\"}\x1e"
    );
    speaker
        .send_text(&invocation(Some("2"), "Say", "[\"dock\",\"truck at 4\"]"))
        .await;
    assert_eq!(
        speaker.next_text().await,
        "{\"type\":3,\"invocationId\":\"2\"}\x1e"
    );
    assert_eq!(
        listener.next_text().await,
        "{\"type\":1,\"target\":\"Said\",\"arguments\":[\"truck at 4\"]}\x1e"
    );
    assert_eq!(counts.connected.load(Ordering::SeqCst), 2);
    assert_eq!(counts.group_changes.load(Ordering::SeqCst), 1);
    assert_eq!(counts.sends.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn client_results_and_disconnects_go_through_the_installed_manager() {
    let (server, counts) = counted_hub();
    let addr = serve(server).await;
    let mut client = Client::json(addr).await;
    client.send_text(&invocation(Some("1"), "Ask", "[]")).await;
    let asked = client.next_text().await;
    let id = asked
        .split("\"invocationId\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    assert!(asked.contains("\"target\":\"Pick\""), "{asked:?}");
    client
        .send_text(&format!(
            "{{\"type\":3,\"invocationId\":\"{id}\",\"result\":7}}\x1e"
        ))
        .await;
    assert_eq!(
        client.next_text().await,
        "{\"type\":3,\"invocationId\":\"1\",\"result\":7}\x1e"
    );
    assert_eq!(counts.invocations.load(Ordering::SeqCst), 1);
    assert_eq!(counts.results.load(Ordering::SeqCst), 1);
    client.send_text("{\"type\":7}\x1e").await;
    eventually("the connection left the manager", || {
        counts.disconnected.load(Ordering::SeqCst) == 1
    })
    .await;
}

#[tokio::test]
async fn on_disconnected_runs_while_the_connection_is_still_in_the_hub() {
    let (server, counts) = counted_hub();
    let addr = serve(server).await;
    let mut staying = Client::json(addr).await;
    let mut leaving = Client::json(addr).await;
    for (client, id) in [(&mut staying, "1"), (&mut leaving, "2")] {
        client
            .send_text(&invocation(Some(id), "Join", "[\"dock\"]"))
            .await;
        assert_eq!(
            client.next_text().await,
            format!("{{\"type\":3,\"invocationId\":\"{id}\"}}\x1e")
        );
    }
    leaving.send_text("{\"type\":7}\x1e").await;
    assert_eq!(
        staying.next_text().await,
        "{\"type\":1,\"target\":\"Said\",\"arguments\":[\"someone left\"]}\x1e"
    );
    eventually("the connection left the manager", || {
        counts.disconnected.load(Ordering::SeqCst) == 1
    })
    .await;
    assert!(
        counts.hook_ran_first.load(Ordering::SeqCst),
        "on_disconnected ran after the connection had left the lifetime manager"
    );
}

#[test]
#[should_panic(expected = "lifetime_manager must be called before HubServer::context")]
fn choosing_a_manager_after_taking_a_context_is_refused() {
    let server = Hub {
        counts: Arc::default(),
    }
    .into_server();
    let _context = server.context();
    let _ = server.lifetime_manager(DefaultHubLifetimeManager::new());
}

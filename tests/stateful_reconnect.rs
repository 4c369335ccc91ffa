//! Stateful reconnect on the wire (protocol.md §6): what a dropped WebSocket leaves
//! behind, what the next one replays, what is dropped as a duplicate, and when a
//! connection that does not come back is disposed. The official client's view is in
//! `tests/node/stateful_reconnect.test.js`.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
use common::http::{request, serve};
use common::invocation;
use common::ws::{refused_status, Client};

use signalr::connection::HttpConnectionOptions;
use signalr::prelude::*;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const HANDSHAKE_V2: &str = "{\"protocol\":\"json\",\"version\":2}\x1e";
const HANDSHAKE_V1: &str = "{\"protocol\":\"json\",\"version\":1}\x1e";

#[signalr::hub_client]
pub trait Ticks {
    async fn tick(&self, n: u32);
}

#[signalr::hub]
pub trait Relay {
    /// Sends `Tick(1..=count)` to the caller.
    async fn send_ticks(&self, cx: &Ctx, count: u32) -> Result<(), HubError>;
    async fn add(&self, a: i64, b: i64) -> i64;
    async fn connection_id(&self, cx: &Ctx) -> String;
}

struct Hub(Arc<AtomicUsize>);

impl Relay for Hub {
    async fn send_ticks(&self, cx: &Ctx, count: u32) -> Result<(), HubError> {
        for n in 1..=count {
            cx.clients().caller().tick(n).await?;
        }
        Ok(())
    }

    async fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }

    async fn connection_id(&self, cx: &Ctx) -> String {
        cx.connection_id().to_owned()
    }

    async fn on_disconnected(&self, _cx: &Ctx, _reason: &DisconnectReason) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

struct Server {
    addr: SocketAddr,
    disconnected: Arc<AtomicUsize>,
}

async fn server(disconnect_timeout: Duration, buffer_size: usize) -> Server {
    let disconnected = Arc::new(AtomicUsize::new(0));
    let options = signalr::hub::HubOptions {
        stateful_reconnect_buffer_size: buffer_size,
        ..Default::default()
    };
    let addr = serve(
        Hub(disconnected.clone())
            .into_server()
            .hub_options(options)
            .transport_options(HttpConnectionOptions {
                allow_stateful_reconnects: true,
                disconnect_timeout,
                ..Default::default()
            }),
    )
    .await;
    Server { addr, disconnected }
}

/// Negotiates asking for stateful reconnect; returns the token and the connection id.
async fn negotiate_stateful(addr: SocketAddr) -> (String, String) {
    let response = request(
        addr,
        "POST",
        "/hub/negotiate?negotiateVersion=1&useStatefulReconnect=true",
        &[],
        b"",
    )
    .await;
    let body = response.json();
    assert_eq!(body["useStatefulReconnect"], true, "{body}");
    (
        body["connectionToken"].as_str().unwrap().to_owned(),
        body["connectionId"].as_str().unwrap().to_owned(),
    )
}

async fn connect(addr: SocketAddr, token: &str, handshake: &str) -> Client {
    let mut client = Client::open(addr, &format!("?id={token}"), false).await;
    client.handshake(handshake).await;
    client
}

/// Reopens the WebSocket of `token` the way the official clients do: no handshake.
async fn reconnect(addr: SocketAddr, token: &str) -> Client {
    let mut client = Client::open(addr, &format!("?id={token}"), false).await;
    // What a resumed connection receives has no handshake response before it.
    client.skip_handshake();
    client
}

fn tick(n: u32) -> String {
    format!("{{\"type\":1,\"target\":\"Tick\",\"arguments\":[{n}]}}\x1e")
}

async fn wait_for(what: &str, condition: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} did not happen"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The connection of `token` was disposed: `on_disconnected` ran and its WebSocket is
/// refused as unknown.
async fn assert_gone(server: &Server, token: &str) {
    let disconnected = server.disconnected.clone();
    wait_for("on_disconnected", || {
        disconnected.load(Ordering::SeqCst) == 1
    })
    .await;
    assert_eq!(
        refused_status(server.addr, &format!("?id={token}")).await,
        404
    );
}

#[tokio::test]
async fn a_new_websocket_resumes_the_connection_after_a_replay_of_what_was_not_acknowledged() {
    let server = server(Duration::from_secs(5), 100_000).await;
    let (token, connection_id) = negotiate_stateful(server.addr).await;
    let mut client = connect(server.addr, &token, HANDSHAKE_V2).await;
    client
        .send_text(&invocation(Some("1"), "SendTicks", "[3]"))
        .await;
    for n in 1..=3 {
        assert_eq!(client.next_text().await, tick(n));
    }
    assert_eq!(
        client.next_text().await,
        "{\"type\":3,\"invocationId\":\"1\"}\x1e"
    );
    // The server acknowledges the one message it processed, about a second later.
    assert_eq!(
        client.next_text().await,
        "{\"type\":8,\"sequenceId\":1}\x1e"
    );
    // The client saw the first two of the server's four messages, then the socket drops.
    client.send_text("{\"type\":8,\"sequenceId\":2}\x1e").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(client);

    let mut client = reconnect(server.addr, &token).await;
    assert_eq!(
        client.next_text().await,
        "{\"type\":9,\"sequenceId\":3}\x1e"
    );
    assert_eq!(client.next_text().await, tick(3));
    assert_eq!(
        client.next_text().await,
        "{\"type\":3,\"invocationId\":\"1\"}\x1e"
    );
    // The client replays its one message (which it never saw acknowledged): a duplicate,
    // dropped, so no Ticks come again. Its next message is new.
    client.send_text("{\"type\":9,\"sequenceId\":1}\x1e").await;
    client
        .send_text(&invocation(Some("1"), "SendTicks", "[3]"))
        .await;
    client.add_json("2", 2, 3).await;
    client
        .send_text(&invocation(Some("3"), "ConnectionId", "[]"))
        .await;
    assert_eq!(
        client.next_text().await,
        format!("{{\"type\":3,\"invocationId\":\"3\",\"result\":\"{connection_id}\"}}\x1e")
    );
    assert_eq!(
        client.next_text().await,
        "{\"type\":8,\"sequenceId\":3}\x1e",
        "the duplicate was counted, not processed"
    );
    assert_eq!(server.disconnected.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_connection_whose_client_does_not_come_back_is_disposed_after_the_disconnect_timeout() {
    let server = server(Duration::from_millis(800), 100_000).await;
    let (token, _) = negotiate_stateful(server.addr).await;
    let mut client = connect(server.addr, &token, HANDSHAKE_V2).await;
    client.add_json("1", 1, 1).await;
    drop(client);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        server.disconnected.load(Ordering::SeqCst),
        0,
        "the connection waits for its client"
    );
    assert_gone(&server, &token).await;
}

#[tokio::test]
async fn with_a_version_1_handshake_a_dropped_websocket_ends_the_connection() {
    let server = server(Duration::from_secs(5), 100_000).await;
    let (token, _) = negotiate_stateful(server.addr).await;
    let mut client = connect(server.addr, &token, HANDSHAKE_V1).await;
    client.add_json("1", 1, 1).await;
    // No Ack ever comes on a version 1 connection.
    client.expect_silence(Duration::from_millis(1300)).await;
    drop(client);
    assert_gone(&server, &token).await;
}

#[tokio::test]
async fn a_second_websocket_takes_over_from_one_the_server_still_holds() {
    let server = server(Duration::from_secs(5), 100_000).await;
    let (token, _) = negotiate_stateful(server.addr).await;
    let mut first = connect(server.addr, &token, HANDSHAKE_V2).await;
    first.add_json("1", 1, 1).await;
    // The client gave up on `first` (a dead network path) while the server did not
    // notice: the new socket replaces it.
    let mut second = reconnect(server.addr, &token).await;
    assert_eq!(
        second.next_text().await,
        "{\"type\":9,\"sequenceId\":1}\x1e"
    );
    assert_eq!(
        second.next_text().await,
        "{\"type\":3,\"invocationId\":\"1\",\"result\":2}\x1e"
    );
    first.expect_end().await;
    second.send_text("{\"type\":9,\"sequenceId\":2}\x1e").await;
    second.add_json("2", 2, 2).await;
    assert_eq!(server.disconnected.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn without_stateful_reconnect_a_second_websocket_is_refused() {
    let addr = serve(Hub(Arc::default()).into_server()).await;
    let token = common::http::negotiate(addr).await;
    let mut client = connect(addr, &token, HANDSHAKE_V2).await;
    client.add_json("1", 1, 1).await;
    assert_eq!(refused_status(addr, &format!("?id={token}")).await, 409);
    client.add_json("2", 1, 1).await;
}

#[tokio::test]
async fn a_sequence_beyond_what_was_sent_closes_the_connection_with_an_error() {
    let server = server(Duration::from_secs(5), 100_000).await;
    let (token, _) = negotiate_stateful(server.addr).await;
    let mut client = connect(server.addr, &token, HANDSHAKE_V2).await;
    client.send_text("{\"type\":9,\"sequenceId\":5}\x1e").await;
    let close = client.next_text().await;
    assert!(
        close.starts_with("{\"type\":7,\"error\":\"Connection closed with an error."),
        "{close}"
    );
    client.expect_close().await;
}

#[tokio::test]
async fn sending_waits_for_acknowledgements_once_the_replay_buffer_is_full() {
    // Each Tick record is 43 bytes: the third crosses 100 bytes, the fourth waits.
    let server = server(Duration::from_secs(5), 100).await;
    let (token, _) = negotiate_stateful(server.addr).await;
    let mut client = connect(server.addr, &token, HANDSHAKE_V2).await;
    client
        .send_text(&invocation(Some("1"), "SendTicks", "[6]"))
        .await;
    for n in 1..=3 {
        assert_eq!(client.next_text().await, tick(n));
    }
    // The server's own Ack is not sequenced, so it still comes; Ticks do not.
    assert_eq!(
        client.next_text().await,
        "{\"type\":8,\"sequenceId\":1}\x1e"
    );
    client.expect_silence(Duration::from_millis(300)).await;
    client.send_text("{\"type\":8,\"sequenceId\":3}\x1e").await;
    for n in 4..=6 {
        assert_eq!(client.next_text().await, tick(n));
    }
    client.expect_silence(Duration::from_millis(300)).await;
    client.send_text("{\"type\":8,\"sequenceId\":6}\x1e").await;
    assert_eq!(
        client.next_text().await,
        "{\"type\":3,\"invocationId\":\"1\"}\x1e"
    );
}

//! Peers that stop reading lose their socket: every write the server makes has a deadline,
//! so a client that never reads again (zero TCP window) cannot keep a socket and its task.
//!
//! The server's sockets are counted from `/proc/net/tcp` by the server's own port, so the
//! other tests of this binary running at the same time do not disturb the count.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
use common::http::{negotiate, post, send_request};
use common::JSON_HANDSHAKE;

use futures_util::{SinkExt, StreamExt};
use signalr::connection::HttpConnectionOptions;
use signalr::prelude::*;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

#[signalr::hub_client]
pub trait Listener {
    async fn receive(&self, payload: String);
}

#[signalr::hub]
pub trait Quiet {
    async fn ping(&self) -> u32;
}

struct Hub;

impl Quiet for Hub {
    async fn ping(&self) -> u32 {
        1
    }
}

/// Established TCP connections whose local end is the server's port (IPv4 loopback).
fn established_server_sockets(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local_port = fields
                .get(1)
                .and_then(|local| local.rsplit(':').next())
                .and_then(|hex| u16::from_str_radix(hex, 16).ok());
            local_port == Some(port) && fields.get(3) == Some(&"01")
        })
        .count()
}

async fn wait_for_sockets(port: u16, expected: usize, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let now = established_server_sockets(port);
        if now == expected {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "{now} server sockets still open after {within:?}, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const SEND_TIMEOUT: Duration = Duration::from_millis(300);
const CLOSE_TIMEOUT: Duration = Duration::from_millis(300);

/// A hub with short send and close timeouts and a 4 KiB queue; sockets given up after
/// `stall_timeout` without progress.
async fn start(stall_timeout: Duration) -> (HubContext, SocketAddr) {
    let server = Hub.into_server().transport_options(HttpConnectionOptions {
        transport_max_buffer_size: 4 * 1024,
        transport_send_timeout: SEND_TIMEOUT,
        websocket_close_timeout: CLOSE_TIMEOUT,
        ..HttpConnectionOptions::default()
    });
    serve_on(server, stall_timeout).await
}

async fn serve_on(
    server: HubServer<impl signalr::hub::HubDispatcher>,
    stall_timeout: Duration,
) -> (HubContext, SocketAddr) {
    let context = server.context();
    let app = axum::Router::new().route_hub("/hub", server);
    let listener = signalr::bind("127.0.0.1:0")
        .await
        .unwrap()
        .write_stall_timeout(stall_timeout);
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (context, addr)
}

/// A WebSocket after its JSON handshake (skipNegotiation).
async fn handshaken_websocket(addr: SocketAddr) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/hub"))
        .await
        .unwrap();
    ws.send(Message::text(JSON_HANDSHAKE)).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap().into_data().as_ref(),
        b"{}\x1e"
    );
    ws
}

/// An event stream request (never read) and its connection's JSON handshake by POST.
async fn handshaken_event_stream(addr: SocketAddr) -> (String, tokio::net::TcpStream) {
    let token = negotiate(addr).await;
    let stream = send_request(
        addr,
        "GET",
        &format!("/hub?id={token}"),
        &[("Accept", "text/event-stream")],
        b"",
    )
    .await;
    let handshake = post(addr, &token, JSON_HANDSHAKE.as_bytes()).await;
    assert_eq!(handshake.status, 200, "{handshake:?}");
    (token, stream)
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Sends far more than the socket buffers of both ends hold, to a client that reads none.
async fn flood(context: &HubContext) {
    let payload = "x".repeat(64 * 1024);
    for _ in 0..400 {
        context
            .clients()
            .all()
            .receive(payload.clone())
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_websocket_peer_that_stops_reading_loses_its_socket_within_the_send_timeouts() {
    // A stall timeout far longer than the test: the WebSocket transport's own write
    // deadlines must close the socket.
    let (context, addr) = start(Duration::from_secs(600)).await;
    let ws = handshaken_websocket(addr).await;
    wait_for_sockets(addr.port(), 1, Duration::from_secs(3)).await;
    // From here on the client reads nothing: its receive window closes.
    flood(&context).await;
    let limit = SEND_TIMEOUT + CLOSE_TIMEOUT + Duration::from_secs(2);
    wait_for_sockets(addr.port(), 0, limit).await;
    drop(ws);
}

#[tokio::test]
async fn a_server_sent_events_peer_that_stops_reading_loses_its_socket_and_its_connection() {
    let (context, addr) = start(Duration::from_millis(500)).await;
    let (token, stream) = handshaken_event_stream(addr).await;
    wait_for_sockets(addr.port(), 1, Duration::from_secs(3)).await;
    // The event stream is never read.
    flood(&context).await;
    wait_for_sockets(addr.port(), 0, Duration::from_secs(5)).await;
    let started = Instant::now();
    loop {
        let probe = post(addr, &token, b"").await;
        if probe.status == 404 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "the connection was not disposed: {probe:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(stream);
}

#[tokio::test]
async fn with_the_default_timeouts_both_peers_lose_their_sockets_within_fifteen_seconds() {
    // Every option and the listener at their defaults: `transport_send_timeout` 10 s,
    // `websocket_close_timeout` 5 s, `write_stall_timeout` 15 s.
    let (context, addr) = serve_on(Hub.into_server(), signalr::DEFAULT_WRITE_STALL_TIMEOUT).await;
    let ws = handshaken_websocket(addr).await;
    let (_token, stream) = handshaken_event_stream(addr).await;
    wait_for_sockets(addr.port(), 2, Duration::from_secs(3)).await;
    // Neither client reads from here on.
    let started = Instant::now();
    flood(&context).await;
    let gone = wait_for_sockets(addr.port(), 0, Duration::from_secs(25)).await;
    let took = started.elapsed().max(gone);
    assert!(
        took < Duration::from_secs(22),
        "the sockets were given up after {took:?}"
    );
    drop((ws, stream));
}

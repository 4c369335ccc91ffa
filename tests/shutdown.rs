//! Graceful shutdown closes 1,000 connections across every transport within the deadline:
//! each gets a Close allowing reconnect (after its running call finished), WebSockets
//! close with 1000, event streams and long polls end, and the server returns.
//!
//! Shutdown is process-wide, so this binary holds this one test only.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
use common::http::{negotiate, post, request, send_request, start, HttpStream};
use common::JSON_HANDSHAKE;

use futures_util::{SinkExt, StreamExt};
use signalr::prelude::*;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

#[signalr::hub]
pub trait Floor {
    async fn slow(&self, millis: u64) -> u64;
}

struct Hub;

impl Floor for Hub {
    async fn slow(&self, millis: u64) -> u64 {
        tokio::time::sleep(Duration::from_millis(millis)).await;
        millis
    }
}

const CLOSE: &str = "{\"type\":7,\"allowReconnect\":true}\x1e";
const WEBSOCKETS: usize = 700;
const EVENT_STREAMS: usize = 150;
const LONG_POLLS: usize = 150;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn websocket(addr: SocketAddr) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/hub"))
        .await
        .unwrap();
    ws.send(Message::text(JSON_HANDSHAKE)).await.unwrap();
    let reply = ws.next().await.unwrap().unwrap();
    assert_eq!(reply.into_data().as_ref(), b"{}\x1e");
    ws
}

/// Everything a WebSocket receives until the server's close frame, and the frame's code.
async fn until_closed(mut ws: Ws) -> (String, Option<u16>) {
    let mut text = String::new();
    while let Some(Ok(message)) = ws.next().await {
        match message {
            Message::Text(t) => text.push_str(&t),
            Message::Close(frame) => return (text, frame.map(|f| u16::from(f.code))),
            _ => {}
        }
    }
    (text, None)
}

async fn event_stream(addr: SocketAddr) -> HttpStream {
    let token = negotiate(addr).await;
    let mut stream = start(
        addr,
        "GET",
        &format!("/hub?id={token}"),
        &[("Accept", "text/event-stream")],
        b"",
    )
    .await;
    assert_eq!(stream.status, 200);
    assert_eq!(stream.next_piece().await.unwrap(), b":\r\n");
    let sent = post(addr, &token, JSON_HANDSHAKE.as_bytes()).await;
    assert_eq!(sent.status, 200);
    let handshake = stream.next_piece().await.unwrap();
    assert_eq!(handshake, b"data: {}\x1e\r\n\r\n");
    stream
}

/// A Long Polling connection after its handshake, with a poll pending.
async fn long_poll(addr: SocketAddr) -> tokio::net::TcpStream {
    let token = negotiate(addr).await;
    assert_eq!(
        request(addr, "GET", &format!("/hub?id={token}"), &[], b"")
            .await
            .status,
        200
    );
    let sent = post(addr, &token, JSON_HANDSHAKE.as_bytes()).await;
    assert_eq!(sent.status, 200);
    let handshake = request(addr, "GET", &format!("/hub?id={token}"), &[], b"").await;
    assert_eq!(handshake.text(), "{}\x1e");
    send_request(addr, "GET", &format!("/hub?id={token}"), &[], b"").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_connections_across_the_transports_close_cleanly_within_the_deadline() {
    let listener = signalr::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route_hub("/hub", Hub.into_server());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(signalr::serve_listener_with_shutdown(
        listener,
        app,
        async {
            let _ = stopped.await;
        },
    ));

    let mut websockets = Vec::new();
    for _ in 0..WEBSOCKETS {
        websockets.push(websocket(addr).await);
    }
    let mut streams = Vec::new();
    for _ in 0..EVENT_STREAMS {
        streams.push(event_stream(addr).await);
    }
    let mut polls = Vec::new();
    for _ in 0..LONG_POLLS {
        polls.push(long_poll(addr).await);
    }
    // One connection has a call running when the shutdown begins: it finishes first.
    let mut busy = websockets.pop().unwrap();
    busy.send(Message::text(
        "{\"type\":1,\"invocationId\":\"1\",\"target\":\"Slow\",\"arguments\":[800]}\x1e",
    ))
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let began = Instant::now();
    stop.send(()).unwrap();

    let (busy_text, busy_code) = until_closed(busy).await;
    assert_eq!(
        busy_text,
        format!("{{\"type\":3,\"invocationId\":\"1\",\"result\":800}}\x1e{CLOSE}"),
        "the running call's Completion, then the Close"
    );
    assert_eq!(busy_code, Some(1000));
    let closed: Vec<(String, Option<u16>)> =
        futures_util::future::join_all(websockets.into_iter().map(until_closed)).await;
    for (text, code) in &closed {
        assert_eq!(text, CLOSE);
        assert_eq!(*code, Some(1000));
    }
    for mut stream in streams {
        assert_eq!(
            stream.next_piece().await.unwrap(),
            format!("data: {CLOSE}\r\n\r\n").as_bytes()
        );
        assert_eq!(stream.next_piece().await, None, "the event stream ended");
    }
    for pending in polls {
        let answered = HttpStream::read_head(pending).await.into_response().await;
        assert_eq!(answered.status, 200, "{answered:?}");
        assert_eq!(answered.text(), CLOSE);
    }
    let served = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server returned");
    served.unwrap().unwrap();
    let took = began.elapsed();
    assert!(
        took < Duration::from_secs(5) + Duration::from_secs(2),
        "shutdown took {took:?}, past the 5 s deadline"
    );
}

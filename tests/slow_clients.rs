//! A client that stops reading cannot hold up a broadcast for longer than the transport
//! send timeout: the others get every message, the stuck one is disconnected.
#![allow(clippy::unwrap_used, missing_docs)]

use futures_util::{SinkExt, StreamExt};
use signalr::connection::HttpConnectionOptions;
use signalr::prelude::*;
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

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(addr: std::net::SocketAddr) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/hub"))
        .await
        .unwrap();
    ws.send(Message::text("{\"protocol\":\"json\",\"version\":1}\u{1e}"))
        .await
        .unwrap();
    let reply = ws.next().await.unwrap().unwrap();
    assert_eq!(reply.into_data().as_ref(), b"{}\x1e");
    // One round trip: the connection is registered with the hub after its handshake.
    ws.send(Message::text(
        "{\"type\":1,\"invocationId\":\"1\",\"target\":\"Ping\",\"arguments\":[]}\u{1e}",
    ))
    .await
    .unwrap();
    let reply = ws.next().await.unwrap().unwrap();
    assert!(reply.into_text().unwrap().contains("\"result\":1"));
    ws
}

/// A hub with a 4 KiB outgoing queue and a 300 ms send timeout, served on a free port.
async fn serve(websocket_close_timeout: Duration) -> (HubContext, std::net::SocketAddr) {
    let server = Hub.into_server().transport_options(HttpConnectionOptions {
        transport_max_buffer_size: 4 * 1024,
        transport_send_timeout: Duration::from_millis(300),
        websocket_close_timeout,
        ..HttpConnectionOptions::default()
    });
    let context = server.context();
    let app = axum::Router::new().route_hub("/hub", server);
    let listener = signalr::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (context, addr)
}

#[tokio::test]
async fn a_client_that_stops_reading_is_disconnected_after_the_send_timeout_and_the_others_get_everything(
) {
    let (context, addr) = serve(Duration::from_secs(5)).await;

    let mut reader = connect(addr).await;
    let stuck = connect(addr).await;
    let messages = 2_000;
    let payload = "x".repeat(2_000);
    let reading = tokio::spawn(async move {
        let mut received = 0;
        while received < messages {
            let frame = tokio::time::timeout(Duration::from_secs(10), reader.next())
                .await
                .expect("the reading client keeps receiving")
                .unwrap()
                .unwrap();
            let data = frame.into_data();
            received += data
                .split(|b| *b == 0x1e)
                .filter(|r| r.windows(9).any(|w| w == b"\"Receive\""))
                .count();
        }
        received
    });

    let started = Instant::now();
    for _ in 0..messages {
        context
            .clients()
            .all()
            .receive(payload.clone())
            .await
            .unwrap();
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(5),
        "broadcasting waited on the stuck client for {elapsed:?}, longer than its send timeout allows"
    );
    assert_eq!(
        reading.await.unwrap(),
        messages,
        "the reading client lost nothing"
    );

    // The stuck client was disconnected: once it reads, its stream ends.
    let mut stuck = stuck;
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(_)) = stuck.next().await {}
    })
    .await;
    assert!(ended.is_ok(), "the stuck client's connection was closed");
}

#[tokio::test]
async fn a_client_disconnected_for_not_keeping_up_still_gets_the_close_message_last() {
    // The client reads again within the close timeout: its socket is not yet given up.
    let (context, addr) = serve(Duration::from_secs(2)).await;

    let mut stuck = connect(addr).await;
    let payload = "x".repeat(2_000);
    // Enough to fill the socket buffers and the 4 KiB queue; the client reads nothing.
    for _ in 0..2_000 {
        context
            .clients()
            .all()
            .receive(payload.clone())
            .await
            .unwrap();
    }
    let mut received = Vec::new();
    let read_all = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(Ok(frame)) = stuck.next().await {
            if let Message::Text(text) = frame {
                received.extend_from_slice(text.as_bytes());
            }
        }
    })
    .await;
    assert!(read_all.is_ok(), "the stuck client's connection was closed");
    let last = received
        .split(|b| *b == 0x1e)
        .rfind(|record| !record.is_empty())
        .map(|record| String::from_utf8_lossy(record).into_owned());
    assert_eq!(
        last.as_deref(),
        Some("{\"type\":7}"),
        "the last record is the Close message"
    );
}

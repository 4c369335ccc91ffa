//! A panic in user code fails what it was doing, never the server or other connections.
#![allow(clippy::unwrap_used, missing_docs)]

use futures_util::{SinkExt, StreamExt};
use signalr::connection::{ConnectionContext, ConnectionHandler};
use signalr::endpoint::HttpConnectionDispatcher;
use signalr::prelude::*;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

#[signalr::hub]
pub trait Fragile {
    async fn boom(&self, text: String) -> String;
    async fn echo(&self, text: String) -> String;
}

struct Hub;

impl Fragile for Hub {
    async fn boom(&self, text: String) -> String {
        panic!("kaboom: {text}");
    }
    async fn echo(&self, text: String) -> String {
        text
    }
}

#[signalr::hub]
pub trait Unwelcoming {}

struct PanicsOnConnect;

impl Unwelcoming for PanicsOnConnect {
    async fn on_connected(&self, _cx: &Ctx) -> Result<(), HubError> {
        panic!("no entry");
    }
}

struct PanickingHandler;

impl ConnectionHandler for PanickingHandler {
    async fn on_connected(&self, mut connection: ConnectionContext) {
        let _ = connection.receive().await;
        panic!("raw handler failed");
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn serve() -> std::net::SocketAddr {
    let app = axum::Router::new()
        .route_hub("/fragile", Hub.into_server())
        .route_hub("/detailed", Hub.into_server().enable_detailed_errors(true))
        .route_hub(
            "/unwelcoming",
            PanicsOnConnect.into_server().enable_detailed_errors(true),
        )
        .merge(HttpConnectionDispatcher::new(PanickingHandler, Default::default()).router("/raw"));
    let listener = signalr::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

async fn open(addr: std::net::SocketAddr, path: &str) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}{path}"))
        .await
        .unwrap();
    ws.send(Message::text("{\"protocol\":\"json\",\"version\":1}\u{1e}"))
        .await
        .unwrap();
    ws
}

async fn next_text(ws: &mut Ws) -> String {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(3), ws.next())
            .await
            .expect("an answer in time")
            .expect("the socket is open")
            .unwrap();
        match message {
            Message::Text(text) => return text.to_string(),
            Message::Close(_) => return String::new(),
            _ => continue,
        }
    }
}

async fn invoke(ws: &mut Ws, id: &str, target: &str, argument: &str) -> String {
    let record = format!(
        "{{\"type\":1,\"invocationId\":\"{id}\",\"target\":\"{target}\",\"arguments\":[\"{argument}\"]}}\u{1e}"
    );
    ws.send(Message::text(record)).await.unwrap();
    next_text(ws).await
}

#[tokio::test]
async fn a_panicking_hub_method_fails_its_call_and_the_connection_goes_on() {
    let addr = serve().await;
    let mut ws = open(addr, "/fragile").await;
    assert_eq!(next_text(&mut ws).await, "{}\u{1e}");
    assert_eq!(
        invoke(&mut ws, "1", "Boom", "x").await,
        "{\"type\":3,\"invocationId\":\"1\",\"error\":\"An unexpected error occurred invoking 'Boom' on the server.\"}\u{1e}"
    );
    assert_eq!(
        invoke(&mut ws, "2", "Echo", "still here").await,
        "{\"type\":3,\"invocationId\":\"2\",\"result\":\"still here\"}\u{1e}"
    );
}

#[tokio::test]
async fn detailed_errors_name_the_panic() {
    let addr = serve().await;
    let mut ws = open(addr, "/detailed").await;
    assert_eq!(next_text(&mut ws).await, "{}\u{1e}");
    assert_eq!(
        invoke(&mut ws, "1", "Boom", "y").await,
        "{\"type\":3,\"invocationId\":\"1\",\"error\":\"An unexpected error occurred invoking 'Boom' on the server. Panic: kaboom: y\"}\u{1e}"
    );
}

#[tokio::test]
async fn a_panicking_on_connected_refuses_the_connection_with_a_close() {
    let addr = serve().await;
    let mut ws = open(addr, "/unwelcoming").await;
    // The handshake response and the Close may share a frame: records carry their framing.
    let mut received = String::new();
    while !received.contains("\"type\":7") {
        let text = next_text(&mut ws).await;
        assert!(
            !text.is_empty(),
            "closed before the Close message: {received:?}"
        );
        received.push_str(&text);
    }
    assert_eq!(
        received,
        "{}\u{1e}{\"type\":7,\"error\":\"Connection closed with an error. Panic: no entry\"}\u{1e}"
    );
}

#[tokio::test]
async fn a_panicking_connection_handler_closes_only_its_connection() {
    let addr = serve().await;
    let mut raw = open(addr, "/raw").await;
    let ended = tokio::time::timeout(Duration::from_secs(3), async {
        while let Some(Ok(message)) = raw.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the raw connection was closed");
    let mut ws = open(addr, "/fragile").await;
    assert_eq!(next_text(&mut ws).await, "{}\u{1e}");
    assert_eq!(
        invoke(&mut ws, "1", "Echo", "fine").await,
        "{\"type\":3,\"invocationId\":\"1\",\"result\":\"fine\"}\u{1e}"
    );
}

//! A raw WebSocket client that splits what it receives into hub-protocol records and checks
//! the frame type of every data frame.

use super::http::WAIT;
use super::records::{invocation, JSON_HANDSHAKE, MSGPACK_HANDSHAKE};
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A raw WebSocket that splits what it receives into hub-protocol records and checks the
/// frame type of every data frame (text for JSON, binary for MessagePack).
pub(crate) struct Client {
    ws: Ws,
    buffer: Vec<u8>,
    binary: bool,
    handshaken: bool,
}

pub(crate) async fn try_open(addr: SocketAddr, query: &str) -> Result<Ws, tungstenite::Error> {
    try_open_with_headers(addr, query, &[]).await
}

/// Opens `/hub{query}` with extra request headers.
pub(crate) async fn try_open_with_headers(
    addr: SocketAddr,
    query: &str,
    headers: &[(&str, &str)],
) -> Result<Ws, tungstenite::Error> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{addr}/hub{query}").into_client_request()?;
    for (name, value) in headers {
        request.headers_mut().insert(
            tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            tungstenite::http::HeaderValue::from_str(value).unwrap(),
        );
    }
    let (ws, _response) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .expect("the WebSocket upgrade did not complete in time")?;
    Ok(ws)
}

/// The HTTP status that refused a WebSocket upgrade.
pub(crate) async fn refused_status(addr: SocketAddr, query: &str) -> u16 {
    match try_open(addr, query).await {
        Ok(_) => panic!("the upgrade of {query:?} was accepted"),
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("the upgrade of {query:?} failed otherwise: {other}"),
    }
}

impl Client {
    /// Opens a WebSocket on `/hub{query}` without a handshake.
    pub(crate) async fn open(addr: SocketAddr, query: &str, binary: bool) -> Client {
        let ws = try_open(addr, query).await.unwrap();
        Client {
            ws,
            buffer: Vec::new(),
            binary,
            handshaken: false,
        }
    }

    /// A JSON connection with extra request headers, after a successful handshake
    /// (skipNegotiation).
    pub(crate) async fn json_with_headers(addr: SocketAddr, headers: &[(&str, &str)]) -> Client {
        let ws = try_open_with_headers(addr, "", headers).await.unwrap();
        let mut client = Client {
            ws,
            buffer: Vec::new(),
            binary: false,
            handshaken: false,
        };
        client.handshake(JSON_HANDSHAKE).await;
        client
    }

    /// A JSON connection after a successful handshake (skipNegotiation).
    pub(crate) async fn json(addr: SocketAddr) -> Client {
        let mut client = Client::open(addr, "", false).await;
        client.handshake(JSON_HANDSHAKE).await;
        client
    }

    /// A MessagePack connection after a successful handshake (skipNegotiation).
    pub(crate) async fn msgpack(addr: SocketAddr) -> Client {
        let mut client = Client::open(addr, "", true).await;
        client.handshake(MSGPACK_HANDSHAKE).await;
        client
    }

    pub(crate) async fn handshake(&mut self, request: &str) {
        self.send_text(request).await;
        assert_eq!(self.handshake_response().await, "{}\x1e");
    }

    /// For a socket that resumes a connection (stateful reconnect): no handshake
    /// response comes first.
    pub(crate) fn skip_handshake(&mut self) {
        self.handshaken = true;
    }

    /// The first `0x1e`-terminated record, which is always JSON.
    pub(crate) async fn handshake_response(&mut self) -> String {
        assert!(!self.handshaken, "the handshake response was already read");
        let record = self.next_record().await;
        self.handshaken = true;
        String::from_utf8(record).unwrap()
    }

    pub(crate) async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text.to_owned())).await.unwrap();
    }

    pub(crate) async fn send_binary(&mut self, data: Vec<u8>) {
        self.ws.send(Message::binary(data)).await.unwrap();
    }

    /// The next non-control message, within `WAIT`.
    pub(crate) async fn next_message(&mut self) -> Message {
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "nothing received within {WAIT:?} (buffered: {:?})",
                        String::from_utf8_lossy(&self.buffer)
                    )
                })
                .expect("the WebSocket ended without a close frame")
                .expect("the WebSocket failed");
            match message {
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
                other => return other,
            }
        }
    }

    /// Takes a complete record out of the buffer, with its framing.
    fn split_record(&mut self) -> Option<Vec<u8>> {
        if !self.handshaken || !self.binary {
            let end = self.buffer.iter().position(|b| *b == 0x1e)?;
            return Some(self.buffer.drain(..=end).collect());
        }
        let mut length = 0usize;
        for (i, byte) in self.buffer.iter().enumerate().take(5) {
            length |= usize::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                let total = i + 1 + length;
                if self.buffer.len() < total {
                    return None;
                }
                return Some(self.buffer.drain(..total).collect());
            }
        }
        None
    }

    /// The next record (JSON with its `0x1e`, MessagePack with its length prefix).
    pub(crate) async fn next_record(&mut self) -> Vec<u8> {
        loop {
            if let Some(record) = self.split_record() {
                return record;
            }
            match self.next_message().await {
                Message::Text(text) => {
                    assert!(
                        !self.binary,
                        "a text frame on a MessagePack connection: {text:?}"
                    );
                    self.buffer.extend_from_slice(text.as_bytes());
                }
                Message::Binary(data) => {
                    assert!(self.binary, "a binary frame on a JSON connection: {data:?}");
                    self.buffer.extend_from_slice(&data);
                }
                Message::Close(frame) => panic!(
                    "expected a record, got a close frame {frame:?} (buffered: {:?})",
                    String::from_utf8_lossy(&self.buffer)
                ),
                other => unreachable!("{other:?}"),
            }
        }
    }

    /// The next JSON record, as text with its `0x1e`.
    pub(crate) async fn next_text(&mut self) -> String {
        String::from_utf8(self.next_record().await).unwrap()
    }

    /// Asserts that the next thing received is a close frame with code 1000.
    pub(crate) async fn expect_close(&mut self) {
        assert!(
            self.buffer.is_empty(),
            "unread bytes before the close: {:?}",
            String::from_utf8_lossy(&self.buffer)
        );
        match self.next_message().await {
            Message::Close(Some(frame)) => assert_eq!(u16::from(frame.code), 1000, "{frame:?}"),
            other => panic!("expected a close frame with code 1000, got {other:?}"),
        }
    }

    /// Waits until the server ends the WebSocket (a close frame, or the socket ending),
    /// skipping anything else.
    pub(crate) async fn expect_end(&mut self) {
        let ended = tokio::time::timeout(WAIT, async {
            loop {
                match self.ws.next().await {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                    Some(Ok(_)) => {}
                }
            }
        });
        ended.await.expect("the server did not end the WebSocket");
    }

    /// Asserts that nothing at all arrives for `duration`.
    pub(crate) async fn expect_silence(&mut self, duration: Duration) {
        assert!(
            self.buffer.is_empty(),
            "unread bytes: {:?}",
            String::from_utf8_lossy(&self.buffer)
        );
        if let Ok(message) = tokio::time::timeout(duration, self.ws.next()).await {
            panic!("expected silence, got {message:?}");
        }
    }

    /// Invokes `Add(a, b)` with id `id` (JSON) and checks the result: a round trip proving
    /// the connection works and is registered with the hub.
    pub(crate) async fn add_json(&mut self, id: &str, a: i64, b: i64) {
        self.send_text(&invocation(Some(id), "Add", &format!("[{a},{b}]")))
            .await;
        assert_eq!(
            self.next_text().await,
            format!(
                "{{\"type\":3,\"invocationId\":\"{id}\",\"result\":{}}}\x1e",
                a + b
            )
        );
    }
}

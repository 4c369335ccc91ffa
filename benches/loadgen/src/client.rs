//! One client connection to either server: SignalR over WebSockets with skipNegotiation
//! (JSON or MessagePack hub protocol), or the bare baseline's text messages.

use crate::server::Target;
use futures_util::{SinkExt, StreamExt};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// The hub protocol SignalR clients speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Json,
    MessagePack,
}

impl Protocol {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Protocol::Json => "json",
            Protocol::MessagePack => "messagepack",
        }
    }
}

/// What a connection received.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// The completion of an echo (SignalR) or the echoed text (raw).
    Echoed,
    /// A broadcast or group message, with its text.
    Received(String),
}

/// One client.
pub(crate) struct Conn {
    ws: WebSocketStream<TcpStream>,
    target: Target,
    protocol: Protocol,
    next_id: u64,
}

/// The source address of the `index`th connection: 127.0.0.1, .2, … every 20,000
/// connections, so that many connections do not run out of ephemeral ports.
fn source(index: usize) -> IpAddr {
    let host = u8::try_from(1 + index / 20_000).unwrap_or(u8::MAX);
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, host))
}

fn varint(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

impl Conn {
    /// Connects (and completes the SignalR handshake) as the `index`th connection.
    pub(crate) async fn connect(
        address: &str,
        target: Target,
        protocol: Protocol,
        index: usize,
    ) -> Conn {
        let server: SocketAddr = address.parse().unwrap_or_else(|e| panic!("{address}: {e}"));
        // The first 20,000 connections let the kernel pick the source (binding port 0
        // first makes it search for a port free of TIME_WAIT, slowly); beyond, 127.0.0.2…
        let stream = if index < 20_000 {
            TcpStream::connect(server).await
        } else {
            let socket = TcpSocket::new_v4().unwrap_or_else(|e| panic!("socket: {e}"));
            socket
                .bind(SocketAddr::new(source(index), 0))
                .unwrap_or_else(|e| panic!("bind: {e}"));
            socket.connect(server).await
        }
        .unwrap_or_else(|e| panic!("connect {address}: {e}"));
        let _ = stream.set_nodelay(true);
        let (ws, _) = tokio_tungstenite::client_async(format!("ws://{address}/hub"), stream)
            .await
            .unwrap_or_else(|e| panic!("WebSocket to {address}: {e}"));
        let mut conn = Conn {
            ws,
            target,
            protocol,
            next_id: 0,
        };
        if target == Target::SignalR {
            let handshake = format!(
                "{{\"protocol\":\"{}\",\"version\":1}}\u{1e}",
                protocol.name()
            );
            conn.ws
                .send(Message::text(handshake))
                .await
                .unwrap_or_else(|e| panic!("handshake: {e}"));
            match conn.ws.next().await {
                Some(Ok(message)) if message.clone().into_data().starts_with(b"{}\x1e") => {}
                other => panic!("handshake refused: {other:?}"),
            }
        }
        conn
    }

    async fn invoke(&mut self, target: &str, arguments: &[&str], with_id: bool) {
        let id = with_id.then(|| {
            self.next_id += 1;
            self.next_id.to_string()
        });
        let message = match self.protocol {
            Protocol::Json => {
                let id = id
                    .map(|id| format!("\"invocationId\":\"{id}\","))
                    .unwrap_or_default();
                let arguments = serde_json::to_string(arguments).unwrap_or_default();
                Message::text(format!(
                    "{{\"type\":1,{id}\"target\":\"{target}\",\"arguments\":{arguments}}}\u{1e}"
                ))
            }
            Protocol::MessagePack => {
                let mut body = Vec::with_capacity(64);
                let _ = rmp::encode::write_array_len(&mut body, 6);
                let _ = rmp::encode::write_pfix(&mut body, 1);
                body.push(0x80);
                match &id {
                    Some(id) => {
                        let _ = rmp::encode::write_str(&mut body, id);
                    }
                    None => {
                        let _ = rmp::encode::write_nil(&mut body);
                    }
                }
                let _ = rmp::encode::write_str(&mut body, target);
                let _ = rmp::encode::write_array_len(&mut body, arguments.len() as u32);
                for argument in arguments {
                    let _ = rmp::encode::write_str(&mut body, argument);
                }
                let _ = rmp::encode::write_array_len(&mut body, 0);
                let mut framed = Vec::with_capacity(body.len() + 5);
                varint(body.len(), &mut framed);
                framed.extend_from_slice(&body);
                Message::binary(framed)
            }
        };
        let _ = self.ws.send(message).await;
    }

    /// Asks for `payload` back.
    pub(crate) async fn echo(&mut self, payload: &str) {
        match self.target {
            Target::Raw => {
                let _ = self.ws.send(Message::text(format!("E{payload}"))).await;
            }
            Target::SignalR => self.invoke("Echo", &[payload], true).await,
        }
    }

    /// Sends `payload` to every connection (no completion is awaited).
    pub(crate) async fn broadcast(&mut self, payload: &str) {
        match self.target {
            Target::Raw => {
                let _ = self.ws.send(Message::text(format!("B{payload}"))).await;
            }
            Target::SignalR => self.invoke("Broadcast", &[payload], false).await,
        }
    }

    /// Joins `group` (SignalR: waits for the completion).
    pub(crate) async fn join(&mut self, group: &str) {
        match self.target {
            Target::Raw => {
                let _ = self.ws.send(Message::text(format!("J{group}"))).await;
            }
            Target::SignalR => {
                self.invoke("JoinGroup", &[group], true).await;
                while !self
                    .next()
                    .await
                    .iter()
                    .any(|incoming| matches!(incoming, Incoming::Echoed))
                {}
            }
        }
    }

    /// Sends `payload` to the members of `group`.
    pub(crate) async fn send_to_group(&mut self, group: &str, payload: &str) {
        match self.target {
            Target::Raw => {
                let _ = self
                    .ws
                    .send(Message::text(format!("S{group}|{payload}")))
                    .await;
            }
            Target::SignalR => self.invoke("SendToGroup", &[group, payload], false).await,
        }
    }

    /// What the next frame carries (empty for pings and the like; panics when the
    /// connection ends).
    pub(crate) async fn next(&mut self) -> Vec<Incoming> {
        let message = match self.ws.next().await {
            Some(Ok(message)) => message,
            other => panic!("connection ended: {other:?}"),
        };
        match (self.target, message) {
            (Target::Raw, Message::Text(text)) => match text.as_bytes().first() {
                Some(b'E') => vec![Incoming::Echoed],
                Some(b'B') => vec![Incoming::Received(text.as_str()[1..].to_owned())],
                Some(b'S') => {
                    let rest = text.as_str().split_once('|').map(|(_, t)| t).unwrap_or("");
                    vec![Incoming::Received(rest.to_owned())]
                }
                _ => Vec::new(),
            },
            (Target::SignalR, Message::Text(text)) => text
                .as_str()
                .split('\u{1e}')
                .filter(|r| !r.is_empty())
                .filter_map(parse_json)
                .collect(),
            (Target::SignalR, Message::Binary(data)) => parse_msgpack(&data),
            _ => Vec::new(),
        }
    }
}

#[derive(serde::Deserialize)]
struct JsonRecord {
    #[serde(rename = "type")]
    kind: u8,
    #[serde(default)]
    arguments: Vec<serde_json::Value>,
}

fn parse_json(record: &str) -> Option<Incoming> {
    let record: JsonRecord = serde_json::from_str(record).ok()?;
    match record.kind {
        3 => Some(Incoming::Echoed),
        1 => {
            let text = record.arguments.first()?.as_str()?.to_owned();
            Some(Incoming::Received(text))
        }
        _ => None,
    }
}

fn parse_msgpack(mut data: &[u8]) -> Vec<Incoming> {
    let mut found = Vec::new();
    while !data.is_empty() {
        let mut length = 0usize;
        let mut shift = 0;
        let mut used = 0;
        for &byte in data.iter().take(5) {
            used += 1;
            length |= usize::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
        let Some(record) = data.get(used..used + length) else {
            break;
        };
        data = &data[used + length..];
        let Ok(rmpv::Value::Array(items)) = rmpv::decode::read_value(&mut &record[..]) else {
            continue;
        };
        match items.first().and_then(rmpv::Value::as_u64) {
            Some(3) => found.push(Incoming::Echoed),
            Some(1) => {
                let text = items
                    .get(4)
                    .and_then(|a| a.as_array())
                    .and_then(|a| a.first())
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_owned();
                found.push(Incoming::Received(text));
            }
            _ => {}
        }
    }
    found
}

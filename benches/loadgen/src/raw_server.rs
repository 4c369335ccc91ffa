//! The baseline: a bare axum WebSocket server doing the scenarios' work with no SignalR
//! (no negotiate, handshake, framing or hub protocol). A text message starting with `E`
//! is echoed; `B` is sent to every connection; `J<group>` joins a group; `S<group>|text`
//! is sent to the group's members.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::serve::ListenerExt;
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

#[derive(Default)]
struct Hub {
    next_id: AtomicU64,
    connections: Mutex<HashMap<u64, mpsc::Sender<Message>>>,
    groups: Mutex<HashMap<String, Vec<u64>>>,
}

/// Serves until killed. Sockets keep axum's default, Nagle's algorithm on, unless
/// `nodelay` (`TCP_NODELAY`, as the SignalR server and Kestrel set). Nagle holds small
/// writes back while earlier ones are unacknowledged and sends them together: in a
/// fan-out that saves the baseline most of its kernel work per delivery, at tens of
/// milliseconds of latency at p99. The SignalR server gets the saving without the delay
/// by joining what is queued for a connection into one frame.
pub(crate) fn run(listen: &str, nodelay: bool) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    runtime.block_on(async move {
        let hub = Arc::new(Hub::default());
        let app = axum::Router::new()
            .route("/hub", get(upgrade))
            .with_state(hub);
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .unwrap_or_else(|e| panic!("cannot listen on {listen}: {e}"));
        match listener.local_addr() {
            Ok(address) => println!("listening on http://{address}"),
            Err(e) => panic!("{e}"),
        }
        let listener = listener.tap_io(move |tcp| {
            if nodelay {
                let _ = tcp.set_nodelay(true);
            }
        });
        let _ = axum::serve(listener, app).await;
    });
}

async fn upgrade(State(hub): State<Arc<Hub>>, ws: WebSocketUpgrade) -> Response {
    // The same buffer sizes as the SignalR server's WebSockets (2 KiB read buffer, no
    // write buffer): the baseline's memory is the socket's, not a default buffer's.
    ws.read_buffer_size(2 * 1024)
        .write_buffer_size(0)
        .on_upgrade(move |socket| connection(hub, socket))
}

async fn connection(hub: Arc<Hub>, socket: WebSocket) {
    let id = hub.next_id.fetch_add(1, Ordering::Relaxed);
    let (tx, mut rx) = mpsc::channel::<Message>(256);
    hub.connections
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id, tx.clone());
    let (mut sink, mut stream) = socket.split();
    let writer = tokio::spawn(async move {
        while let Some(message) = rx.recv().await {
            if sink.send(message).await.is_err() {
                break;
            }
        }
    });
    while let Some(Ok(message)) = stream.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let kind = text.as_bytes().first().copied();
        match kind {
            Some(b'E') => {
                let echoed = tx.send(Message::Text(text)).await;
                if echoed.is_err() {
                    break;
                }
            }
            Some(b'B') => {
                let recipients: Vec<_> = hub
                    .connections
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .values()
                    .cloned()
                    .collect();
                for recipient in recipients {
                    let _ = recipient.send(Message::Text(text.clone())).await;
                }
            }
            Some(b'J') => {
                let group = text.as_str()[1..].to_owned();
                hub.groups
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(group)
                    .or_default()
                    .push(id);
            }
            Some(b'S') => {
                let Some((group, _)) = text.as_str()[1..].split_once('|') else {
                    continue;
                };
                let members = hub
                    .groups
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(group)
                    .cloned()
                    .unwrap_or_default();
                let recipients: Vec<_> = {
                    let connections = hub.connections.lock().unwrap_or_else(|e| e.into_inner());
                    members
                        .iter()
                        .filter_map(|m| connections.get(m).cloned())
                        .collect()
                };
                for recipient in recipients {
                    let _ = recipient.send(Message::Text(text.clone())).await;
                }
            }
            _ => {}
        }
    }
    hub.connections
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&id);
    for members in hub
        .groups
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .values_mut()
    {
        members.retain(|m| *m != id);
    }
    writer.abort();
}

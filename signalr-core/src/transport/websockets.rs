//! The WebSocket transport: full duplex, text frames for text protocols, binary otherwise.
//!
//! The upgrade is done here on hyper directly (not through axum's extractor) to keep the
//! raw socket reachable: when a client closes first, the server answers with a close frame
//! carrying 1000 (Normal Closure), as ASP.NET Core does, where tungstenite would only echo
//! the client's frame (an empty one reads as 1005 on the client).

use crate::connection::{HttpConnection, PipeReceiver, PipeSender};
use crate::protocol::TransferFormat;
use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, Response, StatusCode};
use bytes::{Bytes, BytesMut};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

/// Read buffer per WebSocket: small, so idle connections stay cheap (larger messages
/// still arrive whole; they take more reads).
const READ_BUFFER_SIZE: usize = 2 * 1024;

/// A close frame with 1000 (Normal Closure), as a server writes it (unmasked).
const NORMAL_CLOSE_FRAME: [u8; 4] = [0x88, 0x02, 0x03, 0xe8];

pub(crate) type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// A WebSocket upgrade request, accepted: the 101 response to send and the pending socket.
pub(crate) struct Upgrade {
    on_upgrade: hyper::upgrade::OnUpgrade,
    accept_key: HeaderValue,
}

fn header_has_token(parts: &Parts, name: header::HeaderName, token: &str) -> bool {
    parts
        .headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|part| part.trim().eq_ignore_ascii_case(token))
}

/// Whether `parts` asks for a WebSocket; takes hyper's upgrade handle out of it if so.
pub(crate) fn upgrade_request(parts: &mut Parts) -> Option<Upgrade> {
    let is_websocket = parts.method == Method::GET
        && header_has_token(parts, header::CONNECTION, "upgrade")
        && header_has_token(parts, header::UPGRADE, "websocket")
        && parts
            .headers
            .get(header::SEC_WEBSOCKET_VERSION)
            .is_some_and(|v| v == "13");
    if !is_websocket {
        return None;
    }
    let key = parts.headers.get(header::SEC_WEBSOCKET_KEY)?;
    let accept_key = HeaderValue::from_str(&derive_accept_key(key.as_bytes())).ok()?;
    let on_upgrade = parts.extensions.remove::<hyper::upgrade::OnUpgrade>()?;
    Some(Upgrade {
        on_upgrade,
        accept_key,
    })
}

impl Upgrade {
    /// The `101 Switching Protocols` response.
    pub(crate) fn response(&self) -> Response<Body> {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, self.accept_key.clone());
        response
    }

    /// The socket, once the 101 response has been sent.
    pub(crate) async fn socket(self, max_message_size: usize) -> Option<Socket> {
        let upgraded = self.on_upgrade.await.ok()?;
        let config = WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER_SIZE)
            .write_buffer_size(0)
            .max_message_size(Some(max_message_size))
            .max_frame_size(Some(max_message_size));
        Some(
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config))
                .await,
        )
    }
}

/// A socket split into its halves, as [`run`] pumps it. Split as soon as the upgrade
/// completes: the socket itself then lives on the heap (behind the halves' shared lock),
/// and no future that carries it keeps room for it by value (a few hundred bytes per
/// connection each).
pub(crate) struct SplitSocket {
    sink: SplitSink<Socket, Message>,
    stream: SplitStream<Socket>,
}

/// Splits `socket` for [`run`].
pub(crate) fn split(socket: Socket) -> SplitSocket {
    let (sink, stream) = socket.split();
    SplitSocket { sink, stream }
}

/// How a WebSocket's run ended.
pub(crate) enum Ended {
    /// The connection is over: closed by either side, or its socket failed.
    Closed,
    /// Stateful reconnect: the socket dropped (or a new one took over) and the
    /// connection waits for its next WebSocket, with its outgoing pipe.
    Dropped(PipeReceiver),
}

/// Pumps bytes between `socket` and the connection until either side ends, or until
/// `superseded` fires (a reconnecting WebSocket takes the connection over).
pub(crate) async fn run(
    socket: SplitSocket,
    connection: &HttpConnection,
    mut outbound: PipeReceiver,
    close_timeout: Duration,
    superseded: Option<CancellationToken>,
) -> Ended {
    let SplitSocket {
        mut sink,
        mut stream,
    } = socket;
    let write_deadline = connection.shared.send_timeout.saturating_add(close_timeout);
    let inbound = connection.inbound_tx.clone();
    let closed = connection.shared.closed.clone();
    // Biased: each poll polls every branch anyway, and draws no random start.
    let reason = tokio::select! {
        biased;
        reason = read_loop(&mut stream, inbound) => reason,
        reason = write_loop(&mut sink, &mut outbound, connection, write_deadline) => reason,
        () = fired(superseded.as_ref()) => End::Superseded,
    };
    match reason {
        // A drop without a close handshake is what stateful reconnect is for (a close
        // frame, from either side, ends the connection for good).
        End::SocketFailed | End::Superseded if connection.shared.is_resumable() => {
            tracing::debug!("a stateful connection lost its WebSocket; waiting for the next one");
            return Ended::Dropped(outbound);
        }
        End::SocketFailed | End::Superseded => closed.cancel(),
        End::ClientClosed => {
            closed.cancel();
            // Answer the client's close with 1000 on the raw socket (tungstenite would
            // echo the client's frame), then end the TCP connection.
            if let Ok(socket) = sink.reunite(stream) {
                let mut io = socket.into_inner();
                let answered = async {
                    io.write_all(&NORMAL_CLOSE_FRAME).await?;
                    io.flush().await?;
                    io.shutdown().await
                };
                let _ = tokio::time::timeout(close_timeout, answered).await;
            }
        }
        End::ApplicationDone { code } => {
            let frame = CloseFrame {
                code,
                reason: Utf8Bytes::from_static(""),
            };
            let sent = tokio::time::timeout(close_timeout, sink.send(Message::Close(Some(frame))));
            if matches!(sent.await, Ok(Ok(()))) {
                // Wait for the client's close frame, then drop the socket either way.
                let _ = tokio::time::timeout(close_timeout, async {
                    while let Some(Ok(message)) = stream.next().await {
                        if matches!(message, Message::Close(_)) {
                            break;
                        }
                    }
                })
                .await;
            }
        }
    }
    Ended::Closed
}

/// Resolves when `token` fires; never without one.
async fn fired(token: Option<&CancellationToken>) {
    match token {
        Some(token) => token.cancelled().await,
        None => std::future::pending().await,
    }
}

enum End {
    ClientClosed,
    SocketFailed,
    Superseded,
    ApplicationDone { code: CloseCode },
}

async fn read_loop(stream: &mut SplitStream<Socket>, inbound: PipeSender) -> End {
    while let Some(message) = stream.next().await {
        let data = match message {
            Ok(Message::Text(text)) => Bytes::from(text),
            Ok(Message::Binary(data)) => data,
            Ok(Message::Close(_)) => return End::ClientClosed,
            Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => continue,
            Err(e) => {
                tracing::debug!(error = %e, "WebSocket read failed");
                return End::SocketFailed;
            }
        };
        if inbound.send(data).await.is_err() {
            // The application stopped reading: it is ending the connection. Keep the
            // socket open so the write side can flush and close it.
            std::future::pending::<()>().await;
        }
    }
    End::SocketFailed
}

async fn write_loop(
    sink: &mut SplitSink<Socket, Message>,
    outbound: &mut PipeReceiver,
    connection: &HttpConnection,
    write_deadline: Duration,
) -> End {
    let mut deadline = WriteDeadline::new(write_deadline);
    let closed = connection.shared.closed.clone();
    // The teardown interrupts the pipe, so that waiting for the next record watches no
    // token.
    let _interruption = outbound.interrupt_when_cancelled(closed.clone());
    loop {
        let data = outbound.recv().await;
        if data.is_none() && closed.is_cancelled() {
            // Flush what the application queued before it closed (its Close message).
            while let Some(data) = outbound.try_recv() {
                if write(sink, data, connection, &mut deadline).await.is_err() {
                    return End::ApplicationDone {
                        code: CloseCode::Error,
                    };
                }
            }
        }
        let Some(data) = data else {
            return End::ApplicationDone {
                code: CloseCode::Normal,
            };
        };
        let data = if connection.shared.batchable.load(Ordering::Acquire) {
            join_queued(data, outbound)
        } else {
            data
        };
        if write(sink, data, connection, &mut deadline).await.is_err() {
            return End::SocketFailed;
        }
    }
}

/// Frames carry at most this much of queued records joined together.
const BATCH_LIMIT: usize = 16 * 1024;

/// `first` and whatever else is queued now, up to [`BATCH_LIMIT`], as one chunk: when
/// a fan-out queued several records for this connection they leave in one frame. With
/// nothing else queued (the usual case) nothing is copied.
fn join_queued(first: Bytes, outbound: &mut PipeReceiver) -> Bytes {
    if first.len() >= BATCH_LIMIT {
        return first;
    }
    let Some(second) = outbound.try_recv() else {
        return first;
    };
    let mut joined = BytesMut::with_capacity((first.len() + second.len()).max(1024));
    joined.extend_from_slice(&first);
    joined.extend_from_slice(&second);
    while joined.len() < BATCH_LIMIT {
        match outbound.try_recv() {
            Some(next) => joined.extend_from_slice(&next),
            None => break,
        }
    }
    joined.freeze()
}

async fn write(
    sink: &mut SplitSink<Socket, Message>,
    data: Bytes,
    connection: &HttpConnection,
    deadline: &mut WriteDeadline,
) -> Result<(), ()> {
    let message = match connection.shared.transfer_format() {
        TransferFormat::Binary => Message::Binary(data),
        TransferFormat::Text => match Utf8Bytes::try_from(data) {
            Ok(text) => Message::Text(text),
            Err(_) => {
                tracing::error!("the application wrote invalid UTF-8 to a text connection");
                return Err(());
            }
        },
    };
    // A peer that stops reading must not hold the socket: each write has the connection's
    // `transport_send_timeout` plus `websocket_close_timeout` to complete. By the first
    // the application gives up on a full queue and queues its Close; the second leaves
    // a peer that reads again the time to read it.
    let sent = deadline.bound(sink.send(message)).await;
    match sent {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) => {
            tracing::debug!(error = %e, "WebSocket write failed");
            Err(())
        }
        None => {
            tracing::debug!("closing a WebSocket whose peer did not read within the send timeout");
            Err(())
        }
    }
}

/// A bound on how long one write may take, cheap on the hot path: a write that completes
/// at once touches no timer, and the one timer is set again at most once per stall.
struct WriteDeadline {
    limit: Duration,
    /// Allocated at the first write that has to wait, then kept.
    timer: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl WriteDeadline {
    fn new(limit: Duration) -> Self {
        WriteDeadline { limit, timer: None }
    }

    /// Runs `write`; `None` when it did not complete within the limit.
    async fn bound<F: std::future::Future>(&mut self, write: F) -> Option<F::Output> {
        let mut write = std::pin::pin!(write);
        let first = std::future::poll_fn(|cx| {
            std::task::Poll::Ready(std::future::Future::poll(write.as_mut(), cx))
        })
        .await;
        if let std::task::Poll::Ready(done) = first {
            return Some(done);
        }
        let expires = tokio::time::Instant::now() + self.limit;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(expires)));
        loop {
            tokio::select! {
                biased;
                done = write.as_mut() => return Some(done),
                () = timer.as_mut() => {
                    if tokio::time::Instant::now() >= expires {
                        return None;
                    }
                    // It was set for an earlier write, which completed in time.
                    timer.as_mut().reset(expires);
                }
            }
        }
    }
}

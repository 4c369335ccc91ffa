//! The WebSocket transport: full duplex, text frames for text protocols, binary otherwise.
//!
//! The upgrade is done here on hyper directly (not through axum's extractor) to keep the
//! raw socket reachable: when a client closes first, the server answers with a close frame
//! carrying 1000 (Normal Closure), as ASP.NET Core does, where tungstenite would only echo
//! the client's frame (an empty one reads as 1005 on the client).

use crate::connection::{HttpConnection, PipeReceiver, PipeSender, TrySendError};
use crate::protocol::TransferFormat;
use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, Response, StatusCode};
use bytes::{Bytes, BytesMut};
use futures_util::task::AtomicWaker;
use futures_util::{ready, SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
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

/// A socket on the heap, as [`run`] pumps it: boxed as soon as the upgrade completes, so
/// that no future that carries it keeps room for it by value (a few hundred bytes per
/// connection each).
pub(crate) type BoxedSocket = Box<Socket>;

/// Boxes `socket` for [`run`].
pub(crate) fn boxed(socket: Socket) -> BoxedSocket {
    Box::new(socket)
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
    mut socket: BoxedSocket,
    connection: &HttpConnection,
    mut outbound: PipeReceiver,
    close_timeout: Duration,
    superseded: Option<CancellationToken>,
) -> Ended {
    let closed = connection.shared.closed.clone();
    let reason = {
        // The teardown interrupts the pipe, so that waiting for the next record watches
        // no token.
        let _interruption = outbound.interrupt_when_cancelled(closed.clone());
        let read_wake = ReadWake::new();
        let mut pump = Pump {
            socket: &mut socket,
            connection,
            inbound: connection.inbound_tx.clone(),
            outbound: &mut outbound,
            receiving: None,
            reading: true,
            flushing: false,
            draining: false,
            deadline: WriteDeadline::new(
                connection.shared.send_timeout.saturating_add(close_timeout),
            ),
            superseded: superseded.map(|token| Box::pin(token.cancelled_owned())),
            read_waker: Waker::from(read_wake.clone()),
            read_wake,
        };
        std::future::poll_fn(|cx| pump.poll(cx)).await
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
            let mut io = socket.into_inner();
            let answered = async {
                io.write_all(&NORMAL_CLOSE_FRAME).await?;
                io.flush().await?;
                io.shutdown().await
            };
            let _ = tokio::time::timeout(close_timeout, answered).await;
        }
        End::ApplicationDone { code } => {
            let frame = CloseFrame {
                code,
                reason: Utf8Bytes::from_static(""),
            };
            let sent =
                tokio::time::timeout(close_timeout, socket.send(Message::Close(Some(frame))));
            if matches!(sent.await, Ok(Ok(()))) {
                // Wait for the client's close frame, then drop the socket either way.
                let _ = tokio::time::timeout(close_timeout, async {
                    while let Some(Ok(message)) = socket.next().await {
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

enum End {
    ClientClosed,
    SocketFailed,
    Superseded,
    ApplicationDone { code: CloseCode },
}

/// A received message on its way into a full pipe: `Err` once the pipe is closed.
type Receiving = std::pin::Pin<Box<dyn Future<Output = Result<(), Bytes>> + Send>>;

/// Both directions of one socket, polled from one future: no lock between a read half
/// and a write half, and only what a write in progress needs is kept.
struct Pump<'a> {
    socket: &'a mut Socket,
    connection: &'a HttpConnection,
    /// Where received messages go.
    inbound: PipeSender,
    outbound: &'a mut PipeReceiver,
    /// A received message the application's pipe had no room for, waiting for room
    /// (boxed, and only while it waits).
    receiving: Option<Receiving>,
    /// Cleared once the application stopped reading: it is ending the connection, and
    /// the socket stays open so that the write side can flush and close it.
    reading: bool,
    /// A frame was handed to the socket and is not flushed yet.
    flushing: bool,
    /// The connection was torn down: what the application queued before (its Close
    /// message) is written, then the socket is closed.
    draining: bool,
    deadline: WriteDeadline,
    /// With stateful reconnect: fires when a newer WebSocket takes the connection over.
    superseded: Option<std::pin::Pin<Box<tokio_util::sync::WaitForCancellationFutureOwned>>>,
    /// What the read side registers as its waker: its wake marks the read side as due.
    read_wake: Arc<ReadWake>,
    /// `read_wake` as a waker, made once (not again for every message).
    read_waker: Waker,
}

/// Tells the pump whether its read side was woken since it last waited, so that a wake
/// for a queued record does not also poll the socket for reading (a pending read goes
/// through tungstenite, its waker proxies and tokio's readiness: about 600 instructions
/// per echo, measured with callgrind).
struct ReadWake {
    woken: AtomicBool,
    /// The task's waker, as the pump was last polled with it.
    task: AtomicWaker,
}

impl ReadWake {
    fn new() -> Arc<Self> {
        Arc::new(ReadWake {
            // The first poll reads.
            woken: AtomicBool::new(true),
            task: AtomicWaker::new(),
        })
    }
}

impl Wake for ReadWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

impl Pump<'_> {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<End> {
        if let Poll::Ready(end) = self.poll_read(cx) {
            return Poll::Ready(end);
        }
        if let Poll::Ready(end) = self.poll_write(cx) {
            return Poll::Ready(end);
        }
        match &mut self.superseded {
            Some(superseded) => superseded.as_mut().poll(cx).map(|()| End::Superseded),
            None => Poll::Pending,
        }
    }

    /// Moves received messages into the application's pipe; polls only when the read
    /// side was woken.
    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<End> {
        // Registered before the flag is cleared: a wake in between finds this task.
        self.read_wake.task.register(cx.waker());
        if !self.read_wake.woken.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        let mut cx = Context::from_waker(&self.read_waker);
        let cx = &mut cx;
        loop {
            if !self.reading {
                return Poll::Pending;
            }
            if let Some(receiving) = &mut self.receiving {
                let received = ready!(receiving.as_mut().poll(cx));
                self.receiving = None;
                if received.is_err() {
                    self.reading = false;
                    continue;
                }
            }
            let data = match ready!(self.socket.poll_next_unpin(cx)) {
                Some(Ok(Message::Text(text))) => Bytes::from(text),
                Some(Ok(Message::Binary(data))) => data,
                Some(Ok(Message::Close(_))) => return Poll::Ready(End::ClientClosed),
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "WebSocket read failed");
                    return Poll::Ready(End::SocketFailed);
                }
                None => return Poll::Ready(End::SocketFailed),
            };
            match self.inbound.try_send_returning(data) {
                Ok(()) => {}
                Err((TrySendError::Closed, _)) => self.reading = false,
                Err((TrySendError::Full, data)) => {
                    let inbound = self.inbound.clone();
                    self.receiving = Some(Box::pin(async move { inbound.send(data).await }));
                }
            }
        }
    }

    /// Writes what the application queued, a frame at a time.
    fn poll_write(&mut self, cx: &mut Context<'_>) -> Poll<End> {
        loop {
            if self.flushing {
                match self.socket.poll_flush_unpin(cx) {
                    Poll::Ready(Ok(())) => self.flushing = false,
                    Poll::Ready(Err(e)) => {
                        tracing::debug!(error = %e, "WebSocket write failed");
                        return Poll::Ready(self.write_failed());
                    }
                    // A peer that stops reading must not hold the socket: each write has
                    // the connection's `transport_send_timeout` plus
                    // `websocket_close_timeout` to complete. By the first the
                    // application gives up on a full queue and queues its Close; the
                    // second leaves a peer that reads again the time to read it.
                    Poll::Pending if self.deadline.poll_expired(cx) => {
                        tracing::debug!(
                            "closing a WebSocket whose peer did not read within the send timeout"
                        );
                        return Poll::Ready(self.write_failed());
                    }
                    Poll::Pending => return Poll::Pending,
                }
            }
            if let Err(e) = ready!(self.socket.poll_ready_unpin(cx)) {
                tracing::debug!(error = %e, "WebSocket write failed");
                return Poll::Ready(self.write_failed());
            }
            let data = if self.draining {
                match self.outbound.try_recv() {
                    Some(data) => data,
                    None => {
                        return Poll::Ready(End::ApplicationDone {
                            code: CloseCode::Normal,
                        })
                    }
                }
            } else {
                match ready!(self.outbound.poll_recv(cx)) {
                    Some(data) => data,
                    None if self.connection.shared.closed.is_cancelled() => {
                        // Flush what the application queued before it closed.
                        self.draining = true;
                        continue;
                    }
                    None => {
                        return Poll::Ready(End::ApplicationDone {
                            code: CloseCode::Normal,
                        })
                    }
                }
            };
            let data = if self.connection.shared.batchable.load(Ordering::Acquire) {
                join_queued(data, self.outbound)
            } else {
                data
            };
            let message = match self.connection.shared.transfer_format() {
                TransferFormat::Binary => Message::Binary(data),
                TransferFormat::Text => match Utf8Bytes::try_from(data) {
                    Ok(text) => Message::Text(text),
                    Err(_) => {
                        tracing::error!("the application wrote invalid UTF-8 to a text connection");
                        return Poll::Ready(self.write_failed());
                    }
                },
            };
            if let Err(e) = self.socket.start_send_unpin(message) {
                tracing::debug!(error = %e, "WebSocket write failed");
                return Poll::Ready(self.write_failed());
            }
            self.flushing = true;
            self.deadline.start();
        }
    }

    /// How a failed write ends the run: the socket failed, or (while draining) the
    /// application's close could not be written.
    fn write_failed(&self) -> End {
        if self.draining {
            End::ApplicationDone {
                code: CloseCode::Error,
            }
        } else {
            End::SocketFailed
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

/// A bound on how long one write may take, cheap on the hot path: a write that completes
/// at once touches no timer, and the one timer is set again at most once per stall.
struct WriteDeadline {
    limit: Duration,
    /// When the write in progress expires; set when it first has to wait.
    expires: Option<tokio::time::Instant>,
    /// Allocated at the first write that has to wait, then kept.
    timer: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl WriteDeadline {
    fn new(limit: Duration) -> Self {
        WriteDeadline {
            limit,
            expires: None,
            timer: None,
        }
    }

    /// A new write starts.
    fn start(&mut self) {
        self.expires = None;
    }

    /// Whether the write in progress, which has to wait, is past its limit (if not, the
    /// task is woken when it will be).
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> bool {
        let limit = self.limit;
        let expires = *self
            .expires
            .get_or_insert_with(|| tokio::time::Instant::now() + limit);
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(expires)));
        if timer.deadline() != expires {
            // It was set for an earlier write, which completed in time.
            timer.as_mut().reset(expires);
        }
        timer.as_mut().poll(cx).is_ready()
    }
}

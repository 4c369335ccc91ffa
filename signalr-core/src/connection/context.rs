//! The application's view of one connection: received bytes in, shared bytes out.

use super::options::TransportType;
use super::pipe::{PipeReceiver, PipeSender, TrySendError};
use crate::protocol::TransferFormat;
use axum::http::request::Parts;
use bytes::Bytes;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// State shared by a connection's application side, its transport and its senders.
#[derive(Debug)]
pub(crate) struct ConnectionShared {
    pub(crate) connection_id: Arc<str>,
    /// How long a write may wait for room before the connection is given up.
    send_timeout: Duration,
    /// Whether the application writes binary data (set before the handshake response).
    binary: AtomicBool,
    /// Set by every write; the keep-alive timer sends a Ping only when it finds it clear.
    wrote_recently: AtomicBool,
    /// Fires when the connection is torn down: transport gone or connection disposed.
    pub(crate) closed: CancellationToken,
    /// Fires when the server asks the application to end the connection; the
    /// application then says goodbye (a Close message) before the transport closes.
    pub(crate) abort: CancellationToken,
}

impl ConnectionShared {
    pub(crate) fn new(connection_id: Arc<str>, send_timeout: Duration) -> Self {
        ConnectionShared {
            connection_id,
            send_timeout,
            binary: AtomicBool::new(false),
            wrote_recently: AtomicBool::new(false),
            closed: CancellationToken::new(),
            abort: CancellationToken::new(),
        }
    }

    pub(crate) fn transfer_format(&self) -> TransferFormat {
        if self.binary.load(Ordering::Relaxed) {
            TransferFormat::Binary
        } else {
            TransferFormat::Text
        }
    }
}

/// A connection could not be written to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The connection is closed or closing.
    #[error("the connection is closed")]
    Closed,
    /// The connection's outgoing queue is full: the client reads slower than it is sent to.
    #[error("the connection's outgoing queue is full (the client is not keeping up)")]
    Full,
    /// The outgoing queue stayed full for the whole `transport_send_timeout`.
    #[error("the client did not make room for a message within the send timeout")]
    TimedOut,
}

/// A cloneable handle that queues bytes for a connection's transport.
///
/// The queue is bounded: [`send`](Self::send) waits for room, [`try_send`](Self::try_send)
/// fails at once with [`SendError::Full`].
#[derive(Debug, Clone)]
pub struct OutboundSender {
    tx: PipeSender,
    shared: Arc<ConnectionShared>,
}

impl OutboundSender {
    pub(crate) fn new(tx: PipeSender, shared: Arc<ConnectionShared>) -> Self {
        OutboundSender { tx, shared }
    }

    /// Queues `data`, waiting while the queue is full.
    pub async fn send(&self, data: Bytes) -> Result<(), SendError> {
        self.shared.wrote_recently.store(true, Ordering::Relaxed);
        self.tx.send(data).await.map_err(|_| SendError::Closed)
    }

    /// Queues `data` if there is room now.
    pub fn try_send(&self, data: Bytes) -> Result<(), SendError> {
        self.shared.wrote_recently.store(true, Ordering::Relaxed);
        self.tx.try_send(data).map_err(|e| match e {
            TrySendError::Full => SendError::Full,
            TrySendError::Closed => SendError::Closed,
        })
    }

    /// Queues `data` if there is room now; hands it back when the queue is full (a closed
    /// connection drops it).
    pub(crate) fn offer(&self, data: Bytes) -> Option<Bytes> {
        self.shared.wrote_recently.store(true, Ordering::Relaxed);
        match self.tx.try_send_returning(data) {
            Err((TrySendError::Full, data)) => Some(data),
            _ => None,
        }
    }

    /// Queues `data`, waiting for room at most the connection's `transport_send_timeout`;
    /// a client that does not make room by then is disconnected.
    pub async fn send_or_give_up(&self, data: Bytes) -> Result<(), SendError> {
        match tokio::time::timeout(self.shared.send_timeout, self.send(data)).await {
            Ok(sent) => sent,
            Err(_) => {
                tracing::warn!(
                    connection_id = %self.shared.connection_id,
                    "closing a connection that did not read its messages within the send timeout"
                );
                self.abort();
                Err(SendError::TimedOut)
            }
        }
    }

    /// Clears and returns the "written since last asked" flag (for keep-alive pings).
    pub(crate) fn take_wrote_recently(&self) -> bool {
        self.shared.wrote_recently.swap(false, Ordering::Relaxed)
    }

    /// The id of the connection this sender writes to.
    pub fn connection_id(&self) -> &str {
        &self.shared.connection_id
    }

    /// Asks the application side to end the connection.
    pub fn abort(&self) {
        self.shared.abort.cancel();
    }
}

/// Copies the parts of a request that borrow the server's read buffer.
///
/// hyper parses header values and the URI as slices of its connection read buffer (8 to
/// 16 KiB); keeping them for the connection's lifetime would keep that whole buffer alive
/// for every connection. Owned copies cost a few hundred bytes; the `Sec-WebSocket-*`
/// handshake headers are left out.
fn detach(mut parts: Parts) -> Parts {
    let mut headers = axum::http::HeaderMap::with_capacity(parts.headers.len());
    let mut last_name = None;
    for (name, value) in std::mem::take(&mut parts.headers) {
        // `into_iter` yields each further value of a name with `None`.
        if let Some(name) = name {
            last_name = Some(name);
        }
        let Some(name) = last_name.clone() else {
            continue;
        };
        // The WebSocket handshake's plumbing is of no use once the socket is open.
        if name.as_str().starts_with("sec-websocket-") {
            continue;
        }
        let mut copy =
            axum::http::HeaderValue::from_bytes(value.as_bytes()).unwrap_or(value.clone());
        copy.set_sensitive(value.is_sensitive());
        headers.append(name, copy);
    }
    parts.headers = headers;
    if let Ok(uri) = axum::http::Uri::try_from(parts.uri.to_string()) {
        parts.uri = uri;
    }
    parts
}

/// The application side of one connection, handed to a
/// [`ConnectionHandler`](super::ConnectionHandler).
#[derive(Debug)]
pub struct ConnectionContext {
    pub(crate) shared: Arc<ConnectionShared>,
    inbound: PipeReceiver,
    sender: OutboundSender,
    request: Arc<Parts>,
    transport: TransportType,
}

impl ConnectionContext {
    pub(crate) fn new(
        shared: Arc<ConnectionShared>,
        inbound: PipeReceiver,
        sender: OutboundSender,
        request: Parts,
        transport: TransportType,
    ) -> Self {
        ConnectionContext {
            shared,
            inbound,
            sender,
            request: Arc::new(detach(request)),
            transport,
        }
    }

    /// Whether the transport keeps the connection alive by itself (Long Polling), so that
    /// protocol pings are neither needed nor expected.
    pub fn has_inherent_keep_alive(&self) -> bool {
        self.transport == TransportType::LongPolling
    }

    /// The transport carrying the connection.
    pub fn transport(&self) -> TransportType {
        self.transport
    }

    /// The public connection id (`connectionId` in negotiate).
    pub fn connection_id(&self) -> &str {
        &self.shared.connection_id
    }

    /// The id as a cheaply cloneable string.
    pub fn connection_id_arc(&self) -> Arc<str> {
        self.shared.connection_id.clone()
    }

    /// The next chunk of bytes the client sent; `None` once the transport has ended.
    ///
    /// Chunks follow transport framing, not application records: split them yourself.
    pub async fn receive(&mut self) -> Option<Bytes> {
        tokio::select! {
            chunk = self.inbound.recv() => chunk,
            () = self.shared.closed.cancelled() => None,
            () = self.shared.abort.cancelled() => None,
        }
    }

    /// A handle for writing to the client; clone it freely.
    pub fn sender(&self) -> &OutboundSender {
        &self.sender
    }

    /// Tells the transport whether the application writes text or binary data.
    ///
    /// Returns `false` when the transport cannot carry binary data (Server-Sent Events).
    pub fn set_transfer_format(&self, format: TransferFormat) -> bool {
        if !self.transport.transfer_formats().contains(&format) {
            return false;
        }
        self.shared
            .binary
            .store(format == TransferFormat::Binary, Ordering::Relaxed);
        true
    }

    /// The transfer format currently set.
    pub fn transfer_format(&self) -> TransferFormat {
        self.shared.transfer_format()
    }

    /// The HTTP request that connected the transport (headers, URI, extensions).
    pub fn request(&self) -> &Parts {
        &self.request
    }

    /// The request parts, shared.
    pub fn request_arc(&self) -> Arc<Parts> {
        self.request.clone()
    }

    /// A token that fires when the connection is torn down.
    pub fn closed(&self) -> CancellationToken {
        self.shared.closed.clone()
    }

    /// Whether the transport is gone (as opposed to the server asking to end).
    pub fn is_transport_closed(&self) -> bool {
        self.shared.closed.is_cancelled()
    }

    /// A token that asks the application to end the connection; [`receive`](Self::receive)
    /// then returns `None`.
    pub fn abort_token(&self) -> CancellationToken {
        self.shared.abort.clone()
    }

    /// Asks the application side to end the connection.
    pub fn abort(&self) {
        self.shared.abort.cancel();
    }
}

//! One negotiated connection as the transports see it: its pipes until a transport claims
//! them, the transport it is bound to, and when it last had an active request.

use super::connection_context::ConnectionContext;
use super::error::ClaimError;
use super::http_options::HttpConnectionOptions;
use super::outbound::OutboundSender;
use super::pipe::{pipe, PipeReceiver, PipeSender};
use super::shared::ConnectionShared;
use super::token::ConnectionToken;
use super::transport_type::TransportType;
use axum::http::request::Parts;
use base64::Engine;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// 16 random bytes, base64url without padding (22 characters), as the .NET server does.
pub(crate) fn new_connection_id() -> Arc<str> {
    let bytes: [u8; 16] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(bytes)
        .into()
}

/// Both ends of a new connection's pipes, until a transport claims them.
#[derive(Debug)]
struct Pipes {
    inbound_rx: PipeReceiver,
    outbound_tx: PipeSender,
    outbound_rx: PipeReceiver,
}

#[derive(Debug)]
struct State {
    transport: Option<TransportType>,
    pipes: Option<Pipes>,
    /// When the connection last stopped having an active transport request (Long
    /// Polling between polls, a stateful WebSocket between sockets); `None` while one
    /// is active.
    idle_since: Option<Instant>,
    /// Stateful reconnect: the outgoing pipe while no WebSocket holds the connection.
    parked: Option<PipeReceiver>,
    /// Stateful reconnect: ends the WebSocket holding the connection, so that a new one
    /// can take over.
    holder: Option<CancellationToken>,
}

/// One connection as the transports see it.
#[derive(Debug)]
pub(crate) struct HttpConnection {
    pub(crate) shared: Arc<ConnectionShared>,
    pub(crate) token: ConnectionToken,
    created: Instant,
    /// Where transports (and POST sends) write received bytes.
    pub(crate) inbound_tx: PipeSender,
    state: Mutex<State>,
    /// Set while a POST send copies its body in: one at a time per connection.
    sending: AtomicBool,
    /// Woken whenever the connection gains or loses its active transport request.
    activity: Notify,
}

/// What a transport gets when it claims a connection.
#[derive(Debug)]
pub(crate) struct Claimed {
    /// The bytes the application writes.
    pub(crate) outbound_rx: PipeReceiver,
    /// The application side, to hand to the connection handler.
    pub(crate) application: ConnectionContext,
    /// With stateful reconnect negotiated: fires when a new WebSocket takes over.
    pub(crate) superseded: Option<CancellationToken>,
}

/// What a reconnecting WebSocket gets when it takes a connection over.
#[derive(Debug)]
pub(crate) struct TakenOver {
    /// The bytes the application writes, starting with the replay.
    pub(crate) outbound_rx: PipeReceiver,
    /// Fires when a newer WebSocket takes over in turn.
    pub(crate) superseded: CancellationToken,
}

impl HttpConnection {
    /// A connection with the pipes `options` size; `token` is the secret that addresses it.
    /// With `stateful_reconnect`, negotiate granted it.
    pub(crate) fn new(
        id: Arc<str>,
        token: ConnectionToken,
        options: &HttpConnectionOptions,
        stateful_reconnect: bool,
    ) -> Self {
        let (inbound_tx, inbound_rx) = pipe(options.application_max_buffer_size);
        let (outbound_tx, outbound_rx) = pipe(options.transport_max_buffer_size);
        HttpConnection {
            shared: Arc::new(ConnectionShared::new(
                id,
                options.transport_send_timeout,
                stateful_reconnect,
                options.close_on_authentication_expiration,
            )),
            token,
            created: Instant::now(),
            inbound_tx,
            state: Mutex::new(State {
                transport: None,
                idle_since: None,
                parked: None,
                holder: None,
                pipes: Some(Pipes {
                    inbound_rx,
                    outbound_tx,
                    outbound_rx,
                }),
            }),
            sending: AtomicBool::new(false),
            activity: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state half-written (single
        // assignments only), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Binds the connection to `transport` and hands out both pipe ends.
    pub(crate) fn claim(
        &self,
        transport: TransportType,
        request: Parts,
    ) -> Result<Claimed, ClaimError> {
        let mut state = self.lock();
        match state.transport {
            Some(bound) if bound != transport => return Err(ClaimError::TransportChanged),
            Some(_) => return Err(ClaimError::AlreadyConnected),
            None => {}
        }
        let pipes = state.pipes.take().ok_or(ClaimError::AlreadyConnected)?;
        state.transport = Some(transport);
        tracing::debug!(
            connection_id = %self.shared.connection_id,
            transport = transport.name(),
            "a transport connected"
        );
        let superseded = (self.shared.stateful_reconnect && transport == TransportType::WebSockets)
            .then(CancellationToken::new);
        state.holder = superseded.clone();
        drop(state);
        self.activity.notify_waiters();
        let sender = OutboundSender::new(pipes.outbound_tx, self.shared.clone());
        Ok(Claimed {
            outbound_rx: pipes.outbound_rx,
            application: ConnectionContext::new(
                self.shared.clone(),
                pipes.inbound_rx,
                sender,
                request,
                transport,
            ),
            superseded,
        })
    }

    /// Stateful reconnect: the WebSocket holding the connection is gone without a close.
    /// The connection keeps its state and waits for a new WebSocket (the inactivity
    /// watchdog disposes it after `disconnect_timeout`).
    pub(crate) fn park(&self, mut outbound_rx: PipeReceiver) {
        outbound_rx.detach();
        let mut state = self.lock();
        state.parked = Some(outbound_rx);
        state.holder = None;
        state.idle_since = Some(Instant::now());
        drop(state);
        self.activity.notify_waiters();
    }

    /// Stateful reconnect: a new WebSocket with the same token takes the connection
    /// over. A WebSocket still holding it (the server has not yet noticed it is dead) is
    /// told to end and given `wait` to hand the connection back.
    pub(crate) async fn take_over(&self, wait: Duration) -> Result<TakenOver, ClaimError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let changed = self.activity.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let mut state = self.lock();
                if self.shared.closed.is_cancelled() {
                    return Err(ClaimError::Disposed);
                }
                if state.transport != Some(TransportType::WebSockets) {
                    return Err(ClaimError::TransportChanged);
                }
                if !self.shared.is_resumable() {
                    return Err(ClaimError::AlreadyConnected);
                }
                if let Some(mut outbound_rx) = state.parked.take() {
                    outbound_rx.resume();
                    let superseded = CancellationToken::new();
                    state.holder = Some(superseded.clone());
                    state.idle_since = None;
                    drop(state);
                    self.activity.notify_waiters();
                    return Ok(TakenOver {
                        outbound_rx,
                        superseded,
                    });
                }
                match &state.holder {
                    Some(holder) => holder.cancel(),
                    None => return Err(ClaimError::AlreadyConnected),
                }
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return Err(ClaimError::AlreadyConnected);
            }
        }
    }

    /// Starts a POST send; `None` while another one is in progress. The send ends when
    /// the returned guard is dropped.
    pub(crate) fn begin_send(&self) -> Option<SendInProgress<'_>> {
        self.sending
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .ok()
            .map(|_| SendInProgress { connection: self })
    }

    /// The transport bound to the connection, if any.
    pub(crate) fn transport(&self) -> Option<TransportType> {
        self.lock().transport
    }

    /// Marks the start (`active`) or the end of a transport request, for the sweep.
    pub(crate) fn set_active(&self, active: bool) {
        self.lock().idle_since = if active { None } else { Some(Instant::now()) };
        self.activity.notify_waiters();
    }

    /// When the connection will have gone without a transport for `timeout`: `None` while
    /// a transport request is active.
    pub(crate) fn idle_deadline(&self, timeout: Duration) -> Option<Instant> {
        let state = self.lock();
        let idle_since = match state.transport {
            None => Some(self.created),
            Some(_) => state.idle_since,
        };
        idle_since.map(|since| since + timeout)
    }

    /// Whether the connection's transport holds it for as long as it lives (WebSockets,
    /// Server-Sent Events), rather than request by request.
    pub(crate) fn is_held_by_its_transport(&self) -> bool {
        matches!(
            self.lock().transport,
            Some(TransportType::WebSockets | TransportType::ServerSentEvents)
        )
    }

    /// Resolves at the next change of activity (register before reading the state).
    pub(crate) fn activity_changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.activity.notified()
    }
}

/// A POST send in progress on a connection; dropping it ends the send.
#[derive(Debug)]
pub(crate) struct SendInProgress<'a> {
    connection: &'a HttpConnection,
}

impl Drop for SendInProgress<'_> {
    fn drop(&mut self) {
        self.connection.sending.store(false, Ordering::Release);
    }
}

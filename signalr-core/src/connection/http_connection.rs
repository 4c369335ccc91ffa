//! One negotiated connection as the transports see it: its pipes until a transport claims
//! them, the transport it is bound to, and when it last had an active request.

use super::connection_context::ConnectionContext;
use super::error::ClaimError;
use super::http_options::HttpConnectionOptions;
use super::outbound::OutboundSender;
use super::pipe::{pipe, PipeReceiver, PipeSender};
use super::shared::ConnectionShared;
use super::transport_type::TransportType;
use axum::http::request::Parts;
use base64::Engine;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    /// Polling between polls); `None` while one is active.
    idle_since: Option<Instant>,
}

/// One connection as the transports see it.
#[derive(Debug)]
pub(crate) struct HttpConnection {
    pub(crate) shared: Arc<ConnectionShared>,
    pub(crate) token: Arc<str>,
    created: Instant,
    /// Where transports (and POST sends) write received bytes.
    pub(crate) inbound_tx: PipeSender,
    state: Mutex<State>,
}

/// What a transport gets when it claims a connection.
#[derive(Debug)]
pub(crate) struct Claimed {
    /// The bytes the application writes.
    pub(crate) outbound_rx: PipeReceiver,
    /// The application side, to hand to the connection handler.
    pub(crate) application: ConnectionContext,
}

impl HttpConnection {
    /// A connection with the pipes `options` size; `token` is the secret that addresses it.
    pub(crate) fn new(id: Arc<str>, token: Arc<str>, options: &HttpConnectionOptions) -> Self {
        let (inbound_tx, inbound_rx) = pipe(options.application_max_buffer_size);
        let (outbound_tx, outbound_rx) = pipe(options.transport_max_buffer_size);
        HttpConnection {
            shared: Arc::new(ConnectionShared::new(id, options.transport_send_timeout)),
            token,
            created: Instant::now(),
            inbound_tx,
            state: Mutex::new(State {
                transport: None,
                idle_since: None,
                pipes: Some(Pipes {
                    inbound_rx,
                    outbound_tx,
                    outbound_rx,
                }),
            }),
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
        })
    }

    /// The transport bound to the connection, if any.
    pub(crate) fn transport(&self) -> Option<TransportType> {
        self.lock().transport
    }

    /// Marks the start (`active`) or the end of a transport request, for the sweep.
    pub(crate) fn set_active(&self, active: bool) {
        self.lock().idle_since = if active { None } else { Some(Instant::now()) };
    }

    /// Whether the connection has gone without a transport for longer than `timeout`.
    pub(crate) fn expired(&self, now: Instant, timeout: Duration) -> bool {
        let state = self.lock();
        let idle_since = match state.transport {
            None => Some(self.created),
            Some(_) => state.idle_since,
        };
        idle_since.is_some_and(|since| now.duration_since(since) > timeout)
    }
}

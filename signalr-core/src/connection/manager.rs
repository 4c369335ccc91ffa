//! The connection table: every negotiated connection, keyed by its secret token.

use super::context::{ConnectionContext, ConnectionShared, OutboundSender};
use super::options::{HttpConnectionOptions, TransportType};
use super::pipe::{pipe, PipeReceiver, PipeSender};
use crate::transport::long_polling::LongPoll;
use axum::http::request::Parts;
use base64::Engine;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

/// How often the sweep looks for connections whose transport never came.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

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
    /// The outgoing pipe shared by the polls of a Long Polling connection.
    long_poll: OnceLock<Arc<LongPoll>>,
}

/// What a transport gets when it claims a connection.
#[derive(Debug)]
pub(crate) struct Claimed {
    /// The bytes the application writes.
    pub(crate) outbound_rx: PipeReceiver,
    /// The application side, to hand to the connection handler.
    pub(crate) application: ConnectionContext,
}

/// Why a transport could not claim a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClaimError {
    /// Another transport already owns it.
    TransportChanged,
    /// The same transport is already connected.
    AlreadyConnected,
}

impl HttpConnection {
    fn new(id: Arc<str>, token: Arc<str>, options: &HttpConnectionOptions) -> Self {
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
            long_poll: OnceLock::new(),
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

    /// Keeps the Long Polling side of the outgoing pipe (once, on the first poll).
    pub(crate) fn set_long_poll(&self, long_poll: Arc<LongPoll>) {
        let _ = self.long_poll.set(long_poll);
    }

    /// The Long Polling side of the outgoing pipe, once the first poll set it.
    pub(crate) fn long_poll(&self) -> Option<Arc<LongPoll>> {
        self.long_poll.get().cloned()
    }

    /// Marks the start (`active`) or the end of a transport request, for the sweep.
    pub(crate) fn set_active(&self, active: bool) {
        self.lock().idle_since = if active { None } else { Some(Instant::now()) };
    }

    /// Whether the connection has gone without a transport for longer than `timeout`.
    fn expired(&self, now: Instant, timeout: Duration) -> bool {
        let state = self.lock();
        let idle_since = match state.transport {
            None => Some(self.created),
            Some(_) => state.idle_since,
        };
        idle_since.is_some_and(|since| now.duration_since(since) > timeout)
    }
}

/// Every live connection of one endpoint.
#[derive(Debug, Default)]
pub(crate) struct ConnectionManager {
    connections: Mutex<HashMap<Arc<str>, Arc<HttpConnection>>>,
    sweeper_started: AtomicBool,
}

impl ConnectionManager {
    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Arc<HttpConnection>>> {
        self.connections.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Creates a connection. With `negotiate_version` 0 the token is the id.
    pub(crate) fn create(
        self: &Arc<Self>,
        negotiate_version: u32,
        options: &HttpConnectionOptions,
    ) -> Arc<HttpConnection> {
        self.start_sweeper(options.disconnect_timeout);
        let id = new_connection_id();
        let token = if negotiate_version == 0 {
            id.clone()
        } else {
            new_connection_id()
        };
        let connection = Arc::new(HttpConnection::new(id, token.clone(), options));
        self.table().insert(token, connection.clone());
        connection
    }

    /// Looks a connection up by token.
    pub(crate) fn get(&self, token: &str) -> Option<Arc<HttpConnection>> {
        self.table().get(token).cloned()
    }

    /// Removes a connection and tells every part of it to stop.
    pub(crate) fn remove(&self, token: &str) {
        let removed = self.table().remove(token);
        if let Some(connection) = removed {
            connection.shared.closed.cancel();
        }
    }

    /// Number of connections in the table.
    pub(crate) fn len(&self) -> usize {
        self.table().len()
    }

    fn start_sweeper(self: &Arc<Self>, disconnect_timeout: Duration) {
        if self.sweeper_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SWEEP_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(manager) = weak.upgrade() else { break };
                manager.sweep(disconnect_timeout);
            }
        });
    }

    /// Disposes connections that went without a transport request for longer than
    /// `disconnect_timeout`: negotiated but never connected, or Long Polling with no poll.
    fn sweep(&self, disconnect_timeout: Duration) {
        let now = Instant::now();
        let expired: Vec<Arc<str>> = self
            .table()
            .iter()
            .filter(|(_, c)| c.expired(now, disconnect_timeout))
            .map(|(token, _)| token.clone())
            .collect();
        for token in expired {
            tracing::debug!(
                "disposing a connection inactive for longer than the disconnect timeout"
            );
            self.remove(&token);
        }
    }
}

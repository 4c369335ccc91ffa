//! The connections of one endpoint: each [`HttpConnection`] with the transport state that
//! outlives a single request (a Long Polling connection's shared poll).

use crate::connection::{
    is_shutting_down, new_connection_id, stopping, ConnectionTable, ConnectionToken,
    HttpConnection, HttpConnectionOptions, PipeReceiver,
};
use crate::transport::long_polling::LongPoll;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// One connection of the endpoint.
#[derive(Debug)]
pub(crate) struct EndpointConnection {
    http: HttpConnection,
    /// The outgoing pipe shared by the polls of a Long Polling connection.
    long_poll: OnceLock<Arc<LongPoll>>,
    /// Counted among the unclaimed connections until a transport claims it.
    unclaimed: AtomicBool,
}

impl std::ops::Deref for EndpointConnection {
    type Target = HttpConnection;

    fn deref(&self) -> &HttpConnection {
        &self.http
    }
}

impl EndpointConnection {
    /// Keeps the Long Polling side of the outgoing pipe (once, on the first poll).
    pub(crate) fn set_long_poll(&self, long_poll: Arc<LongPoll>) {
        let _ = self.long_poll.set(long_poll);
    }

    /// The Long Polling side of the outgoing pipe, once the first poll set it.
    pub(crate) fn long_poll(&self) -> Option<Arc<LongPoll>> {
        self.long_poll.get().cloned()
    }
}

/// Every live connection of one endpoint.
#[derive(Debug, Default)]
pub(crate) struct Connections {
    table: ConnectionTable<EndpointConnection>,
    /// Negotiated connections no transport has claimed yet.
    unclaimed: AtomicUsize,
    /// Whether the task that closes every connection at shutdown runs.
    shutdown_watched: AtomicBool,
}

/// Why no new connection was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// `maximum_unclaimed_connections` wait for their transport.
    TooManyUnclaimed,
    /// The application is stopping.
    ShuttingDown,
}

impl Connections {
    /// Creates a connection, unless `maximum_unclaimed_connections` already wait for
    /// their transport. With `negotiate_version` 0 the token is the id.
    /// With `stateful_reconnect`, negotiate granted it.
    pub(crate) fn create(
        self: &Arc<Self>,
        negotiate_version: u32,
        options: &HttpConnectionOptions,
        stateful_reconnect: bool,
    ) -> Result<Arc<EndpointConnection>, Refused> {
        if is_shutting_down() {
            return Err(Refused::ShuttingDown);
        }
        if !self.shutdown_watched.swap(true, Ordering::AcqRel) {
            let connections = Arc::downgrade(self);
            tokio::spawn(async move {
                stopping().await;
                if let Some(connections) = connections.upgrade() {
                    connections.close_all();
                }
            });
        }
        let limit = options.maximum_unclaimed_connections;
        let counted = self
            .unclaimed
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            });
        if counted.is_err() {
            return Err(Refused::TooManyUnclaimed);
        }
        let id = new_connection_id();
        let token = ConnectionToken::new(if negotiate_version == 0 {
            id.clone()
        } else {
            new_connection_id()
        });
        let connection = Arc::new(EndpointConnection {
            http: HttpConnection::new(id, token.clone(), options, stateful_reconnect),
            long_poll: OnceLock::new(),
            unclaimed: AtomicBool::new(true),
        });
        tracing::debug!(connection_id = %connection.shared.connection_id, stateful_reconnect, "negotiated a connection");
        self.table.insert(token, connection.clone());
        super::inactivity::watch(
            Arc::downgrade(self),
            connection.clone(),
            options.disconnect_timeout,
        );
        Ok(connection)
    }

    /// Stateful reconnect: `connection` lost its WebSocket and waits for the next one,
    /// for at most `disconnect_timeout`.
    pub(crate) fn park(
        self: &Arc<Self>,
        connection: &Arc<EndpointConnection>,
        outbound_rx: PipeReceiver,
        disconnect_timeout: std::time::Duration,
    ) {
        connection.park(outbound_rx);
        super::inactivity::watch(Arc::downgrade(self), connection.clone(), disconnect_timeout);
    }

    /// A transport claimed `connection`: it no longer counts as waiting for one.
    pub(crate) fn claimed(&self, connection: &EndpointConnection) {
        if connection.unclaimed.swap(false, Ordering::AcqRel) {
            self.unclaimed.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Looks a connection up by token.
    pub(crate) fn get(&self, token: &str) -> Option<Arc<EndpointConnection>> {
        self.table.get(token)
    }

    /// Removes a connection and tells every part of it to stop.
    pub(crate) fn remove(&self, token: &str) {
        if let Some(connection) = self.table.remove(token) {
            tracing::debug!(connection_id = %connection.shared.connection_id, "disposed a connection");
            self.claimed(&connection);
            connection.shared.closed.cancel();
        }
    }

    /// Asks every connection to end (shutdown): connected ones through their application,
    /// which says goodbye first; those no transport claimed yet are disposed.
    fn close_all(&self) {
        for connection in self.table.entries() {
            if connection.unclaimed.load(Ordering::Acquire) {
                self.remove(&connection.token);
            } else {
                connection.shared.abort.cancel();
            }
        }
    }

    /// Number of connections in the table.
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }
}

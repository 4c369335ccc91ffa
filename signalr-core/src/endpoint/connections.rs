//! The connections of one endpoint: each [`HttpConnection`] with the transport state that
//! outlives a single request (a Long Polling connection's shared poll).

use crate::connection::{
    new_connection_id, ConnectionTable, HttpConnection, HttpConnectionOptions,
};
use crate::transport::long_polling::LongPoll;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// One connection of the endpoint.
#[derive(Debug)]
pub(crate) struct EndpointConnection {
    http: HttpConnection,
    /// The outgoing pipe shared by the polls of a Long Polling connection.
    long_poll: OnceLock<Arc<LongPoll>>,
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
    sweeper_started: AtomicBool,
}

impl Connections {
    /// Creates a connection. With `negotiate_version` 0 the token is the id.
    pub(crate) fn create(
        self: &Arc<Self>,
        negotiate_version: u32,
        options: &HttpConnectionOptions,
    ) -> Arc<EndpointConnection> {
        if !self.sweeper_started.swap(true, Ordering::AcqRel) {
            super::sweep::start(Arc::downgrade(self), options.disconnect_timeout);
        }
        let id = new_connection_id();
        let token = if negotiate_version == 0 {
            id.clone()
        } else {
            new_connection_id()
        };
        let connection = Arc::new(EndpointConnection {
            http: HttpConnection::new(id, token.clone(), options),
            long_poll: OnceLock::new(),
        });
        self.table.insert(token, connection.clone());
        connection
    }

    /// Looks a connection up by token.
    pub(crate) fn get(&self, token: &str) -> Option<Arc<EndpointConnection>> {
        self.table.get(token)
    }

    /// Removes a connection and tells every part of it to stop.
    pub(crate) fn remove(&self, token: &str) {
        if let Some(connection) = self.table.remove(token) {
            connection.shared.closed.cancel();
        }
    }

    /// Number of connections in the table.
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    /// The tokens of every connection `matches` selects.
    pub(crate) fn tokens_where(
        &self,
        matches: impl FnMut(&EndpointConnection) -> bool,
    ) -> Vec<Arc<str>> {
        self.table.tokens_where(matches)
    }
}

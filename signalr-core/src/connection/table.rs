//! The connection table: every negotiated connection of one endpoint, keyed by its secret
//! token.
//!
//! Generic over what an entry holds, so the endpoint above can keep transport state (a
//! Long Polling connection's shared poll) beside each [`HttpConnection`](super::HttpConnection)
//! without this layer knowing the transports.

use super::token::ConnectionToken;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Entries keyed by connection token.
#[derive(Debug)]
pub(crate) struct ConnectionTable<T> {
    entries: Mutex<HashMap<ConnectionToken, Arc<T>>>,
}

impl<T> Default for ConnectionTable<T> {
    fn default() -> Self {
        ConnectionTable {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> ConnectionTable<T> {
    fn lock(&self) -> MutexGuard<'_, HashMap<ConnectionToken, Arc<T>>> {
        // Every critical section is one map operation: a poisoned lock still holds a
        // consistent table.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds an entry under `token`.
    pub(crate) fn insert(&self, token: ConnectionToken, entry: Arc<T>) {
        self.lock().insert(token, entry);
    }

    /// The entry of `token`.
    pub(crate) fn get(&self, token: &str) -> Option<Arc<T>> {
        self.lock().get(token).cloned()
    }

    /// Takes the entry of `token` out of the table.
    pub(crate) fn remove(&self, token: &str) -> Option<Arc<T>> {
        self.lock().remove(token)
    }

    /// Every entry, at this moment.
    pub(crate) fn entries(&self) -> Vec<Arc<T>> {
        self.lock().values().cloned().collect()
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

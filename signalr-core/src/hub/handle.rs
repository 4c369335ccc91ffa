//! [`HubHandle`]: what every proxy, group manager and context of one hub shares.

use super::error::ClientResultError;
use super::lifetime::HubLifetimeManager;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The hub's lifetime manager and the options its proxies apply themselves.
#[derive(Debug)]
pub(crate) struct HubHandle {
    pub(crate) manager: Arc<dyn HubLifetimeManager>,
    /// `client_result_timeout` in milliseconds; 0 for none.
    client_result_timeout_ms: AtomicU64,
    /// `maximum_pending_client_results_per_client`.
    max_pending_results: AtomicUsize,
    /// Client results awaited, per connection (only connections with some).
    pending_results: Mutex<HashMap<Arc<str>, usize>>,
}

/// Default of `HubOptions::maximum_pending_client_results_per_client`.
pub(crate) const DEFAULT_MAX_PENDING_RESULTS: usize = 100;

impl HubHandle {
    pub(crate) fn new(manager: Arc<dyn HubLifetimeManager>) -> Self {
        HubHandle {
            manager,
            client_result_timeout_ms: AtomicU64::new(0),
            max_pending_results: AtomicUsize::new(DEFAULT_MAX_PENDING_RESULTS),
            pending_results: Mutex::new(HashMap::new()),
        }
    }

    /// How long a client result may take (`None`: until the client answers or leaves).
    pub(crate) fn client_result_timeout(&self) -> Option<Duration> {
        match self.client_result_timeout_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(Duration::from_millis(ms)),
        }
    }

    /// Takes the hub options the proxies apply (`client_result_timeout` and
    /// `maximum_pending_client_results_per_client`).
    pub(crate) fn apply(
        &self,
        client_result_timeout: Option<Duration>,
        max_pending_results: usize,
    ) {
        self.set_client_result_timeout(client_result_timeout);
        self.max_pending_results
            .store(max_pending_results, Ordering::Relaxed);
    }

    /// Counts one more client result awaited from `connection_id`, within the limit.
    pub(crate) fn await_client_result(
        &self,
        connection_id: &Arc<str>,
    ) -> Result<PendingResult<'_>, ClientResultError> {
        let limit = self.max_pending_results.load(Ordering::Relaxed);
        let mut pending = self
            .pending_results
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let count = pending.entry(connection_id.clone()).or_default();
        if *count >= limit {
            if *count == 0 {
                pending.remove(connection_id);
            }
            return Err(ClientResultError::TooManyPending { limit });
        }
        *count += 1;
        Ok(PendingResult {
            hub: self,
            connection_id: connection_id.clone(),
        })
    }

    pub(crate) fn set_client_result_timeout(&self, timeout: Option<Duration>) {
        let ms = timeout.map_or(0, |t| {
            u64::try_from(t.as_millis()).unwrap_or(u64::MAX).max(1)
        });
        self.client_result_timeout_ms.store(ms, Ordering::Relaxed);
    }
}

/// One client result being awaited; dropping it (answered, failed or given up) frees its
/// place.
#[derive(Debug)]
pub(crate) struct PendingResult<'a> {
    hub: &'a HubHandle,
    connection_id: Arc<str>,
}

impl Drop for PendingResult<'_> {
    fn drop(&mut self) {
        let mut pending = self
            .hub
            .pending_results
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(count) = pending.get_mut(&self.connection_id) {
            *count -= 1;
            if *count == 0 {
                pending.remove(&self.connection_id);
            }
        }
    }
}

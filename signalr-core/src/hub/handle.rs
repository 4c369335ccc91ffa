//! [`HubHandle`]: what every proxy, group manager and context of one hub shares.

use super::lifetime::HubLifetimeManager;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The hub's lifetime manager and the options its proxies apply themselves.
#[derive(Debug)]
pub(crate) struct HubHandle {
    pub(crate) manager: Arc<dyn HubLifetimeManager>,
    /// `client_result_timeout` in milliseconds; 0 for none.
    client_result_timeout_ms: AtomicU64,
}

impl HubHandle {
    pub(crate) fn new(manager: Arc<dyn HubLifetimeManager>) -> Self {
        HubHandle {
            manager,
            client_result_timeout_ms: AtomicU64::new(0),
        }
    }

    /// How long a client result may take (`None`: until the client answers or leaves).
    pub(crate) fn client_result_timeout(&self) -> Option<Duration> {
        match self.client_result_timeout_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(Duration::from_millis(ms)),
        }
    }

    pub(crate) fn set_client_result_timeout(&self, timeout: Option<Duration>) {
        let ms = timeout.map_or(0, |t| {
            u64::try_from(t.as_millis()).unwrap_or(u64::MAX).max(1)
        });
        self.client_result_timeout_ms.store(ms, Ordering::Relaxed);
    }
}

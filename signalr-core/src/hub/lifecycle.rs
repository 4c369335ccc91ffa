//! Connection lifecycle: why a connection ended, and per-connection items.

use axum::http::Extensions;
use std::sync::Mutex;

/// Why a hub connection ended, as `on_disconnected` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The client closed it (a Close message, `stop()`, or its transport closing).
    Closed,
    /// Server code aborted it (`Ctx::abort`, or a client too slow to keep up).
    Aborted,
    /// A protocol error or timeout; the text says which.
    Error(String),
}

/// Values stored per connection for the connection's lifetime (modelling
/// `HubCallerContext.Items`), keyed by type.
///
/// ```
/// use signalr_core::hub::Items;
/// #[derive(Clone, Debug, PartialEq)]
/// struct Nickname(String);
/// let items = Items::default();
/// items.insert(Nickname("ada".into()));
/// assert_eq!(items.get::<Nickname>(), Some(Nickname("ada".into())));
/// ```
#[derive(Debug, Default)]
pub struct Items {
    values: Mutex<Extensions>,
}

impl Items {
    fn lock(&self) -> std::sync::MutexGuard<'_, Extensions> {
        self.values.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores `value`, returning the previous value of its type.
    pub fn insert<T: Clone + Send + Sync + 'static>(&self, value: T) -> Option<T> {
        self.lock().insert(value)
    }

    /// A copy of the stored value of type `T`.
    pub fn get<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.lock().get::<T>().cloned()
    }

    /// Removes and returns the stored value of type `T`.
    pub fn remove<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.lock().remove::<T>()
    }
}

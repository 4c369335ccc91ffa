//! [`Items`]: values kept per connection for as long as it lives.

use axum::http::Extensions;
use std::sync::Mutex;

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

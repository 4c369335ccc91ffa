//! [`HubShared`]: what every connection of one hub shares at run time.

use crate::hub::handle::HubHandle;
use crate::hub::{HubOptions, UserIdProvider};
use std::sync::Arc;

/// What every connection of a hub shares.
pub(crate) struct HubShared<D> {
    pub(crate) dispatcher: D,
    pub(crate) options: HubOptions,
    pub(crate) hub: Arc<HubHandle>,
    pub(crate) users: Arc<dyn UserIdProvider>,
}

impl<D> std::fmt::Debug for HubShared<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubShared")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

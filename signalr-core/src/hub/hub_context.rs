//! [`HubContext`]: reaching a hub's clients from outside hub methods.

use super::clients::HubClients;
use super::groups::Groups;
use super::handle::HubHandle;
use std::sync::Arc;

/// A handle to a hub usable outside hub methods: axum handlers, background tasks
/// (modelling `IHubContext<THub, T>`). Cheap to clone.
///
/// ```text
/// let context = server.context();
/// tokio::spawn(async move {
///     context.clients().all().receive_message("system".into(), "tick".into()).await.ok();
/// });
/// ```
#[derive(Debug, Clone)]
pub struct HubContext {
    clients: HubClients,
    groups: Groups,
}

impl HubContext {
    pub(crate) fn new(hub: Arc<HubHandle>) -> Self {
        HubContext {
            clients: HubClients { hub: hub.clone() },
            groups: Groups { hub },
        }
    }

    /// Proxies for everyone, groups, users or chosen connections.
    pub fn clients(&self) -> &HubClients {
        &self.clients
    }

    /// Group membership of this hub's connections.
    pub fn groups(&self) -> &Groups {
        &self.groups
    }
}

//! [`Groups`]: adding connections to groups and removing them.

use super::error::GroupError;
use super::handle::HubHandle;
use std::sync::Arc;

/// Adds connections to groups and removes them (modelling `IGroupManager`).
///
/// Membership lasts until removed or until the connection ends; groups exist while they
/// have members.
#[derive(Debug, Clone)]
pub struct Groups {
    pub(crate) hub: Arc<HubHandle>,
}

impl Groups {
    /// Adds a connection to a group (a connection not on this hub is ignored).
    pub async fn add_to_group(&self, connection_id: &str, group: &str) -> Result<(), GroupError> {
        self.hub.manager.add_to_group(connection_id, group).await
    }

    /// Removes a connection from a group.
    pub async fn remove_from_group(
        &self,
        connection_id: &str,
        group: &str,
    ) -> Result<(), GroupError> {
        self.hub
            .manager
            .remove_from_group(connection_id, group)
            .await
    }
}

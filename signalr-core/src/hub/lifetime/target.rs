//! [`ClientTarget`]: who a server-to-client message goes to.

use std::sync::Arc;

/// The connections a message is meant for, as a client proxy names them (the
/// `Send*Async` methods of .NET's `HubLifetimeManager`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientTarget {
    /// Every connection of the hub.
    All,
    /// Every connection except those listed.
    AllExcept(Arc<[Arc<str>]>),
    /// One connection.
    Connection(Arc<str>),
    /// The connections listed.
    Connections(Arc<[Arc<str>]>),
    /// Every connection in a group.
    Group(Arc<str>),
    /// Every connection in any of the groups.
    Groups(Arc<[Arc<str>]>),
    /// Every connection in a group except those listed.
    GroupExcept(Arc<str>, Arc<[Arc<str>]>),
    /// Every connection of a user.
    User(Arc<str>),
    /// Every connection of any of the users.
    Users(Arc<[Arc<str>]>),
}

//! [`HubLifetimeManager`]: the seam between hub code and whatever holds the hub's
//! connections, groups and users.

use super::hub_connection::HubConnectionContext;
use super::message::{ClientInvocation, SerializedHubMessage};
use super::target::ClientTarget;
use crate::hub::error::{ClientResultError, GroupError, SendError};
use crate::hub::BoxFuture;
use crate::protocol::{CompletionMessage, RawValue};

/// Keeps track of a hub's connections, groups and users and delivers messages to them
/// (modelling ASP.NET Core's `HubLifetimeManager<THub>`).
///
/// Every client proxy, group change and client result of a hub goes through its lifetime
/// manager, so replacing it changes where messages go without touching hub code: the
/// default, [`DefaultHubLifetimeManager`](super::DefaultHubLifetimeManager), reaches this
/// server's connections; a scale-out backplane publishes to the other servers as well and
/// delivers what they publish to its own connections (typically through a
/// `DefaultHubLifetimeManager` it wraps). Install one with
/// [`HubServer::lifetime_manager`](crate::hub::HubServer::lifetime_manager).
///
/// The runtime calls [`on_connected`](Self::on_connected) after a connection's handshake and
/// [`on_disconnected`](Self::on_disconnected) when it ends, and hands every Completion that
/// answers a client result to [`set_connection_result`](Self::set_connection_result).
///
/// Methods return boxed futures so that the manager can be shared as
/// `Arc<dyn HubLifetimeManager>` by every proxy; one allocation per send, not per recipient.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a hub lifetime manager",
    note = "implement `signalr::hub::HubLifetimeManager`, or keep the default `DefaultHubLifetimeManager`"
)]
pub trait HubLifetimeManager: Send + Sync + 'static {
    /// A connection completed its handshake: make it reachable by id and by its user.
    fn on_connected(&self, connection: HubConnectionContext) -> BoxFuture<'_, ()>;

    /// A connection ended: forget it, its groups and its user link, and fail the client
    /// results still expected from it with [`ClientResultError::Disconnected`].
    fn on_disconnected<'a>(&'a self, connection_id: &'a str) -> BoxFuture<'a, ()>;

    /// Delivers `message` to every connection `target` selects, once each.
    ///
    /// Sending to a group, user or connection that does not exist is not an error.
    fn send<'a>(
        &'a self,
        target: &'a ClientTarget,
        message: &'a SerializedHubMessage<'a>,
    ) -> BoxFuture<'a, Result<(), SendError>>;

    /// Adds a connection to a group; returns once the change is in effect.
    fn add_to_group<'a>(
        &'a self,
        connection_id: &'a str,
        group: &'a str,
    ) -> BoxFuture<'a, Result<(), GroupError>>;

    /// Removes a connection from a group; returns once the change is in effect.
    fn remove_from_group<'a>(
        &'a self,
        connection_id: &'a str,
        group: &'a str,
    ) -> BoxFuture<'a, Result<(), GroupError>>;

    /// Invokes a client method on one connection and waits for the client's result (a
    /// client result), still undecoded. Dropping the future gives up waiting.
    fn invoke_connection<'a>(
        &'a self,
        connection_id: &'a str,
        invocation: ClientInvocation<'a>,
    ) -> BoxFuture<'a, Result<RawValue, ClientResultError>>;

    /// A connection sent a Completion that may answer a client result; `false` when no
    /// client result of that connection has its invocation id.
    fn set_connection_result(&self, connection_id: &str, completion: CompletionMessage) -> bool;
}

impl std::fmt::Debug for dyn HubLifetimeManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HubLifetimeManager")
    }
}

//! Client proxies: who a server-to-client call goes to. `#[hub_client]` traits add the
//! typed methods to [`ClientProxy`].

use super::client_results::ClientResultError;
use super::error::SendError;
use super::lifetime::{HubLifetimeManager, Target};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

/// Marker: the proxy reaches exactly one connection (client results are allowed).
#[derive(Debug, Clone, Copy)]
pub enum Single {}

/// Marker: the proxy may reach any number of connections.
#[derive(Debug, Clone, Copy)]
pub enum Many {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Single {}
    impl Sealed for super::Many {}
}

/// How many connections a proxy reaches: [`Single`] or [`Many`].
pub trait ProxyScope: sealed::Sealed + Send + Sync + 'static {}
impl ProxyScope for Single {}
impl ProxyScope for Many {}

/// A set of connections to call client methods on.
///
/// Its typed methods come from `#[hub_client]` traits, which are implemented for every
/// `ClientProxy`: bring the trait into scope and call `proxy.receive_message(..).await`.
#[derive(Debug, Clone)]
pub struct ClientProxy<S: ProxyScope = Many> {
    manager: Arc<HubLifetimeManager>,
    target: Target,
    scope: PhantomData<fn() -> S>,
}

impl<S: ProxyScope> ClientProxy<S> {
    pub(crate) fn new(manager: Arc<HubLifetimeManager>, target: Target) -> Self {
        ClientProxy {
            manager,
            target,
            scope: PhantomData,
        }
    }

    /// Calls client method `method` (its wire name) with `arguments`, a tuple.
    ///
    /// The message is serialized at most once per protocol in use and the bytes shared.
    /// This is what the typed methods of `#[hub_client]` traits call.
    pub async fn send<A: Serialize + ?Sized>(
        &self,
        method: &str,
        arguments: &A,
    ) -> Result<(), SendError> {
        self.manager.send(&self.target, method, arguments).await
    }
}

/// Client results: awaiting a value from one client.
///
/// Implemented only by the single-client proxy (`clients().caller()`,
/// `clients().client(id)`); the typed methods `#[hub_client]` generates for client methods
/// with a return type call it.
#[diagnostic::on_unimplemented(
    message = "client results can only be awaited from a single client, and `{Self}` may reach many",
    label = "this proxy may reach many connections",
    note = "call the method on `clients().caller()` or `clients().client(connection_id)`"
)]
pub trait SingleClientProxy {
    /// Invokes client method `method` (its wire name) with `arguments` (a tuple, or `()`)
    /// and waits for the client's result.
    fn invoke<A, R>(
        &self,
        method: &str,
        arguments: &A,
    ) -> impl Future<Output = Result<R, ClientResultError>> + Send
    where
        A: Serialize + Sync + ?Sized,
        R: DeserializeOwned;
}

impl SingleClientProxy for ClientProxy<Single> {
    async fn invoke<A, R>(&self, method: &str, arguments: &A) -> Result<R, ClientResultError>
    where
        A: Serialize + Sync + ?Sized,
        R: DeserializeOwned,
    {
        match &self.target {
            Target::Client(id) => self.manager.invoke(id, method, arguments).await,
            _ => Err(ClientResultError::UnknownConnection(String::new())),
        }
    }
}

fn ids<I, T>(ids: I) -> Arc<[Arc<str>]>
where
    I: IntoIterator<Item = T>,
    T: AsRef<str>,
{
    ids.into_iter().map(|id| Arc::from(id.as_ref())).collect()
}

/// The clients reachable from a `HubContext`, outside any hub method (no caller).
///
/// Every method returns a [`ClientProxy`]; the `#[hub_client]` traits give it its typed
/// methods. Sending to a group, user or connection that does not exist is not an error.
#[derive(Debug, Clone)]
pub struct HubClients {
    pub(crate) manager: Arc<HubLifetimeManager>,
}

impl HubClients {
    fn proxy<S: ProxyScope>(&self, target: Target) -> ClientProxy<S> {
        ClientProxy::new(self.manager.clone(), target)
    }

    /// Every connection of the hub.
    pub fn all(&self) -> ClientProxy<Many> {
        self.proxy(Target::All)
    }

    /// Every connection except those listed.
    pub fn all_except<I: IntoIterator<Item = T>, T: AsRef<str>>(
        &self,
        excluded: I,
    ) -> ClientProxy<Many> {
        self.proxy(Target::AllExcept(ids(excluded)))
    }

    /// One connection, by id.
    pub fn client(&self, connection_id: &str) -> ClientProxy<Single> {
        self.proxy(Target::Client(connection_id.into()))
    }

    /// The connections listed.
    pub fn clients<I: IntoIterator<Item = T>, T: AsRef<str>>(
        &self,
        connection_ids: I,
    ) -> ClientProxy<Many> {
        self.proxy(Target::Clients(ids(connection_ids)))
    }

    /// Every connection in a group.
    pub fn group(&self, group: &str) -> ClientProxy<Many> {
        self.proxy(Target::Group(group.into()))
    }

    /// Every connection in any of the groups (once each).
    pub fn groups<I: IntoIterator<Item = T>, T: AsRef<str>>(&self, groups: I) -> ClientProxy<Many> {
        self.proxy(Target::Groups(ids(groups)))
    }

    /// Every connection in a group except those listed.
    pub fn group_except<I: IntoIterator<Item = T>, T: AsRef<str>>(
        &self,
        group: &str,
        excluded: I,
    ) -> ClientProxy<Many> {
        self.proxy(Target::GroupExcept(group.into(), ids(excluded)))
    }

    /// Every connection of a user.
    pub fn user(&self, user_id: &str) -> ClientProxy<Many> {
        self.proxy(Target::User(user_id.into()))
    }

    /// Every connection of any of the users (once each).
    pub fn users<I: IntoIterator<Item = T>, T: AsRef<str>>(
        &self,
        user_ids: I,
    ) -> ClientProxy<Many> {
        self.proxy(Target::Users(ids(user_ids)))
    }
}

/// The clients reachable from inside a hub method: everything [`HubClients`] offers (through
/// `Deref`), plus the caller, the others, and the others in a group.
#[derive(Debug, Clone)]
pub struct CallerClients {
    pub(crate) clients: HubClients,
    pub(crate) caller: Arc<str>,
}

impl CallerClients {
    /// The connection that made the current call.
    pub fn caller(&self) -> ClientProxy<Single> {
        self.clients.proxy(Target::Client(self.caller.clone()))
    }

    /// Every connection except the caller.
    pub fn others(&self) -> ClientProxy<Many> {
        self.clients
            .proxy(Target::AllExcept(Arc::from([self.caller.clone()])))
    }

    /// Every connection in a group except the caller.
    pub fn others_in_group(&self, group: &str) -> ClientProxy<Many> {
        self.clients.proxy(Target::GroupExcept(
            group.into(),
            Arc::from([self.caller.clone()]),
        ))
    }
}

impl std::ops::Deref for CallerClients {
    type Target = HubClients;

    fn deref(&self) -> &HubClients {
        &self.clients
    }
}

/// Adds connections to groups and removes them (modelling `IGroupManager`).
///
/// Membership lasts until removed or until the connection ends; groups exist while they
/// have members.
#[derive(Debug, Clone)]
pub struct Groups {
    pub(crate) manager: Arc<HubLifetimeManager>,
}

/// A group change could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    /// The scale-out backplane did not confirm the change.
    #[error("the backplane did not confirm the group change: {0}")]
    Backplane(String),
}

impl Groups {
    /// Adds a connection to a group (a connection not on this hub is ignored).
    pub async fn add_to_group(&self, connection_id: &str, group: &str) -> Result<(), GroupError> {
        self.manager.add_to_group(connection_id, group);
        Ok(())
    }

    /// Removes a connection from a group.
    pub async fn remove_from_group(
        &self,
        connection_id: &str,
        group: &str,
    ) -> Result<(), GroupError> {
        self.manager.remove_from_group(connection_id, group);
        Ok(())
    }
}

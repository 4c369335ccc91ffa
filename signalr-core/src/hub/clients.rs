//! Client proxies: who a server-to-client call goes to. `#[hub_client]` traits add the
//! typed methods to [`ClientProxy`].

use super::error::{ClientResultError, SendError};
use super::handle::HubHandle;
use super::lifetime::{ClientInvocation, ClientTarget, SerializedHubMessage};
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
    hub: Arc<HubHandle>,
    target: ClientTarget,
    scope: PhantomData<fn() -> S>,
}

impl<S: ProxyScope> ClientProxy<S> {
    pub(crate) fn new(hub: Arc<HubHandle>, target: ClientTarget) -> Self {
        ClientProxy {
            hub,
            target,
            scope: PhantomData,
        }
    }

    /// Calls client method `method` (its wire name) with `arguments`, a tuple.
    ///
    /// The message is serialized at most once per protocol in use and the bytes shared.
    /// This is what the typed methods of `#[hub_client]` traits call.
    pub async fn send<A: Serialize + Sync + ?Sized>(
        &self,
        method: &str,
        arguments: &A,
    ) -> Result<(), SendError> {
        let message = SerializedHubMessage::new(ClientInvocation::new(method, &arguments));
        self.hub.manager.send(&self.target, &message).await
    }

    /// Who the proxy reaches.
    pub fn target(&self) -> &ClientTarget {
        &self.target
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
        let ClientTarget::Connection(id) = &self.target else {
            return Err(ClientResultError::UnknownConnection(String::new()));
        };
        let _pending = self.hub.await_client_result(id)?;
        let invocation = ClientInvocation::new(method, &arguments);
        let reply = self.hub.manager.invoke_connection(id, invocation);
        let raw = match self.hub.client_result_timeout() {
            None => reply.await?,
            Some(limit) => tokio::time::timeout(limit, reply)
                .await
                .map_err(|_| ClientResultError::Timeout(limit))??,
        };
        raw.decode::<R>()
            .map_err(|e| ClientResultError::Deserialize {
                type_name: std::any::type_name::<R>(),
                detail: e.detail().to_owned(),
            })
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
    pub(crate) hub: Arc<HubHandle>,
}

impl HubClients {
    fn proxy<S: ProxyScope>(&self, target: ClientTarget) -> ClientProxy<S> {
        ClientProxy::new(self.hub.clone(), target)
    }

    /// Every connection of the hub.
    pub fn all(&self) -> ClientProxy<Many> {
        self.proxy(ClientTarget::All)
    }

    /// Every connection except those listed.
    pub fn all_except<I: IntoIterator<Item = T>, T: AsRef<str>>(
        &self,
        excluded: I,
    ) -> ClientProxy<Many> {
        self.proxy(ClientTarget::AllExcept(ids(excluded)))
    }

    /// One connection, by id.
    pub fn client(&self, connection_id: &str) -> ClientProxy<Single> {
        self.proxy(ClientTarget::Connection(connection_id.into()))
    }

    /// The connections listed.
    pub fn clients<I: IntoIterator<Item = T>, T: AsRef<str>>(
        &self,
        connection_ids: I,
    ) -> ClientProxy<Many> {
        self.proxy(ClientTarget::Connections(ids(connection_ids)))
    }

    /// Every connection in a group.
    pub fn group(&self, group: &str) -> ClientProxy<Many> {
        self.proxy(ClientTarget::Group(group.into()))
    }

    /// Every connection in any of the groups (once each).
    pub fn groups<I: IntoIterator<Item = T>, T: AsRef<str>>(&self, groups: I) -> ClientProxy<Many> {
        self.proxy(ClientTarget::Groups(ids(groups)))
    }

    /// Every connection in a group except those listed.
    pub fn group_except<I: IntoIterator<Item = T>, T: AsRef<str>>(
        &self,
        group: &str,
        excluded: I,
    ) -> ClientProxy<Many> {
        self.proxy(ClientTarget::GroupExcept(group.into(), ids(excluded)))
    }

    /// Every connection of a user.
    pub fn user(&self, user_id: &str) -> ClientProxy<Many> {
        self.proxy(ClientTarget::User(user_id.into()))
    }

    /// Every connection of any of the users (once each).
    pub fn users<I: IntoIterator<Item = T>, T: AsRef<str>>(
        &self,
        user_ids: I,
    ) -> ClientProxy<Many> {
        self.proxy(ClientTarget::Users(ids(user_ids)))
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
        self.clients
            .proxy(ClientTarget::Connection(self.caller.clone()))
    }

    /// Every connection except the caller.
    pub fn others(&self) -> ClientProxy<Many> {
        self.clients
            .proxy(ClientTarget::AllExcept(Arc::from([self.caller.clone()])))
    }

    /// Every connection in a group except the caller.
    pub fn others_in_group(&self, group: &str) -> ClientProxy<Many> {
        self.clients.proxy(ClientTarget::GroupExcept(
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

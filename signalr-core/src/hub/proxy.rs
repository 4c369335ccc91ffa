//! Client proxies: who a server-to-client call goes to. `#[hub_client]` traits add the
//! typed methods to [`ClientProxy`].

use super::error::SendError;
use super::lifetime::{HubLifetimeManager, Target};
use serde::Serialize;
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

/// Builds the client targets available everywhere (hub methods and `HubContext`).
#[derive(Debug, Clone)]
pub(crate) struct TargetBuilder {
    pub(crate) manager: Arc<HubLifetimeManager>,
}

fn ids<I, T>(ids: I) -> Arc<[Arc<str>]>
where
    I: IntoIterator<Item = T>,
    T: AsRef<str>,
{
    ids.into_iter().map(|id| Arc::from(id.as_ref())).collect()
}

impl TargetBuilder {
    pub(crate) fn all(&self) -> ClientProxy<Many> {
        ClientProxy::new(self.manager.clone(), Target::All)
    }

    pub(crate) fn all_except<I: IntoIterator<Item = T>, T: AsRef<str>>(
        &self,
        excluded: I,
    ) -> ClientProxy<Many> {
        ClientProxy::new(self.manager.clone(), Target::AllExcept(ids(excluded)))
    }

    pub(crate) fn client(&self, connection_id: &str) -> ClientProxy<Single> {
        ClientProxy::new(self.manager.clone(), Target::Client(connection_id.into()))
    }

    pub(crate) fn clients<I: IntoIterator<Item = T>, T: AsRef<str>>(
        &self,
        connection_ids: I,
    ) -> ClientProxy<Many> {
        ClientProxy::new(self.manager.clone(), Target::Clients(ids(connection_ids)))
    }
}

/// The clients reachable from a `HubContext`, outside any hub method (no caller).
#[derive(Debug, Clone)]
pub struct HubClients {
    pub(crate) targets: TargetBuilder,
}

impl HubClients {
    /// Every connection of the hub.
    pub fn all(&self) -> ClientProxy<Many> {
        self.targets.all()
    }

    /// Every connection except those listed.
    pub fn all_except<I: IntoIterator<Item = T>, T: AsRef<str>>(
        &self,
        excluded: I,
    ) -> ClientProxy<Many> {
        self.targets.all_except(excluded)
    }

    /// One connection, by id.
    pub fn client(&self, connection_id: &str) -> ClientProxy<Single> {
        self.targets.client(connection_id)
    }

    /// The connections listed.
    pub fn clients<I: IntoIterator<Item = T>, T: AsRef<str>>(
        &self,
        connection_ids: I,
    ) -> ClientProxy<Many> {
        self.targets.clients(connection_ids)
    }
}

/// The clients reachable from inside a hub method: everything [`HubClients`] offers, plus
/// the caller and the others.
#[derive(Debug, Clone)]
pub struct CallerClients {
    pub(crate) targets: TargetBuilder,
    pub(crate) caller: Arc<str>,
}

impl CallerClients {
    /// The connection that made the current call.
    pub fn caller(&self) -> ClientProxy<Single> {
        ClientProxy::new(
            self.targets.manager.clone(),
            Target::Client(self.caller.clone()),
        )
    }

    /// Every connection except the caller.
    pub fn others(&self) -> ClientProxy<Many> {
        ClientProxy::new(
            self.targets.manager.clone(),
            Target::AllExcept(Arc::from([self.caller.clone()])),
        )
    }

    /// Every connection of the hub.
    pub fn all(&self) -> ClientProxy<Many> {
        self.targets.all()
    }

    /// Every connection except those listed.
    pub fn all_except<I: IntoIterator<Item = T>, T: AsRef<str>>(
        &self,
        excluded: I,
    ) -> ClientProxy<Many> {
        self.targets.all_except(excluded)
    }

    /// One connection, by id.
    pub fn client(&self, connection_id: &str) -> ClientProxy<Single> {
        self.targets.client(connection_id)
    }

    /// The connections listed.
    pub fn clients<I: IntoIterator<Item = T>, T: AsRef<str>>(
        &self,
        connection_ids: I,
    ) -> ClientProxy<Many> {
        self.targets.clients(connection_ids)
    }
}

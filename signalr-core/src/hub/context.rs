//! What hub code can reach: [`Ctx`] inside a hub method, [`HubContext`] anywhere else.

use super::lifetime::HubLifetimeManager;
use super::proxy::{CallerClients, HubClients, TargetBuilder};
use axum::http::request::Parts;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The context of a hub method call (modelling `Hub.Context` and `Hub.Clients`): who is
/// calling, and typed proxies to reach clients.
///
/// A hub method receives it when its first parameter after `&self` is `&Ctx`.
#[derive(Debug)]
pub struct Ctx {
    connection_id: Arc<str>,
    clients: CallerClients,
    request: Arc<Parts>,
    closed: CancellationToken,
    abort: CancellationToken,
}

impl Ctx {
    pub(crate) fn new(
        connection_id: Arc<str>,
        manager: Arc<HubLifetimeManager>,
        request: Arc<Parts>,
        closed: CancellationToken,
        abort: CancellationToken,
    ) -> Self {
        Ctx {
            clients: CallerClients {
                targets: TargetBuilder { manager },
                caller: connection_id.clone(),
            },
            connection_id,
            request,
            closed,
            abort,
        }
    }

    /// The caller's connection id.
    pub fn connection_id(&self) -> &str {
        &self.connection_id
    }

    /// Proxies for the caller, the others, everyone, or chosen connections.
    pub fn clients(&self) -> &CallerClients {
        &self.clients
    }

    /// The HTTP request that connected the caller's transport (headers, URI, extensions).
    pub fn request(&self) -> &Parts {
        &self.request
    }

    /// Fires when the caller's connection goes away.
    pub fn connection_closed(&self) -> CancellationToken {
        self.closed.clone()
    }

    /// Closes the caller's connection once the current call returns (modelling
    /// `Context.Abort()`): the client gets a Close message without error.
    pub fn abort(&self) {
        self.abort.cancel();
    }
}

/// A handle to a hub usable outside hub methods: axum handlers, background tasks
/// (modelling `IHubContext<THub, T>`). Cheap to clone.
///
/// ```ignore
/// let context = server.context();
/// tokio::spawn(async move {
///     context.clients().all().receive_message("system".into(), "tick".into()).await.ok();
/// });
/// ```
#[derive(Debug, Clone)]
pub struct HubContext {
    clients: HubClients,
}

impl HubContext {
    pub(crate) fn new(manager: Arc<HubLifetimeManager>) -> Self {
        HubContext {
            clients: HubClients {
                targets: TargetBuilder { manager },
            },
        }
    }

    /// Proxies for everyone or chosen connections.
    pub fn clients(&self) -> &HubClients {
        &self.clients
    }
}

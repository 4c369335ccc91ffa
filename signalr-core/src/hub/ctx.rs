//! [`Ctx`]: what a hub method can reach about its caller.

use super::clients::{CallerClients, HubClients};
use super::groups::Groups;
use super::handle::HubHandle;
use super::items::Items;
use crate::connection::TransportType;
use axum::http::request::Parts;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The context of a hub method call (modelling `Hub.Context`, `Hub.Clients` and
/// `Hub.Groups`): who is calling, and typed proxies to reach clients.
///
/// A hub method receives it when its first parameter after `&self` is `&Ctx`. One `Ctx`
/// lives as long as its connection: every call of that connection sees the same
/// [`items`](Self::items).
#[derive(Debug)]
pub struct Ctx {
    connection_id: Arc<str>,
    transport: TransportType,
    user_id: Option<Arc<str>>,
    clients: CallerClients,
    groups: Groups,
    items: Items,
    request: Arc<Parts>,
    closed: CancellationToken,
    abort: CancellationToken,
}

impl Ctx {
    pub(crate) fn new(
        connection_id: Arc<str>,
        transport: TransportType,
        user_id: Option<Arc<str>>,
        hub: Arc<HubHandle>,
        request: Arc<Parts>,
        closed: CancellationToken,
        abort: CancellationToken,
    ) -> Self {
        Ctx {
            clients: CallerClients {
                clients: HubClients { hub: hub.clone() },
                caller: connection_id.clone(),
            },
            groups: Groups { hub },
            items: Items::default(),
            connection_id,
            transport,
            user_id,
            request,
            closed,
            abort,
        }
    }

    /// The caller's connection id.
    pub fn connection_id(&self) -> &str {
        &self.connection_id
    }

    /// The transport carrying the caller's connection.
    pub fn transport(&self) -> TransportType {
        self.transport
    }

    /// The caller's user id, from the hub's `UserIdProvider` (`None`: anonymous).
    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }

    /// Values kept for the caller's connection as long as it lives.
    pub fn items(&self) -> &Items {
        &self.items
    }

    /// Proxies for the caller, the others, everyone, groups, users or chosen connections.
    pub fn clients(&self) -> &CallerClients {
        &self.clients
    }

    /// Group membership of this hub's connections.
    pub fn groups(&self) -> &Groups {
        &self.groups
    }

    /// The HTTP request that connected the caller's transport (headers, URI, extensions).
    ///
    /// Without its secrets: the URI has no `id` (the connection token) or `access_token`
    /// query parameter, and credential headers (`Authorization`, `Cookie`) are marked
    /// sensitive, so that `Debug` output of the request never shows them. What an
    /// authentication layer put in the extensions (claims, the user) is there.
    pub fn request(&self) -> &Parts {
        &self.request
    }

    /// Fires when the caller's connection goes away (modelling
    /// `Context.ConnectionAborted`).
    pub fn connection_closed(&self) -> CancellationToken {
        self.closed.clone()
    }

    /// Closes the caller's connection once the current call returns (modelling
    /// `Context.Abort()`): the client gets a Close message without error.
    pub fn abort(&self) {
        self.abort.cancel();
    }
}

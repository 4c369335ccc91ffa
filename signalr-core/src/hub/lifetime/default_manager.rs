//! [`DefaultHubLifetimeManager`]: the connections, groups and users of one server, in
//! memory (modelling .NET's `DefaultHubLifetimeManager<THub>`).

use super::hub_connection::HubConnectionContext;
use super::hub_lifetime_manager::HubLifetimeManager;
use super::message::{ClientInvocation, SerializedHubMessage};
use super::pending_results::PendingResults;
use super::target::ClientTarget;
use crate::connection::{OutboundSender, WriteInstant};
use crate::hub::error::{ClientResultError, GroupError, SendError};
use crate::hub::BoxFuture;
use crate::protocol::{CompletionMessage, RawValue};
use bytes::Bytes;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

/// The recipients of a message whose queues were full when it was offered: their
/// delivery waits for room (see [`DefaultHubLifetimeManager::offer_local`]).
#[derive(Debug)]
#[must_use = "the stragglers get the message only when `deliver` is awaited"]
pub struct Stragglers {
    waiting: Vec<(OutboundSender, Bytes)>,
}

impl Stragglers {
    /// Whether every recipient already has the message.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Waits until every straggler has the message or was disconnected for not making
    /// room within its `transport_send_timeout`.
    pub async fn deliver(self) {
        if self.waiting.is_empty() {
            return;
        }
        futures_util::future::join_all(self.waiting.into_iter().map(
            |(sender, bytes)| async move {
                let _ = sender.send_or_give_up(bytes).await;
            },
        ))
        .await;
    }
}

/// A connection with its memberships, for cleanup when it ends.
#[derive(Debug)]
struct Entry {
    connection: HubConnectionContext,
    groups: HashSet<Arc<str>>,
}

#[derive(Debug, Default)]
struct Registry {
    connections: HashMap<Arc<str>, Entry>,
    groups: HashMap<Arc<str>, HashSet<Arc<str>>>,
    users: HashMap<Arc<str>, HashSet<Arc<str>>>,
}

impl Registry {
    fn unlink(map: &mut HashMap<Arc<str>, HashSet<Arc<str>>>, key: &str, connection_id: &str) {
        if let Some(members) = map.get_mut(key) {
            members.remove(connection_id);
            if members.is_empty() {
                map.remove(key);
            }
        }
    }
}

/// The live connections, groups and users of one hub on this server; the lifetime
/// manager every hub starts with.
///
/// A scale-out backplane can wrap one to deliver to its own connections: everything it
/// does is local, and [`send`](HubLifetimeManager::send) accepts a
/// [`SerializedHubMessage`] made from bytes another server serialized.
///
/// Delivery to many connections never waits on one slow connection while holding the
/// registry: every recipient with room in its queue gets the message at once; for those
/// whose queue is full the send waits, outside the registry, up to the connection's
/// `transport_send_timeout`, and disconnects those that still do not make room, so that
/// one stuck client cannot hold up the others for long and no message is lost silently.
#[derive(Debug, Default)]
pub struct DefaultHubLifetimeManager {
    registry: RwLock<Registry>,
    results: PendingResults,
}

impl DefaultHubLifetimeManager {
    /// An empty manager.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Registry> {
        self.registry.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Registry> {
        self.registry.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The connection with this id, if it is on this server.
    pub fn connection(&self, connection_id: &str) -> Option<HubConnectionContext> {
        self.read()
            .connections
            .get(connection_id)
            .map(|entry| entry.connection.clone())
    }

    /// Number of connections on this server.
    pub fn connection_count(&self) -> usize {
        self.read().connections.len()
    }

    /// Makes a connection reachable on this server, at once (what
    /// [`on_connected`](HubLifetimeManager::on_connected) does).
    pub fn add_local(&self, connection: HubConnectionContext) {
        let mut registry = self.write();
        let connection_id = connection.connection_id().clone();
        if let Some(user) = connection.user_id() {
            registry
                .users
                .entry(user.clone())
                .or_default()
                .insert(connection_id.clone());
        }
        registry.connections.insert(
            connection_id,
            Entry {
                connection,
                groups: HashSet::new(),
            },
        );
    }

    /// Forgets a connection, its groups and its user link, and fails the client results
    /// still expected from it, at once (what
    /// [`on_disconnected`](HubLifetimeManager::on_disconnected) does).
    pub fn remove_local(&self, connection_id: &str) {
        {
            let mut registry = self.write();
            let Some(entry) = registry.connections.remove(connection_id) else {
                return;
            };
            for group in &entry.groups {
                Registry::unlink(&mut registry.groups, group, connection_id);
            }
            if let Some(user) = entry.connection.user_id() {
                Registry::unlink(&mut registry.users, user, connection_id);
            }
        }
        self.results.connection_ended(connection_id);
    }

    /// Adds a connection of this server to a group, at once.
    pub fn add_to_group_local(&self, connection_id: &str, group: &str) {
        let mut registry = self.write();
        let registry = &mut *registry;
        let Some(entry) = registry.connections.get_mut(connection_id) else {
            return;
        };
        let (connection_id, group): (Arc<str>, Arc<str>) = (connection_id.into(), group.into());
        entry.groups.insert(group.clone());
        registry
            .groups
            .entry(group)
            .or_default()
            .insert(connection_id);
    }

    /// Removes a connection of this server from a group, at once.
    pub fn remove_from_group_local(&self, connection_id: &str, group: &str) {
        let mut registry = self.write();
        if let Some(entry) = registry.connections.get_mut(connection_id) {
            entry.groups.remove(group);
        }
        Registry::unlink(&mut registry.groups, group, connection_id);
    }

    /// Delivers `message` to the connections of `target` on this server.
    pub async fn send_local(
        &self,
        target: &ClientTarget,
        message: &SerializedHubMessage<'_>,
    ) -> Result<(), SendError> {
        if let ClientTarget::Connection(id) = target {
            let Some(connection) = self.connection(id) else {
                return Ok(());
            };
            let bytes = message.serialized(connection.protocol())?;
            return Ok(connection.sender().send_or_give_up(bytes).await?);
        }
        self.offer_local(target, message)?.deliver().await;
        Ok(())
    }

    /// Queues `message` at once for every connection of `target` on this server that has
    /// room, and returns the others, whose delivery waits for room (up to each one's
    /// `transport_send_timeout`).
    ///
    /// For a backplane's receive loop, which must not wait on one slow connection: it
    /// offers each message as it arrives, in order, and hands the rest to a task.
    pub fn offer_local(
        &self,
        target: &ClientTarget,
        message: &SerializedHubMessage<'_>,
    ) -> Result<Stragglers, SendError> {
        Ok(Stragglers {
            waiting: self.queue_to(target, message)?,
        })
    }

    /// The groups a connection of this server is in.
    pub fn groups_of(&self, connection_id: &str) -> Vec<Arc<str>> {
        self.read()
            .connections
            .get(connection_id)
            .map(|entry| entry.groups.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Whether any connection of this server is in `group`.
    pub fn has_group(&self, group: &str) -> bool {
        self.read().groups.contains_key(group)
    }

    /// Whether any connection of this server belongs to `user`.
    pub fn has_user(&self, user: &str) -> bool {
        self.read().users.contains_key(user)
    }

    /// Queues the message for every recipient with room; returns those without.
    fn queue_to(
        &self,
        target: &ClientTarget,
        message: &SerializedHubMessage<'_>,
    ) -> Result<Vec<(OutboundSender, Bytes)>, SendError> {
        let registry = self.read();
        let mut waiting = Vec::new();
        let now = WriteInstant::now();
        let mut deliver = |entry: &Entry| -> Result<(), SendError> {
            let connection = &entry.connection;
            let bytes = message.serialized(connection.protocol())?;
            if let Some(bytes) = connection.sender().offer_at(bytes, now) {
                waiting.push((connection.sender().clone(), bytes));
            }
            Ok(())
        };
        let connections = &registry.connections;
        let mut deliver_id = |id: &Arc<str>| match connections.get(id) {
            Some(entry) => deliver(entry),
            None => Ok(()),
        };
        let mut seen: HashSet<Arc<str>> = HashSet::new();
        let first_time = |id: &&Arc<str>| seen.insert(Arc::clone(id));
        fn members<'m>(
            map: &'m HashMap<Arc<str>, HashSet<Arc<str>>>,
            key: &str,
        ) -> impl Iterator<Item = &'m Arc<str>> + 'm {
            map.get(key).into_iter().flatten()
        }
        match target {
            ClientTarget::All => connections.values().try_for_each(deliver),
            ClientTarget::AllExcept(excluded) => connections
                .iter()
                .filter(|(id, _)| !excluded.contains(id))
                .try_for_each(|(_, entry)| deliver(entry)),
            ClientTarget::Connection(id) => deliver_id(id),
            ClientTarget::Connections(ids) => {
                ids.iter().filter(first_time).try_for_each(deliver_id)
            }
            ClientTarget::Group(group) => members(&registry.groups, group).try_for_each(deliver_id),
            ClientTarget::GroupExcept(group, excluded) => members(&registry.groups, group)
                .filter(|id| !excluded.contains(id))
                .try_for_each(deliver_id),
            ClientTarget::User(user) => members(&registry.users, user).try_for_each(deliver_id),
            ClientTarget::Groups(groups) => groups
                .iter()
                .flat_map(|group| members(&registry.groups, group))
                .filter(first_time)
                .try_for_each(deliver_id),
            ClientTarget::Users(users) => users
                .iter()
                .flat_map(|user| members(&registry.users, user))
                .filter(first_time)
                .try_for_each(deliver_id),
        }?;
        Ok(waiting)
    }

    /// Invokes a client method on a connection of this server and waits for its result.
    pub async fn invoke_local(
        &self,
        connection_id: &str,
        invocation: ClientInvocation<'_>,
    ) -> Result<RawValue, ClientResultError> {
        let unknown = || ClientResultError::UnknownConnection(connection_id.to_owned());
        let connection = self.connection(connection_id).ok_or_else(unknown)?;
        let mut waiting = self.results.register(connection.connection_id().clone());
        // The connection may have ended (and failed its results) before it was registered.
        if self.connection(connection_id).is_none() {
            return Err(ClientResultError::Disconnected);
        }
        let bytes = invocation
            .encode(connection.protocol(), Some(&waiting.invocation_id))
            .map_err(SendError::from)?;
        connection
            .sender()
            .send(bytes)
            .await
            .map_err(|_| ClientResultError::Disconnected)?;
        (&mut waiting.reply)
            .await
            .map_err(|_| ClientResultError::Disconnected)?
    }
}

impl HubLifetimeManager for DefaultHubLifetimeManager {
    fn on_connected(&self, connection: HubConnectionContext) -> BoxFuture<'_, ()> {
        self.add_local(connection);
        Box::pin(std::future::ready(()))
    }

    fn on_disconnected<'a>(&'a self, connection_id: &'a str) -> BoxFuture<'a, ()> {
        self.remove_local(connection_id);
        Box::pin(std::future::ready(()))
    }

    fn send<'a>(
        &'a self,
        target: &'a ClientTarget,
        message: &'a SerializedHubMessage<'a>,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(self.send_local(target, message))
    }

    fn add_to_group<'a>(
        &'a self,
        connection_id: &'a str,
        group: &'a str,
    ) -> BoxFuture<'a, Result<(), GroupError>> {
        self.add_to_group_local(connection_id, group);
        Box::pin(std::future::ready(Ok(())))
    }

    fn remove_from_group<'a>(
        &'a self,
        connection_id: &'a str,
        group: &'a str,
    ) -> BoxFuture<'a, Result<(), GroupError>> {
        self.remove_from_group_local(connection_id, group);
        Box::pin(std::future::ready(Ok(())))
    }

    fn invoke_connection<'a>(
        &'a self,
        connection_id: &'a str,
        invocation: ClientInvocation<'a>,
    ) -> BoxFuture<'a, Result<RawValue, ClientResultError>> {
        Box::pin(self.invoke_local(connection_id, invocation))
    }

    fn set_connection_result(&self, connection_id: &str, completion: CompletionMessage) -> bool {
        self.results
            .complete(connection_id, &completion.invocation_id, completion.outcome)
    }
}

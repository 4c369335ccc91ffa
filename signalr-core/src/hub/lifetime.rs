//! The hub lifetime manager (modelling `DefaultHubLifetimeManager`): live connections,
//! groups and users, and delivering a message to a set of them, serialized at most once
//! per protocol.

use super::client_results::{ClientResultError, PendingResults};
use super::error::SendError;
use crate::connection::OutboundSender;
use crate::protocol::{EncodeError, HubProtocol, OutboundMessage};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// How a live hub connection is reached.
#[derive(Debug, Clone)]
pub(crate) struct HubConnectionHandle {
    pub(crate) sender: OutboundSender,
    pub(crate) protocol: HubProtocol,
}

/// Who a message goes to.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    All,
    AllExcept(Arc<[Arc<str>]>),
    Client(Arc<str>),
    Clients(Arc<[Arc<str>]>),
    Group(Arc<str>),
    Groups(Arc<[Arc<str>]>),
    GroupExcept(Arc<str>, Arc<[Arc<str>]>),
    User(Arc<str>),
    Users(Arc<[Arc<str>]>),
}

/// A connection with its memberships, for cleanup when it ends.
#[derive(Debug)]
struct Entry {
    handle: HubConnectionHandle,
    user: Option<Arc<str>>,
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

/// The live connections, groups and users of one hub.
#[derive(Debug, Default)]
pub(crate) struct HubLifetimeManager {
    registry: RwLock<Registry>,
    pub(crate) results: PendingResults,
    /// `client_result_timeout` in milliseconds; 0 for none.
    client_result_timeout_ms: AtomicU64,
}

/// A message encoded lazily, at most once per protocol, and shared by every recipient.
struct PerProtocol<'a, A: ?Sized> {
    target: &'a str,
    arguments: &'a A,
    encoded: [Option<Bytes>; 2],
}

impl<A: Serialize + ?Sized> PerProtocol<'_, A> {
    fn bytes(&mut self, protocol: HubProtocol) -> Result<Bytes, EncodeError> {
        let slot = &mut self.encoded[protocol.index()];
        if let Some(bytes) = slot {
            return Ok(bytes.clone());
        }
        let bytes = OutboundMessage::Invocation {
            invocation_id: None,
            target: self.target,
            arguments: self.arguments,
            stream_ids: &[],
        }
        .encode(protocol)?;
        *slot = Some(bytes.clone());
        Ok(bytes)
    }
}

impl HubLifetimeManager {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Registry> {
        self.registry.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Registry> {
        self.registry.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a connection (after its handshake), with its user if it has one.
    pub(crate) fn add(
        &self,
        connection_id: Arc<str>,
        handle: HubConnectionHandle,
        user: Option<Arc<str>>,
    ) {
        let mut registry = self.write();
        if let Some(user) = &user {
            registry
                .users
                .entry(user.clone())
                .or_default()
                .insert(connection_id.clone());
        }
        registry.connections.insert(
            connection_id,
            Entry {
                handle,
                user,
                groups: HashSet::new(),
            },
        );
    }

    /// Forgets a connection, its groups and its user link; fails the client results
    /// still expected from it.
    pub(crate) fn remove(&self, connection_id: &str) {
        {
            let mut registry = self.write();
            let Some(entry) = registry.connections.remove(connection_id) else {
                return;
            };
            for group in &entry.groups {
                Registry::unlink(&mut registry.groups, group, connection_id);
            }
            if let Some(user) = &entry.user {
                Registry::unlink(&mut registry.users, user, connection_id);
            }
        }
        self.results.connection_ended(connection_id);
    }

    pub(crate) fn set_client_result_timeout(&self, timeout: Option<Duration>) {
        let ms = timeout.map_or(0, |t| {
            u64::try_from(t.as_millis()).unwrap_or(u64::MAX).max(1)
        });
        self.client_result_timeout_ms.store(ms, Ordering::Relaxed);
    }

    /// Invokes `method` on one connection and waits for its result.
    pub(crate) async fn invoke<A, R>(
        &self,
        connection_id: &Arc<str>,
        method: &str,
        arguments: &A,
    ) -> Result<R, ClientResultError>
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let unknown = || ClientResultError::UnknownConnection(connection_id.to_string());
        let handle = self.connection(connection_id).ok_or_else(unknown)?;
        let mut waiting = self.results.register(connection_id.clone());
        if self.connection(connection_id).is_none() {
            return Err(ClientResultError::Disconnected);
        }
        let bytes = OutboundMessage::Invocation {
            invocation_id: Some(&waiting.invocation_id),
            target: method,
            arguments,
            stream_ids: &[],
        }
        .encode(handle.protocol)
        .map_err(SendError::from)?;
        handle
            .sender
            .send(bytes)
            .await
            .map_err(|_| ClientResultError::Disconnected)?;
        let reply = &mut waiting.reply;
        let reply = match self.client_result_timeout_ms.load(Ordering::Relaxed) {
            0 => reply.await,
            ms => {
                let limit = Duration::from_millis(ms);
                tokio::time::timeout(limit, reply)
                    .await
                    .map_err(|_| ClientResultError::Timeout(limit))?
            }
        };
        let raw = reply.map_err(|_| ClientResultError::Disconnected)??;
        raw.decode::<R>()
            .map_err(|e| ClientResultError::Deserialize {
                type_name: std::any::type_name::<R>(),
                detail: e.detail().to_owned(),
            })
    }

    pub(crate) fn connection(&self, connection_id: &str) -> Option<HubConnectionHandle> {
        self.read()
            .connections
            .get(connection_id)
            .map(|entry| entry.handle.clone())
    }

    /// Adds a live connection to a group; an unknown connection is ignored.
    pub(crate) fn add_to_group(&self, connection_id: &str, group: &str) {
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

    /// Removes a connection from a group; unknown names are ignored.
    pub(crate) fn remove_from_group(&self, connection_id: &str, group: &str) {
        let mut registry = self.write();
        if let Some(entry) = registry.connections.get_mut(connection_id) {
            entry.groups.remove(group);
        }
        Registry::unlink(&mut registry.groups, group, connection_id);
    }

    /// Sends an invocation of client method `method` to `target`.
    ///
    /// Every recipient with room in its queue gets the message at once; for those whose
    /// queue is full the call waits (after leaving the registry) up to the connection's
    /// `transport_send_timeout`, and disconnects those that still do not make room, so
    /// that one stuck client cannot hold up the others for long and no message is lost
    /// silently. A connection in several of the targeted groups (or users) receives the
    /// message once.
    pub(crate) async fn send<A: Serialize + ?Sized>(
        &self,
        target: &Target,
        method: &str,
        arguments: &A,
    ) -> Result<(), SendError> {
        let mut message = PerProtocol {
            target: method,
            arguments,
            encoded: [None, None],
        };
        if let Target::Client(id) = target {
            let Some(handle) = self.connection(id) else {
                return Ok(());
            };
            let bytes = message.bytes(handle.protocol)?;
            return handle
                .sender
                .send_or_give_up(bytes)
                .await
                .map_err(|_| SendError::ConnectionClosed);
        }
        let waiting = self.queue_to(target, &mut message)?;
        if !waiting.is_empty() {
            futures_util::future::join_all(waiting.into_iter().map(|(sender, bytes)| async move {
                let _ = sender.send_or_give_up(bytes).await;
            }))
            .await;
        }
        Ok(())
    }

    /// Queues the message for every recipient with room; returns those without.
    fn queue_to<A: Serialize + ?Sized>(
        &self,
        target: &Target,
        message: &mut PerProtocol<'_, A>,
    ) -> Result<Vec<(OutboundSender, Bytes)>, SendError> {
        let registry = self.read();
        let mut waiting = Vec::new();
        let mut deliver = |entry: &Entry| -> Result<(), SendError> {
            let handle = &entry.handle;
            let bytes = message.bytes(handle.protocol)?;
            if let Some(bytes) = handle.sender.offer(bytes) {
                waiting.push((handle.sender.clone(), bytes));
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
            Target::All => connections.values().try_for_each(deliver),
            Target::AllExcept(excluded) => connections
                .iter()
                .filter(|(id, _)| !excluded.contains(id))
                .try_for_each(|(_, entry)| deliver(entry)),
            Target::Client(id) => deliver_id(id),
            Target::Clients(ids) => ids.iter().filter(first_time).try_for_each(deliver_id),
            Target::Group(group) => members(&registry.groups, group).try_for_each(deliver_id),
            Target::GroupExcept(group, excluded) => members(&registry.groups, group)
                .filter(|id| !excluded.contains(id))
                .try_for_each(deliver_id),
            Target::User(user) => members(&registry.users, user).try_for_each(deliver_id),
            Target::Groups(groups) => groups
                .iter()
                .flat_map(|group| members(&registry.groups, group))
                .filter(first_time)
                .try_for_each(deliver_id),
            Target::Users(users) => users
                .iter()
                .flat_map(|user| members(&registry.users, user))
                .filter(first_time)
                .try_for_each(deliver_id),
        }?;
        Ok(waiting)
    }
}

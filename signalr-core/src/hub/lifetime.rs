//! The hub lifetime manager (modelling `DefaultHubLifetimeManager`): which connections are
//! live, and delivering a message to a set of them, serialized once per protocol.

use super::error::SendError;
use crate::connection::OutboundSender;
use crate::protocol::{EncodeError, HubProtocol, OutboundMessage};
use bytes::Bytes;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// A live hub connection as the lifetime manager knows it.
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
}

/// The live connections of one hub.
#[derive(Debug, Default)]
pub(crate) struct HubLifetimeManager {
    connections: RwLock<HashMap<Arc<str>, HubConnectionHandle>>,
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
    pub(crate) fn add(&self, connection_id: Arc<str>, handle: HubConnectionHandle) {
        self.write().insert(connection_id, handle);
    }

    pub(crate) fn remove(&self, connection_id: &str) {
        self.write().remove(connection_id);
    }

    pub(crate) fn connection(&self, connection_id: &str) -> Option<HubConnectionHandle> {
        self.read().get(connection_id).cloned()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Arc<str>, HubConnectionHandle>> {
        self.connections.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<Arc<str>, HubConnectionHandle>> {
        self.connections.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends an invocation of client method `method` to `target`.
    ///
    /// One recipient: waits for room in its queue. Many: queues without waiting; a
    /// recipient whose queue is full is too slow to keep up and is disconnected, so that
    /// one slow client never holds up the others.
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
                .send(bytes)
                .await
                .map_err(|_| SendError::ConnectionClosed);
        }
        let connections = self.read();
        let mut deliver = |handle: &HubConnectionHandle| -> Result<(), SendError> {
            let bytes = message.bytes(handle.protocol)?;
            if let Err(crate::connection::SendError::Full) = handle.sender.try_send(bytes) {
                tracing::warn!(
                    connection_id = handle.sender.connection_id(),
                    "closing a connection whose outgoing queue is full"
                );
                handle.sender.abort();
            }
            Ok(())
        };
        match target {
            Target::All => connections.values().try_for_each(&mut deliver),
            Target::AllExcept(excluded) => connections
                .iter()
                .filter(|(id, _)| !excluded.contains(id))
                .try_for_each(|(_, handle)| deliver(handle)),
            Target::Clients(ids) => ids
                .iter()
                .filter_map(|id| connections.get(id))
                .try_for_each(&mut deliver),
            Target::Client(_) => Ok(()),
        }
    }
}

//! [`HubConnectionContext`]: one hub connection as its lifetime manager keeps it.

use crate::connection::OutboundSender;
use crate::protocol::HubProtocol;
use std::sync::Arc;

/// A connection that completed its handshake, as the lifetime manager reaches it
/// (modelling the parts of .NET's `HubConnectionContext` a lifetime manager uses): its id,
/// its user, its protocol and the queue to its transport.
#[derive(Debug, Clone)]
pub struct HubConnectionContext {
    connection_id: Arc<str>,
    user_id: Option<Arc<str>>,
    protocol: HubProtocol,
    sender: OutboundSender,
}

impl HubConnectionContext {
    pub(crate) fn new(
        connection_id: Arc<str>,
        user_id: Option<Arc<str>>,
        protocol: HubProtocol,
        sender: OutboundSender,
    ) -> Self {
        HubConnectionContext {
            connection_id,
            user_id,
            protocol,
            sender,
        }
    }

    /// The connection id.
    pub fn connection_id(&self) -> &Arc<str> {
        &self.connection_id
    }

    /// The connection's user, from the hub's `UserIdProvider` (`None`: anonymous).
    pub fn user_id(&self) -> Option<&Arc<str>> {
        self.user_id.as_ref()
    }

    /// The hub protocol the connection chose in its handshake.
    pub fn protocol(&self) -> HubProtocol {
        self.protocol
    }

    /// The queue of framed records to the connection's transport.
    pub fn sender(&self) -> &OutboundSender {
        &self.sender
    }
}

//! What a lifetime manager delivers: a client method call, serialized at most once per
//! protocol and shared by every recipient.

use crate::protocol::{EncodeError, HubProtocol, OutboundMessage};
use bytes::Bytes;
use serde::Serialize;
use std::sync::OnceLock;

/// Arguments of a client method call, with their type erased.
trait InvocationArguments: Sync {
    fn encode(
        &self,
        protocol: HubProtocol,
        invocation_id: Option<&str>,
        target: &str,
    ) -> Result<Bytes, EncodeError>;
}

impl<A: Serialize + Sync> InvocationArguments for A {
    fn encode(
        &self,
        protocol: HubProtocol,
        invocation_id: Option<&str>,
        target: &str,
    ) -> Result<Bytes, EncodeError> {
        OutboundMessage::Invocation {
            invocation_id,
            target,
            arguments: self,
            stream_ids: &[],
        }
        .encode(protocol)
    }
}

/// A call of a client method, not yet serialized: its wire name and its arguments.
///
/// ```
/// use signalr_core::hub::ClientInvocation;
/// use signalr_core::protocol::HubProtocol;
/// let arguments = ("bob", "hi");
/// let invocation = ClientInvocation::new("ReceiveMessage", &arguments);
/// let bytes = invocation.encode(HubProtocol::Json, None).unwrap();
/// assert_eq!(&bytes[..], b"{\"type\":1,\"target\":\"ReceiveMessage\",\"arguments\":[\"bob\",\"hi\"]}\x1e");
/// ```
#[derive(Clone, Copy)]
pub struct ClientInvocation<'a> {
    target: &'a str,
    arguments: &'a dyn InvocationArguments,
}

impl std::fmt::Debug for ClientInvocation<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientInvocation")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl<'a> ClientInvocation<'a> {
    /// A call of client method `target` (its wire name) with `arguments`: a tuple, which
    /// is written as the argument array, or `()` for none.
    pub fn new<A: Serialize + Sync>(target: &'a str, arguments: &'a A) -> Self {
        ClientInvocation { target, arguments }
    }

    /// The client method's wire name.
    pub fn target(&self) -> &str {
        self.target
    }

    /// The Invocation record in `protocol`, framed; with `invocation_id` when the server
    /// awaits a result.
    pub fn encode(
        &self,
        protocol: HubProtocol,
        invocation_id: Option<&str>,
    ) -> Result<Bytes, EncodeError> {
        self.arguments.encode(protocol, invocation_id, self.target)
    }
}

/// A message for many connections, serialized at most once per protocol, on first use,
/// and shared by every recipient (modelling .NET's `SerializedHubMessage`).
///
/// Made from a [`ClientInvocation`], or from bytes another server already serialized
/// (a backplane forwarding a message it received).
#[derive(Debug)]
pub struct SerializedHubMessage<'a> {
    invocation: Option<ClientInvocation<'a>>,
    serialized: [OnceLock<Bytes>; 2],
}

impl<'a> SerializedHubMessage<'a> {
    /// The message calling `invocation` (without an invocation id: nobody awaits a result).
    pub fn new(invocation: ClientInvocation<'a>) -> Self {
        SerializedHubMessage {
            invocation: Some(invocation),
            serialized: [OnceLock::new(), OnceLock::new()],
        }
    }

    /// A message already serialized: framed records, one per protocol. Recipients of a
    /// protocol not given fail with an [`EncodeError`].
    pub fn from_serialized(
        records: impl IntoIterator<Item = (HubProtocol, Bytes)>,
    ) -> SerializedHubMessage<'static> {
        let message = SerializedHubMessage {
            invocation: None,
            serialized: [OnceLock::new(), OnceLock::new()],
        };
        for (protocol, bytes) in records {
            let _ = message.serialized[protocol.index()].set(bytes);
        }
        message
    }

    /// The invocation this message calls, when it was not made from serialized bytes.
    pub fn invocation(&self) -> Option<&ClientInvocation<'a>> {
        self.invocation.as_ref()
    }

    /// The framed record in `protocol`, serialized now if this is its first use.
    pub fn serialized(&self, protocol: HubProtocol) -> Result<Bytes, EncodeError> {
        let slot = &self.serialized[protocol.index()];
        if let Some(bytes) = slot.get() {
            return Ok(bytes.clone());
        }
        let Some(invocation) = &self.invocation else {
            return Err(EncodeError::new(
                protocol,
                "the message was not serialized for this protocol".to_owned(),
            ));
        };
        let bytes = invocation.encode(protocol, None)?;
        Ok(slot.get_or_init(|| bytes).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_protocol_is_serialized_once_and_shared() {
        let arguments = ("a", 1);
        let message = SerializedHubMessage::new(ClientInvocation::new("M", &arguments));
        let first = message.serialized(HubProtocol::Json).unwrap();
        let second = message.serialized(HubProtocol::Json).unwrap();
        assert_eq!(first.as_ptr(), second.as_ptr(), "the same bytes are shared");
        assert_eq!(
            &first[..],
            b"{\"type\":1,\"target\":\"M\",\"arguments\":[\"a\",1]}\x1e"
        );
        let packed = message.serialized(HubProtocol::MessagePack).unwrap();
        assert_eq!(
            packed[0] as usize,
            packed.len() - 1,
            "one length-prefixed record"
        );
    }

    #[test]
    fn forwarded_bytes_are_used_as_they_are() {
        let json = Bytes::from_static(b"{\"type\":1,\"target\":\"M\",\"arguments\":[]}\x1e");
        let message = SerializedHubMessage::from_serialized([(HubProtocol::Json, json.clone())]);
        assert_eq!(message.serialized(HubProtocol::Json).unwrap(), json);
        assert!(message.serialized(HubProtocol::MessagePack).is_err());
        assert!(message.invocation().is_none());
    }
}

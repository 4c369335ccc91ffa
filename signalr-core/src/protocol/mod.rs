//! The SignalR hub protocols: message model, JSON and MessagePack codecs, handshake.
//!
//! Nothing here does I/O. Incoming records are parsed into [`HubMessage`]s whose payloads
//! (arguments, stream items, results) stay as undecoded [`RawValue`]s until the dispatcher
//! knows the target types. Outgoing messages are written once per protocol into [`Bytes`](bytes::Bytes)
//! that every recipient shares.

mod error;
mod framing;
mod handshake;
mod inbound;
mod interop;
mod json;
mod msgpack;
mod outbound;
mod raw_value;

/// A string shared by reference counting: an invocation's target and id are slices of
/// the received record, so that reading and answering a call copies neither.
pub use bytestring::ByteString;
pub use error::{DecodeError, EncodeError, FrameError, HandshakeError, ProtocolError};
pub use framing::RecordReader;
pub use handshake::{
    parse_handshake_request, write_handshake_error, write_handshake_success, HandshakeRequest,
};
pub use inbound::{
    CloseMessage, CompletionMessage, CompletionOutcome, HubMessage, InvocationMessage,
    StreamItemMessage,
};
pub use interop::{ByteArray, Timestamp};
pub use outbound::{CompletionBody, OutboundMessage};
pub use raw_value::RawValue;

use std::fmt;

/// A hub protocol: how hub messages are encoded on the wire.
///
/// ```
/// use signalr_core::protocol::HubProtocol;
/// assert_eq!(HubProtocol::from_name("messagepack"), Some(HubProtocol::MessagePack));
/// assert_eq!(HubProtocol::Json.name(), "json");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HubProtocol {
    /// The JSON hub protocol: UTF-8 JSON records each ended by `0x1E`.
    Json,
    /// The MessagePack hub protocol: MessagePack arrays each prefixed by a varint length.
    MessagePack,
}

/// Highest hub protocol version this server speaks (version 2 adds Ack and Sequence).
pub const MAX_PROTOCOL_VERSION: u32 = 2;

impl HubProtocol {
    /// Every protocol this crate implements, in preference order.
    pub const ALL: [HubProtocol; 2] = [HubProtocol::Json, HubProtocol::MessagePack];

    /// The protocol name used in the handshake (`json`, `messagepack`).
    pub fn name(self) -> &'static str {
        match self {
            HubProtocol::Json => "json",
            HubProtocol::MessagePack => "messagepack",
        }
    }

    /// Looks a protocol up by its handshake name (exact, as the .NET server does).
    pub fn from_name(name: &str) -> Option<Self> {
        HubProtocol::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The transfer format the protocol needs from the transport.
    pub fn transfer_format(self) -> TransferFormat {
        match self {
            HubProtocol::Json => TransferFormat::Text,
            HubProtocol::MessagePack => TransferFormat::Binary,
        }
    }

    /// Small dense index, for per-protocol tables.
    pub(crate) fn index(self) -> usize {
        match self {
            HubProtocol::Json => 0,
            HubProtocol::MessagePack => 1,
        }
    }
}

impl fmt::Display for HubProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether a transport carries text or binary data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransferFormat {
    /// UTF-8 text (WebSocket text frames, Server-Sent Events).
    Text,
    /// Arbitrary bytes (WebSocket binary frames, Long Polling).
    Binary,
}

impl TransferFormat {
    /// The name used in negotiate responses (`Text`, `Binary`).
    pub fn name(self) -> &'static str {
        match self {
            TransferFormat::Text => "Text",
            TransferFormat::Binary => "Binary",
        }
    }
}

/// Parses one complete record (framing already removed) of the given protocol.
///
/// Returns `Ok(None)` for a message type this server does not know: the protocol says
/// receivers ignore those.
pub fn parse_message(
    protocol: HubProtocol,
    record: bytes::Bytes,
) -> Result<Option<HubMessage>, ProtocolError> {
    match protocol {
        HubProtocol::Json => json::parse(record),
        HubProtocol::MessagePack => msgpack::parse(record),
    }
}

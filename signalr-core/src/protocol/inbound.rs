//! The hub messages a server receives, with payloads kept undecoded.

use super::RawValue;
use bytestring::ByteString;
use std::collections::BTreeMap;

/// One parsed hub-protocol record received from a client.
#[derive(Debug, Clone, PartialEq)]
pub enum HubMessage {
    /// Type 1: call a hub method (blocking when it has an invocation id).
    Invocation(InvocationMessage),
    /// Type 2: one item of an upload stream (or of a server stream, from a client's view).
    StreamItem(StreamItemMessage),
    /// Type 3: the end of an invocation, an upload stream, or a client result.
    Completion(CompletionMessage),
    /// Type 4: call a streaming hub method.
    StreamInvocation(InvocationMessage),
    /// Type 5: cancel a streaming invocation.
    CancelInvocation {
        /// The invocation to cancel.
        invocation_id: String,
    },
    /// Type 6: keep-alive.
    Ping,
    /// Type 7: the peer is closing the connection.
    Close(CloseMessage),
    /// Type 8: stateful reconnect acknowledgement.
    Ack {
        /// Every message up to this number was processed.
        sequence_id: u64,
    },
    /// Type 9: stateful reconnect resynchronisation.
    Sequence {
        /// Number of the next message the peer will send.
        sequence_id: u64,
    },
}

impl HubMessage {
    /// Type 8 (Ack) when `kind` is 8, otherwise type 9 (Sequence): the two records that
    /// carry only a sequence id.
    pub(crate) fn sequence_record(kind: i64, sequence_id: u64) -> Self {
        if kind == 8 {
            HubMessage::Ack { sequence_id }
        } else {
            HubMessage::Sequence { sequence_id }
        }
    }
}

/// An Invocation or StreamInvocation.
#[derive(Debug, Clone, PartialEq)]
pub struct InvocationMessage {
    /// Present when the caller waits for a Completion (a slice of the received record).
    pub invocation_id: Option<ByteString>,
    /// The hub method's wire name (a slice of the received record).
    pub target: ByteString,
    /// The arguments, undecoded.
    pub arguments: Vec<RawValue>,
    /// Ids of upload streams the caller will send.
    pub stream_ids: Vec<String>,
    /// Optional string headers (tracing context).
    pub headers: BTreeMap<String, String>,
}

/// A StreamItem.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamItemMessage {
    /// The stream or invocation the item belongs to.
    pub invocation_id: String,
    /// The item, undecoded.
    pub item: RawValue,
}

/// A Completion.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletionMessage {
    /// The invocation or stream being completed.
    pub invocation_id: String,
    /// Void, a value, or an error.
    pub outcome: CompletionOutcome,
}

/// What a Completion carries.
#[derive(Debug, Clone, PartialEq)]
pub enum CompletionOutcome {
    /// No result (void method, or the end of a stream).
    Void,
    /// A result value, undecoded (may encode `null`).
    Result(RawValue),
    /// An error text.
    Error(String),
}

/// A Close message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CloseMessage {
    /// Why the peer closed, if because of an error.
    pub error: Option<String>,
    /// Whether the receiver may reconnect.
    pub allow_reconnect: bool,
}

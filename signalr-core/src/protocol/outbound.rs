//! The messages the server writes, and encoding one into a framed record of either
//! protocol: each message is encoded once per protocol into shareable bytes.

use super::error::EncodeError;
use super::framing::{frame, frame_in_place, room_before_body};

/// What an encoding buffer starts with: an invocation or Completion carrying a short
/// string (about 60 to 100 bytes in JSON) fits without growing.
const INITIAL_CAPACITY: usize = 128;
use super::{json, msgpack, HubProtocol};
use bytes::{Bytes, BytesMut};
use serde::Serialize;

/// A message the server sends, borrowing its payload `P` (arguments tuple, item or result).
///
/// ```
/// use signalr_core::protocol::{HubProtocol, OutboundMessage};
/// let msg: OutboundMessage<'_, (&str, &str)> = OutboundMessage::Invocation {
///     invocation_id: None,
///     target: "ReceiveMessage",
///     arguments: &("bob", "hi"),
///     stream_ids: &[],
/// };
/// let bytes = msg.encode(HubProtocol::Json).unwrap();
/// assert_eq!(&bytes[..], b"{\"type\":1,\"target\":\"ReceiveMessage\",\"arguments\":[\"bob\",\"hi\"]}\x1e");
/// ```
#[derive(Debug)]
pub enum OutboundMessage<'a, P: ?Sized = ()> {
    /// Type 1: call a client method (with an id when a result is expected).
    Invocation {
        /// Set when the server awaits a client result.
        invocation_id: Option<&'a str>,
        /// The client method's wire name.
        target: &'a str,
        /// The arguments; a tuple (serialized as an array), or `()` for none.
        arguments: &'a P,
        /// Ids of streams the server will send as arguments.
        stream_ids: &'a [String],
    },
    /// Type 2: one item of a server-to-client stream.
    StreamItem {
        /// The streaming invocation.
        invocation_id: &'a str,
        /// The item.
        item: &'a P,
    },
    /// Type 3: the end of an invocation.
    Completion {
        /// The invocation being completed.
        invocation_id: &'a str,
        /// Void, a result or an error.
        body: CompletionBody<'a, P>,
    },
    /// Type 5: cancel a stream the peer is sending.
    CancelInvocation {
        /// The stream to cancel.
        invocation_id: &'a str,
    },
    /// Type 6: keep-alive.
    Ping,
    /// Type 7: the server is closing the connection.
    Close {
        /// Why, if because of an error.
        error: Option<&'a str>,
        /// Whether the client may reconnect.
        allow_reconnect: bool,
    },
    /// Type 8: stateful reconnect acknowledgement.
    Ack {
        /// Everything up to this number was processed.
        sequence_id: u64,
    },
    /// Type 9: stateful reconnect resynchronisation.
    Sequence {
        /// Number of the next message this side will send.
        sequence_id: u64,
    },
}

/// What a Completion carries.
#[derive(Debug)]
pub enum CompletionBody<'a, P: ?Sized> {
    /// No result.
    Void,
    /// A result value (may serialize as `null`).
    Result(&'a P),
    /// An error text.
    Error(&'a str),
    /// A result exactly as a client sent it, written verbatim: a backplane forwarding a
    /// client result to the server that awaits it. Encoding it in a protocol other than
    /// its own is an [`EncodeError`].
    Raw(&'a super::RawValue),
}

impl OutboundMessage<'_, ()> {
    /// The framed Ping record of `protocol`.
    pub fn ping(protocol: HubProtocol) -> Bytes {
        match protocol {
            HubProtocol::Json => Bytes::from_static(b"{\"type\":6}\x1e"),
            HubProtocol::MessagePack => Bytes::from_static(&[0x02, 0x91, 0x06]),
        }
    }
}

impl<P: Serialize + ?Sized> OutboundMessage<'_, P> {
    /// Encodes the message as one framed record of `protocol`.
    pub fn encode(&self, protocol: HubProtocol) -> Result<Bytes, EncodeError> {
        // The body is written once, into the buffer the record is sent from.
        let room = room_before_body(protocol);
        // Room for the usual record whole: growing the buffer costs a reallocation and
        // a copy per message.
        let mut out = Vec::with_capacity(INITIAL_CAPACITY);
        out.resize(room, 0);
        self.write_body(protocol, &mut out)?;
        Ok(frame_in_place(protocol, out))
    }

    fn write_body(&self, protocol: HubProtocol, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match protocol {
            HubProtocol::Json => json::write_body(self, out),
            HubProtocol::MessagePack => msgpack::write_body(self, out),
        }
        .map_err(|detail| EncodeError::new(protocol, detail))
    }

    /// Appends the message as one framed record of `protocol` to `buf`.
    pub fn encode_into(
        &self,
        protocol: HubProtocol,
        buf: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        let mut body = Vec::with_capacity(INITIAL_CAPACITY);
        self.write_body(protocol, &mut body)?;
        frame(protocol, buf, &body);
        Ok(())
    }
}

//! Writing hub messages: each message is encoded once per protocol into shareable bytes.

use super::framing::frame;
use super::HubProtocol;
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
}

/// A payload could not be serialized (for example a map with non-string keys in JSON).
#[derive(Debug, thiserror::Error)]
#[error("failed to serialize a {protocol} message: {detail}")]
pub struct EncodeError {
    protocol: HubProtocol,
    detail: String,
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
        let mut buf = BytesMut::new();
        self.encode_into(protocol, &mut buf)?;
        Ok(buf.freeze())
    }

    /// Appends the message as one framed record of `protocol` to `buf`.
    pub fn encode_into(
        &self,
        protocol: HubProtocol,
        buf: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        let body = match protocol {
            HubProtocol::Json => self.json_body(),
            HubProtocol::MessagePack => self.msgpack_body(),
        }
        .map_err(|detail| EncodeError { protocol, detail })?;
        frame(protocol, buf, &body);
        Ok(())
    }

    fn json_body(&self) -> Result<Vec<u8>, String> {
        use serde_json::to_writer as put;
        let mut out: Vec<u8> = Vec::with_capacity(64);
        let e = |e: serde_json::Error| e.to_string();
        match self {
            OutboundMessage::Invocation {
                invocation_id,
                target,
                arguments,
                stream_ids,
            } => {
                out.extend_from_slice(b"{\"type\":1,");
                if let Some(id) = invocation_id {
                    out.extend_from_slice(b"\"invocationId\":");
                    put(&mut out, id).map_err(e)?;
                    out.push(b',');
                }
                out.extend_from_slice(b"\"target\":");
                put(&mut out, target).map_err(e)?;
                out.extend_from_slice(b",\"arguments\":");
                let start = out.len();
                put(&mut out, arguments).map_err(e)?;
                if out[start..] == *b"null" {
                    // `()` means "no arguments": the wire needs an empty array.
                    out.truncate(start);
                    out.extend_from_slice(b"[]");
                }
                if !stream_ids.is_empty() {
                    out.extend_from_slice(b",\"streamIds\":");
                    put(&mut out, stream_ids).map_err(e)?;
                }
            }
            OutboundMessage::StreamItem {
                invocation_id,
                item,
            } => {
                out.extend_from_slice(b"{\"type\":2,\"invocationId\":");
                put(&mut out, invocation_id).map_err(e)?;
                out.extend_from_slice(b",\"item\":");
                put(&mut out, item).map_err(e)?;
            }
            OutboundMessage::Completion {
                invocation_id,
                body,
            } => {
                out.extend_from_slice(b"{\"type\":3,\"invocationId\":");
                put(&mut out, invocation_id).map_err(e)?;
                match body {
                    CompletionBody::Void => {}
                    CompletionBody::Result(value) => {
                        out.extend_from_slice(b",\"result\":");
                        put(&mut out, value).map_err(e)?;
                    }
                    CompletionBody::Error(error) => {
                        out.extend_from_slice(b",\"error\":");
                        put(&mut out, error).map_err(e)?;
                    }
                }
            }
            OutboundMessage::CancelInvocation { invocation_id } => {
                out.extend_from_slice(b"{\"type\":5,\"invocationId\":");
                put(&mut out, invocation_id).map_err(e)?;
            }
            OutboundMessage::Ping => out.extend_from_slice(b"{\"type\":6"),
            OutboundMessage::Close {
                error,
                allow_reconnect,
            } => {
                out.extend_from_slice(b"{\"type\":7");
                if let Some(error) = error {
                    out.extend_from_slice(b",\"error\":");
                    put(&mut out, error).map_err(e)?;
                }
                if *allow_reconnect {
                    out.extend_from_slice(b",\"allowReconnect\":true");
                }
            }
            OutboundMessage::Ack { sequence_id } => out
                .extend_from_slice(format!("{{\"type\":8,\"sequenceId\":{sequence_id}").as_bytes()),
            OutboundMessage::Sequence { sequence_id } => out
                .extend_from_slice(format!("{{\"type\":9,\"sequenceId\":{sequence_id}").as_bytes()),
        }
        out.push(b'}');
        Ok(out)
    }

    fn msgpack_body(&self) -> Result<Vec<u8>, String> {
        use rmp::encode as mp;
        let mut out: Vec<u8> = Vec::with_capacity(64);
        let w = |e: rmp::encode::ValueWriteError| e.to_string();
        let payload = |out: &mut Vec<u8>, value: &P| -> Result<(), String> {
            value
                .serialize(&mut rmp_serde::Serializer::new(out).with_struct_map())
                .map_err(|e| e.to_string())
        };
        // Headers are never sent by this server: an empty map.
        const NO_HEADERS: u8 = 0x80;
        match self {
            OutboundMessage::Invocation {
                invocation_id,
                target,
                arguments,
                stream_ids,
            } => {
                mp::write_array_len(&mut out, 6).map_err(w)?;
                mp::write_pfix(&mut out, 1).map_err(|e| e.to_string())?;
                out.push(NO_HEADERS);
                match invocation_id {
                    Some(id) => mp::write_str(&mut out, id).map_err(w)?,
                    None => mp::write_nil(&mut out).map_err(|e| e.to_string())?,
                }
                mp::write_str(&mut out, target).map_err(w)?;
                let start = out.len();
                payload(&mut out, arguments)?;
                if out[start..] == [0xc0] {
                    // `()` means "no arguments": the wire needs an empty array.
                    out[start] = 0x90;
                }
                mp::write_array_len(&mut out, len_u32(stream_ids.len())?).map_err(w)?;
                for id in stream_ids.iter() {
                    mp::write_str(&mut out, id).map_err(w)?;
                }
            }
            OutboundMessage::StreamItem {
                invocation_id,
                item,
            } => {
                mp::write_array_len(&mut out, 4).map_err(w)?;
                mp::write_pfix(&mut out, 2).map_err(|e| e.to_string())?;
                out.push(NO_HEADERS);
                mp::write_str(&mut out, invocation_id).map_err(w)?;
                payload(&mut out, item)?;
            }
            OutboundMessage::Completion {
                invocation_id,
                body,
            } => {
                let len = if matches!(body, CompletionBody::Void) {
                    4
                } else {
                    5
                };
                mp::write_array_len(&mut out, len).map_err(w)?;
                mp::write_pfix(&mut out, 3).map_err(|e| e.to_string())?;
                out.push(NO_HEADERS);
                mp::write_str(&mut out, invocation_id).map_err(w)?;
                match body {
                    CompletionBody::Error(error) => {
                        mp::write_pfix(&mut out, 1).map_err(|e| e.to_string())?;
                        mp::write_str(&mut out, error).map_err(w)?;
                    }
                    CompletionBody::Void => {
                        mp::write_pfix(&mut out, 2).map_err(|e| e.to_string())?;
                    }
                    CompletionBody::Result(value) => {
                        mp::write_pfix(&mut out, 3).map_err(|e| e.to_string())?;
                        payload(&mut out, value)?;
                    }
                }
            }
            OutboundMessage::CancelInvocation { invocation_id } => {
                mp::write_array_len(&mut out, 3).map_err(w)?;
                mp::write_pfix(&mut out, 5).map_err(|e| e.to_string())?;
                out.push(NO_HEADERS);
                mp::write_str(&mut out, invocation_id).map_err(w)?;
            }
            OutboundMessage::Ping => out.extend_from_slice(&[0x91, 0x06]),
            OutboundMessage::Close {
                error,
                allow_reconnect,
            } => {
                mp::write_array_len(&mut out, 3).map_err(w)?;
                mp::write_pfix(&mut out, 7).map_err(|e| e.to_string())?;
                match error {
                    Some(error) => mp::write_str(&mut out, error).map_err(w)?,
                    None => mp::write_nil(&mut out).map_err(|e| e.to_string())?,
                }
                mp::write_bool(&mut out, *allow_reconnect).map_err(|e| e.to_string())?;
            }
            OutboundMessage::Ack { sequence_id } | OutboundMessage::Sequence { sequence_id } => {
                let kind = if matches!(self, OutboundMessage::Ack { .. }) {
                    8
                } else {
                    9
                };
                mp::write_array_len(&mut out, 2).map_err(w)?;
                mp::write_pfix(&mut out, kind).map_err(|e| e.to_string())?;
                mp::write_uint(&mut out, *sequence_id).map_err(w)?;
            }
        }
        Ok(out)
    }
}

fn len_u32(len: usize) -> Result<u32, String> {
    u32::try_from(len).map_err(|_| "too many elements".to_owned())
}

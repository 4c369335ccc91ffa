//! Writing JSON hub messages (the framing `0x1E` is added by the caller).

use super::strings::{write_str, write_value};
use crate::protocol::outbound::{CompletionBody, OutboundMessage};
use crate::protocol::HubProtocol;
use serde::Serialize;

/// Appends the JSON text of `message`, without its record separator, to `out`.
pub(in crate::protocol) fn write_body<P: Serialize + ?Sized>(
    message: &OutboundMessage<'_, P>,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    use serde_json::to_writer as put;
    let e = |e: serde_json::Error| e.to_string();
    match message {
        OutboundMessage::Invocation {
            invocation_id,
            target,
            arguments,
            stream_ids,
        } => {
            out.extend_from_slice(b"{\"type\":1,");
            if let Some(id) = invocation_id {
                out.extend_from_slice(b"\"invocationId\":");
                write_str(out, id).map_err(e)?;
                out.push(b',');
            }
            out.extend_from_slice(b"\"target\":");
            write_str(out, target).map_err(e)?;
            out.extend_from_slice(b",\"arguments\":");
            let start = out.len();
            put(&mut *out, arguments).map_err(e)?;
            if out[start..] == *b"null" {
                // `()` means "no arguments": the wire needs an empty array.
                out.truncate(start);
                out.extend_from_slice(b"[]");
            }
            if !stream_ids.is_empty() {
                out.extend_from_slice(b",\"streamIds\":");
                put(&mut *out, stream_ids).map_err(e)?;
            }
        }
        OutboundMessage::StreamItem {
            invocation_id,
            item,
        } => {
            out.extend_from_slice(b"{\"type\":2,\"invocationId\":");
            write_str(out, invocation_id).map_err(e)?;
            out.extend_from_slice(b",\"item\":");
            write_value(out, *item).map_err(e)?;
        }
        OutboundMessage::Completion {
            invocation_id,
            body,
        } => {
            out.extend_from_slice(b"{\"type\":3,\"invocationId\":");
            write_str(out, invocation_id).map_err(e)?;
            match body {
                CompletionBody::Void => {}
                CompletionBody::Result(value) => {
                    out.extend_from_slice(b",\"result\":");
                    write_value(out, *value).map_err(e)?;
                }
                CompletionBody::Error(error) => {
                    out.extend_from_slice(b",\"error\":");
                    put(&mut *out, error).map_err(e)?;
                }
                CompletionBody::Raw(value) => {
                    if value.protocol() != HubProtocol::Json {
                        return Err("a MessagePack result cannot be written as JSON".to_owned());
                    }
                    out.extend_from_slice(b",\"result\":");
                    out.extend_from_slice(value.as_bytes());
                }
            }
        }
        OutboundMessage::CancelInvocation { invocation_id } => {
            out.extend_from_slice(b"{\"type\":5,\"invocationId\":");
            put(&mut *out, invocation_id).map_err(e)?;
        }
        OutboundMessage::Ping => out.extend_from_slice(b"{\"type\":6"),
        OutboundMessage::Close {
            error,
            allow_reconnect,
        } => {
            out.extend_from_slice(b"{\"type\":7");
            if let Some(error) = error {
                out.extend_from_slice(b",\"error\":");
                put(&mut *out, error).map_err(e)?;
            }
            if *allow_reconnect {
                out.extend_from_slice(b",\"allowReconnect\":true");
            }
        }
        OutboundMessage::Ack { sequence_id } => {
            out.extend_from_slice(format!("{{\"type\":8,\"sequenceId\":{sequence_id}").as_bytes())
        }
        OutboundMessage::Sequence { sequence_id } => {
            out.extend_from_slice(format!("{{\"type\":9,\"sequenceId\":{sequence_id}").as_bytes())
        }
    }
    out.push(b'}');
    Ok(())
}

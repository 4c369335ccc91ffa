//! Writing MessagePack hub messages (the varint length prefix is added by the caller).

use crate::protocol::outbound::{CompletionBody, OutboundMessage};
use crate::protocol::HubProtocol;
use serde::Serialize;

/// Appends the MessagePack array of `message`, without its varint length prefix, to
/// `out`.
pub(in crate::protocol) fn write_body<P: Serialize + ?Sized>(
    message: &OutboundMessage<'_, P>,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    use rmp::encode as mp;
    let w = |e: rmp::encode::ValueWriteError| e.to_string();
    let payload = |out: &mut Vec<u8>, value: &P| -> Result<(), String> {
        value
            .serialize(&mut rmp_serde::Serializer::new(out).with_struct_map())
            .map_err(|e| e.to_string())
    };
    // Headers are never sent by this server: an empty map.
    const NO_HEADERS: u8 = 0x80;
    match message {
        OutboundMessage::Invocation {
            invocation_id,
            target,
            arguments,
            stream_ids,
        } => {
            mp::write_array_len(&mut *out, 6).map_err(w)?;
            mp::write_pfix(&mut *out, 1).map_err(|e| e.to_string())?;
            out.push(NO_HEADERS);
            match invocation_id {
                Some(id) => mp::write_str(&mut *out, id).map_err(w)?,
                None => mp::write_nil(&mut *out).map_err(|e| e.to_string())?,
            }
            mp::write_str(&mut *out, target).map_err(w)?;
            let start = out.len();
            payload(&mut *out, arguments)?;
            if out[start..] == [0xc0] {
                // `()` means "no arguments": the wire needs an empty array.
                out[start] = 0x90;
            }
            mp::write_array_len(&mut *out, len_u32(stream_ids.len())?).map_err(w)?;
            for id in stream_ids.iter() {
                mp::write_str(&mut *out, id).map_err(w)?;
            }
        }
        OutboundMessage::StreamItem {
            invocation_id,
            item,
        } => {
            mp::write_array_len(&mut *out, 4).map_err(w)?;
            mp::write_pfix(&mut *out, 2).map_err(|e| e.to_string())?;
            out.push(NO_HEADERS);
            mp::write_str(&mut *out, invocation_id).map_err(w)?;
            payload(&mut *out, item)?;
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
            mp::write_array_len(&mut *out, len).map_err(w)?;
            mp::write_pfix(&mut *out, 3).map_err(|e| e.to_string())?;
            out.push(NO_HEADERS);
            mp::write_str(&mut *out, invocation_id).map_err(w)?;
            match body {
                CompletionBody::Error(error) => {
                    mp::write_pfix(&mut *out, 1).map_err(|e| e.to_string())?;
                    mp::write_str(&mut *out, error).map_err(w)?;
                }
                CompletionBody::Void => {
                    mp::write_pfix(&mut *out, 2).map_err(|e| e.to_string())?;
                }
                CompletionBody::Result(value) => {
                    mp::write_pfix(&mut *out, 3).map_err(|e| e.to_string())?;
                    payload(&mut *out, value)?;
                }
                CompletionBody::Raw(value) => {
                    if value.protocol() != HubProtocol::MessagePack {
                        return Err("a JSON result cannot be written as MessagePack".to_owned());
                    }
                    mp::write_pfix(&mut *out, 3).map_err(|e| e.to_string())?;
                    out.extend_from_slice(value.as_bytes());
                }
            }
        }
        OutboundMessage::CancelInvocation { invocation_id } => {
            mp::write_array_len(&mut *out, 3).map_err(w)?;
            mp::write_pfix(&mut *out, 5).map_err(|e| e.to_string())?;
            out.push(NO_HEADERS);
            mp::write_str(&mut *out, invocation_id).map_err(w)?;
        }
        OutboundMessage::Ping => out.extend_from_slice(&[0x91, 0x06]),
        OutboundMessage::Close {
            error,
            allow_reconnect,
        } => {
            mp::write_array_len(&mut *out, 3).map_err(w)?;
            mp::write_pfix(&mut *out, 7).map_err(|e| e.to_string())?;
            match error {
                Some(error) => mp::write_str(&mut *out, error).map_err(w)?,
                None => mp::write_nil(&mut *out).map_err(|e| e.to_string())?,
            }
            mp::write_bool(&mut *out, *allow_reconnect).map_err(|e| e.to_string())?;
        }
        OutboundMessage::Ack { sequence_id } | OutboundMessage::Sequence { sequence_id } => {
            let kind = if matches!(message, OutboundMessage::Ack { .. }) {
                8
            } else {
                9
            };
            mp::write_array_len(&mut *out, 2).map_err(w)?;
            mp::write_pfix(&mut *out, kind).map_err(|e| e.to_string())?;
            mp::write_uint(&mut *out, *sequence_id).map_err(w)?;
        }
    }
    Ok(())
}

fn len_u32(len: usize) -> Result<u32, String> {
    u32::try_from(len).map_err(|_| "too many elements".to_owned())
}

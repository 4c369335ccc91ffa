//! Records the byte-level test suites write by hand.

/// The JSON handshake request, version 1.
pub(crate) const JSON_HANDSHAKE: &str = "{\"protocol\":\"json\",\"version\":1}\x1e";
/// The MessagePack handshake request, version 1.
pub(crate) const MSGPACK_HANDSHAKE: &str = "{\"protocol\":\"messagepack\",\"version\":1}\x1e";

use serde::Serialize;
use std::collections::HashMap;

/// A JSON Invocation record (with its `0x1E`); `arguments` is JSON array text.
pub(crate) fn invocation(id: Option<&str>, target: &str, arguments: &str) -> String {
    match id {
        Some(id) => format!(
            "{{\"type\":1,\"invocationId\":\"{id}\",\"target\":\"{target}\",\"arguments\":{arguments}}}\x1e"
        ),
        None => format!("{{\"type\":1,\"target\":\"{target}\",\"arguments\":{arguments}}}\x1e"),
    }
}

/// A MessagePack body framed with its varint length.
pub(crate) fn msgpack_frame(body: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut length = body.len();
    loop {
        let mut byte = (length & 0x7f) as u8;
        length >>= 7;
        if length > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if length == 0 {
            break;
        }
    }
    out.extend(body);
    out
}

/// A framed MessagePack Invocation (the JS client's 5-element form).
pub(crate) fn msgpack_invocation<A: Serialize>(
    id: Option<&str>,
    target: &str,
    arguments: A,
) -> Vec<u8> {
    let headers: HashMap<String, String> = HashMap::new();
    let body = rmp_serde::to_vec(&(1u8, headers, id, target, arguments))
        .unwrap_or_else(|e| panic!("cannot encode the invocation: {e}"));
    msgpack_frame(body)
}

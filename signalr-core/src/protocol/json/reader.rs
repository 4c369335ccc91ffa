//! The JSON hub protocol read by serde: the records the scanner leaves, and the error
//! message for a malformed one.

use super::fields::{Fields, MAX_DEPTH};
use super::malformed;
use crate::protocol::{HubProtocol, ProtocolError, RawValue};
use bytes::Bytes;
use bytestring::ByteString;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue as JsonRaw;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Every field any message type may carry; which are required depends on `type`.
/// Field order on the wire is arbitrary and unknown fields are ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonRecord<'a> {
    #[serde(rename = "type")]
    kind: Option<i64>,
    #[serde(borrow, default, deserialize_with = "text")]
    invocation_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    target: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    arguments: Option<Vec<&'a JsonRaw>>,
    #[serde(default)]
    stream_ids: Option<Vec<String>>,
    #[serde(default)]
    headers: Option<BTreeMap<String, String>>,
    #[serde(borrow, default, deserialize_with = "present")]
    item: Option<&'a JsonRaw>,
    #[serde(borrow, default, deserialize_with = "present")]
    result: Option<&'a JsonRaw>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    allow_reconnect: Option<bool>,
    #[serde(default)]
    sequence_id: Option<u64>,
}

/// A string field as a slice of the record when it has no escapes. (serde borrows a
/// `Cow<str>` only as a field's own type, not inside an `Option`: it would copy each.)
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    struct Text;
    impl<'de> Visitor<'de> for Text {
        type Value = Option<Cow<'de, str>>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string")
        }
        fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Borrowed(v)))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v.to_owned())))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v)))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(self)
        }
    }
    d.deserialize_option(Text)
}

/// Keeps a field that is present even when its value is `null`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de JsonRaw>, D::Error> {
    <&JsonRaw>::deserialize(d).map(Some)
}

/// Whether no array or object in `text` is nested deeper than `max` (strings skipped).
/// serde_json captures undecoded values without a depth limit, so it is checked here.
fn nesting_within(text: &[u8], max: usize) -> bool {
    // Fewer brackets than the limit cannot nest past it: the usual record is answered by
    // one vectorized count instead of a byte-by-byte walk.
    let brackets = text
        .iter()
        .filter(|&&byte| byte == b'[' || byte == b'{')
        .count();
    if brackets <= max {
        return true;
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in text {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return false;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

/// The record's fields as serde reads them: every record the scanner leaves, and the
/// error message for a malformed one.
pub(super) fn read_with_serde(record: &Bytes) -> Result<Fields, ProtocolError> {
    let text = std::str::from_utf8(record).map_err(|e| malformed(e.to_string()))?;
    if !nesting_within(text.as_bytes(), MAX_DEPTH) {
        return Err(malformed(format!(
            "The message is nested deeper than the {MAX_DEPTH} levels allowed."
        )));
    }
    // serde would also bind a JSON array to the record's fields by position.
    if !text.trim_start().starts_with('{') {
        return Err(malformed("Expected a JSON object.".into()));
    }
    let parsed: JsonRecord<'_> =
        serde_json::from_str(text).map_err(|e| malformed(e.to_string()))?;
    let raw = |value: &JsonRaw| {
        RawValue::new(HubProtocol::Json, record.slice_ref(value.get().as_bytes()))
    };
    let shared = |text: Cow<'_, str>| match text {
        Cow::Borrowed(slice) => ByteString::try_from(record.slice_ref(slice.as_bytes())).ok(),
        Cow::Owned(unescaped) => Some(ByteString::from(unescaped)),
    };
    Ok(Fields {
        kind: parsed.kind,
        invocation_id: parsed.invocation_id.and_then(shared),
        target: parsed.target.and_then(shared),
        arguments: parsed
            .arguments
            .map(|arguments| arguments.into_iter().map(raw).collect()),
        stream_ids: parsed.stream_ids,
        headers: parsed.headers,
        item: parsed.item.map(raw),
        result: parsed.result.map(raw),
        error: parsed.error,
        allow_reconnect: parsed.allow_reconnect,
        sequence_id: parsed.sequence_id,
    })
}

//! Undecoded payload values: kept as the exact bytes received until their type is known.

use super::error::DecodeError;
use super::HubProtocol;
use bytes::Bytes;
use serde::de::DeserializeOwned;

/// One encoded value (an argument, stream item or result) exactly as it arrived.
///
/// Decoding happens once, straight into the target type, when the dispatcher knows it.
///
/// ```
/// use signalr_core::protocol::{HubProtocol, RawValue};
/// let raw = RawValue::new(HubProtocol::Json, bytes::Bytes::from_static(b"[1,2]"));
/// let v: Vec<u8> = raw.decode().unwrap();
/// assert_eq!(v, [1, 2]);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RawValue {
    protocol: HubProtocol,
    bytes: Bytes,
}

impl RawValue {
    /// Wraps encoded bytes of one value of `protocol`.
    pub fn new(protocol: HubProtocol, bytes: Bytes) -> Self {
        RawValue { protocol, bytes }
    }

    /// The protocol the value is encoded in.
    pub fn protocol(&self) -> HubProtocol {
        self.protocol
    }

    /// The encoded bytes (JSON text or one MessagePack value).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// [`decode`](Self::decode) for a hub method's argument. A `String` written in JSON
    /// without escapes (the usual string argument) is taken as it is: serde would read
    /// it to the same value, with a deserializer, a scan for escapes and a check of its
    /// UTF-8 (about 350 of the 530 instructions the argument took, per callgrind).
    pub(crate) fn decode_argument<T: DeserializeOwned + 'static>(&self) -> Result<T, DecodeError> {
        if let Some(value) = self.plain_json_string() {
            return Ok(value);
        }
        self.decode()
    }

    /// `Some` when `T` is `String` and the value a JSON string with nothing escaped.
    fn plain_json_string<T: 'static>(&self) -> Option<T> {
        let mut slot: Option<T> = None;
        let text = (&mut slot as &mut dyn std::any::Any).downcast_mut::<Option<String>>()?;
        if self.protocol != HubProtocol::Json {
            return None;
        }
        let inner = self.bytes.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
        // One pass without early exit, which the compiler vectorizes: an escape, a quote
        // or a control character (which serde refuses) leaves the value to serde.
        let plain = !inner.iter().fold(false, |special, &byte| {
            special | (byte == b'\\') | (byte == b'"') | (byte < 0x20)
        });
        if !plain {
            return None;
        }
        *text = Some(std::str::from_utf8(inner).ok()?.to_owned());
        slot
    }

    /// Decodes the value into `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, DecodeError> {
        match self.protocol {
            HubProtocol::Json => {
                serde_json::from_slice(&self.bytes).map_err(|e| DecodeError::new(e.to_string()))
            }
            HubProtocol::MessagePack => {
                rmp_serde::from_slice(&self.bytes).map_err(|e| DecodeError::new(e.to_string()))
            }
        }
    }
}

impl std::fmt::Debug for RawValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.protocol {
            HubProtocol::Json => write!(f, "Json({})", String::from_utf8_lossy(&self.bytes)),
            HubProtocol::MessagePack => write!(f, "MessagePack({:02x?})", &self.bytes[..]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RawValue;
    use crate::protocol::HubProtocol;
    use bytes::Bytes;
    use proptest::prelude::*;

    fn json(text: &str) -> RawValue {
        RawValue::new(HubProtocol::Json, Bytes::copy_from_slice(text.as_bytes()))
    }

    #[test]
    fn a_plain_json_string_is_taken_as_it_is_and_everything_else_goes_to_serde() {
        assert_eq!(
            json(r#""plain""#).plain_json_string::<String>(),
            Some("plain".into())
        );
        assert_eq!(
            json(r#""""#).plain_json_string::<String>(),
            Some(String::new())
        );
        for other in [
            r#""a\nb""#,
            r#""a\"b""#,
            "\"tab\there\"",
            " \"x\"",
            "12",
            "null",
            "\"",
        ] {
            assert_eq!(json(other).plain_json_string::<String>(), None, "{other}");
        }
        // Only `String` takes the shortcut.
        assert_eq!(json(r#""x""#).plain_json_string::<Option<String>>(), None);
        let packed = RawValue::new(HubProtocol::MessagePack, Bytes::from_static(b"\xa1x"));
        assert_eq!(packed.plain_json_string::<String>(), None);
        assert_eq!(packed.decode_argument::<String>().unwrap(), "x");
        // What serde refuses is still refused, with serde's words.
        let control = json("\"tab\there\"");
        assert_eq!(
            control.decode_argument::<String>().unwrap_err().to_string(),
            control.decode::<String>().unwrap_err().to_string()
        );
        assert!(json("12").decode_argument::<String>().is_err());
        assert_eq!(json("12").decode_argument::<i32>().unwrap(), 12);
    }

    proptest! {
        /// Every string, as serde writes it (with or without escapes), decodes as serde
        /// reads it back.
        #[test]
        fn string_arguments_decode_as_serde_reads_them(text in any::<String>()) {
            let raw = json(&serde_json::to_string(&text).unwrap());
            prop_assert_eq!(raw.decode_argument::<String>().unwrap(), text);
        }

        /// Arbitrary bytes between quotes: the same value or the same error as serde's.
        #[test]
        fn quoted_bytes_decode_as_serde_decodes_them(inner in proptest::collection::vec(any::<u8>(), 0..24)) {
            let mut bytes = vec![b'"'];
            bytes.extend_from_slice(&inner);
            bytes.push(b'"');
            let raw = RawValue::new(HubProtocol::Json, Bytes::from(bytes));
            let ours = raw.decode_argument::<String>().map_err(|e| e.to_string());
            let serde = raw.decode::<String>().map_err(|e| e.to_string());
            prop_assert_eq!(ours, serde);
        }
    }
}

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

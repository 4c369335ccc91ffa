//! Payload types that encode the way .NET clients and servers expect in both protocols.
//!
//! .NET writes `byte[]` as a Base64 string in JSON and as MessagePack `bin`, and
//! `DateTime` as an ISO-8601 string in JSON and as the MessagePack timestamp extension
//! (type -1). Plain Rust types cannot follow both rules; these can, because the JSON
//! serializer is human-readable and the MessagePack one is not.

use base64::Engine;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Bytes: Base64 in JSON, `bin` in MessagePack (.NET's `byte[]`).
///
/// ```
/// use signalr_core::protocol::ByteArray;
/// let json = serde_json::to_string(&ByteArray(vec![1, 2, 3])).unwrap();
/// assert_eq!(json, "\"AQID\"");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ByteArray(pub Vec<u8>);

impl Serialize for ByteArray {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
        } else {
            serializer.serialize_bytes(&self.0)
        }
    }
}

struct BytesVisitor;

impl<'de> Visitor<'de> for BytesVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("bytes, a Base64 string or an array of bytes")
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
        base64::engine::general_purpose::STANDARD
            .decode(v)
            .map_err(|e| E::custom(format!("invalid Base64: {e}")))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(byte) = seq.next_element::<u8>()? {
            bytes.push(byte);
        }
        Ok(bytes)
    }
}

impl<'de> Deserialize<'de> for ByteArray {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            deserializer.deserialize_any(BytesVisitor).map(ByteArray)
        } else {
            deserializer
                .deserialize_byte_buf(BytesVisitor)
                .map(ByteArray)
        }
    }
}

/// A point in time, UTC: ISO-8601 (`2000-01-01T00:00:00Z`) in JSON, the timestamp
/// extension (type -1) in MessagePack (.NET's `DateTime`).
///
/// ```
/// use signalr_core::protocol::Timestamp;
/// let t = Timestamp::from_unix(946_684_800, 0);
/// assert_eq!(serde_json::to_string(&t).unwrap(), "\"2000-01-01T00:00:00Z\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp {
    seconds: i64,
    nanos: u32,
}

/// MessagePack's extension type for timestamps.
const TIMESTAMP_EXT: i8 = -1;
/// How rmp-serde marks an extension value.
const EXT_STRUCT: &str = "_ExtStruct";

impl Timestamp {
    /// Seconds and nanoseconds since 1970-01-01T00:00:00Z (`nanos` is clamped below 1 s).
    pub fn from_unix(seconds: i64, nanos: u32) -> Self {
        Timestamp {
            seconds,
            nanos: nanos.min(999_999_999),
        }
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> i64 {
        self.seconds
    }

    /// The sub-second nanoseconds.
    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }

    /// The current time.
    pub fn now() -> Self {
        SystemTime::now().into()
    }

    fn to_offset(self) -> Option<time::OffsetDateTime> {
        let nanos = i128::from(self.seconds) * 1_000_000_000 + i128::from(self.nanos);
        time::OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
    }

    /// The MessagePack timestamp extension payload (4, 8 or 12 bytes).
    fn ext_payload(&self) -> Vec<u8> {
        if self.nanos == 0 && (0..=i64::from(u32::MAX)).contains(&self.seconds) {
            (self.seconds as u32).to_be_bytes().to_vec()
        } else if (0..1i64 << 34).contains(&self.seconds) {
            ((u64::from(self.nanos) << 34) | self.seconds as u64)
                .to_be_bytes()
                .to_vec()
        } else {
            let mut payload = self.nanos.to_be_bytes().to_vec();
            payload.extend_from_slice(&self.seconds.to_be_bytes());
            payload
        }
    }

    fn from_ext_payload(payload: &[u8]) -> Option<Self> {
        let (seconds, nanos) = match payload.len() {
            4 => (i64::from(u32::from_be_bytes(payload.try_into().ok()?)), 0),
            8 => {
                let value = u64::from_be_bytes(payload.try_into().ok()?);
                ((value & ((1 << 34) - 1)) as i64, (value >> 34) as u32)
            }
            12 => (
                i64::from_be_bytes(payload[4..].try_into().ok()?),
                u32::from_be_bytes(payload[..4].try_into().ok()?),
            ),
            _ => return None,
        };
        Timestamp::within_dotnet_range(seconds, nanos)
    }

    /// As .NET reads a MessagePack timestamp into a `DateTime`: nanoseconds past a second
    /// carry into the seconds, and instants outside years 1 to 9999 are refused.
    fn within_dotnet_range(seconds: i64, nanos: u32) -> Option<Self> {
        /// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, in Unix seconds.
        const FIRST: i64 = -62_135_596_800;
        const LAST: i64 = 253_402_300_799;
        let seconds = seconds.checked_add(i64::from(nanos / 1_000_000_000))?;
        (FIRST..=LAST)
            .contains(&seconds)
            .then(|| Timestamp::from_unix(seconds, nanos % 1_000_000_000))
    }
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Self {
        match time.duration_since(UNIX_EPOCH) {
            Ok(after) => Timestamp::from_unix(after.as_secs() as i64, after.subsec_nanos()),
            Err(before) => {
                let before = before.duration();
                let mut seconds = -(before.as_secs() as i64);
                let mut nanos = before.subsec_nanos();
                if nanos > 0 {
                    seconds -= 1;
                    nanos = 1_000_000_000 - nanos;
                }
                Timestamp::from_unix(seconds, nanos)
            }
        }
    }
}

impl From<Timestamp> for SystemTime {
    fn from(t: Timestamp) -> Self {
        if t.seconds >= 0 {
            UNIX_EPOCH + Duration::new(t.seconds as u64, t.nanos)
        } else {
            UNIX_EPOCH - Duration::from_secs(t.seconds.unsigned_abs())
                + Duration::from_nanos(u64::from(t.nanos))
        }
    }
}

/// Serializes a byte slice as bytes (MessagePack `bin`).
struct RawBytes<'a>(&'a [u8]);

impl Serialize for RawBytes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            let text = self
                .to_offset()
                .and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .ok_or_else(|| serde::ser::Error::custom("timestamp out of range"))?;
            serializer.serialize_str(&text)
        } else {
            let payload = self.ext_payload();
            serializer.serialize_newtype_struct(EXT_STRUCT, &(TIMESTAMP_EXT, RawBytes(&payload)))
        }
    }
}

struct TimestampVisitor;

impl<'de> Visitor<'de> for TimestampVisitor {
    type Value = Timestamp;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an ISO-8601 date and time, or a MessagePack timestamp")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
        let parsed = time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
            .map_err(|e| E::custom(format!("invalid date and time `{v}`: {e}")))?;
        let nanos = parsed.unix_timestamp_nanos();
        let seconds = nanos.div_euclid(1_000_000_000) as i64;
        Ok(Timestamp::from_unix(
            seconds,
            nanos.rem_euclid(1_000_000_000) as u32,
        ))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Timestamp, D::Error> {
        let (kind, payload): (i8, ExtPayload) = Deserialize::deserialize(d)?;
        if kind != TIMESTAMP_EXT {
            return Err(de::Error::custom(format!(
                "extension type {kind} is not a timestamp"
            )));
        }
        Timestamp::from_ext_payload(&payload.0)
            .ok_or_else(|| {
                de::Error::custom(
                    "invalid timestamp: the extension must be 4, 8 or 12 bytes, for an instant in years 1 to 9999",
                )
            })
    }
}

struct ExtPayload(Vec<u8>);

impl<'de> Deserialize<'de> for ExtPayload {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_byte_buf(BytesVisitor).map(ExtPayload)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            deserializer.deserialize_str(TimestampVisitor)
        } else {
            deserializer.deserialize_newtype_struct(EXT_STRUCT, TimestampVisitor)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msgpack<T: Serialize>(value: &T) -> Vec<u8> {
        let mut out = Vec::new();
        value
            .serialize(&mut rmp_serde::Serializer::new(&mut out).with_struct_map())
            .unwrap();
        out
    }

    #[test]
    fn byte_arrays_are_base64_in_json_and_bin_in_msgpack() {
        let bytes = ByteArray(vec![1, 2, 3]);
        assert_eq!(serde_json::to_string(&bytes).unwrap(), "\"AQID\"");
        assert_eq!(msgpack(&bytes), [0xc4, 0x03, 1, 2, 3]);
        let back: ByteArray = rmp_serde::from_slice(&[0xc4, 0x03, 1, 2, 3]).unwrap();
        assert_eq!(back, bytes);
        let back: ByteArray = serde_json::from_str("\"aGVsbG8=\"").unwrap();
        assert_eq!(back.0, b"hello");
    }

    #[test]
    fn timestamps_are_iso_in_json_and_ext_minus_one_in_msgpack() {
        let t = Timestamp::from_unix(946_684_800, 0);
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2000-01-01T00:00:00Z\""
        );
        let encoded = msgpack(&t);
        assert_eq!(encoded, [0xd6, 0xff, 0x38, 0x6d, 0x43, 0x80]);
        let back: Timestamp = rmp_serde::from_slice(&encoded).unwrap();
        assert_eq!(back, t);
        let with_nanos = Timestamp::from_unix(1_017_656_415, 500_000_000);
        let back: Timestamp = rmp_serde::from_slice(&msgpack(&with_nanos)).unwrap();
        assert_eq!(back, with_nanos);
        let parsed: Timestamp = serde_json::from_str("\"2002-04-01T10:20:15Z\"").unwrap();
        assert_eq!(parsed.unix_seconds(), 1_017_656_415);
        let before_epoch = Timestamp::from_unix(-5, 0);
        let back: Timestamp = rmp_serde::from_slice(&msgpack(&before_epoch)).unwrap();
        assert_eq!(back, before_epoch);
    }
}

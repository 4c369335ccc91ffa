//! The handshake: the first record on every connection, always JSON ended by `0x1E`.

use super::error::HandshakeError;
use super::framing::RECORD_SEPARATOR;
use super::{HubProtocol, MAX_PROTOCOL_VERSION};
use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// A client's handshake request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeRequest {
    /// The requested hub protocol.
    pub protocol: HubProtocol,
    /// The requested protocol version (2 enables Ack and Sequence).
    pub version: u32,
}

#[derive(Deserialize)]
struct RawHandshake {
    protocol: Option<String>,
    version: Option<u64>,
}

/// Parses a handshake request record (without its `0x1E`).
///
/// ```
/// use signalr_core::protocol::{parse_handshake_request, HubProtocol};
/// let request = parse_handshake_request(br#"{"protocol":"json","version":1}"#).unwrap();
/// assert_eq!(request.protocol, HubProtocol::Json);
/// ```
pub fn parse_handshake_request(record: &[u8]) -> Result<HandshakeRequest, HandshakeError> {
    let raw: RawHandshake =
        serde_json::from_slice(record).map_err(|e| HandshakeError::Malformed(e.to_string()))?;
    let name = raw.protocol.ok_or_else(|| {
        HandshakeError::Malformed("Missing required property 'protocol'.".to_owned())
    })?;
    let version = raw.version.ok_or_else(|| {
        HandshakeError::Malformed("Missing required property 'version'.".to_owned())
    })?;
    let protocol =
        HubProtocol::from_name(&name).ok_or(HandshakeError::UnsupportedProtocol(name.clone()))?;
    if version > u64::from(MAX_PROTOCOL_VERSION) {
        return Err(HandshakeError::UnsupportedVersion {
            protocol: name,
            version,
        });
    }
    Ok(HandshakeRequest {
        protocol,
        // Bounded by MAX_PROTOCOL_VERSION above.
        version: version as u32,
    })
}

/// The handshake success response: `{}` then `0x1E`.
pub fn write_handshake_success() -> Bytes {
    Bytes::from_static(b"{}\x1e")
}

/// A handshake error response carrying `error`'s text; with `detailed`, a malformed
/// request's cause is appended as the .NET server does with detailed errors.
pub fn write_handshake_error(error: &HandshakeError, detailed: bool) -> Bytes {
    #[derive(Serialize)]
    struct ErrorResponse {
        error: String,
    }
    let text = match error {
        HandshakeError::Malformed(detail) if detailed => {
            format!("{error} InvalidDataException: {detail}")
        }
        _ => error.to_string(),
    };
    let mut body =
        serde_json::to_vec(&ErrorResponse { error: text }).unwrap_or_else(|_| b"{}".to_vec());
    body.push(RECORD_SEPARATOR);
    Bytes::from(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_accepts_unknown_fields_and_any_order() {
        let request =
            parse_handshake_request(br#"{"version":2,"extra":[1],"protocol":"messagepack"}"#);
        assert_eq!(
            request,
            Ok(HandshakeRequest {
                protocol: HubProtocol::MessagePack,
                version: 2
            })
        );
    }

    #[test]
    fn handshake_errors_use_the_dotnet_texts() {
        let err = parse_handshake_request(br#"{"protocol":"xml","version":1}"#).unwrap_err();
        assert_eq!(err.to_string(), "The protocol 'xml' is not supported.");
        let err = parse_handshake_request(br#"{"protocol":"json","version":3}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "The server does not support version 3 of the 'json' protocol."
        );
        let err = parse_handshake_request(br#"{"version":1}"#).unwrap_err();
        assert!(matches!(err, HandshakeError::Malformed(_)));
        assert_eq!(
            &write_handshake_error(&HandshakeError::Canceled, false)[..],
            b"{\"error\":\"Handshake was canceled.\"}\x1e"
        );
    }
}

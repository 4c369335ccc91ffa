//! The handshake: the first record on every connection, always JSON ended by `0x1E`.

use super::error::HandshakeError;
use super::framing::RECORD_SEPARATOR;
use super::{HubProtocol, MAX_PROTOCOL_VERSION};
use bytes::Bytes;
use serde::Serialize;

/// A client's handshake request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeRequest {
    /// The requested hub protocol.
    pub protocol: HubProtocol,
    /// The requested protocol version (2 enables Ack and Sequence).
    pub version: u32,
}

/// Parses a handshake request record (without its `0x1E`), as .NET's handshake parser
/// does: a JSON object (an array, even one holding the right values, is not) with a string
/// `protocol` and a 32-bit integer `version` (negative versions are version 0);
/// other properties are ignored, and of a repeated property the last counts.
///
/// ```
/// use signalr_core::protocol::{parse_handshake_request, HubProtocol};
/// let request = parse_handshake_request(br#"{"protocol":"json","version":1}"#).unwrap();
/// assert_eq!(request.protocol, HubProtocol::Json);
/// ```
pub fn parse_handshake_request(record: &[u8]) -> Result<HandshakeRequest, HandshakeError> {
    let malformed = |text: &str| HandshakeError::Malformed(text.to_owned());
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(record).map_err(|e| HandshakeError::Malformed(e.to_string()))?;
    let name = match object.get("protocol") {
        None => return Err(malformed("Missing required property 'protocol'.")),
        Some(serde_json::Value::String(name)) => name.clone(),
        Some(_) => return Err(malformed("Expected 'protocol' to be of type String.")),
    };
    let version = match object.get("version") {
        None => return Err(malformed("Missing required property 'version'.")),
        Some(value) => value
            .as_i64()
            .and_then(|v| i32::try_from(v).ok())
            .ok_or_else(|| malformed("Expected 'version' to be of type Number."))?,
    };
    let protocol =
        HubProtocol::from_name(&name).ok_or(HandshakeError::UnsupportedProtocol(name.clone()))?;
    if version > MAX_PROTOCOL_VERSION as i32 {
        return Err(HandshakeError::UnsupportedVersion {
            protocol: name,
            version: version as u64,
        });
    }
    Ok(HandshakeRequest {
        protocol,
        // Negative versions ask for nothing newer than version 0.
        version: version.max(0) as u32,
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
    fn handshake_is_read_as_dotnet_reads_it() {
        // An array with the right values is not an object.
        assert!(parse_handshake_request(br#"["json",1]"#).is_err());
        // The last of a repeated property counts.
        let request =
            parse_handshake_request(br#"{"protocol":"json","protocol":"messagepack","version":1}"#)
                .unwrap();
        assert_eq!(request.protocol, HubProtocol::MessagePack);
        assert_eq!(
            parse_handshake_request(br#"{"protocol":1,"version":1}"#)
                .unwrap_err()
                .to_string(),
            HandshakeError::Malformed("Expected 'protocol' to be of type String.".into())
                .to_string()
        );
        for version in ["1.5", "\"1\"", "4294967297", "true"] {
            let record = format!("{{\"protocol\":\"json\",\"version\":{version}}}");
            assert!(
                matches!(
                    parse_handshake_request(record.as_bytes()),
                    Err(HandshakeError::Malformed(_))
                ),
                "version {version} was accepted"
            );
        }
        let negative = parse_handshake_request(br#"{"protocol":"json","version":-3}"#).unwrap();
        assert_eq!(negative.version, 0);
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

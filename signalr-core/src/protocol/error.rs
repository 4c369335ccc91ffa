//! Every error of the protocol layer: records that cannot be split, parsed or decoded,
//! handshakes that are refused, and payloads that cannot be encoded.

use super::HubProtocol;

/// An error in the hub protocol itself (not in argument binding): the connection is closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The record is not valid JSON or MessagePack, or lacks a required field. (A record
    /// over `MaximumReceiveMessageSize` is a [`FrameError::TooLarge`], found before parsing.)
    #[error("invalid {protocol} message: {reason}")]
    Malformed {
        /// The protocol being parsed.
        protocol: HubProtocol,
        /// What was wrong.
        reason: String,
    },
}

impl ProtocolError {
    #[cold]
    pub(crate) fn malformed(protocol: HubProtocol, reason: impl Into<String>) -> Self {
        ProtocolError::Malformed {
            protocol,
            reason: reason.into(),
        }
    }
}

/// A framing error: the stream can no longer be split into records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A record is larger than the configured maximum.
    #[error("The maximum message size of {limit}B was exceeded. The message size can be configured in AddHubOptions.")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A MessagePack length prefix is invalid (over 5 bytes, over 2 GiB, or zero).
    #[error("invalid MessagePack length prefix")]
    InvalidLength,
}

/// Why a handshake was refused; `Display` is the exact text sent to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// The protocol name is unknown or not enabled on this hub.
    #[error("The protocol '{0}' is not supported.")]
    UnsupportedProtocol(String),
    /// The version is higher than the server speaks.
    #[error("The server does not support version {version} of the '{protocol}' protocol.")]
    UnsupportedVersion {
        /// The requested protocol.
        protocol: String,
        /// The requested version.
        version: u64,
    },
    /// A binary protocol was requested over a text-only transport.
    #[error("Cannot use the '{0}' protocol on the current transport. The transport does not support 'Binary' transfer format.")]
    TransferFormatNotSupported(HubProtocol),
    /// The handshake did not arrive in time or was too large.
    #[error("Handshake was canceled.")]
    Canceled,
    /// The request was not a valid handshake.
    #[error("An unexpected error occurred during connection handshake.")]
    Malformed(String),
}

/// A payload value could not be decoded into the type the hub method expects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Error binding arguments. Make sure that the types of the provided values match the types of the hub method being invoked. ({detail})")]
pub struct DecodeError {
    detail: String,
}

impl DecodeError {
    pub(crate) fn new(detail: String) -> Self {
        DecodeError { detail }
    }

    /// What the underlying decoder reported.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

/// A payload could not be serialized (for example a map with non-string keys in JSON).
#[derive(Debug, thiserror::Error)]
#[error("failed to serialize a {protocol} message: {detail}")]
pub struct EncodeError {
    protocol: HubProtocol,
    detail: String,
}

impl EncodeError {
    pub(crate) fn new(protocol: HubProtocol, detail: String) -> Self {
        EncodeError { protocol, detail }
    }
}

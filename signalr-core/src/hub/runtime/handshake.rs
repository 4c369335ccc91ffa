//! The hub handshake on a new connection: reading the request record and accepting or
//! refusing the protocol it asks for.

use crate::connection::ConnectionContext;
use crate::hub::HubOptions;
use crate::protocol::{parse_handshake_request, HandshakeError, HandshakeRequest, HubProtocol};
use bytes::{Bytes, BytesMut};

/// Whether the hub speaks `protocol` and the transport carries its transfer format (which
/// it then uses).
pub(crate) fn accept_protocol(
    connection: &ConnectionContext,
    options: &HubOptions,
    protocol: HubProtocol,
) -> Result<(), HandshakeError> {
    if !options.supported_protocols.contains(&protocol) {
        return Err(HandshakeError::UnsupportedProtocol(
            protocol.name().to_owned(),
        ));
    }
    if !connection.set_transfer_format(protocol.transfer_format()) {
        return Err(HandshakeError::TransferFormatNotSupported(protocol));
    }
    Ok(())
}

/// Reads until the handshake record is complete.
/// `Err(None)`: the transport ended first; `Err(Some)`: refuse with that error.
pub(crate) async fn read_handshake(
    connection: &mut ConnectionContext,
    max_size: Option<usize>,
) -> Result<(HandshakeRequest, Bytes), Option<HandshakeError>> {
    let mut buffer = BytesMut::new();
    loop {
        if let Some(end) = memchr::memchr(0x1e, &buffer) {
            let record = buffer.split_to(end);
            let leftover = buffer.split_off(1).freeze();
            return parse_handshake_request(&record)
                .map(|request| (request, leftover))
                .map_err(Some);
        }
        if max_size.is_some_and(|max| buffer.len() > max) {
            return Err(Some(HandshakeError::Canceled));
        }
        match connection.receive().await {
            Some(chunk) => buffer.extend_from_slice(&chunk),
            None => return Err(None),
        }
    }
}

//! One hub connection from handshake to close: the handshake, joining the hub, the
//! lifecycle hooks, and the Close message that ends it. The message loop in between is
//! the [`Session`](super::session::Session).

use super::context::Ctx;
use super::dispatcher::HubDispatcher;
use super::error::{with_detail, HubError};
use super::filter::{connected_chain, disconnected_chain};
use super::lifecycle::DisconnectReason;
use super::lifetime::HubConnectionHandle;
use super::server::HubShared;
use super::session::{panic_message, End, Session};
use crate::connection::ConnectionContext;
use crate::protocol::{
    parse_handshake_request, write_handshake_error, write_handshake_success, HandshakeError,
    HandshakeRequest, HubProtocol, OutboundMessage, RecordReader,
};
use bytes::{Bytes, BytesMut};
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

/// Generic text of the Close sent when the server ends a connection because of an error.
const CLOSED_WITH_ERROR: &str = "Connection closed with an error.";

/// Runs the hub protocol on `connection` until it ends.
pub(crate) async fn run<D: HubDispatcher>(
    hub: Arc<HubShared<D>>,
    mut connection: ConnectionContext,
) {
    let options = &hub.options;
    let sender = connection.sender().clone();
    let detailed = options.enable_detailed_errors;
    let handshake = tokio::time::timeout(
        options.handshake_timeout,
        read_handshake(&mut connection, options.maximum_receive_message_size),
    )
    .await
    .unwrap_or(Err(Some(HandshakeError::Canceled)));
    let (request, leftover) = match handshake {
        Ok(ok) => ok,
        Err(None) => return,
        Err(Some(error)) => {
            tracing::debug!(%error, "handshake failed");
            let _ = sender.send(write_handshake_error(&error, detailed)).await;
            return;
        }
    };
    let protocol = request.protocol;
    let refusal = if !options.supported_protocols.contains(&protocol) {
        Some(HandshakeError::UnsupportedProtocol(
            protocol.name().to_owned(),
        ))
    } else if !connection.set_transfer_format(protocol.transfer_format()) {
        Some(HandshakeError::TransferFormatNotSupported(protocol))
    } else {
        None
    };
    if let Some(error) = refusal {
        let _ = sender.send(write_handshake_error(&error, detailed)).await;
        return;
    }
    if sender.send(write_handshake_success()).await.is_err() {
        return;
    }
    let mut reader = RecordReader::new(protocol, options.maximum_receive_message_size);
    reader.push(&leftover);

    let connection_id = connection.connection_id_arc();
    let user_id: Option<Arc<str>> = hub.users.user_id(connection.request()).map(Arc::from);
    hub.lifetime.add(
        connection_id.clone(),
        HubConnectionHandle {
            sender: sender.clone(),
            protocol,
        },
        user_id.clone(),
    );
    let cx = Ctx::new(
        connection_id.clone(),
        connection.transport(),
        user_id,
        hub.lifetime.clone(),
        connection.request_arc(),
        connection.closed(),
        connection.abort_token(),
    );
    // Whatever happens below (a panic included), the connection leaves the hub.
    let _registered = Registered {
        lifetime: &hub.lifetime,
        connection_id: &connection_id,
    };
    let filters = &options.filters.0;
    let connected = AssertUnwindSafe(connected_chain(
        filters,
        &cx,
        Box::new(|| hub.dispatcher.on_connected(&cx)),
    ))
    .catch_unwind()
    .await
    .unwrap_or_else(|panic| Err(HubError::internal("Panic", panic_message(panic.as_ref()))));
    if let Err(error) = connected {
        tracing::debug!(%error, "on_connected refused the connection");
        hub.lifetime.remove(&connection_id);
        let text = with_detail(CLOSED_WITH_ERROR.to_owned(), error.detail(detailed));
        let _ = sender.try_send(encode_close(protocol, Some(&text), false));
        return;
    }
    let end = Session::new(&hub, &cx, &sender, protocol)
        .run(&mut connection, reader)
        .await;
    hub.lifetime.remove(&connection_id);
    let reason = match &end {
        End::TransportClosed => DisconnectReason::Closed,
        End::Aborted => DisconnectReason::Aborted,
        End::Error(detail) => DisconnectReason::Error(detail.clone()),
    };
    match end {
        End::TransportClosed => {}
        End::Aborted => {
            let _ = sender.try_send(encode_close(protocol, None, false));
        }
        End::Error(detail) => {
            let text = with_detail(CLOSED_WITH_ERROR.to_owned(), detailed.then_some(detail));
            let _ = sender.try_send(encode_close(protocol, Some(&text), true));
        }
    }
    connection.abort();
    let disconnected = AssertUnwindSafe(disconnected_chain(
        filters,
        &cx,
        &reason,
        Box::new(|| hub.dispatcher.on_disconnected(&cx, &reason)),
    ))
    .catch_unwind()
    .await;
    if let Err(panic) = disconnected {
        tracing::error!(message = %panic_message(panic.as_ref()), "on_disconnected panicked");
    }
}

/// Removes a connection from the hub when dropped.
struct Registered<'a> {
    lifetime: &'a super::lifetime::HubLifetimeManager,
    connection_id: &'a str,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.lifetime.remove(self.connection_id);
    }
}

fn encode_close(protocol: HubProtocol, error: Option<&str>, allow_reconnect: bool) -> Bytes {
    let close: OutboundMessage<'_, ()> = OutboundMessage::Close {
        error,
        allow_reconnect,
    };
    close.encode(protocol).unwrap_or_default()
}

/// Reads until the handshake record is complete.
/// `Err(None)`: the transport ended first; `Err(Some)`: refuse with that error.
async fn read_handshake(
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

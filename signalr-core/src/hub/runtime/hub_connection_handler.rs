//! One hub connection from handshake to close (modelling .NET's `HubConnectionHandler`):
//! the handshake, joining the hub, the lifecycle hooks, and the Close message that ends
//! it. The message loop in between is the [`Session`](super::session::Session).

use super::handshake::{accept_protocol, read_handshake};
use super::panic::panic_message;
use super::session::{End, Session};
use super::shared::HubShared;
use crate::connection::{ConnectionContext, ConnectionHandler, OutboundSender};
use crate::hub::contract::Dispatch;
use crate::hub::error::{with_detail, HubError};
use crate::hub::filter::{connected_chain, disconnected_chain};
use crate::hub::lifetime::{HubConnectionContext, HubLifetimeManager};
use crate::hub::{Ctx, DisconnectReason};
use crate::protocol::{
    write_handshake_error, write_handshake_success, HandshakeError, HubProtocol, OutboundMessage,
    RecordReader,
};
use bytes::Bytes;
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

/// Generic text of the Close sent when the server ends a connection because of an error.
const CLOSED_WITH_ERROR: &str = "Connection closed with an error.";

/// Runs the hub protocol on every connection of an endpoint.
#[derive(Debug)]
pub(crate) struct HubConnectionHandler<D> {
    pub(crate) shared: Arc<HubShared<D>>,
}

impl<D: Dispatch> ConnectionHandler for HubConnectionHandler<D> {
    fn on_connected(
        &self,
        connection: ConnectionContext,
    ) -> impl std::future::Future<Output = ()> + Send {
        run(self.shared.clone(), connection)
    }
}

/// What a connection that joined the hub carries into its session.
struct Joined {
    protocol: HubProtocol,
    stateful_reconnect: bool,
    sender: OutboundSender,
    /// What the client sent after its handshake, and everything after.
    reader: RecordReader,
    cx: Ctx,
    registered: Registered,
}

// The phases are separate futures, and neither is an `async fn`: an idle connection holds
// this future for its whole life, and an `async fn` keeps room for its arguments twice
// (once as arguments, once as locals), and a phase's locals (the handshake's, the
// joining's) would stay reserved beside the session's.
/// Runs the hub protocol on `connection` until it ends.
#[allow(clippy::manual_async_fn)]
fn run<D: Dispatch>(
    hub: Arc<HubShared<D>>,
    mut connection: ConnectionContext,
) -> impl std::future::Future<Output = ()> + Send {
    async move {
        let Some(joined) = join(&hub, &mut connection).await else {
            return;
        };
        serve(&hub, &mut connection, joined).await;
    }
}

/// The handshake, joining the hub and `on_connected`; `None` when the connection ends
/// there (a failed handshake, a refused protocol, `on_connected` refusing it).
async fn join<D: Dispatch>(
    hub: &Arc<HubShared<D>>,
    connection: &mut ConnectionContext,
) -> Option<Joined> {
    let options = &hub.options;
    let sender = connection.sender().clone();
    let detailed = options.enable_detailed_errors;
    let handshake = tokio::time::timeout(
        options.handshake_timeout,
        read_handshake(connection, options.maximum_receive_message_size),
    )
    .await
    .unwrap_or(Err(Some(HandshakeError::Canceled)));
    let (request, leftover) = match handshake {
        Ok(ok) => ok,
        Err(None) => return None,
        Err(Some(error)) => {
            tracing::debug!(%error, "handshake failed");
            let _ = sender.send(write_handshake_error(&error, detailed)).await;
            return None;
        }
    };
    let protocol = request.protocol;
    if let Err(error) = accept_protocol(connection, options, protocol) {
        let _ = sender.send(write_handshake_error(&error, detailed)).await;
        return None;
    }
    if sender.send(write_handshake_success()).await.is_err() {
        return None;
    }
    // Hub records carry their own framing: records queued together may share a frame.
    connection.allow_batching();
    // Stateful reconnect needs hub protocol version 2 (a client asking for version 1
    // knows no Ack or Sequence), and numbering starts with the first message after the
    // handshake response.
    let stateful_reconnect = request.version >= 2
        && connection.enable_stateful_reconnect(protocol, options.stateful_reconnect_buffer_size);
    tracing::debug!(
        connection_id = connection.connection_id(),
        protocol = protocol.name(),
        version = request.version,
        stateful_reconnect,
        "hub handshake completed"
    );
    let mut reader = RecordReader::new(protocol, options.maximum_receive_message_size);
    reader.push_bytes(leftover);

    let connection_id = connection.connection_id_arc();
    let user_id: Option<Arc<str>> = hub.users.user_id(connection.request()).map(Arc::from);
    let manager = &hub.hub.manager;
    manager
        .on_connected(HubConnectionContext::new(
            connection_id.clone(),
            user_id.clone(),
            protocol,
            sender.clone(),
        ))
        .await;
    // Whatever happens below (a panic included), the connection leaves the hub.
    let mut registered = Registered {
        manager: Some(manager.clone()),
        connection_id: connection_id.clone(),
    };
    let cx = Ctx::new(
        connection_id,
        connection.transport(),
        user_id,
        hub.hub.clone(),
        connection.request_arc(),
        connection.closed(),
        connection.abort_token(),
    );
    let connected = AssertUnwindSafe(connected_chain(
        &options.filters.0,
        &cx,
        Box::new(|| hub.dispatcher.on_connected(&cx)),
    ))
    .catch_unwind()
    .await
    .unwrap_or_else(|panic| Err(HubError::internal("Panic", panic_message(panic.as_ref()))));
    if let Err(error) = connected {
        tracing::debug!(%error, "on_connected refused the connection");
        let text = with_detail(CLOSED_WITH_ERROR.to_owned(), error.detail(detailed));
        let _ = sender.send_final(encode_close(protocol, Some(&text), false));
        registered.leave().await;
        return None;
    }
    Some(Joined {
        protocol,
        stateful_reconnect,
        sender,
        reader,
        cx,
        registered,
    })
}

/// The session, the Close message that ends it, `on_disconnected`, and leaving the hub.
#[allow(clippy::manual_async_fn)]
fn serve<'h, D: Dispatch>(
    hub: &'h Arc<HubShared<D>>,
    connection: &'h mut ConnectionContext,
    mut joined: Joined,
) -> impl std::future::Future<Output = ()> + Send + 'h {
    async move {
        let end = Session::new(
            hub,
            &joined.cx,
            &joined.sender,
            joined.protocol,
            joined.stateful_reconnect,
        )
        .run(connection, &mut joined.reader)
        .await;
        // Its own future: what the ending keeps (the reason, the hooks' futures) shares
        // room with the session's instead of being reserved beside it.
        disconnect(hub, connection, &mut joined, end).await;
    }
}

/// After the session: the Close message, `on_disconnected`, and leaving the hub. As .NET:
/// the Close goes out first (past a full queue, so that a client that did not keep up
/// still learns why), then `on_disconnected` runs while the connection is still in its
/// groups and reachable by its id and user, and only then it leaves the hub.
async fn disconnect<D: Dispatch>(
    hub: &HubShared<D>,
    connection: &mut ConnectionContext,
    joined: &mut Joined,
    end: End,
) {
    let protocol = joined.protocol;
    let sender = &joined.sender;
    let cx = &joined.cx;
    let detailed = hub.options.enable_detailed_errors;
    let reason = match end {
        End::TransportClosed => DisconnectReason::Closed,
        End::Aborted => {
            let _ = sender.send_final(encode_close(protocol, None, false));
            DisconnectReason::Aborted
        }
        End::Error(detail) => {
            let text = with_detail(
                CLOSED_WITH_ERROR.to_owned(),
                detailed.then(|| detail.clone()),
            );
            let _ = sender.send_final(encode_close(protocol, Some(&text), true));
            DisconnectReason::Error(detail)
        }
        End::Shutdown => {
            let _ = sender.send_final(encode_close(protocol, None, true));
            DisconnectReason::Shutdown
        }
    };
    connection.abort();
    let disconnected = AssertUnwindSafe(disconnected_chain(
        &hub.options.filters.0,
        cx,
        &reason,
        Box::new(|| hub.dispatcher.on_disconnected(cx, &reason)),
    ))
    .catch_unwind()
    .await;
    if let Err(panic) = disconnected {
        tracing::error!(message = %panic_message(panic.as_ref()), "on_disconnected panicked");
    }
    joined.registered.leave().await;
}

/// A connection known to the lifetime manager; it leaves the hub when told to, or when
/// dropped without that (a panic unwinding through the connection's run).
struct Registered {
    manager: Option<Arc<dyn HubLifetimeManager>>,
    connection_id: Arc<str>,
}

impl Registered {
    async fn leave(&mut self) {
        if let Some(manager) = self.manager.take() {
            manager.on_disconnected(&self.connection_id).await;
        }
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let Some(manager) = self.manager.take() {
            let connection_id = self.connection_id.clone();
            tokio::spawn(async move { manager.on_disconnected(&connection_id).await });
        }
    }
}

fn encode_close(protocol: HubProtocol, error: Option<&str>, allow_reconnect: bool) -> Bytes {
    let close: OutboundMessage<'_, ()> = OutboundMessage::Close {
        error,
        allow_reconnect,
    };
    close.encode(protocol).unwrap_or_default()
}

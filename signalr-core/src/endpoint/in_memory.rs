//! [`InMemoryConnection`]: a connection to an endpoint with no network in between, for
//! tests and benchmarks of handlers and hubs (as .NET's tests drive a `HubConnectionContext`
//! over an in-memory duplex pipe).

use super::connections::{Connections, EndpointConnection, Refused};
use crate::connection::{Interruption, PipeReceiver, PipeSender, QueueError};
use axum::http::StatusCode;
use bytes::Bytes;
use std::sync::Arc;

/// Why [`HttpConnectionDispatcher::connect_in_memory`](super::HttpConnectionDispatcher::connect_in_memory)
/// made no connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InMemoryConnectError {
    /// The endpoint's authorizer (`#[authorize]` on a hub) refused the request's identity.
    #[error("the endpoint refused the request with {0}: authenticate it (put the identity into its extensions) or connect to an endpoint without `#[authorize]`")]
    Refused(StatusCode),
    /// `maximum_unclaimed_connections` connections wait for their transport.
    #[error("too many connections wait for their transport (`maximum_unclaimed_connections`)")]
    TooManyUnclaimed,
    /// The application is shutting down.
    #[error("the application is shutting down")]
    ShuttingDown,
}

impl From<Refused> for InMemoryConnectError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::TooManyUnclaimed => InMemoryConnectError::TooManyUnclaimed,
            Refused::ShuttingDown => InMemoryConnectError::ShuttingDown,
        }
    }
}

/// The client's end of a connection that runs the endpoint's real handler (for a hub:
/// handshake, dispatch, groups, keep-alive, close), with the bytes a client would send
/// going in through [`send`](Self::send) and what the server writes coming out of
/// [`recv`](Self::recv), in the chunks the server queued them.
///
/// The connection presents itself to the application as a WebSocket (full duplex, text
/// and binary). Dropping it closes the connection as a WebSocket closed by its client
/// would; the application's `on_disconnected` then runs.
///
/// ```
/// # async fn run() {
/// use signalr_core::connection::{ConnectionContext, ConnectionHandler};
/// use signalr_core::endpoint::HttpConnectionDispatcher;
///
/// struct Echo;
/// impl ConnectionHandler for Echo {
///     async fn on_connected(&self, mut connection: ConnectionContext) {
///         while let Some(chunk) = connection.receive().await {
///             let _ = connection.sender().send(chunk).await;
///         }
///     }
/// }
///
/// let endpoint = HttpConnectionDispatcher::new(Echo, Default::default());
/// let request = axum::http::Request::new(()).into_parts().0;
/// let mut client = endpoint.connect_in_memory(request).expect("connects");
/// client.send("ping".into()).await.expect("sent");
/// assert_eq!(client.recv().await.as_deref(), Some(&b"ping"[..]));
/// # }
/// ```
#[derive(Debug)]
pub struct InMemoryConnection {
    connection: Arc<EndpointConnection>,
    connections: Arc<Connections>,
    inbound: PipeSender,
    outbound: PipeReceiver,
    /// The server's teardown interrupts `outbound`, so that `recv` watches no token.
    _interruption: Interruption,
}

impl InMemoryConnection {
    pub(crate) fn new(
        connection: Arc<EndpointConnection>,
        connections: Arc<Connections>,
        outbound: PipeReceiver,
    ) -> Self {
        let interruption = outbound.interrupt_when_cancelled(connection.shared.closed.clone());
        InMemoryConnection {
            inbound: connection.inbound_tx.clone(),
            connection,
            connections,
            outbound,
            _interruption: interruption,
        }
    }

    /// The connection's id (what `Ctx::connection_id` says on the server).
    pub fn connection_id(&self) -> &str {
        &self.connection.shared.connection_id
    }

    /// Hands `data` to the server as if the client had sent it, waiting while the
    /// server's inbound queue (`application_max_buffer_size`) is full.
    pub async fn send(&self, data: Bytes) -> Result<(), QueueError> {
        self.inbound
            .send(data)
            .await
            .map_err(|_| QueueError::Closed)
    }

    /// The next chunk the server wrote; `None` once the server ended the connection and
    /// everything it wrote was read.
    pub async fn recv(&mut self) -> Option<Bytes> {
        match self.outbound.recv().await {
            Some(data) => Some(data),
            // Closed: what the server queued before (its Close message) is still read.
            None => self.outbound.try_recv(),
        }
    }

    /// The next chunk the server wrote, if there is one now.
    pub fn try_recv(&mut self) -> Option<Bytes> {
        self.outbound.try_recv()
    }
}

impl Drop for InMemoryConnection {
    fn drop(&mut self) {
        self.connections.remove(&self.connection.token);
    }
}

//! The connection layer (modelling .NET's `Http.Connections`): negotiate, the connection
//! table, and the byte pipes between a transport and the application.
//!
//! A [`ConnectionHandler`] is the application side of a connection: the hub runtime is one,
//! and a raw byte handler (an echo server, say) is another. Transports move bytes between
//! the network and a [`ConnectionContext`] without knowing which handler runs.

mod context;
mod dispatcher;
mod manager;
mod negotiate;
mod options;
mod pipe;

pub use context::{ConnectionContext, OutboundSender, SendError};
pub use dispatcher::HttpConnectionDispatcher;
pub use negotiate::query_param;
pub use options::{HttpConnectionOptions, TransportType, Transports};

pub(crate) use manager::HttpConnection;
pub(crate) use pipe::{PipeReceiver, PipeSender};

use std::future::Future;

/// The application side of a connection (modelling .NET's `ConnectionHandler`).
///
/// `on_connected` runs once per connection, when its transport first connects, and the
/// connection lives until it returns or the transport goes away.
///
/// ```
/// use signalr_core::connection::{ConnectionContext, ConnectionHandler};
///
/// /// Writes every received chunk back unchanged.
/// struct Echo;
///
/// impl ConnectionHandler for Echo {
///     async fn on_connected(&self, mut connection: ConnectionContext) {
///         while let Some(chunk) = connection.receive().await {
///             if connection.sender().send(chunk).await.is_err() {
///                 break;
///             }
///         }
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a connection handler",
    note = "implement `signalr::connection::ConnectionHandler` for it, or use a `#[hub]` trait's `into_server()`"
)]
pub trait ConnectionHandler: Send + Sync + 'static {
    /// Runs the connection; it ends when this future completes.
    fn on_connected(&self, connection: ConnectionContext) -> impl Future<Output = ()> + Send;
}

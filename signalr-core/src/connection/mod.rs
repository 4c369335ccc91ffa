//! The connection layer (modelling the connection half of .NET's `Http.Connections`): one
//! connection's state and byte pipes, the table of an endpoint's connections, and the
//! endpoint options.
//!
//! A [`ConnectionHandler`] is the application side of a connection: the hub runtime is one,
//! and a raw byte handler (an echo server, say) is another. Transports move bytes between
//! the network and a [`ConnectionContext`] without knowing which handler runs.

mod allowed_origins;
mod chunk_queue;
mod connection_context;
mod error;
mod http_connection;
mod http_options;
mod outbound;
mod pipe;
mod replay;
mod shared;
mod shutdown;
mod table;
mod token;
mod transport_type;

pub use allowed_origins::AllowedOrigins;
pub use connection_context::AuthenticationExpiry;
pub use connection_context::ConnectionContext;
pub use error::QueueError;
pub use http_options::HttpConnectionOptions;
pub use outbound::OutboundSender;
pub use shutdown::{begin_shutdown, is_shutting_down};
pub use transport_type::{TransportType, Transports};

pub(crate) use error::ClaimError;
pub(crate) use http_connection::{new_connection_id, HttpConnection};
pub(crate) use http_options::LONGEST_TIMEOUT;
pub(crate) use pipe::{Interruption, PipeReceiver, PipeSender, TrySendError};
pub(crate) use shared::WriteInstant;
pub(crate) use shutdown::stopping;
pub(crate) use table::ConnectionTable;
pub(crate) use token::ConnectionToken;

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

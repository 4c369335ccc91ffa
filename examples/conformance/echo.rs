//! `/echo`: a raw connection without the hub protocol (modelling .NET's
//! `ConnectionHandler`) that writes every chunk back unchanged.

use signalr::connection::{ConnectionContext, ConnectionHandler};
use signalr::protocol::TransferFormat;

/// Writes back whatever the client sends, on every transport.
#[derive(Debug, Default)]
pub(crate) struct Echo;

impl ConnectionHandler for Echo {
    async fn on_connected(&self, mut connection: ConnectionContext) {
        while let Some(chunk) = connection.receive().await {
            // Text frames need UTF-8: send anything else back as binary.
            if std::str::from_utf8(&chunk).is_err() {
                connection.set_transfer_format(TransferFormat::Binary);
            }
            if connection.sender().send(chunk).await.is_err() {
                break;
            }
        }
    }
}

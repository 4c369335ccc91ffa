//! The state one connection's application side, transport and senders share.

use crate::protocol::TransferFormat;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// State shared by a connection's application side, its transport and its senders.
#[derive(Debug)]
pub(crate) struct ConnectionShared {
    pub(crate) connection_id: Arc<str>,
    /// How long a write may wait for room before the connection is given up.
    pub(crate) send_timeout: Duration,
    /// Whether the application writes binary data (set before the handshake response).
    pub(crate) binary: AtomicBool,
    /// Set by every write; the keep-alive timer sends a Ping only when it finds it clear.
    pub(crate) wrote_recently: AtomicBool,
    /// Fires when the connection is torn down: transport gone or connection disposed.
    pub(crate) closed: CancellationToken,
    /// Fires when the server asks the application to end the connection; the
    /// application then says goodbye (a Close message) before the transport closes.
    pub(crate) abort: CancellationToken,
}

impl ConnectionShared {
    pub(crate) fn new(connection_id: Arc<str>, send_timeout: Duration) -> Self {
        ConnectionShared {
            connection_id,
            send_timeout,
            binary: AtomicBool::new(false),
            wrote_recently: AtomicBool::new(false),
            closed: CancellationToken::new(),
            abort: CancellationToken::new(),
        }
    }

    pub(crate) fn transfer_format(&self) -> TransferFormat {
        if self.binary.load(Ordering::Relaxed) {
            TransferFormat::Binary
        } else {
            TransferFormat::Text
        }
    }
}

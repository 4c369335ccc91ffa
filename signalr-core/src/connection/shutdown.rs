//! The application is stopping: the one signal every endpoint of the process obeys
//! (modelling .NET's `IHostApplicationLifetime.ApplicationStopping`).
//!
//! [`begin_shutdown`] is called once, by `signalr::serve_with_shutdown` or
//! `signalr::graceful_shutdown` when their signal arrives (or by hand). Every endpoint
//! then refuses new connections with `503` and asks each of its connections to end: a
//! hub lets its running calls finish (up to `HubOptions::shutdown_timeout`) and sends a
//! Close with `allowReconnect: true`, so that clients with automatic reconnect come back
//! to the restarted server; WebSockets close with 1000, event streams end, long polls are
//! answered.

use std::sync::OnceLock;
use tokio_util::sync::CancellationToken;

fn token() -> &'static CancellationToken {
    static STOPPING: OnceLock<CancellationToken> = OnceLock::new();
    STOPPING.get_or_init(CancellationToken::new)
}

/// Starts the graceful shutdown of every SignalR endpoint in this process. Idempotent.
pub fn begin_shutdown() {
    if !token().is_cancelled() {
        tracing::info!("shutting down: closing every connection");
    }
    token().cancel();
}

/// Whether [`begin_shutdown`] was called.
pub fn is_shutting_down() -> bool {
    token().is_cancelled()
}

/// Resolves once [`begin_shutdown`] is called.
pub(crate) async fn stopping() {
    token().cancelled().await;
}

//! Stopping a server gracefully: every connection is told to reconnect elsewhere (or
//! later), running calls finish, then the server returns.

use std::future::{Future, IntoFuture};
use std::time::Duration;

/// How long after the shutdown signal [`serve_with_shutdown`] waits for connections to
/// close before it returns anyway (the hubs' own deadlines come well before it).
pub const SHUTDOWN_FORCE_AFTER: Duration = Duration::from_secs(30);

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM: what a deployment sends to stop a
/// process.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// The future to hand to axum's `with_graceful_shutdown`: waits for `signal`, then starts
/// the SignalR shutdown ([`begin_shutdown`](crate::connection::begin_shutdown)), so that
/// every hub connection ends (a Close with `allowReconnect: true` after its running calls
/// finish, WebSockets closed with 1000, event streams ended, long polls answered) and
/// axum's wait for open connections ends with them.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// let app = axum::Router::new(); // .route_hub("/chat", hub.into_server())
/// let listener = signalr::bind("127.0.0.1:5000").await?;
/// axum::serve(listener, app)
///     .with_graceful_shutdown(signalr::graceful_shutdown(signalr::shutdown_signal()))
///     .await
/// # }
/// ```
pub async fn graceful_shutdown(signal: impl Future<Output = ()> + Send + 'static) {
    signal.await;
    crate::connection::begin_shutdown();
}

/// Binds `addr` (see [`bind`](crate::bind)) and serves `app` until `signal` resolves, then
/// shuts down gracefully (see [`graceful_shutdown`]) and returns once every connection
/// closed, or after [`SHUTDOWN_FORCE_AFTER`] at the latest.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// let app = axum::Router::new(); // .route_hub("/chat", hub.into_server())
/// signalr::serve_with_shutdown("127.0.0.1:5000", app, signalr::shutdown_signal()).await
/// # }
/// ```
pub async fn serve_with_shutdown(
    addr: &str,
    app: axum::Router,
    signal: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = crate::bind(addr).await?;
    serve_listener_with_shutdown(listener, app, signal).await
}

/// Like [`serve_with_shutdown`], on a listener already bound.
pub async fn serve_listener_with_shutdown(
    listener: crate::Listener,
    app: axum::Router,
    signal: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (signalled_tx, signalled_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        signal.await;
        let _ = signalled_tx.send(());
    };
    let serving = axum::serve(listener, app)
        .with_graceful_shutdown(graceful_shutdown(signal))
        .into_future();
    tokio::pin!(serving);
    tokio::select! {
        served = &mut serving => return served,
        _ = signalled_rx => {}
    }
    match tokio::time::timeout(SHUTDOWN_FORCE_AFTER, serving).await {
        Ok(served) => served,
        Err(_) => {
            tracing::warn!(
                "connections still open {SHUTDOWN_FORCE_AFTER:?} after the shutdown signal; returning anyway"
            );
            Ok(())
        }
    }
}

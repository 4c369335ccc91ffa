//! Binding a TCP listener suited to many connections, and serving an app on it.

use std::net::SocketAddr;
use tokio::net::{lookup_host, TcpListener, TcpSocket};

/// Accept backlog: the default of 128 stalls bursts of new connections.
const BACKLOG: u32 = 4096;

/// Binds `addr` with a large accept backlog and `SO_REUSEADDR`, for `axum::serve`.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// let listener = signalr::bind("127.0.0.1:5000").await?;
/// println!("listening on http://{}", listener.local_addr()?);
/// # Ok(()) }
/// ```
pub async fn bind(addr: &str) -> std::io::Result<TcpListener> {
    let mut last_error = None;
    for addr in lookup_host(addr).await? {
        match bind_one(addr) {
            Ok(listener) => return Ok(listener),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("`{addr}` resolves to no address"),
        )
    }))
}

fn bind_one(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_nodelay(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Binds `addr` (see [`bind`]) and serves `app` on it until the process ends.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// let app = axum::Router::new(); // .route_hub("/chat", hub.into_server())
/// signalr::serve("127.0.0.1:5000", app).await
/// # }
/// ```
pub async fn serve(addr: &str, app: axum::Router) -> std::io::Result<()> {
    let listener = bind(addr).await?;
    axum::serve(listener, app).await
}

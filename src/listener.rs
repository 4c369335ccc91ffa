//! Binding a TCP listener suited to many connections, and serving an app on it.
//!
//! Hand-written rather than taken from a crate: no crate offers a listener whose sockets
//! fail a write that makes no progress, and the wrapper is a few poll functions.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{lookup_host, TcpListener, TcpSocket, TcpStream};
use tokio::time::Sleep;

/// Accept backlog: the default of 128 stalls bursts of new connections.
const BACKLOG: u32 = 4096;

/// Default [`Listener::write_stall_timeout`]: .NET's `TransportSendTimeout` (10 s) plus
/// its WebSocket close timeout (5 s).
pub const DEFAULT_WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(15);

/// A TCP listener for `axum::serve` whose sockets give up on a peer that stops reading.
///
/// Every write to an accepted socket that makes no progress for the
/// [`write_stall_timeout`](Self::write_stall_timeout) fails, and the connection is closed:
/// a client whose receive window stays closed (a frozen tab, a vanished phone) cannot keep
/// a socket, a task and a hub connection forever, whatever the transport. Hub code sees an
/// ordinary disconnect. Made by [`bind`].
#[derive(Debug)]
pub struct Listener {
    inner: TcpListener,
    write_stall_timeout: Duration,
}

impl Listener {
    /// How long a write may make no progress before its socket is closed (default
    /// [`DEFAULT_WRITE_STALL_TIMEOUT`]; at least 1 ms).
    pub fn write_stall_timeout(mut self, timeout: Duration) -> Self {
        // Longer than a hundred years is never, and must not overflow a deadline.
        self.write_stall_timeout = timeout
            .max(Duration::from_millis(1))
            .min(Duration::from_secs(100 * 365 * 24 * 60 * 60));
        self
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl axum::serve::Listener for Listener {
    type Io = WriteDeadlineStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    return (
                        WriteDeadlineStream {
                            inner: stream,
                            timeout: self.write_stall_timeout,
                            stalled_since: None,
                            deadline: None,
                        },
                        addr,
                    );
                }
                // Out of file descriptors and the like: wait instead of spinning, as
                // axum's own listener does.
                Err(e) => {
                    tracing::error!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// An accepted socket whose writes fail after making no progress for the listener's
/// write stall timeout. Reads are untouched.
///
/// Built for the hot path: a write that completes at once touches no timer, and a socket
/// that stalls often re-arms its one timer at most once per timeout period.
#[derive(Debug)]
pub struct WriteDeadlineStream {
    inner: TcpStream,
    timeout: Duration,
    /// Since when writes have been making no progress; `None` while they do.
    stalled_since: Option<tokio::time::Instant>,
    /// The stall deadline; allocated at the first stall and kept (it may fire late and
    /// find progress, then it is set again).
    deadline: Option<Pin<Box<Sleep>>>,
}

impl WriteDeadlineStream {
    /// Passes a ready result through (progress), or checks the deadline of a write that
    /// cannot proceed.
    fn guard<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.stalled_since = None;
            return poll;
        }
        let now = tokio::time::Instant::now();
        let since = *self.stalled_since.get_or_insert(now);
        let expires = since + self.timeout;
        let timeout = self.timeout;
        let deadline = self
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(expires)));
        ready!(deadline.as_mut().poll(cx));
        if now < expires {
            // It fired for an earlier stall, which has since made progress: wait for this one.
            deadline.as_mut().reset(expires);
            ready!(deadline.as_mut().poll(cx));
        }
        tracing::debug!(
            ?timeout,
            "closing a socket whose peer stopped reading (a write made no progress)"
        );
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the peer did not read for longer than the write stall timeout",
        )))
    }
}

impl AsyncRead for WriteDeadlineStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for WriteDeadlineStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.guard(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.guard(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.guard(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.guard(cx, poll)
    }
}

/// Binds `addr` with a large accept backlog and `SO_REUSEADDR`, for `axum::serve`; its
/// sockets close when a peer stops reading (see [`Listener`]).
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// let listener = signalr::bind("127.0.0.1:5000").await?;
/// println!("listening on http://{}", listener.local_addr()?);
/// # Ok(()) }
/// ```
pub async fn bind(addr: &str) -> io::Result<Listener> {
    let mut last_error = None;
    for addr in lookup_host(addr).await? {
        match bind_one(addr) {
            Ok(inner) => {
                return Ok(Listener {
                    inner,
                    write_stall_timeout: DEFAULT_WRITE_STALL_TIMEOUT,
                })
            }
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{addr}` resolves to no address"),
        )
    }))
}

fn bind_one(addr: SocketAddr) -> io::Result<TcpListener> {
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
pub async fn serve(addr: &str, app: axum::Router) -> io::Result<()> {
    let listener = bind(addr).await?;
    axum::serve(listener, app).await
}

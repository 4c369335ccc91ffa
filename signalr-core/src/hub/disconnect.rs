//! [`DisconnectReason`]: why a hub connection ended.

/// Why a hub connection ended, as `on_disconnected` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The client closed it (a Close message, `stop()`, or its transport closing).
    Closed,
    /// Server code aborted it (`Ctx::abort`, or a client too slow to keep up).
    Aborted,
    /// A protocol error or timeout; the text says which.
    Error(String),
    /// The server is shutting down (the client was told it may reconnect).
    Shutdown,
}

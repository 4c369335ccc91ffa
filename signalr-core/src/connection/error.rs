//! Errors of the connection layer.

/// Bytes could not be queued for a connection's transport.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// The connection is closed or closing.
    #[error("the connection is closed")]
    Closed,
    /// The connection's outgoing queue is full: the client reads slower than it is sent to.
    #[error("the connection's outgoing queue is full (the client is not keeping up)")]
    Full,
    /// The outgoing queue stayed full for the whole `transport_send_timeout`.
    #[error("the client did not make room for a message within the send timeout")]
    TimedOut,
}

/// Why a transport could not claim a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClaimError {
    /// Another transport already owns it.
    TransportChanged,
    /// The same transport is already connected.
    AlreadyConnected,
    /// The connection was disposed while the request waited to take it over.
    Disposed,
}

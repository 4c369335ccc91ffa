//! Per-endpoint transport options, with the names and defaults of .NET's
//! `HttpConnectionDispatcherOptions`.

use super::allowed_origins::AllowedOrigins;
use super::transport_type::Transports;
use std::time::Duration;

/// The longest a timer is set for: a longer duration (up to `Duration::MAX`) means
/// "practically never" and is cut to this (a hundred years) when a server is built, so
/// that no deadline computed from it can overflow.
pub(crate) const LONGEST_TIMEOUT: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// Options of one connection endpoint (modelling `HttpConnectionDispatcherOptions`).
#[derive(Debug, Clone)]
pub struct HttpConnectionOptions {
    /// Enabled transports; negotiate lists exactly these. Default: all.
    pub transports: Transports,
    /// Lowest negotiate version accepted (`MinimumProtocolVersion`). Default: 0.
    pub minimum_protocol_version: u32,
    /// How long a negotiated connection may wait for its transport (`DisconnectTimeout`).
    /// Default: 15 s.
    pub disconnect_timeout: Duration,
    /// How long the server waits for the client's WebSocket close frame
    /// (`WebSockets.CloseTimeout`). Default: 5 s.
    pub websocket_close_timeout: Duration,
    /// Bytes queued from the transport to the application before the transport stops
    /// reading (backpressure; `ApplicationMaxBufferSize`). Default: 64 KiB.
    pub application_max_buffer_size: usize,
    /// Bytes queued from the application to the transport before senders wait, and
    /// before a broadcast gives up on a client that does not keep up
    /// (`TransportMaxBufferSize`). Default: 64 KiB.
    pub transport_max_buffer_size: usize,
    /// How long a message may wait for room in a full outgoing queue before the client
    /// is disconnected as not keeping up (`TransportSendTimeout`). Default: 10 s.
    pub transport_send_timeout: Duration,
    /// Largest WebSocket message accepted, in bytes. Default: 1 MiB.
    pub websocket_max_message_size: usize,
    /// How long a long poll waits for data before answering empty
    /// (`LongPolling.PollTimeout`). Default: 90 s.
    pub long_poll_timeout: Duration,
    /// Largest body of one HTTP POST send (Server-Sent Events and Long Polling), in
    /// bytes; a larger one is refused with 413. Default: 1 MiB.
    pub maximum_send_body_size: usize,
    /// Connections negotiated but not yet connected by a transport, at most; negotiate
    /// answers `503` with a reason past it, so a flood of negotiate requests cannot grow
    /// the table without bound. Default: 10 000.
    pub maximum_unclaimed_connections: usize,
    /// Whether clients may use stateful reconnect (`AllowStatefulReconnects`): negotiate
    /// then grants it to a client that asks (`withStatefulReconnect()`), and a WebSocket
    /// of such a connection that drops without a close handshake leaves the connection
    /// waiting up to `disconnect_timeout` for the client's next WebSocket, which resumes
    /// it (same connection id, groups, user and items) after a replay of every message
    /// the other side did not acknowledge. Default: `false`, as .NET.
    pub allow_stateful_reconnects: bool,
    /// The browser origins that may negotiate and open WebSockets (checked against the
    /// `Origin` header; requests without one are served). Refused origins get `403`.
    /// Default: [`AllowedOrigins::Any`].
    pub allowed_origins: AllowedOrigins,
    /// Whether a connection is closed when its authentication expires
    /// (`CloseOnAuthenticationExpiration`): the authentication layer records when, as an
    /// [`AuthenticationExpiry`](super::AuthenticationExpiry) in the request's extensions,
    /// and the hub then closes the connection at that instant with a Close carrying an
    /// error. Default: `false`, as .NET.
    pub close_on_authentication_expiration: bool,
}

impl HttpConnectionOptions {
    /// The options with every duration at most [`LONGEST_TIMEOUT`].
    pub(crate) fn bounded(mut self) -> Self {
        for duration in [
            &mut self.disconnect_timeout,
            &mut self.websocket_close_timeout,
            &mut self.transport_send_timeout,
            &mut self.long_poll_timeout,
        ] {
            *duration = (*duration).min(LONGEST_TIMEOUT);
        }
        self
    }
}

impl Default for HttpConnectionOptions {
    fn default() -> Self {
        HttpConnectionOptions {
            transports: Transports::all(),
            minimum_protocol_version: 0,
            disconnect_timeout: Duration::from_secs(15),
            websocket_close_timeout: Duration::from_secs(5),
            application_max_buffer_size: 64 * 1024,
            transport_max_buffer_size: 64 * 1024,
            transport_send_timeout: Duration::from_secs(10),
            websocket_max_message_size: 1 << 20,
            long_poll_timeout: Duration::from_secs(90),
            maximum_send_body_size: 1 << 20,
            maximum_unclaimed_connections: 10_000,
            allow_stateful_reconnects: false,
            allowed_origins: AllowedOrigins::Any,
            close_on_authentication_expiration: false,
        }
    }
}

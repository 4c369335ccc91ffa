//! Per-endpoint transport options, with the names and defaults of .NET's
//! `HttpConnectionDispatcherOptions`.

use crate::protocol::TransferFormat;
use std::time::Duration;

/// One HTTP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportType {
    /// Full-duplex WebSockets.
    WebSockets,
    /// Server-Sent Events down, HTTP POST up.
    ServerSentEvents,
    /// Long Polling down, HTTP POST up.
    LongPolling,
}

impl TransportType {
    /// Every transport, in the order clients should prefer them.
    pub const ALL: [TransportType; 3] = [
        TransportType::WebSockets,
        TransportType::ServerSentEvents,
        TransportType::LongPolling,
    ];

    /// The name used in negotiate responses.
    pub fn name(self) -> &'static str {
        match self {
            TransportType::WebSockets => "WebSockets",
            TransportType::ServerSentEvents => "ServerSentEvents",
            TransportType::LongPolling => "LongPolling",
        }
    }

    /// The transfer formats the transport can carry.
    pub fn transfer_formats(self) -> &'static [TransferFormat] {
        match self {
            TransportType::ServerSentEvents => &[TransferFormat::Text],
            _ => &[TransferFormat::Text, TransferFormat::Binary],
        }
    }

    fn bit(self) -> u8 {
        match self {
            TransportType::WebSockets => 1,
            TransportType::ServerSentEvents => 2,
            TransportType::LongPolling => 4,
        }
    }
}

/// A set of transports (the bitmask of .NET's `HttpTransportType`).
///
/// ```
/// use signalr_core::connection::{Transports, TransportType};
/// let t = Transports::WEB_SOCKETS;
/// assert!(t.contains(TransportType::WebSockets));
/// assert!(!t.contains(TransportType::LongPolling));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Transports(u8);

impl Transports {
    /// WebSockets only.
    pub const WEB_SOCKETS: Transports = Transports(1);
    /// Server-Sent Events only.
    pub const SERVER_SENT_EVENTS: Transports = Transports(2);
    /// Long Polling only.
    pub const LONG_POLLING: Transports = Transports(4);

    /// Every transport.
    pub fn all() -> Transports {
        Transports(7)
    }

    /// No transport at all.
    pub fn none() -> Transports {
        Transports(0)
    }

    /// Whether `transport` is in the set.
    pub fn contains(self, transport: TransportType) -> bool {
        self.0 & transport.bit() != 0
    }

    /// The set with `transport` added.
    pub fn with(self, transport: TransportType) -> Transports {
        Transports(self.0 | transport.bit())
    }

    /// The transports of the set, in preference order.
    pub fn iter(self) -> impl Iterator<Item = TransportType> {
        TransportType::ALL
            .into_iter()
            .filter(move |t| self.contains(*t))
    }
}

impl std::ops::BitOr for Transports {
    type Output = Transports;
    fn bitor(self, rhs: Transports) -> Transports {
        Transports(self.0 | rhs.0)
    }
}

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
        }
    }
}

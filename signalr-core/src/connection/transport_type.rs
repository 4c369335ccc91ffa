//! The HTTP transports by name, and sets of them (.NET's `HttpTransportType`).

use crate::protocol::TransferFormat;

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

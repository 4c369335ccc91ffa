//! The state one connection's application side, transport and senders share.

use crate::protocol::TransferFormat;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The instant write times are counted from (milliseconds in an atomic are cheaper to keep
/// per connection than an `Instant` behind a lock).
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn millis_since_epoch(at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(epoch()).as_millis()).unwrap_or(u64::MAX)
}

/// A moment bytes were queued, as connections record it: read the clock once for a
/// fan-out and pass it to every recipient, instead of once per recipient.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WriteInstant(u64);

impl WriteInstant {
    /// Now.
    pub(crate) fn now() -> Self {
        WriteInstant(millis_since_epoch(Instant::now()))
    }
}

/// State shared by a connection's application side, its transport and its senders.
#[derive(Debug)]
pub(crate) struct ConnectionShared {
    pub(crate) connection_id: Arc<str>,
    /// How long a write may wait for room before the connection is given up.
    pub(crate) send_timeout: Duration,
    /// Whether negotiate granted stateful reconnect (the application still decides, at
    /// its handshake, whether to use it).
    pub(crate) stateful_reconnect: bool,
    /// Whether the application turned stateful reconnect on: a WebSocket that drops then
    /// leaves the connection waiting for a new one.
    pub(crate) resumable: AtomicBool,
    /// Whether the connection ends when its authentication expires.
    pub(crate) close_on_authentication_expiration: bool,
    /// Whether the application writes binary data (set before the handshake response).
    pub(crate) binary: AtomicBool,
    /// Whether what the application writes is self-delimiting (hub records), so that a
    /// transport may send several queued writes in one frame.
    pub(crate) batchable: AtomicBool,
    /// When the application last queued bytes, in milliseconds since [`epoch`]: keep-alive
    /// pings are due `keep_alive_interval` after it.
    last_write: AtomicU64,
    /// Fires when the connection is torn down: transport gone or connection disposed.
    pub(crate) closed: CancellationToken,
    /// Fires when the server asks the application to end the connection; the
    /// application then says goodbye (a Close message) before the transport closes. A
    /// child of `closed`, so that the application's receive watches this one token.
    pub(crate) abort: CancellationToken,
}

impl ConnectionShared {
    pub(crate) fn new(
        connection_id: Arc<str>,
        send_timeout: Duration,
        stateful_reconnect: bool,
        close_on_authentication_expiration: bool,
    ) -> Self {
        let closed = CancellationToken::new();
        ConnectionShared {
            close_on_authentication_expiration,
            connection_id,
            send_timeout,
            stateful_reconnect,
            resumable: AtomicBool::new(false),
            binary: AtomicBool::new(false),
            batchable: AtomicBool::new(false),
            last_write: AtomicU64::new(millis_since_epoch(Instant::now())),
            abort: closed.child_token(),
            closed,
        }
    }

    /// Records that the application queued bytes now.
    pub(crate) fn note_write(&self) {
        self.note_write_at(WriteInstant::now());
    }

    /// Records that the application queued bytes at `at`.
    pub(crate) fn note_write_at(&self, at: WriteInstant) {
        // Within the same millisecond there is nothing to write (and no cache line to own).
        if self.last_write.load(Ordering::Relaxed) < at.0 {
            self.last_write.fetch_max(at.0, Ordering::Relaxed);
        }
    }

    /// When the application last queued bytes (to the millisecond).
    pub(crate) fn last_write(&self) -> Instant {
        epoch() + Duration::from_millis(self.last_write.load(Ordering::Relaxed))
    }

    /// Whether a dropped transport leaves the connection waiting for a new one.
    pub(crate) fn is_resumable(&self) -> bool {
        self.resumable.load(Ordering::Acquire) && !self.closed.is_cancelled()
    }

    pub(crate) fn transfer_format(&self) -> TransferFormat {
        if self.binary.load(Ordering::Relaxed) {
            TransferFormat::Binary
        } else {
            TransferFormat::Text
        }
    }
}

//! The two clocks of a hub connection: keep-alive pings to the client, and the client
//! timeout. One timer serves both, and it wakes only at the next real deadline.

use std::time::{Duration, Instant};

/// Shortest interval honoured: a zero interval from a misconfiguration must not spin.
const FLOOR: Duration = Duration::from_millis(10);

/// What the heartbeat found due when its timer fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Due {
    /// Nothing was written for `keep_alive_interval`: send a Ping.
    pub(crate) ping: bool,
    /// The client sent nothing for `client_timeout_interval` (after its first Ping).
    pub(crate) timed_out: bool,
}

/// Keep-alive and client-timeout state of one connection (modelling .NET's
/// `HubConnectionContext` keep-alive and `ClientTimeoutInterval` checks).
#[derive(Debug)]
pub(crate) struct Heartbeat {
    /// `None` when the transport keeps the connection alive itself (Long Polling).
    keep_alive: Option<Duration>,
    client_timeout: Duration,
    /// The client timeout counts only once the client sent its first Ping, as in .NET.
    armed: bool,
    last_received: Instant,
}

impl Heartbeat {
    pub(crate) fn new(
        keep_alive: Option<Duration>,
        client_timeout: Duration,
        now: Instant,
    ) -> Self {
        Heartbeat {
            keep_alive: keep_alive.map(|interval| interval.max(FLOOR)),
            client_timeout: client_timeout.max(FLOOR),
            armed: false,
            last_received: now,
        }
    }

    /// The client sent bytes.
    pub(crate) fn received(&mut self, now: Instant) {
        self.last_received = now;
    }

    /// The client sent a Ping; returns `true` when that armed the client timeout (so the
    /// timer may need an earlier deadline).
    pub(crate) fn ping_received(&mut self) -> bool {
        !std::mem::replace(&mut self.armed, true)
    }

    /// The next instant something may be due, given when the server last wrote; `None`
    /// when nothing ever is (Long Polling before the client's first Ping).
    pub(crate) fn next_deadline(&self, last_write: Instant) -> Option<Instant> {
        let ping = self.keep_alive.map(|interval| last_write + interval);
        let timeout = self.armed.then(|| self.last_received + self.client_timeout);
        match (ping, timeout) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// What is due at `now`. While the connection is `busy` running invocations, the
    /// client's silence is expected (its next message may wait behind them), so its clock
    /// restarts, as .NET pauses it while processing.
    pub(crate) fn due(&mut self, now: Instant, last_write: Instant, busy: bool) -> Due {
        if busy {
            self.last_received = now;
        }
        Due {
            ping: self
                .keep_alive
                .is_some_and(|interval| now.saturating_duration_since(last_write) >= interval),
            timed_out: self.armed
                && now.saturating_duration_since(self.last_received) >= self.client_timeout,
        }
    }

    /// The configured client timeout, for the Close message's text.
    pub(crate) fn client_timeout(&self) -> Duration {
        self.client_timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn the_first_ping_is_due_one_interval_after_the_last_write() {
        let start = Instant::now();
        let heartbeat = Heartbeat::new(Some(15 * S), 30 * S, start);
        // The handshake response is the last write.
        assert_eq!(heartbeat.next_deadline(start), Some(start + 15 * S));
    }

    #[test]
    fn a_ping_is_due_whenever_nothing_was_written_for_the_interval() {
        let start = Instant::now();
        let mut heartbeat = Heartbeat::new(Some(15 * S), 30 * S, start);
        let early = heartbeat.due(start + 14 * S, start, false);
        assert!(!early.ping);
        let due = heartbeat.due(start + 15 * S, start, false);
        assert!(due.ping);
        // The ping just sent is the last write: the next one is one interval later, not two.
        let pinged = start + 15 * S;
        assert_eq!(heartbeat.next_deadline(pinged), Some(pinged + 15 * S));
    }

    #[test]
    fn writes_push_the_ping_back() {
        let start = Instant::now();
        let mut heartbeat = Heartbeat::new(Some(15 * S), 30 * S, start);
        let wrote = start + 10 * S;
        assert!(!heartbeat.due(start + 15 * S, wrote, false).ping);
        assert_eq!(heartbeat.next_deadline(wrote), Some(wrote + 15 * S));
    }

    #[test]
    fn the_client_timeout_counts_only_after_the_first_ping() {
        let start = Instant::now();
        let mut heartbeat = Heartbeat::new(None, 30 * S, start);
        assert_eq!(heartbeat.next_deadline(start), None, "no timer at all");
        assert!(!heartbeat.due(start + 60 * S, start, false).timed_out);
        assert!(heartbeat.ping_received());
        assert!(!heartbeat.ping_received(), "armed once");
        heartbeat.received(start + 60 * S);
        assert_eq!(heartbeat.next_deadline(start), Some(start + 90 * S));
        assert!(!heartbeat.due(start + 89 * S, start, false).timed_out);
        assert!(heartbeat.due(start + 90 * S, start, false).timed_out);
    }

    #[test]
    fn running_invocations_pause_the_client_timeout() {
        let start = Instant::now();
        let mut heartbeat = Heartbeat::new(None, 30 * S, start);
        heartbeat.ping_received();
        assert!(!heartbeat.due(start + 40 * S, start, true).timed_out);
        assert_eq!(heartbeat.next_deadline(start), Some(start + 70 * S));
    }

    #[test]
    fn zero_intervals_are_clamped() {
        let start = Instant::now();
        let heartbeat = Heartbeat::new(Some(Duration::ZERO), Duration::ZERO, start);
        assert_eq!(heartbeat.next_deadline(start), Some(start + FLOOR));
        assert_eq!(heartbeat.client_timeout(), FLOOR);
    }
}

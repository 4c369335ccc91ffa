//! [`BackplaneHealth`]: what a health check reports about the backplane.

use serde::Serialize;

/// Whether the backplane reaches Redis and holds every subscription it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum BackplaneState {
    /// Connected, every needed channel subscribed.
    Connected,
    /// Connected, still (re)subscribing channels (right after a reconnect, or retrying
    /// a failed subscribe): messages to those channels may be missed meanwhile.
    Resubscribing,
    /// Redis is unreachable: this server serves its own connections only and retries
    /// with backoff.
    Disconnected,
}

/// The backplane's state and counters since it started (for a health endpoint or
/// metrics), from [`RedisBackplane::health`](crate::RedisBackplane::health).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackplaneHealth {
    /// Connected, resubscribing or disconnected.
    pub state: BackplaneState,
    /// This server's name on the backplane (the `{server}` of its ack and return
    /// channels).
    pub server_name: String,
    /// Whether channels use sharded pub/sub (`SPUBLISH`/`SSUBSCRIBE`).
    pub sharded_pubsub: bool,
    /// Messages that could not be published (they reached this server's connections
    /// only).
    pub unpublished: u64,
    /// Received messages dropped because this server fell behind the receive buffer.
    pub lost_received: u64,
    /// Received payloads that were not valid backplane envelopes.
    pub malformed_received: u64,
    /// Reconnections to Redis, of either connection.
    pub reconnects: u64,
    /// Channels subscribed now.
    pub subscribed_channels: usize,
    /// Channels this server needs (all, its connections, users and groups, acks and
    /// results).
    pub wanted_channels: usize,
    /// The last error Redis or the client reported.
    pub last_error: Option<String>,
}

impl BackplaneHealth {
    /// Whether the backplane is fully working.
    pub fn is_healthy(&self) -> bool {
        self.state == BackplaneState::Connected
    }
}

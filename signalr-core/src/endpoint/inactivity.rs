//! Disposing connections that go without a transport for longer than
//! `disconnect_timeout`: negotiated but never connected, or Long Polling with no poll
//! (the sweep of .NET's `HttpConnectionManager`).
//!
//! Each connection is watched by a small task that sleeps until its own deadline and is
//! woken when its activity changes, so that expiry costs in proportion to what expires,
//! not to the size of the table, and an active connection costs no wake-ups at all. The
//! task ends as soon as a WebSocket or an event stream holds the connection (the
//! transport's end disposes it) or the connection is disposed.

use super::connections::{Connections, EndpointConnection};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// Watches `connection` until it is disposed or held by its transport.
pub(crate) fn watch(
    connections: Weak<Connections>,
    connection: Arc<EndpointConnection>,
    disconnect_timeout: Duration,
) {
    tokio::spawn(async move {
        let closed = connection.shared.closed.clone();
        loop {
            // Registered before the state is read, so that no change is missed.
            let changed = connection.activity_changed();
            tokio::pin!(changed);
            changed.as_mut().enable();
            match connection.idle_deadline(disconnect_timeout) {
                Some(deadline) if deadline <= Instant::now() => {
                    tracing::debug!(
                        "disposing a connection inactive for longer than the disconnect timeout"
                    );
                    if let Some(connections) = connections.upgrade() {
                        connections.remove(&connection.token);
                    }
                    return;
                }
                Some(deadline) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(deadline.into()) => {}
                        () = changed => {}
                        () = closed.cancelled() => return,
                    }
                }
                None if connection.is_held_by_its_transport() => return,
                None => {
                    tokio::select! {
                        () = changed => {}
                        () = closed.cancelled() => return,
                    }
                }
            }
        }
    });
}

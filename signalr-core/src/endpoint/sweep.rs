//! The sweep: disposing connections that went without a transport request for longer than
//! `disconnect_timeout` (negotiated but never connected, or Long Polling with no poll).

use super::connections::Connections;
use std::sync::Weak;
use std::time::{Duration, Instant};

/// How often the sweep looks for connections whose transport never came.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// Starts the sweep of `connections`; it ends once the endpoint is dropped.
pub(crate) fn start(connections: Weak<Connections>, disconnect_timeout: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(connections) = connections.upgrade() else {
                break;
            };
            sweep(&connections, disconnect_timeout);
        }
    });
}

fn sweep(connections: &Connections, disconnect_timeout: Duration) {
    let now = Instant::now();
    for token in connections.tokens_where(|c| c.expired(now, disconnect_timeout)) {
        tracing::debug!("disposing a connection inactive for longer than the disconnect timeout");
        connections.remove(&token);
    }
}

//! [`OutboundSender`]: the handle that queues bytes for a connection's transport.

use super::error::QueueError;
use super::pipe::{PipeSender, Sequencing, TrySendError};
use super::shared::{ConnectionShared, WriteInstant};
use bytes::Bytes;
use std::sync::Arc;

/// A cloneable handle that queues bytes for a connection's transport.
///
/// The queue is bounded: [`send`](Self::send) waits for room, [`try_send`](Self::try_send)
/// fails at once with [`QueueError::Full`].
#[derive(Debug, Clone)]
pub struct OutboundSender {
    tx: PipeSender,
    shared: Arc<ConnectionShared>,
}

impl OutboundSender {
    pub(crate) fn new(tx: PipeSender, shared: Arc<ConnectionShared>) -> Self {
        OutboundSender { tx, shared }
    }

    /// Queues `data`, waiting while the queue is full.
    pub async fn send(&self, data: Bytes) -> Result<(), QueueError> {
        self.shared.note_write();
        self.tx.send(data).await.map_err(|_| QueueError::Closed)
    }

    /// Queues `data` if there is room now.
    pub fn try_send(&self, data: Bytes) -> Result<(), QueueError> {
        self.shared.note_write();
        self.tx.try_send(data).map_err(|e| match e {
            TrySendError::Full => QueueError::Full,
            TrySendError::Closed => QueueError::Closed,
        })
    }

    /// [`try_send`](Self::try_send), handing `data` back when it was not queued (so that
    /// a caller that then waits for room needs no copy of it).
    pub(crate) fn try_send_returning(&self, data: Bytes) -> Result<(), (QueueError, Bytes)> {
        self.shared.note_write();
        self.tx
            .try_send_returning(data)
            .map_err(|(e, data)| match e {
                TrySendError::Full => (QueueError::Full, data),
                TrySendError::Closed => (QueueError::Closed, data),
            })
    }

    /// Queues a record that is not part of the stateful-reconnect sequence (a Ping, an
    /// Ack) if there is room now; with stateful reconnect on, it is not kept for a
    /// replay, and it is dropped while no transport holds the connection.
    pub fn try_send_unsequenced(&self, data: Bytes) -> Result<(), QueueError> {
        self.shared.note_write();
        self.tx
            .try_send_sequenced(data, Sequencing::Unsequenced)
            .map_err(|(e, _)| match e {
                TrySendError::Full => QueueError::Full,
                TrySendError::Closed => QueueError::Closed,
            })
    }

    /// Turns stateful reconnect on for the connection (see
    /// [`ConnectionContext::enable_stateful_reconnect`](super::ConnectionContext::enable_stateful_reconnect)).
    pub(crate) fn keep_for_replay(&self, protocol: crate::protocol::HubProtocol, limit: usize) {
        self.tx.keep_for_replay(protocol, limit);
    }

    /// With stateful reconnect on: the client processed every sequenced record up to
    /// number `sequence_id` (an Ack), so they need not be kept for a replay any more.
    pub fn acknowledge(&self, sequence_id: u64) {
        self.tx.acknowledge(sequence_id);
    }

    /// Queues the last message of the connection (its Close message) even when the queue
    /// is full, so that a client that does not keep up still learns why it is closed.
    pub fn send_final(&self, data: Bytes) -> Result<(), QueueError> {
        self.shared.note_write();
        self.tx
            .push_past_capacity(data)
            .map_err(|_| QueueError::Closed)
    }

    /// Queues `data` if there is room now; hands it back when the queue is full (a closed
    /// connection drops it).
    pub(crate) fn offer(&self, data: Bytes) -> Option<Bytes> {
        self.offer_at(data, WriteInstant::now())
    }

    /// [`offer`](Self::offer), for a fan-out that read the clock once for all its
    /// recipients.
    pub(crate) fn offer_at(&self, data: Bytes, now: WriteInstant) -> Option<Bytes> {
        self.shared.note_write_at(now);
        match self.tx.try_send_returning(data) {
            Err((TrySendError::Full, data)) => Some(data),
            _ => None,
        }
    }

    /// Queues `data`, waiting for room at most the connection's `transport_send_timeout`;
    /// a client that does not make room by then is disconnected.
    pub async fn send_or_give_up(&self, data: Bytes) -> Result<(), QueueError> {
        match tokio::time::timeout(self.shared.send_timeout, self.send(data)).await {
            Ok(sent) => sent,
            Err(_) => {
                tracing::warn!(
                    connection_id = %self.shared.connection_id,
                    "closing a connection that did not read its messages within the send timeout"
                );
                self.abort();
                Err(QueueError::TimedOut)
            }
        }
    }

    /// When bytes were last queued through any sender of this connection (for
    /// keep-alive pings).
    pub fn last_write(&self) -> std::time::Instant {
        self.shared.last_write()
    }

    /// The id of the connection this sender writes to.
    pub fn connection_id(&self) -> &str {
        &self.shared.connection_id
    }

    /// Asks the application side to end the connection.
    pub fn abort(&self) {
        self.shared.abort.cancel();
    }
}

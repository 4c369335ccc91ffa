//! The receiving half of stateful reconnect (protocol.md §6): numbering the client's
//! messages, dropping the ones a reconnect replays twice, and acknowledging what was
//! processed, at most once a second.

use crate::protocol::HubMessage;
use std::time::Duration;

/// How long an acknowledgement waits, so that a burst of messages costs one Ack.
const ACK_DELAY: Duration = Duration::from_secs(1);

/// A Sequence message that claims more than was received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Sequence ID {claimed} is greater than the {received} messages received.")]
pub(crate) struct SequenceError {
    claimed: u64,
    received: u64,
}

/// Whether a message counts in the sequence: the ones that carry the hub's work do;
/// pings, Close, Ack and Sequence do not.
pub(crate) fn is_sequenced(message: &HubMessage) -> bool {
    matches!(
        message,
        HubMessage::Invocation(_)
            | HubMessage::StreamItem(_)
            | HubMessage::Completion(_)
            | HubMessage::StreamInvocation(_)
            | HubMessage::CancelInvocation { .. }
    )
}

/// The client's side of the numbering, on the server.
#[derive(Debug)]
pub(crate) struct InboundSequence {
    /// The number the next sequenced message carries.
    next_id: u64,
    /// The highest number processed.
    latest: u64,
    /// When the next Ack is due; `None` while nothing waits for one.
    ack_due: Option<tokio::time::Instant>,
}

impl Default for InboundSequence {
    fn default() -> Self {
        InboundSequence {
            next_id: 1,
            latest: 0,
            ack_due: None,
        }
    }
}

impl InboundSequence {
    /// A sequenced message arrived; `false` when it is one already processed (a
    /// reconnect replays what was not yet acknowledged).
    pub(crate) fn accept(&mut self) -> bool {
        let id = self.next_id;
        self.next_id += 1;
        // Either way the client waits for an Ack: the earlier one may have been lost with
        // the transport.
        self.ack_due
            .get_or_insert_with(|| tokio::time::Instant::now() + ACK_DELAY);
        if id <= self.latest {
            return false;
        }
        self.latest = id;
        true
    }

    /// The client's Sequence after a reconnect: its next message carries `id`.
    pub(crate) fn restart_at(&mut self, id: u64) -> Result<(), SequenceError> {
        if id > self.next_id {
            return Err(SequenceError {
                claimed: id,
                received: self.next_id - 1,
            });
        }
        self.next_id = id;
        Ok(())
    }

    /// When an Ack is due, if one is.
    pub(crate) fn ack_due(&self) -> Option<tokio::time::Instant> {
        self.ack_due
    }

    /// The Ack could not be queued: try again after the usual delay.
    pub(crate) fn retry_ack(&mut self) {
        self.ack_due = Some(tokio::time::Instant::now() + ACK_DELAY);
    }

    /// The number to acknowledge now; the next Ack waits for new messages.
    pub(crate) fn take_ack(&mut self) -> u64 {
        self.ack_due = None;
        self.latest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn replayed_messages_are_dropped_and_new_ones_taken() {
        let mut sequence = InboundSequence::default();
        assert!(sequence.accept() && sequence.accept() && sequence.accept());
        assert!(sequence.ack_due().is_some());
        assert_eq!(sequence.take_ack(), 3);
        assert_eq!(sequence.ack_due(), None);
        // The client reconnects having seen an Ack for 1 only: it replays 2 and 3, then
        // sends 4.
        sequence.restart_at(2).unwrap();
        assert!(!sequence.accept());
        assert!(!sequence.accept());
        assert!(
            sequence.ack_due().is_some(),
            "duplicates are acknowledged again"
        );
        assert!(sequence.accept());
        assert_eq!(sequence.take_ack(), 4);
    }

    #[test]
    fn a_sequence_beyond_what_was_received_is_refused() {
        let mut sequence = InboundSequence::default();
        sequence.restart_at(1).unwrap();
        assert_eq!(
            sequence.restart_at(2).unwrap_err().to_string(),
            "Sequence ID 2 is greater than the 0 messages received."
        );
    }
}

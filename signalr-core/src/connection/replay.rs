//! The replay buffer of stateful reconnect (protocol.md §6): every sequenced record sent
//! is kept until the client acknowledges it, so that a WebSocket that drops can be
//! replaced by a new one that replays what the old one may have lost.
//!
//! Records are numbered implicitly, from 1, in the order they enter the outgoing pipe
//! (the pipe's lock orders them, so the numbers are the order on the wire). The buffer
//! lives inside the pipe's state for that reason.

use crate::protocol::{HubProtocol, OutboundMessage};
use bytes::Bytes;
use std::collections::VecDeque;

/// Sent records the client has not acknowledged, and whether a transport carries them.
#[derive(Debug)]
pub(crate) struct Replay {
    /// Unacknowledged records, oldest first.
    records: VecDeque<Bytes>,
    /// The number of `records[0]` (or of the next record, when there is none).
    first_id: u64,
    /// Bytes held in `records`.
    bytes: usize,
    /// Above this many bytes, senders wait for acknowledgements
    /// (`StatefulReconnectBufferSize`).
    limit: usize,
    /// No transport holds the connection: records are kept for the next one, not queued.
    detached: bool,
    /// How the Sequence record that starts a replay is written.
    protocol: HubProtocol,
}

impl Replay {
    pub(crate) fn new(protocol: HubProtocol, limit: usize) -> Self {
        Replay {
            records: VecDeque::new(),
            first_id: 1,
            bytes: 0,
            limit: limit.max(1),
            detached: false,
            protocol,
        }
    }

    /// Whether another record may be sent now: the record that crosses the limit is
    /// still taken, later ones wait (as .NET's `MessageBuffer`).
    pub(crate) fn has_room(&self) -> bool {
        self.bytes < self.limit
    }

    /// Keeps a sequenced record until it is acknowledged.
    pub(crate) fn keep(&mut self, record: Bytes) {
        self.bytes += record.len();
        self.records.push_back(record);
    }

    /// The client processed every record up to `id`; returns whether room was freed.
    pub(crate) fn acknowledge(&mut self, id: u64) -> bool {
        let mut freed = false;
        while self.first_id <= id {
            let Some(record) = self.records.pop_front() else {
                break;
            };
            self.bytes -= record.len();
            self.first_id += 1;
            freed = true;
        }
        if self.records.is_empty() && self.records.capacity() > 8 {
            self.records = VecDeque::new();
        }
        freed
    }

    /// Whether the transport is gone (records are kept, not queued).
    pub(crate) fn is_detached(&self) -> bool {
        self.detached
    }

    /// The transport is gone.
    pub(crate) fn detach(&mut self) {
        self.detached = true;
    }

    /// A new transport took over: the records it must send first, the Sequence record
    /// (numbering the first replayed record, as both official implementations do) and
    /// then every unacknowledged record in order.
    pub(crate) fn resume(&mut self) -> impl Iterator<Item = Bytes> + '_ {
        self.detached = false;
        let sequence: OutboundMessage<'_, ()> = OutboundMessage::Sequence {
            sequence_id: self.first_id,
        };
        let sequence = sequence.encode(self.protocol).unwrap_or_default();
        std::iter::once(sequence).chain(self.records.iter().cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(text: &'static str) -> Bytes {
        Bytes::from_static(text.as_bytes())
    }

    #[test]
    fn acknowledged_records_leave_and_a_replay_starts_with_the_first_unacknowledged() {
        let mut replay = Replay::new(HubProtocol::Json, 100);
        for text in ["1", "2", "3", "4", "5"] {
            replay.keep(record(text));
        }
        assert!(replay.acknowledge(3));
        assert!(
            !replay.acknowledge(2),
            "an older acknowledgement frees nothing"
        );
        let replayed: Vec<Bytes> = replay.resume().collect();
        assert_eq!(
            replayed,
            vec![
                record("{\"type\":9,\"sequenceId\":4}\u{1e}"),
                record("4"),
                record("5")
            ]
        );
    }

    #[test]
    fn with_nothing_to_replay_the_sequence_numbers_the_next_record() {
        let mut replay = Replay::new(HubProtocol::Json, 100);
        replay.keep(record("1"));
        replay.keep(record("2"));
        replay.acknowledge(7);
        let replayed: Vec<Bytes> = replay.resume().collect();
        assert_eq!(
            replayed,
            vec![record("{\"type\":9,\"sequenceId\":3}\u{1e}")]
        );
    }

    #[test]
    fn the_record_that_crosses_the_limit_is_taken_and_later_ones_wait() {
        let mut replay = Replay::new(HubProtocol::Json, 4);
        replay.keep(record("abc"));
        assert!(replay.has_room());
        replay.keep(record("de"));
        assert!(!replay.has_room());
        replay.acknowledge(1);
        assert!(replay.has_room());
    }
}

//! Messages read ahead while invocations or an upload stream wait for room.
//!
//! The session keeps reading a busy connection so that what must not wait (a Completion
//! answering a client result, CancelInvocation, Ping, Close) is handled at once, even
//! when the hub method holding the last invocation slot awaits that very Completion.
//! What must wait its turn (invocations, upload items and the end of an upload) is parked
//! here in arrival order, up to a number of bytes; past that the connection stops reading
//! (backpressure, as .NET's read loop gives).

use crate::hub::upload::UploadEvent;
use crate::protocol::InvocationMessage;
use std::collections::VecDeque;

/// Bytes of records parked before the connection stops reading: as much as the
/// transport buffers between itself and the application by default.
pub(crate) const BACKLOG_LIMIT: usize = 64 * 1024;

/// A message waiting for its turn.
#[derive(Debug)]
pub(crate) enum Parked {
    /// An invocation waiting for a free slot (or behind other parked messages).
    Invocation {
        message: InvocationMessage,
        streaming: bool,
    },
    /// An item (or the client's error) for an upload stream whose buffer is full.
    UploadEvent {
        stream_id: String,
        event: UploadEvent,
    },
    /// The client completed an upload stream (the Completion behind its items).
    UploadEnd { stream_id: String },
}

/// The parked messages, in arrival order, with the size of the records they came in.
#[derive(Debug, Default)]
pub(crate) struct Backlog {
    parked: VecDeque<(Parked, usize)>,
    bytes: usize,
}

impl Backlog {
    pub(crate) fn is_empty(&self) -> bool {
        self.parked.is_empty()
    }

    /// Whether the connection should stop reading until some of it is handled.
    pub(crate) fn is_full(&self) -> bool {
        self.bytes >= BACKLOG_LIMIT
    }

    pub(crate) fn push(&mut self, message: Parked, size: usize) {
        self.bytes += size;
        self.parked.push_back((message, size));
    }

    pub(crate) fn front(&self) -> Option<&Parked> {
        self.parked.front().map(|(message, _)| message)
    }

    pub(crate) fn pop_front(&mut self) -> Option<Parked> {
        let (message, size) = self.parked.pop_front()?;
        self.bytes -= size;
        if self.parked.is_empty() && self.parked.capacity() > 16 {
            // Give a burst's buffer back: most connections are idle most of the time.
            self.parked = VecDeque::new();
        }
        Some(message)
    }

    /// Whether a parked invocation will open upload stream `stream_id` (its items and its
    /// end then park behind it).
    pub(crate) fn announces(&self, stream_id: &str) -> bool {
        self.parked.iter().any(|(message, _)| match message {
            Parked::Invocation { message, .. } => {
                message.stream_ids.iter().any(|id| id == stream_id)
            }
            _ => false,
        })
    }

    /// Drops a parked streaming invocation the client cancelled before it started;
    /// `true` when there was one.
    pub(crate) fn cancel(&mut self, invocation_id: &str) -> bool {
        let Some(index) = self.parked.iter().position(|(message, _)| {
            matches!(message, Parked::Invocation { message, streaming: true }
                if message.invocation_id.as_deref() == Some(invocation_id))
        }) else {
            return false;
        };
        if let Some((_, size)) = self.parked.remove(index) {
            self.bytes -= size;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ByteString;
    use std::collections::BTreeMap;

    fn invocation(id: &str, stream_ids: &[&str]) -> InvocationMessage {
        InvocationMessage {
            invocation_id: Some(ByteString::from(id)),
            target: ByteString::from_static("M"),
            arguments: Vec::new(),
            stream_ids: stream_ids.iter().map(|s| (*s).to_owned()).collect(),
            headers: BTreeMap::new(),
        }
    }

    #[test]
    fn parked_messages_leave_in_arrival_order_and_count_their_bytes() {
        let mut backlog = Backlog::default();
        backlog.push(
            Parked::Invocation {
                message: invocation("1", &["s"]),
                streaming: false,
            },
            BACKLOG_LIMIT - 10,
        );
        assert!(!backlog.is_full());
        assert!(backlog.announces("s"));
        assert!(!backlog.announces("t"));
        backlog.push(
            Parked::UploadEnd {
                stream_id: "s".to_owned(),
            },
            10,
        );
        assert!(backlog.is_full());
        assert!(matches!(
            backlog.pop_front(),
            Some(Parked::Invocation { .. })
        ));
        assert!(!backlog.is_full());
        assert!(matches!(
            backlog.pop_front(),
            Some(Parked::UploadEnd { .. })
        ));
        assert!(backlog.is_empty());
    }

    #[test]
    fn a_cancelled_streaming_invocation_is_dropped_before_it_starts() {
        let mut backlog = Backlog::default();
        backlog.push(
            Parked::Invocation {
                message: invocation("7", &[]),
                streaming: true,
            },
            30,
        );
        assert!(!backlog.cancel("8"));
        assert!(backlog.cancel("7"));
        assert!(backlog.is_empty());
    }
}

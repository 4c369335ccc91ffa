//! The queue inside a pipe: first in, first out, holding one chunk without allocating.
//!
//! A pipe mostly carries one chunk at a time (a request, its answer), and a `VecDeque`
//! keeps the buffer of its first push for the connection's life: 128 bytes on the heap
//! per pipe, two pipes per idle connection. Here the front chunk lives inline and the
//! buffer is only needed while several chunks wait.

use bytes::Bytes;
use std::collections::VecDeque;

/// Above this many slots, a drained queue gives its buffer back.
const KEEP_CAPACITY: usize = 8;

/// A FIFO of chunks; see the module docs.
#[derive(Debug, Default)]
pub(super) struct ChunkQueue {
    /// The oldest chunk; `None` only when the queue is empty.
    front: Option<Bytes>,
    /// The chunks behind it, in order.
    rest: VecDeque<Bytes>,
}

impl ChunkQueue {
    pub(super) fn is_empty(&self) -> bool {
        self.front.is_none()
    }

    pub(super) fn push_back(&mut self, chunk: Bytes) {
        if self.front.is_none() {
            self.front = Some(chunk);
        } else {
            self.rest.push_back(chunk);
        }
    }

    /// The oldest chunk; a large buffer is given back once the queue drains.
    pub(super) fn pop_front(&mut self) -> Option<Bytes> {
        let chunk = self.front.take()?;
        if !self.rest.is_empty() {
            self.front = self.rest.pop_front();
            if self.rest.is_empty() && self.rest.capacity() > KEEP_CAPACITY {
                self.rest = VecDeque::new();
            }
        }
        Some(chunk)
    }

    /// Empties the queue and gives its buffer back.
    pub(super) fn clear(&mut self) {
        *self = ChunkQueue::default();
    }
}

#[cfg(test)]
mod tests {
    use super::ChunkQueue;
    use bytes::Bytes;

    #[test]
    fn keeps_order_across_the_inline_slot_and_the_buffer() {
        let mut queue = ChunkQueue::default();
        assert!(queue.is_empty());
        assert_eq!(queue.pop_front(), None);
        queue.push_back(Bytes::from_static(b"1"));
        assert_eq!(queue.rest.capacity(), 0, "one chunk needs no buffer");
        queue.push_back(Bytes::from_static(b"2"));
        queue.push_back(Bytes::from_static(b"3"));
        assert_eq!(queue.pop_front(), Some(Bytes::from_static(b"1")));
        queue.push_back(Bytes::from_static(b"4"));
        for expected in [&b"2"[..], b"3", b"4"] {
            assert_eq!(queue.pop_front().as_deref(), Some(expected));
        }
        assert!(queue.is_empty());
        assert_eq!(queue.pop_front(), None);
    }

    #[test]
    fn a_large_buffer_is_given_back_once_drained() {
        let mut queue = ChunkQueue::default();
        for i in 0..100u8 {
            queue.push_back(Bytes::from(vec![i]));
        }
        for i in 0..100u8 {
            assert_eq!(queue.pop_front(), Some(Bytes::from(vec![i])));
        }
        assert_eq!(queue.rest.capacity(), 0);
        queue.push_back(Bytes::from_static(b"x"));
        queue.clear();
        assert!(queue.is_empty());
    }
}

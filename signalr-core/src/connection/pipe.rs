//! A queue of byte chunks between a transport and the application, bounded in bytes.
//!
//! Every connection has two, so they are built for idle connections: an empty pipe owns
//! no buffer (a `VecDeque` allocates on first use and is released when it drains after a
//! burst), where a `tokio::sync::mpsc` channel allocates a 32-slot block and padded
//! state up front (about 1.5 KB per channel).
//!
//! And they are on the path of every message, so the common case takes the one lock and
//! nothing else: the receiver's waker is kept under that lock (a push wakes it directly),
//! and senders register for room only when the pipe is full, so a pop notifies them only
//! when one waits.

use super::chunk_queue::ChunkQueue;
use super::replay::Replay;
use crate::protocol::HubProtocol;
use bytes::Bytes;
use std::future::poll_fn;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use tokio::sync::Notify;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

#[derive(Debug)]
struct State {
    queue: ChunkQueue,
    /// Bytes queued.
    bytes: usize,
    /// No more items will be accepted (every sender or the receiver is gone).
    closed: bool,
    /// With stateful reconnect, the sent records kept for a replay (boxed: most
    /// connections have none).
    replay: Option<Box<Replay>>,
    /// The receiver waiting for an item or the close.
    reader: Option<Waker>,
    /// A signal the receiver watches besides the pipe fired (see
    /// [`PipeReceiver::interrupt_when_cancelled`]): it receives nothing more.
    interrupted: bool,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    capacity: usize,
    senders: AtomicUsize,
    /// Senders waiting for room (registered with `writable` before they look again).
    waiting_for_room: AtomicUsize,
    /// Woken when room frees up or the pipe closes, while senders wait for room.
    writable: Notify,
}

/// Counts a sender among those waiting for room for as long as it lives.
struct WaitingForRoom<'a>(&'a AtomicUsize);

impl<'a> WaitingForRoom<'a> {
    fn new(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        WaitingForRoom(counter)
    }
}

impl Drop for WaitingForRoom<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section is a single push/pop/flag write: a poisoned lock still
        // holds a consistent queue.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        let reader = state.reader.take();
        drop(state);
        if let Some(reader) = reader {
            reader.wake();
        }
        self.writable.notify_waiters();
    }

    /// Wakes the receiver after a push (called with the lock released).
    fn readable(reader: Option<Waker>) {
        if let Some(reader) = reader {
            reader.wake();
        }
    }

    /// Lets senders waiting for room look again.
    fn room_freed(&self) {
        if self.waiting_for_room.load(Ordering::SeqCst) > 0 {
            self.writable.notify_waiters();
        }
    }
}

/// The interrupt: the receiver wakes up and receives nothing more.
impl std::task::Wake for Shared {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let mut state = self.lock();
        state.interrupted = true;
        let reader = state.reader.take();
        drop(state);
        Shared::readable(reader);
    }
}

/// Keeps a receiver's interrupt registered in its token (see
/// [`PipeReceiver::interrupt_when_cancelled`]); dropping it unregisters.
#[derive(Debug)]
pub(crate) struct Interruption {
    _registration: Pin<Box<WaitForCancellationFutureOwned>>,
}

/// Why a chunk was not queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TrySendError {
    /// The queue is at capacity.
    Full,
    /// The receiver is gone.
    Closed,
}

/// The sending half; clone it for each writer.
#[derive(Debug)]
pub(crate) struct PipeSender {
    shared: Arc<Shared>,
}

/// The receiving half.
#[derive(Debug)]
pub(crate) struct PipeReceiver {
    shared: Arc<Shared>,
}

/// A pipe holding at most `capacity` bytes (a larger chunk still fits into an empty one).
pub(crate) fn pipe(capacity: usize) -> (PipeSender, PipeReceiver) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            queue: ChunkQueue::default(),
            bytes: 0,
            closed: false,
            replay: None,
            reader: None,
            interrupted: false,
        }),
        capacity: capacity.max(1),
        senders: AtomicUsize::new(1),
        waiting_for_room: AtomicUsize::new(0),
        writable: Notify::new(),
    });
    (
        PipeSender {
            shared: shared.clone(),
        },
        PipeReceiver { shared },
    )
}

/// Whether a chunk counts in the stateful-reconnect sequence (protocol.md §6): hub
/// messages do; pings, acknowledgements and the Close do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sequencing {
    /// Numbered, kept until acknowledged, replayed after a reconnect.
    Sequenced,
    /// Sent once, on the transport of the moment (dropped while there is none).
    Unsequenced,
}

impl State {
    fn has_room_for(&self, chunk: &Bytes, capacity: usize, sequencing: Sequencing) -> bool {
        let queue_room = self.queue.is_empty() || self.bytes + chunk.len() <= capacity;
        match (&self.replay, sequencing) {
            (None, _) => queue_room,
            (Some(replay), Sequencing::Sequenced) => {
                replay.has_room() && (replay.is_detached() || queue_room)
            }
            (Some(replay), Sequencing::Unsequenced) => replay.is_detached() || queue_room,
        }
    }

    /// Queues `chunk`; returns the receiver to wake.
    fn push(&mut self, chunk: Bytes, sequencing: Sequencing) -> Option<Waker> {
        if let Some(replay) = &mut self.replay {
            if sequencing == Sequencing::Sequenced {
                replay.keep(chunk.clone());
            }
            if replay.is_detached() {
                return None;
            }
        }
        self.bytes += chunk.len();
        self.queue.push_back(chunk);
        self.reader.take()
    }
}

impl PipeSender {
    /// Queues `chunk` if there is room now.
    pub(crate) fn try_send(&self, chunk: Bytes) -> Result<(), TrySendError> {
        self.try_send_returning(chunk).map_err(|(error, _)| error)
    }

    /// Like [`try_send`](Self::try_send), handing the chunk back when it was not queued
    /// (so a caller that will wait for room needs no copy of it).
    pub(crate) fn try_send_returning(&self, chunk: Bytes) -> Result<(), (TrySendError, Bytes)> {
        self.try_send_sequenced(chunk, Sequencing::Sequenced)
    }

    /// Like [`try_send_returning`](Self::try_send_returning), saying whether the chunk
    /// counts in the stateful-reconnect sequence.
    pub(crate) fn try_send_sequenced(
        &self,
        chunk: Bytes,
        sequencing: Sequencing,
    ) -> Result<(), (TrySendError, Bytes)> {
        let mut state = self.shared.lock();
        if state.closed {
            return Err((TrySendError::Closed, chunk));
        }
        if !state.has_room_for(&chunk, self.shared.capacity, sequencing) {
            return Err((TrySendError::Full, chunk));
        }
        let reader = state.push(chunk, sequencing);
        drop(state);
        Shared::readable(reader);
        Ok(())
    }

    /// Queues `chunk` even when the pipe is full (for a connection's last message, which
    /// must not be lost to a full queue, and is not sequenced); fails only once the
    /// receiver is gone.
    pub(crate) fn push_past_capacity(&self, chunk: Bytes) -> Result<(), TrySendError> {
        let mut state = self.shared.lock();
        if state.closed {
            return Err(TrySendError::Closed);
        }
        let reader = state.push(chunk, Sequencing::Unsequenced);
        drop(state);
        Shared::readable(reader);
        Ok(())
    }

    /// Queues `chunk`, waiting while the pipe is full; fails once the receiver is gone.
    pub(crate) async fn send(&self, chunk: Bytes) -> Result<(), Bytes> {
        let chunk = match self.try_send_sequenced(chunk, Sequencing::Sequenced) {
            Ok(()) => return Ok(()),
            Err((TrySendError::Closed, chunk)) => return Err(chunk),
            Err((TrySendError::Full, chunk)) => chunk,
        };
        let _waiting = WaitingForRoom::new(&self.shared.waiting_for_room);
        loop {
            let room = self.shared.writable.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            {
                let mut state = self.shared.lock();
                if state.closed {
                    return Err(chunk);
                }
                if state.has_room_for(&chunk, self.shared.capacity, Sequencing::Sequenced) {
                    let reader = state.push(chunk, Sequencing::Sequenced);
                    drop(state);
                    Shared::readable(reader);
                    return Ok(());
                }
            }
            room.await;
        }
    }

    /// Turns on stateful reconnect: from now on sequenced chunks are kept until
    /// [`acknowledge`](Self::acknowledge)d, and senders wait while more than `limit`
    /// bytes are unacknowledged.
    pub(crate) fn keep_for_replay(&self, protocol: HubProtocol, limit: usize) {
        self.shared.lock().replay = Some(Box::new(Replay::new(protocol, limit)));
    }

    /// The client processed every sequenced chunk up to number `id`.
    pub(crate) fn acknowledge(&self, id: u64) {
        let freed = self
            .shared
            .lock()
            .replay
            .as_mut()
            .is_some_and(|replay| replay.acknowledge(id));
        if freed {
            self.shared.writable.notify_waiters();
        }
    }

    /// Whether the receiver is gone.
    #[cfg(test)]
    pub(crate) fn is_closed(&self) -> bool {
        self.shared.lock().closed
    }
}

impl Clone for PipeSender {
    fn clone(&self) -> Self {
        self.shared.senders.fetch_add(1, Ordering::Relaxed);
        PipeSender {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for PipeSender {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.close();
        }
    }
}

impl State {
    /// Takes the front chunk.
    fn take_front(&mut self) -> Option<Bytes> {
        let chunk = self.queue.pop_front()?;
        self.bytes -= chunk.len();
        Some(chunk)
    }
}

impl PipeReceiver {
    fn pop(&self) -> Result<Option<Bytes>, ()> {
        let mut state = self.shared.lock();
        match state.take_front() {
            Some(chunk) => {
                drop(state);
                self.shared.room_freed();
                Ok(Some(chunk))
            }
            None if state.closed => Err(()),
            None => Ok(None),
        }
    }

    /// The next chunk; `None` once every sender is gone and the queue is drained, or at
    /// once after an interrupt.
    pub(crate) async fn recv(&mut self) -> Option<Bytes> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// [`recv`](Self::recv) as a poll: pending (with the task registered) while the
    /// queue is empty.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        let mut state = self.shared.lock();
        if state.interrupted {
            return Poll::Ready(None);
        }
        match state.take_front() {
            Some(chunk) => {
                drop(state);
                self.shared.room_freed();
                Poll::Ready(Some(chunk))
            }
            None if state.closed => Poll::Ready(None),
            None => {
                match &mut state.reader {
                    Some(waker) if waker.will_wake(cx.waker()) => {}
                    reader => *reader = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }

    /// Interrupts this receiver once `token` fires: [`recv`](Self::recv) then returns
    /// `None` (a receiver waiting wakes up), while [`try_recv`](Self::try_recv) still
    /// drains the queue. The waker is registered in the token once, for as long as the
    /// returned [`Interruption`] lives, which spares every `recv` from watching the token
    /// itself (registering and unregistering in its waiter list each time).
    pub(crate) fn interrupt_when_cancelled(&self, token: CancellationToken) -> Interruption {
        let mut registration = Box::pin(token.cancelled_owned());
        let waker = Waker::from(self.shared.clone());
        if registration
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_ready()
        {
            waker.wake_by_ref();
        }
        Interruption {
            _registration: registration,
        }
    }

    /// The next chunk if one is queued now.
    pub(crate) fn try_recv(&mut self) -> Option<Bytes> {
        self.pop().ok().flatten()
    }

    /// The transport is gone, for now: what it did not write is dropped (the sequenced
    /// part is in the replay buffer), and until [`resume`](Self::resume) sequenced chunks
    /// are only kept and the others dropped.
    pub(crate) fn detach(&mut self) {
        let mut state = self.shared.lock();
        let Some(replay) = &mut state.replay else {
            return;
        };
        replay.detach();
        state.queue.clear();
        state.bytes = 0;
        drop(state);
        self.shared.writable.notify_waiters();
    }

    /// A new transport took over: queues the Sequence record and every unacknowledged
    /// chunk, ahead of anything sent from now on.
    pub(crate) fn resume(&mut self) {
        let mut state = self.shared.lock();
        let State {
            queue,
            bytes,
            replay,
            ..
        } = &mut *state;
        let Some(replay) = replay else {
            return;
        };
        for chunk in replay.resume() {
            *bytes += chunk.len();
            queue.push_back(chunk);
        }
        let reader = state.reader.take();
        drop(state);
        Shared::readable(reader);
    }
}

impl Drop for PipeReceiver {
    fn drop(&mut self) {
        self.shared.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_cancelled_token_interrupts_a_waiting_receiver_and_the_queue_still_drains() {
        let (tx, mut rx) = pipe(1024);
        let token = CancellationToken::new();
        let _interruption = rx.interrupt_when_cancelled(token.clone());
        let waiting = tokio::spawn(async move {
            let first = rx.recv().await;
            (first, rx)
        });
        tokio::task::yield_now().await;
        token.cancel();
        let (first, mut rx) = tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("the waiting receiver woke up")
            .expect("no panic");
        assert_eq!(first, None);
        tx.try_send(Bytes::from_static(b"queued")).unwrap();
        assert_eq!(rx.recv().await, None, "interrupted for good");
        assert_eq!(rx.try_recv(), Some(Bytes::from_static(b"queued")));
        // A token cancelled before the registration interrupts at once.
        let (_tx, mut rx) = pipe(1024);
        let cancelled = CancellationToken::new();
        cancelled.cancel();
        let _interruption = rx.interrupt_when_cancelled(cancelled);
        assert_eq!(rx.recv().await, None);
    }

    #[tokio::test]
    async fn chunks_arrive_in_order_and_the_pipe_ends_with_its_last_sender() {
        let (tx, mut rx) = pipe(4);
        let tx2 = tx.clone();
        tx.send(Bytes::from_static(b"a")).await.unwrap();
        tx2.try_send(Bytes::from_static(b"b")).unwrap();
        drop(tx);
        assert_eq!(rx.recv().await.as_deref(), Some(&b"a"[..]));
        assert_eq!(rx.try_recv().as_deref(), Some(&b"b"[..]));
        assert!(rx.try_recv().is_none());
        drop(tx2);
        assert_eq!(rx.recv().await, None);
    }

    #[tokio::test]
    async fn a_full_pipe_refuses_try_send_and_makes_send_wait_for_room() {
        let (tx, mut rx) = pipe(1);
        tx.try_send(Bytes::from_static(b"1")).unwrap();
        assert_eq!(
            tx.try_send(Bytes::from_static(b"x")),
            Err(TrySendError::Full)
        );
        let waiting = tokio::spawn(async move {
            tx.send(Bytes::from_static(b"2")).await.unwrap();
            tx
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "send waits while the pipe is full");
        assert_eq!(rx.recv().await.as_deref(), Some(&b"1"[..]));
        let tx = waiting.await.unwrap();
        assert_eq!(rx.recv().await.as_deref(), Some(&b"2"[..]));
        drop(rx);
        assert!(tx.is_closed());
        assert_eq!(tx.try_send(Bytes::new()), Err(TrySendError::Closed));
        assert!(tx.send(Bytes::new()).await.is_err());
    }

    #[test]
    fn capacity_counts_bytes_but_an_empty_pipe_takes_any_chunk() {
        let (tx, _rx) = pipe(4);
        tx.try_send(Bytes::from_static(b"too large for four"))
            .unwrap();
        assert_eq!(
            tx.try_send(Bytes::from_static(b"x")),
            Err(TrySendError::Full)
        );
        let (tx, _rx) = pipe(4);
        tx.try_send(Bytes::from_static(b"ab")).unwrap();
        tx.try_send(Bytes::from_static(b"cd")).unwrap();
        assert_eq!(
            tx.try_send(Bytes::from_static(b"e")),
            Err(TrySendError::Full)
        );
    }

    #[test]
    fn a_last_message_is_queued_past_capacity() {
        let (tx, mut rx) = pipe(1);
        tx.try_send(Bytes::from_static(b"1")).unwrap();
        assert_eq!(
            tx.try_send(Bytes::from_static(b"x")),
            Err(TrySendError::Full)
        );
        tx.push_past_capacity(Bytes::from_static(b"close")).unwrap();
        assert_eq!(rx.try_recv().as_deref(), Some(&b"1"[..]));
        assert_eq!(rx.try_recv().as_deref(), Some(&b"close"[..]));
        drop(rx);
        assert_eq!(
            tx.push_past_capacity(Bytes::new()),
            Err(TrySendError::Closed)
        );
    }

    #[tokio::test]
    async fn many_concurrent_senders_lose_nothing() {
        let (tx, mut rx) = pipe(6);
        let mut tasks = Vec::new();
        for sender in 0..8u8 {
            let tx = tx.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..200u8 {
                    tx.send(Bytes::from(vec![sender, i])).await.unwrap();
                }
            }));
        }
        drop(tx);
        let mut last = [None::<u8>; 8];
        let mut count = 0;
        while let Some(chunk) = rx.recv().await {
            let (sender, i) = (chunk[0] as usize, chunk[1]);
            assert!(
                last[sender].is_none_or(|prev| prev + 1 == i),
                "per-sender order kept"
            );
            last[sender] = Some(i);
            count += 1;
        }
        assert_eq!(count, 8 * 200);
        for task in tasks {
            task.await.unwrap();
        }
    }
}

//! Two futures in one task, each polled only when it was woken.
//!
//! A WebSocket connection is two loops that hand every record to each other: the
//! application (the hub session) and the transport (the socket pump). As two tasks, each
//! hand-over schedules the other task: an echo costs three task polls and two trips
//! through the scheduler. In one task the hand-over is a flag: the woken loop is polled
//! again within the same task poll. Unlike `tokio::join!`, which polls every branch on
//! every wake, only the loop that was woken is polled, so a broadcast that wakes the
//! transport does not also poll the session.

use futures_util::task::AtomicWaker;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// The first future was woken.
const FIRST: u8 = 1;
/// The second future was woken.
const SECOND: u8 = 2;
/// The task is inside `poll`: a wake only sets its future's flag, `poll` looks again.
const POLLING: u8 = 4;

/// Rounds of polling within one task poll before yielding to the scheduler: a future
/// woken by its own poll (out of cooperative budget, say) would otherwise be polled
/// without end.
const MAX_ROUNDS: usize = 16;

/// What the two futures' wakers share: which of them was woken, and the task's waker.
struct Signal {
    state: AtomicU8,
    task: AtomicWaker,
}

/// The waker handed to one of the two futures.
struct FutureWaker {
    signal: Arc<Signal>,
    flag: u8,
}

impl Wake for FutureWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let before = self.signal.state.fetch_or(self.flag, Ordering::AcqRel);
        if before & POLLING == 0 {
            self.signal.task.wake();
        }
    }
}

pin_project_lite::pin_project! {
    /// Runs two futures to completion in the task that awaits it; see the module docs.
    pub(super) struct BothInOneTask<A, B> {
        #[pin]
        first: Option<A>,
        #[pin]
        second: Option<B>,
        signal: Arc<Signal>,
        first_waker: Waker,
        second_waker: Waker,
    }
}

impl<A, B> BothInOneTask<A, B>
where
    A: Future<Output = ()>,
    B: Future<Output = ()>,
{
    pub(super) fn new(first: A, second: B) -> Self {
        let signal = Arc::new(Signal {
            // Both are polled the first time.
            state: AtomicU8::new(FIRST | SECOND),
            task: AtomicWaker::new(),
        });
        let waker = |flag| {
            Waker::from(Arc::new(FutureWaker {
                signal: signal.clone(),
                flag,
            }))
        };
        BothInOneTask {
            first_waker: waker(FIRST),
            second_waker: waker(SECOND),
            first: Some(first),
            second: Some(second),
            signal,
        }
    }
}

impl<A, B> Future for BothInOneTask<A, B>
where
    A: Future<Output = ()>,
    B: Future<Output = ()>,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        this.signal.task.register(cx.waker());
        let mut woken = this.signal.state.swap(POLLING, Ordering::AcqRel);
        for _ in 0..MAX_ROUNDS {
            poll_if_woken(woken & FIRST != 0, this.first.as_mut(), this.first_waker);
            poll_if_woken(woken & SECOND != 0, this.second.as_mut(), this.second_waker);
            if this.first.is_none() && this.second.is_none() {
                return Poll::Ready(());
            }
            // Leave, unless one of them was woken while we polled.
            match this.signal.state.compare_exchange(
                POLLING,
                0,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Poll::Pending,
                Err(_) => woken = this.signal.state.swap(POLLING, Ordering::AcqRel),
            }
        }
        // Still being woken: keep the flags for the next poll and let other tasks run.
        // Out of rounds: the wakes of the last round stay recorded for the next poll (a
        // future woken by its own poll, out of cooperative budget say, is otherwise never
        // polled again), and the task is scheduled again.
        this.signal.state.fetch_or(woken, Ordering::AcqRel);
        this.signal.state.fetch_and(!POLLING, Ordering::AcqRel);
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Polls a future that was woken and is not done yet with its own waker; drops it once
/// it is done.
fn poll_if_woken<F: Future<Output = ()>>(
    woken: bool,
    mut slot: Pin<&mut Option<F>>,
    waker: &Waker,
) {
    if !woken {
        return;
    }
    if let Some(future) = slot.as_mut().as_pin_mut() {
        if future.poll(&mut Context::from_waker(waker)).is_ready() {
            slot.set(None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// A future that counts its polls and finishes when `done` is set.
    fn counted(
        polls: Arc<AtomicUsize>,
        done: Arc<std::sync::atomic::AtomicBool>,
        slot: Arc<std::sync::Mutex<Option<Waker>>>,
    ) -> impl Future<Output = ()> {
        std::future::poll_fn(move |cx| {
            polls.fetch_add(1, Ordering::SeqCst);
            if done.load(Ordering::SeqCst) {
                return Poll::Ready(());
            }
            *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(cx.waker().clone());
            Poll::Pending
        })
    }

    #[tokio::test]
    async fn only_the_woken_future_is_polled_and_both_run_to_completion() {
        let polls = [Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0))];
        let done = [
            Arc::new(std::sync::atomic::AtomicBool::new(false)),
            Arc::new(std::sync::atomic::AtomicBool::new(false)),
        ];
        let slots = [
            Arc::new(std::sync::Mutex::new(None::<Waker>)),
            Arc::new(std::sync::Mutex::new(None::<Waker>)),
        ];
        let joined = tokio::spawn(BothInOneTask::new(
            counted(polls[0].clone(), done[0].clone(), slots[0].clone()),
            counted(polls[1].clone(), done[1].clone(), slots[1].clone()),
        ));
        let wake = |i: usize| {
            let waker = slots[i].lock().unwrap_or_else(|e| e.into_inner()).take();
            waker.expect("the future registered a waker").wake();
        };
        let settle = || tokio::time::sleep(std::time::Duration::from_millis(20));
        settle().await;
        assert_eq!(polls[0].load(Ordering::SeqCst), 1);
        assert_eq!(polls[1].load(Ordering::SeqCst), 1);

        wake(1);
        settle().await;
        assert_eq!(
            polls[0].load(Ordering::SeqCst),
            1,
            "the first was not woken"
        );
        assert_eq!(polls[1].load(Ordering::SeqCst), 2);

        done[0].store(true, Ordering::SeqCst);
        wake(0);
        settle().await;
        assert_eq!(polls[0].load(Ordering::SeqCst), 2);
        assert!(!joined.is_finished(), "the second is still running");

        done[1].store(true, Ordering::SeqCst);
        wake(1);
        tokio::time::timeout(std::time::Duration::from_secs(5), joined)
            .await
            .expect("both finished")
            .expect("no panic");
    }

    #[tokio::test]
    async fn a_future_that_wakes_itself_past_the_rounds_of_one_poll_is_polled_again() {
        // As a socket out of cooperative budget does: it wakes itself and returns pending,
        // more often than one task poll has rounds.
        let polls = Arc::new(AtomicUsize::new(0));
        let counted = polls.clone();
        let restless = std::future::poll_fn(move |cx| {
            if counted.fetch_add(1, Ordering::SeqCst) + 1 == 10 * MAX_ROUNDS {
                return Poll::Ready(());
            }
            cx.waker().wake_by_ref();
            Poll::Pending
        });
        tokio::time::timeout(
            std::time::Duration::from_secs(5),
            BothInOneTask::new(restless, std::future::ready(())),
        )
        .await
        .expect("the restless future finished");
        assert_eq!(polls.load(Ordering::SeqCst), 10 * MAX_ROUNDS);
    }

    #[tokio::test]
    async fn what_one_hands_to_the_other_arrives_and_both_end() {
        // The first hands a value to the second through a channel, as the transport
        // hands a record to the session.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u32>();
        let received = Arc::new(AtomicUsize::new(0));
        let seen = received.clone();
        let sender = async move {
            for i in 0..1000 {
                tx.send(i).ok();
                tokio::task::yield_now().await;
            }
        };
        let receiver = async move {
            while rx.recv().await.is_some() {
                seen.fetch_add(1, Ordering::SeqCst);
            }
        };
        tokio::time::timeout(
            std::time::Duration::from_secs(5),
            BothInOneTask::new(sender, receiver),
        )
        .await
        .expect("both finished");
        assert_eq!(received.load(Ordering::SeqCst), 1000);
    }
}

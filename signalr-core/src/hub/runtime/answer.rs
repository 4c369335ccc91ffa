//! One call on its way to its Completion: the call runs (a panic fails it, not the
//! connection), then its Completion is queued from within the call, so that waiting for
//! room never stops the session from reading.
//!
//! Written as a poll function rather than an `async` block: a block keeps room for what
//! it captured beside the futures it moves that into (the call was reserved three times
//! over, and the boxed call outgrew what the allocator serves from its per-thread cache),
//! and it would reserve the wait for queue room (200 bytes) that is almost never needed.

use super::panic::panic_message;
use crate::connection::{OutboundSender, QueueError};
use crate::hub::contract::{CallOutcome, Responder};
use crate::hub::error::HubError;
use crate::hub::BoxFuture;
use futures_util::future::CatchUnwind;
use futures_util::FutureExt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// What the session cleans up when a call finishes.
pub(super) struct Finished {
    /// Whether its Completion (if any) was queued; `false` once the connection is gone.
    pub(super) delivered: bool,
    pub(super) stream_id: Option<String>,
    pub(super) upload_ids: Vec<String>,
}

pin_project_lite::pin_project! {
    /// Runs `run`, then queues the Completion it produced; see the module docs.
    /// `queueing` holds the Completion while it waits for room in a full queue (boxed,
    /// and only then).
    pub(super) struct Answer<'a, F> {
        #[pin]
        run: CatchUnwind<AssertUnwindSafe<F>>,
        responder: Responder,
        sender: &'a OutboundSender,
        queueing: Option<BoxFuture<'a, bool>>,
        stream_id: Option<String>,
        upload_ids: Vec<String>,
    }
}

impl<'a, F: Future<Output = CallOutcome>> Answer<'a, F> {
    pub(super) fn new(
        run: F,
        responder: Responder,
        sender: &'a OutboundSender,
        stream_id: Option<String>,
        upload_ids: Vec<String>,
    ) -> Self {
        Answer {
            run: AssertUnwindSafe(run).catch_unwind(),
            responder,
            sender,
            queueing: None,
            stream_id,
            upload_ids,
        }
    }
}

impl<F: Future<Output = CallOutcome>> Future for Answer<'_, F> {
    type Output = Finished;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Finished> {
        let mut this = self.project();
        let delivered = loop {
            if let Some(queueing) = this.queueing {
                break ready!(queueing.as_mut().poll(cx));
            }
            let outcome = match ready!(this.run.as_mut().poll(cx)) {
                Ok(outcome) => outcome,
                Err(panic) => {
                    let message = panic_message(panic.as_ref());
                    tracing::error!(method = this.responder.target(), %message, "a hub method panicked");
                    this.responder
                        .complete_error(HubError::internal("Panic", message))
                }
            };
            let Some(completion) = outcome.completion else {
                break true;
            };
            match this.sender.try_send_returning(completion) {
                Ok(()) => break true,
                Err((QueueError::Full, completion)) => {
                    let sender = *this.sender;
                    *this.queueing =
                        Some(Box::pin(
                            async move { sender.send(completion).await.is_ok() },
                        ));
                }
                Err(_) => break false,
            }
        };
        Poll::Ready(Finished {
            delivered,
            stream_id: this.stream_id.take(),
            upload_ids: std::mem::take(this.upload_ids),
        })
    }
}

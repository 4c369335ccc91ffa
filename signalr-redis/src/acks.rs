//! Group commands awaiting the acknowledgement of the server that holds the connection
//! (.NET's `AckHandler`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;
use tokio::sync::oneshot;

/// Pending acknowledgements by command id.
#[derive(Debug, Default)]
pub(crate) struct Acks {
    next_id: AtomicI32,
    pending: Mutex<HashMap<i32, oneshot::Sender<()>>>,
}

/// An awaited ack; dropping it (answered, timed out) forgets it.
pub(crate) struct AwaitingAck<'a> {
    acks: &'a Acks,
    pub(crate) id: i32,
    pub(crate) acked: oneshot::Receiver<()>,
}

impl Drop for AwaitingAck<'_> {
    fn drop(&mut self) {
        self.acks.lock().remove(&self.id);
    }
}

impl Acks {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i32, oneshot::Sender<()>>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new command id (a per-server counter, as .NET's), awaiting its ack.
    pub(crate) fn create(&self) -> AwaitingAck<'_> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        let (tx, acked) = oneshot::channel();
        self.lock().insert(id, tx);
        AwaitingAck {
            acks: self,
            id,
            acked,
        }
    }

    /// The holder of the connection acknowledged command `id`.
    pub(crate) fn trigger(&self, id: i32) {
        if let Some(tx) = self.lock().remove(&id) {
            let _ = tx.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_ack_wakes_its_command_and_unknown_acks_are_ignored() {
        let acks = Acks::default();
        let mut first = acks.create();
        let second = acks.create();
        assert_eq!((first.id, second.id), (1, 2));
        acks.trigger(99);
        acks.trigger(first.id);
        (&mut first.acked).await.unwrap();
        drop(second);
        assert!(
            acks.lock().is_empty(),
            "answered and dropped commands are forgotten"
        );
    }
}

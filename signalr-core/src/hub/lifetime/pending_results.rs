//! The client results a server awaits from its own connections, keyed by invocation id
//! (the bookkeeping behind `ISingleClientProxy.InvokeAsync`).

use crate::hub::error::ClientResultError;
use crate::protocol::{CompletionOutcome, RawValue};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

#[derive(Debug)]
struct Pending {
    connection_id: Arc<str>,
    reply: oneshot::Sender<Result<RawValue, ClientResultError>>,
}

/// The client results this server is waiting for, keyed by invocation id.
#[derive(Debug, Default)]
pub(crate) struct PendingResults {
    next_id: AtomicU64,
    pending: Mutex<HashMap<String, Pending>>,
}

/// Removes its entry when the waiting caller gives up (timeout or drop).
pub(crate) struct Waiting<'a> {
    table: &'a PendingResults,
    pub(crate) invocation_id: String,
    pub(crate) reply: oneshot::Receiver<Result<RawValue, ClientResultError>>,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.table.lock().remove(&self.invocation_id);
    }
}

impl PendingResults {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a new expected result from `connection_id`.
    pub(crate) fn register(&self, connection_id: Arc<str>) -> Waiting<'_> {
        // Prefixed: clients number their own upload stream ids, and a Completion must never
        // be taken for the end of one of them (ids are opaque to clients).
        let invocation_id = format!("r{}", self.next_id.fetch_add(1, Ordering::Relaxed));
        let (reply_tx, reply) = oneshot::channel();
        self.lock().insert(
            invocation_id.clone(),
            Pending {
                connection_id,
                reply: reply_tx,
            },
        );
        Waiting {
            table: self,
            invocation_id,
            reply,
        }
    }

    /// Resolves a pending result with the Completion `connection_id` sent; `false` when no
    /// result of that connection has that id.
    pub(crate) fn complete(
        &self,
        connection_id: &str,
        invocation_id: &str,
        outcome: CompletionOutcome,
    ) -> bool {
        let mut table = self.lock();
        let matches = table
            .get(invocation_id)
            .is_some_and(|p| &*p.connection_id == connection_id);
        if !matches {
            return false;
        }
        let Some(pending) = table.remove(invocation_id) else {
            return false;
        };
        drop(table);
        let result = match outcome {
            CompletionOutcome::Result(raw) => Ok(raw),
            CompletionOutcome::Error(text) => Err(ClientResultError::Client(text)),
            CompletionOutcome::Void => Err(ClientResultError::Client(
                "the client sent no result".to_owned(),
            )),
        };
        let _ = pending.reply.send(result);
        true
    }

    /// Fails every result still expected from a connection that ended.
    pub(crate) fn connection_ended(&self, connection_id: &str) {
        let ended: Vec<Pending> = {
            let mut table = self.lock();
            let ids: Vec<String> = table
                .iter()
                .filter(|(_, p)| &*p.connection_id == connection_id)
                .map(|(id, _)| id.clone())
                .collect();
            ids.iter().filter_map(|id| table.remove(id)).collect()
        };
        for pending in ended {
            let _ = pending.reply.send(Err(ClientResultError::Disconnected));
        }
    }
}

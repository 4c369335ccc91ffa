//! The bookkeeping of client results across servers: those this server awaits from
//! connections held elsewhere, and those other servers await from connections held here.

use base64::Engine;
use signalr_core::hub::ClientResultError;
use signalr_core::protocol::{CompletionOutcome, RawValue};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// The error text a server publishes for a client result whose connection ended first.
pub(crate) const DISCONNECTED: &str = "Connection disconnected.";

type Reply = oneshot::Sender<Result<RawValue, ClientResultError>>;

/// Client results this server awaits from connections on other servers, by invocation id.
#[derive(Debug, Default)]
pub(crate) struct RemoteResults {
    pending: Mutex<HashMap<String, Reply>>,
}

/// A client result in flight; dropping it (timeout, caller gone) forgets it.
pub(crate) struct Awaiting<'a> {
    table: &'a RemoteResults,
    pub(crate) invocation_id: String,
    pub(crate) reply: oneshot::Receiver<Result<RawValue, ClientResultError>>,
}

impl Drop for Awaiting<'_> {
    fn drop(&mut self) {
        self.table.lock().remove(&self.invocation_id);
    }
}

impl RemoteResults {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Reply>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new invocation id, unique across servers as .NET makes them (16 random bytes,
    /// base64 without padding: 22 characters), registered as awaited.
    pub(crate) fn register(&self) -> Awaiting<'_> {
        let invocation_id =
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(rand::random::<[u8; 16]>());
        let (tx, reply) = oneshot::channel();
        self.lock().insert(invocation_id.clone(), tx);
        Awaiting {
            table: self,
            invocation_id,
            reply,
        }
    }

    /// Resolves an awaited result with the Completion another server sent back.
    pub(crate) fn complete(&self, invocation_id: &str, outcome: CompletionOutcome) -> bool {
        let Some(reply) = self.lock().remove(invocation_id) else {
            return false;
        };
        let result = match outcome {
            CompletionOutcome::Result(raw) => Ok(raw),
            CompletionOutcome::Error(text) if text == DISCONNECTED => {
                Err(ClientResultError::Disconnected)
            }
            CompletionOutcome::Error(text) => Err(ClientResultError::Client(text)),
            CompletionOutcome::Void => Err(ClientResultError::Client(
                "the client sent no result".to_owned(),
            )),
        };
        let _ = reply.send(result);
        true
    }
}

#[derive(Debug)]
struct Forwarded {
    connection_id: Arc<str>,
    return_channel: String,
}

/// Client results other servers await from this server's connections: where each
/// Completion must go back to.
#[derive(Debug, Default)]
pub(crate) struct ForwardedResults {
    pending: Mutex<HashMap<String, Forwarded>>,
}

impl ForwardedResults {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Forwarded>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn register(
        &self,
        invocation_id: String,
        connection_id: Arc<str>,
        return_channel: String,
    ) {
        self.lock().insert(
            invocation_id,
            Forwarded {
                connection_id,
                return_channel,
            },
        );
    }

    /// The return channel of a result `connection_id` just answered, if another server
    /// awaits it.
    pub(crate) fn take(&self, connection_id: &str, invocation_id: &str) -> Option<String> {
        let mut table = self.lock();
        let matches = table
            .get(invocation_id)
            .is_some_and(|f| &*f.connection_id == connection_id);
        if !matches {
            return None;
        }
        table.remove(invocation_id).map(|f| f.return_channel)
    }

    /// Every result still awaited from a connection that ended, with its return channel.
    pub(crate) fn take_connection(&self, connection_id: &str) -> Vec<(String, String)> {
        let mut table = self.lock();
        let ids: Vec<String> = table
            .iter()
            .filter(|(_, f)| &*f.connection_id == connection_id)
            .map(|(id, _)| id.clone())
            .collect();
        ids.into_iter()
            .filter_map(|id| table.remove(&id).map(|f| (id, f.return_channel)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signalr_core::protocol::HubProtocol;

    #[test]
    fn invocation_ids_are_22_characters_and_distinct() {
        let results = RemoteResults::default();
        let a = results.register();
        let b = results.register();
        assert_eq!(a.invocation_id.len(), 22);
        assert_ne!(a.invocation_id, b.invocation_id);
    }

    #[tokio::test]
    async fn a_result_reaches_its_waiter_once_and_a_dropped_waiter_is_forgotten() {
        let results = RemoteResults::default();
        let waiting = results.register();
        let raw = RawValue::new(HubProtocol::Json, bytes::Bytes::from_static(b"42"));
        assert!(results.complete(
            &waiting.invocation_id,
            CompletionOutcome::Result(raw.clone())
        ));
        assert!(!results.complete(&waiting.invocation_id, CompletionOutcome::Void));
        let Awaiting { reply, .. } = &mut { waiting };
        assert_eq!(reply.await.unwrap().unwrap(), raw);
        let dropped = results.register();
        let id = dropped.invocation_id.clone();
        drop(dropped);
        assert!(!results.complete(&id, CompletionOutcome::Void));
        let gone = results.register();
        let id = gone.invocation_id.clone();
        results.complete(&id, CompletionOutcome::Error(DISCONNECTED.to_owned()));
        let Awaiting { reply, .. } = &mut { gone };
        assert!(matches!(
            reply.await.unwrap(),
            Err(ClientResultError::Disconnected)
        ));
    }

    #[test]
    fn forwarded_results_answer_only_their_own_connection() {
        let forwarded = ForwardedResults::default();
        forwarded.register("i1".into(), "c1".into(), "ret".into());
        forwarded.register("i2".into(), "c1".into(), "ret2".into());
        assert_eq!(forwarded.take("c2", "i1"), None);
        assert_eq!(forwarded.take("c1", "i1").as_deref(), Some("ret"));
        assert_eq!(forwarded.take("c1", "i1"), None);
        assert_eq!(
            forwarded.take_connection("c1"),
            vec![("i2".to_owned(), "ret2".to_owned())]
        );
        assert!(forwarded.take_connection("c1").is_empty());
    }
}

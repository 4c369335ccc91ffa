//! What happens to hub calls still running when their connection ends: they are dropped
//! at their next `.await` (their Completion could not be delivered anyway), and
//! `Ctx::connection_closed()` tells a call that wants to know sooner.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
use common::http::serve;
use common::invocation;
use common::ws::Client;

use signalr::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[signalr::hub]
pub trait Work {
    async fn long_job(&self, cx: &Ctx) -> u32;
}

#[derive(Default)]
struct Counters {
    started: AtomicUsize,
    finished: AtomicUsize,
    saw_close: AtomicUsize,
}

struct Hub(Arc<Counters>);

impl Work for Hub {
    async fn long_job(&self, cx: &Ctx) -> u32 {
        self.0.started.fetch_add(1, Ordering::SeqCst);
        let closed = cx.connection_closed();
        let watcher = self.0.clone();
        tokio::spawn(async move {
            closed.cancelled().await;
            watcher.saw_close.fetch_add(1, Ordering::SeqCst);
        });
        tokio::time::sleep(Duration::from_millis(800)).await;
        self.0.finished.fetch_add(1, Ordering::SeqCst);
        1
    }
}

#[tokio::test]
async fn a_call_still_running_when_its_client_leaves_is_dropped_and_its_close_token_fires() {
    let counters = Arc::new(Counters::default());
    let addr = serve(Hub(counters.clone()).into_server()).await;
    let mut client = Client::json(addr).await;
    client
        .send_text(&invocation(Some("1"), "LongJob", "[]"))
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(counters.started.load(Ordering::SeqCst), 1);
    // The client leaves mid-call.
    client.send_text("{\"type\":7}\x1e").await;
    drop(client);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        counters.saw_close.load(Ordering::SeqCst),
        1,
        "connection_closed() fired"
    );
    assert_eq!(
        counters.finished.load(Ordering::SeqCst),
        0,
        "the call was dropped, not run to its end"
    );
}

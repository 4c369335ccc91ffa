//! The Long Polling transport: each GET waits for the bytes the application wrote.

use crate::connection::HttpConnection;
use crate::connection::PipeReceiver;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Most bytes one poll answers with; more wait for the next poll.
const MAX_POLL_BYTES: usize = 1 << 20;

/// A Long Polling connection's side of the outgoing pipe, shared by its polls.
#[derive(Debug)]
pub(crate) struct LongPoll {
    outbound: tokio::sync::Mutex<PipeReceiver>,
    /// The poll currently waiting: its number and the token that replaces it.
    current: Mutex<(u64, Option<CancellationToken>)>,
}

impl LongPoll {
    pub(crate) fn new(outbound: PipeReceiver) -> Self {
        LongPoll {
            outbound: tokio::sync::Mutex::new(outbound),
            current: Mutex::new((0, None)),
        }
    }

    fn current(&self) -> std::sync::MutexGuard<'_, (u64, Option<CancellationToken>)> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn no_cache(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store"),
    );
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::EXPIRES,
        HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"),
    );
    response
}

/// The answer to a connection's first poll: 200, empty, at once.
pub(crate) fn first_poll() -> Response {
    no_cache(
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/octet-stream")],
            Bytes::new(),
        )
            .into_response(),
    )
}

fn data(body: Bytes) -> Response {
    no_cache(
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/octet-stream")],
            body,
        )
            .into_response(),
    )
}

fn ended() -> Response {
    no_cache(StatusCode::NO_CONTENT.into_response())
}

fn timed_out() -> Response {
    no_cache(
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain")],
            Bytes::new(),
        )
            .into_response(),
    )
}

/// Appends every chunk queued right now to `body`, up to [`MAX_POLL_BYTES`].
fn drain(outbound: &mut PipeReceiver, body: &mut BytesMut) {
    while body.len() < MAX_POLL_BYTES {
        match outbound.try_recv() {
            Some(chunk) => body.extend_from_slice(&chunk),
            None => break,
        }
    }
}

/// Answers one poll: the queued bytes (200), nothing after `timeout` (200, empty), or the
/// end of the connection or replacement by a newer poll (204). The flag is set when the
/// answer told the client the connection ended, so it can be removed.
pub(crate) async fn poll(
    connection: &HttpConnection,
    long_poll: &Arc<LongPoll>,
    timeout: Duration,
) -> (Response, bool) {
    let replaced = CancellationToken::new();
    let number = {
        let mut current = long_poll.current();
        if let Some(previous) = current.1.replace(replaced.clone()) {
            previous.cancel();
        }
        current.0 += 1;
        current.0
    };
    connection.set_active(true);
    // Ends the poll's activity however it ends, also when hyper drops this future because
    // the client closed its TCP connection mid-poll: the connection then counts as without
    // a transport, and the sweep disposes it after the disconnect timeout.
    let _ended = PollEnded {
        connection,
        long_poll,
        number,
    };
    let closed = connection.shared.closed.clone();
    let response = async {
        let mut outbound = tokio::select! {
            outbound = long_poll.outbound.lock() => outbound,
            () = replaced.cancelled() => return (ended(), false),
        };
        let mut body = BytesMut::new();
        tokio::select! {
            biased;
            () = replaced.cancelled() => return (ended(), false),
            () = closed.cancelled() => {
                // The application may have queued a last message (its Close) before ending.
                drain(&mut outbound, &mut body);
                if body.is_empty() {
                    return (ended(), true);
                }
                return (data(body.freeze()), false);
            }
            chunk = outbound.recv() => match chunk {
                Some(chunk) => body.extend_from_slice(&chunk),
                None => return (ended(), true),
            },
            () = tokio::time::sleep(timeout) => return (timed_out(), false),
        }
        drain(&mut outbound, &mut body);
        (data(body.freeze()), false)
    }
    .await;
    response
}

/// Marks the end of poll number `number`, unless a newer poll replaced it.
struct PollEnded<'a> {
    connection: &'a HttpConnection,
    long_poll: &'a LongPoll,
    number: u64,
}

impl Drop for PollEnded<'_> {
    fn drop(&mut self) {
        let mut current = self.long_poll.current();
        if current.0 == self.number {
            current.1 = None;
            self.connection.set_active(false);
        }
    }
}

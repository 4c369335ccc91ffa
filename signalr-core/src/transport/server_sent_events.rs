//! The Server-Sent Events transport: a streamed `text/event-stream` response, text only.

use crate::connection::HttpConnection;
use crate::connection::PipeReceiver;
use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::{BufMut, Bytes, BytesMut};
use std::convert::Infallible;
use tokio_util::sync::CancellationToken;

/// Formats one chunk of application bytes as one SSE event: every line becomes a `data:`
/// line (a `\r` before a `\n` is dropped), and an empty line ends the event.
pub(crate) fn format_event(chunk: &[u8]) -> Bytes {
    let mut event = BytesMut::with_capacity(chunk.len() + 16);
    for line in chunk.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        event.put_slice(b"data: ");
        event.put_slice(line);
        event.put_slice(b"\r\n");
    }
    event.put_slice(b"\r\n");
    event.freeze()
}

/// Ends the connection when the response stream is dropped (the client went away).
struct DisposeOnDrop(Option<Box<dyn FnOnce() + Send>>);

impl Drop for DisposeOnDrop {
    fn drop(&mut self) {
        if let Some(dispose) = self.0.take() {
            dispose();
        }
    }
}

/// Where the event stream is.
struct EventStream {
    outbound: PipeReceiver,
    closed: CancellationToken,
    started: bool,
    draining: bool,
    _dispose: DisposeOnDrop,
}

impl EventStream {
    async fn next(&mut self) -> Option<Bytes> {
        if !self.started {
            // Some EventSource implementations fire `open` only once bytes arrive.
            self.started = true;
            return Some(Bytes::from_static(b":\r\n"));
        }
        let chunk = if self.draining {
            self.outbound.try_recv()
        } else {
            tokio::select! {
                biased;
                chunk = self.outbound.recv() => chunk,
                () = self.closed.cancelled() => {
                    // Flush what the application queued before it closed (its Close message).
                    self.draining = true;
                    self.outbound.try_recv()
                }
            }
        };
        chunk.map(|chunk| format_event(&chunk))
    }
}

/// The streamed response: the `:` comment first, then one event per chunk. `dispose` runs
/// when the response ends or the client goes away.
pub(crate) fn response(
    connection: &HttpConnection,
    outbound: PipeReceiver,
    dispose: impl FnOnce() + Send + 'static,
) -> Response {
    let state = EventStream {
        outbound,
        closed: connection.shared.closed.clone(),
        started: false,
        draining: false,
        _dispose: DisposeOnDrop(Some(Box::new(dispose))),
    };
    let stream = futures_util::stream::unfold(state, |mut state| async move {
        let event = state.next().await?;
        Some((Ok::<_, Infallible>(event), state))
    });
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache,no-store"),
    );
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::format_event;

    #[test]
    fn a_chunk_without_line_feeds_is_one_data_line() {
        assert_eq!(
            &format_event(b"{\"type\":6}\x1e")[..],
            b"data: {\"type\":6}\x1e\r\n\r\n"
        );
    }

    #[test]
    fn line_feeds_split_data_lines_and_drop_carriage_returns() {
        assert_eq!(
            &format_event(b"a\r\nb\nc")[..],
            b"data: a\r\ndata: b\r\ndata: c\r\n\r\n"
        );
    }
}

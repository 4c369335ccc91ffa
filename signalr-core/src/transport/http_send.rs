//! `POST {path}?id=...`: client-to-server bytes for Server-Sent Events and Long Polling.

use super::plain_text as text;
use crate::connection::HttpConnection;
use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;

/// Copies the whole body into the connection's input: 200 once queued, 413 when larger
/// than `limit`, 400 when the body could not be read, 404 when the connection ended, 409
/// while another send of the same connection is in progress.
pub(crate) async fn send(connection: &HttpConnection, body: Body, limit: usize) -> Response {
    // As the protocol says: a second outstanding POST is refused, the connection stays.
    // (Official clients never overlap their sends.)
    let Some(_sending) = connection.begin_send() else {
        return text(
            StatusCode::CONFLICT,
            "Another send is already in progress for this connection.",
        );
    };
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(e) => {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
            return if too_large {
                text(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large")
            } else {
                text(StatusCode::BAD_REQUEST, "Failed to read the request body")
            };
        }
    };
    if bytes.is_empty() {
        return text(StatusCode::OK, "");
    }
    let closed = connection.shared.closed.clone();
    tokio::select! {
        sent = connection.inbound_tx.send(bytes) => match sent {
            Ok(()) => text(StatusCode::OK, ""),
            Err(_) => text(StatusCode::NOT_FOUND, "No Connection with that ID"),
        },
        () = closed.cancelled() => text(StatusCode::NOT_FOUND, "No Connection with that ID"),
    }
}

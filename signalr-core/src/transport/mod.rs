//! The HTTP transports that carry a connection's bytes.
//!
//! WebSockets is full duplex. Server-Sent Events and Long Polling carry server-to-client
//! bytes; their client-to-server bytes arrive as HTTP POSTs. Each transport moves bytes
//! between the network and a connection's pipes; which request goes to which transport is
//! the endpoint's business.

pub(crate) mod http_send;
pub(crate) mod long_polling;
pub(crate) mod server_sent_events;
pub(crate) mod websockets;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// A `text/plain` response with a fixed body, as the .NET server writes its refusals.
pub(crate) fn plain_text(status: StatusCode, body: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain")], body).into_response()
}

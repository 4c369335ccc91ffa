//! Routes the HTTP requests of one endpoint: negotiate, transport connects, sends, deletes.

use super::manager::{ClaimError, ConnectionManager, HttpConnection};
use super::negotiate::{negotiate, query_param};
use super::options::{HttpConnectionOptions, TransportType};
use super::ConnectionHandler;
use crate::transport::websockets;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequestParts, Request};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use std::sync::Arc;

/// One connection endpoint: a handler, its options and its connections
/// (modelling .NET's `HttpConnectionDispatcher`).
///
/// ```no_run
/// use signalr_core::connection::{ConnectionContext, ConnectionHandler, HttpConnectionDispatcher};
/// # struct Echo;
/// # impl ConnectionHandler for Echo {
/// #     async fn on_connected(&self, _c: ConnectionContext) {}
/// # }
/// let app: axum::Router = HttpConnectionDispatcher::new(Echo, Default::default()).router("/echo");
/// ```
#[derive(Debug)]
pub struct HttpConnectionDispatcher<H> {
    inner: Arc<Inner<H>>,
}

#[derive(Debug)]
struct Inner<H> {
    handler: Arc<H>,
    options: HttpConnectionOptions,
    manager: Arc<ConnectionManager>,
}

impl<H> Clone for HttpConnectionDispatcher<H> {
    fn clone(&self) -> Self {
        HttpConnectionDispatcher {
            inner: self.inner.clone(),
        }
    }
}

pub(crate) fn text(status: StatusCode, body: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain")], body).into_response()
}

impl<H: ConnectionHandler> HttpConnectionDispatcher<H> {
    /// An endpoint running `handler` for every connection.
    pub fn new(handler: H, options: HttpConnectionOptions) -> Self {
        Self::from_arc(Arc::new(handler), options)
    }

    /// Like [`new`](Self::new), sharing an existing handler.
    pub fn from_arc(handler: Arc<H>, options: HttpConnectionOptions) -> Self {
        HttpConnectionDispatcher {
            inner: Arc::new(Inner {
                handler,
                options,
                manager: Arc::new(ConnectionManager::default()),
            }),
        }
    }

    /// The endpoint's options.
    pub fn options(&self) -> &HttpConnectionOptions {
        &self.inner.options
    }

    /// Number of connections currently negotiated or connected.
    pub fn connection_count(&self) -> usize {
        self.inner.manager.len()
    }

    /// An axum router serving the endpoint at `path` (and `path/negotiate`).
    pub fn router<S: Clone + Send + Sync + 'static>(self, path: &str) -> Router<S> {
        let path = path.trim_end_matches('/');
        let negotiate_path = format!("{path}/negotiate");
        let connect_path = if path.is_empty() { "/" } else { path };
        let for_negotiate = self.clone();
        Router::new()
            .route(
                &negotiate_path,
                any(move |request: Request| {
                    let this = for_negotiate.clone();
                    async move { this.negotiate(request) }
                }),
            )
            .route(
                connect_path,
                any(move |request: Request| {
                    let this = self.clone();
                    async move { this.connection_request(request).await }
                }),
            )
    }

    fn negotiate(&self, request: Request) -> Response {
        if request.method() != Method::POST {
            return text(StatusCode::METHOD_NOT_ALLOWED, "");
        }
        negotiate(
            &self.inner.manager,
            &self.inner.options,
            request.uri().query(),
        )
    }

    async fn connection_request(&self, request: Request) -> Response {
        let token = query_param(request.uri().query(), "id").filter(|id| !id.is_empty());
        match *request.method() {
            Method::GET | Method::CONNECT => self.connect(request, token).await,
            Method::POST => {
                let Some(connection) = self.lookup(token.as_deref()) else {
                    return self.missing(token.as_deref());
                };
                match connection.transport() {
                    Some(TransportType::WebSockets) => text(
                        StatusCode::METHOD_NOT_ALLOWED,
                        "POST requests are not allowed for WebSocket connections.",
                    ),
                    _ => text(
                        StatusCode::BAD_REQUEST,
                        "No transport that accepts POST requests is connected.",
                    ),
                }
            }
            Method::DELETE => {
                let Some(_connection) = self.lookup(token.as_deref()) else {
                    return self.missing(token.as_deref());
                };
                text(
                    StatusCode::BAD_REQUEST,
                    "Cannot terminate this connection using the DELETE endpoint.",
                )
            }
            _ => text(StatusCode::METHOD_NOT_ALLOWED, ""),
        }
    }

    fn lookup(&self, token: Option<&str>) -> Option<Arc<HttpConnection>> {
        self.inner.manager.get(token?)
    }

    fn missing(&self, token: Option<&str>) -> Response {
        match token {
            None => text(StatusCode::BAD_REQUEST, "Connection ID required"),
            Some(_) => text(StatusCode::NOT_FOUND, "No Connection with that ID"),
        }
    }

    async fn connect(&self, request: Request, token: Option<String>) -> Response {
        let (mut parts, _body) = request.into_parts();
        let upgrade = WebSocketUpgrade::from_request_parts(&mut parts, &()).await;
        let Ok(upgrade) = upgrade else {
            let sse = parts
                .headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/event-stream"));
            return if sse {
                text(
                    StatusCode::NOT_FOUND,
                    "ServerSentEvents transport not supported by this end point type",
                )
            } else if token.is_none() {
                text(StatusCode::BAD_REQUEST, "Connection ID required")
            } else {
                text(
                    StatusCode::NOT_FOUND,
                    "LongPolling transport not supported by this end point type",
                )
            };
        };
        if !self
            .inner
            .options
            .transports
            .contains(TransportType::WebSockets)
        {
            return text(
                StatusCode::NOT_FOUND,
                "WebSockets transport not supported by this end point type",
            );
        }
        let connection = match token {
            // skipNegotiation: a brand-new connection, id doubling as token.
            None => self.inner.manager.create(0, &self.inner.options),
            Some(token) => match self.inner.manager.get(&token) {
                Some(connection) => connection,
                None => return text(StatusCode::NOT_FOUND, "No Connection with that ID"),
            },
        };
        let claimed = match connection.claim(TransportType::WebSockets, parts) {
            Ok(claimed) => claimed,
            Err(ClaimError::TransportChanged) => {
                return text(
                    StatusCode::BAD_REQUEST,
                    "Cannot change transports mid-connection",
                )
            }
            Err(ClaimError::AlreadyConnected) => return text(StatusCode::CONFLICT, ""),
        };
        let options = &self.inner.options;
        let upgrade = upgrade
            .read_buffer_size(websockets::READ_BUFFER_SIZE)
            .write_buffer_size(0)
            .max_message_size(options.websocket_max_message_size)
            .max_frame_size(options.websocket_max_message_size);
        let manager = self.inner.manager.clone();
        let failed_manager = manager.clone();
        let failed_token = connection.token.clone();
        let handler = self.inner.handler.clone();
        let close_timeout = options.websocket_close_timeout;
        upgrade
            .on_failed_upgrade(move |_| failed_manager.remove(&failed_token))
            .on_upgrade(move |socket| async move {
                let application = claimed.application;
                let token = connection.token.clone();
                let handler_manager = manager.clone();
                let handler_token = token.clone();
                tokio::spawn(async move {
                    handler.on_connected(application).await;
                    handler_manager.remove(&handler_token);
                });
                websockets::run(socket, &connection, claimed.outbound_rx, close_timeout).await;
                manager.remove(&token);
            })
    }
}

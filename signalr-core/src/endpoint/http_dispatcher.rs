//! Routes the HTTP requests of one endpoint: negotiate, transport connects, sends, deletes.

use super::connections::{Connections, EndpointConnection};
use super::in_memory::{InMemoryConnectError, InMemoryConnection};
use super::negotiate::{negotiate, refusal};
use super::one_task;
use super::query::query_param;
use crate::connection::{
    ClaimError, ConnectionContext, ConnectionHandler, HttpConnection, HttpConnectionOptions,
    TransportType,
};
use crate::transport::long_polling::{self, LongPoll};
use crate::transport::plain_text as text;
use crate::transport::{http_send, server_sent_events, websockets};
use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use std::sync::Arc;

/// One connection endpoint: a handler, its options and its connections
/// (modelling .NET's `HttpConnectionDispatcher`).
///
/// ```no_run
/// use signalr_core::connection::{ConnectionContext, ConnectionHandler};
/// use signalr_core::endpoint::HttpConnectionDispatcher;
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

struct Inner<H> {
    handler: Arc<H>,
    options: HttpConnectionOptions,
    connections: Arc<Connections>,
    authorizer: Option<Arc<dyn RequestAuthorizer>>,
}

impl<H: std::fmt::Debug> std::fmt::Debug for Inner<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("handler", &self.handler)
            .field("options", &self.options)
            .field("connections", &self.connections)
            .field("authorizer", &self.authorizer.is_some())
            .finish()
    }
}

/// Decides, before negotiate and before every transport request (connect, send, poll,
/// delete), whether a request may reach the endpoint: the hook `#[authorize]` on a hub
/// uses. It sees the request after the layers in front of the endpoint (authentication)
/// ran.
pub trait RequestAuthorizer: Send + Sync + 'static {
    /// `Ok` lets the request through; `Err(status)` answers it with `status` (`401` for
    /// a missing identity, `403` for one that may not connect).
    fn authorize(&self, request: &Parts) -> Result<(), StatusCode>;
}

impl<H> Clone for HttpConnectionDispatcher<H> {
    fn clone(&self) -> Self {
        HttpConnectionDispatcher {
            inner: self.inner.clone(),
        }
    }
}

impl<H: ConnectionHandler> HttpConnectionDispatcher<H> {
    /// An endpoint running `handler` for every connection.
    pub fn new(handler: H, options: HttpConnectionOptions) -> Self {
        Self::from_arc(Arc::new(handler), options)
    }

    /// Like [`new`](Self::new), sharing an existing handler.
    pub fn from_arc(handler: Arc<H>, options: HttpConnectionOptions) -> Self {
        Self::build(handler, options, None)
    }

    /// Like [`from_arc`](Self::from_arc), with every request checked by `authorizer`
    /// first.
    pub fn with_authorizer(
        handler: Arc<H>,
        options: HttpConnectionOptions,
        authorizer: Arc<dyn RequestAuthorizer>,
    ) -> Self {
        Self::build(handler, options, Some(authorizer))
    }

    fn build(
        handler: Arc<H>,
        options: HttpConnectionOptions,
        authorizer: Option<Arc<dyn RequestAuthorizer>>,
    ) -> Self {
        HttpConnectionDispatcher {
            inner: Arc::new(Inner {
                handler,
                options: options.bounded(),
                connections: Arc::new(Connections::default()),
                authorizer,
            }),
        }
    }

    /// The request back when the authorizer lets it through, else the answer refusing it.
    fn refused_by_authorizer(&self, request: Request) -> Result<Request, Box<Response>> {
        let Some(authorizer) = &self.inner.authorizer else {
            return Ok(request);
        };
        let (parts, body) = request.into_parts();
        match authorizer.authorize(&parts) {
            Ok(()) => Ok(Request::from_parts(parts, body)),
            Err(StatusCode::UNAUTHORIZED) => Err(Box::new(
                (
                    StatusCode::UNAUTHORIZED,
                    [
                        (header::WWW_AUTHENTICATE, "Bearer"),
                        (header::CONTENT_TYPE, "text/plain"),
                    ],
                    "Authentication is required to connect to this hub.",
                )
                    .into_response(),
            )),
            Err(status) => Err(Box::new(
                (
                    status,
                    [(header::CONTENT_TYPE, "text/plain")],
                    "The authenticated user may not connect to this hub.",
                )
                    .into_response(),
            )),
        }
    }

    /// The endpoint's options.
    pub fn options(&self) -> &HttpConnectionOptions {
        &self.inner.options
    }

    /// Number of connections currently negotiated or connected.
    pub fn connection_count(&self) -> usize {
        self.inner.connections.len()
    }

    /// A connection with no network in between (see [`InMemoryConnection`]), for tests
    /// and benchmarks: it runs the handler exactly as a WebSocket connection would, on a
    /// request with `request`'s method, URI, headers and extensions (the endpoint's
    /// authorizer sees them first). Call it inside a Tokio runtime.
    pub fn connect_in_memory(
        &self,
        request: Parts,
    ) -> Result<InMemoryConnection, InMemoryConnectError> {
        if let Some(authorizer) = &self.inner.authorizer {
            authorizer
                .authorize(&request)
                .map_err(InMemoryConnectError::Refused)?;
        }
        let connection = self
            .inner
            .connections
            .create(1, &self.inner.options, false)?;
        let claimed = connection
            .claim(TransportType::WebSockets, request)
            .expect("a connection created just now has no transport yet");
        self.inner.connections.claimed(&connection);
        self.start_application(&connection, claimed.application);
        Ok(InMemoryConnection::new(
            connection,
            self.inner.connections.clone(),
            claimed.outbound_rx,
        ))
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
        let request = match self.refused_by_authorizer(request) {
            Ok(request) => request,
            Err(refused) => return *refused,
        };
        if let Some(refused) = self.refused_origin(request.headers()) {
            return refused;
        }
        negotiate(
            &self.inner.connections,
            &self.inner.options,
            request.uri().query(),
        )
    }

    async fn connection_request(&self, request: Request) -> Response {
        let request = match self.refused_by_authorizer(request) {
            Ok(request) => request,
            Err(refused) => return *refused,
        };
        let token = query_param(request.uri().query(), "id").filter(|id| !id.is_empty());
        match *request.method() {
            Method::GET | Method::CONNECT => self.connect(request, token).await,
            Method::POST => {
                let Some(connection) = self.lookup(token.as_deref()) else {
                    return self.missing(token.as_deref());
                };
                if connection.transport() == Some(TransportType::WebSockets) {
                    return text(
                        StatusCode::METHOD_NOT_ALLOWED,
                        "POST requests are not allowed for WebSocket connections.",
                    );
                }
                let limit = self.inner.options.maximum_send_body_size;
                http_send::send(&connection, request.into_body(), limit).await
            }
            Method::DELETE => {
                let Some(connection) = self.lookup(token.as_deref()) else {
                    return self.missing(token.as_deref());
                };
                if connection.transport() != Some(TransportType::LongPolling) {
                    return text(
                        StatusCode::BAD_REQUEST,
                        "Cannot terminate this connection using the DELETE endpoint.",
                    );
                }
                self.inner.connections.remove(&connection.token);
                text(StatusCode::ACCEPTED, "")
            }
            _ => text(StatusCode::METHOD_NOT_ALLOWED, ""),
        }
    }

    fn lookup(&self, token: Option<&str>) -> Option<Arc<EndpointConnection>> {
        self.inner.connections.get(token?)
    }

    fn missing(&self, token: Option<&str>) -> Response {
        match token {
            None => text(StatusCode::BAD_REQUEST, "Connection ID required"),
            Some(_) => text(StatusCode::NOT_FOUND, "No Connection with that ID"),
        }
    }

    /// Runs the handler on a claimed connection in a task of its own; the connection is
    /// disposed when it ends.
    fn start_application(&self, connection: &HttpConnection, application: ConnectionContext) {
        tokio::spawn(self.application(connection, application));
    }

    /// The handler's run on a claimed connection, after which the connection is disposed.
    fn application(
        &self,
        connection: &HttpConnection,
        application: ConnectionContext,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let handler = self.inner.handler.clone();
        let connections = self.inner.connections.clone();
        let token = connection.token.clone();
        let closed = connection.shared.closed.clone();
        let long_polling = connection.transport() == Some(TransportType::LongPolling);
        async move {
            let run = std::panic::AssertUnwindSafe(handler.on_connected(application));
            if futures_util::FutureExt::catch_unwind(run).await.is_err() {
                tracing::error!("a connection handler panicked; the connection is closed");
            }
            if long_polling {
                // What the application queued last (its Close message) waits for the next
                // poll, which then answers 204 and removes the connection; the sweep
                // removes it if no poll comes.
                closed.cancel();
            } else {
                connections.remove(&token);
            }
        }
    }

    /// `403` for a request from a browser origin the endpoint does not allow.
    fn refused_origin(&self, headers: &axum::http::HeaderMap) -> Option<Response> {
        let origin = headers.get(header::ORIGIN);
        if self.inner.options.allowed_origins.allows(origin) {
            return None;
        }
        let shown = origin
            .and_then(|origin| origin.to_str().ok())
            .unwrap_or("(not text)");
        tracing::debug!(
            origin = shown,
            "refused a request from an origin that is not allowed"
        );
        let body = format!("The origin '{shown}' is not allowed to connect to this endpoint.");
        Some(
            (
                StatusCode::FORBIDDEN,
                [(header::CONTENT_TYPE, "text/plain")],
                body,
            )
                .into_response(),
        )
    }

    /// The answer to a transport request that could not bind its connection.
    fn refused(error: ClaimError) -> Response {
        match error {
            ClaimError::TransportChanged => text(
                StatusCode::BAD_REQUEST,
                "Cannot change transports mid-connection",
            ),
            ClaimError::AlreadyConnected => text(StatusCode::CONFLICT, ""),
            ClaimError::Disposed => text(StatusCode::NOT_FOUND, "No Connection with that ID"),
        }
    }

    fn not_enabled(transport: TransportType) -> Response {
        let body = match transport {
            TransportType::WebSockets => {
                "WebSockets transport not supported by this end point type"
            }
            TransportType::ServerSentEvents => {
                "ServerSentEvents transport not supported by this end point type"
            }
            TransportType::LongPolling => {
                "LongPolling transport not supported by this end point type"
            }
        };
        text(StatusCode::NOT_FOUND, body)
    }

    async fn connect(&self, request: Request, token: Option<String>) -> Response {
        let (mut parts, _body) = request.into_parts();
        let upgrade = websockets::upgrade_request(&mut parts);
        if upgrade.is_some() {
            if let Some(refused) = self.refused_origin(&parts.headers) {
                return refused;
            }
        }
        let transport = match &upgrade {
            Some(_) => TransportType::WebSockets,
            None if accepts_event_stream(&parts) => TransportType::ServerSentEvents,
            None => TransportType::LongPolling,
        };
        if !self.inner.options.transports.contains(transport) {
            return Self::not_enabled(transport);
        }
        let connection = match (&token, transport) {
            // skipNegotiation: a brand-new connection, id doubling as token.
            (None, TransportType::WebSockets) => {
                match self.inner.connections.create(0, &self.inner.options, false) {
                    Ok(connection) => connection,
                    Err(refused) => return refusal(refused),
                }
            }
            (token, _) => match self.lookup(token.as_deref()) {
                Some(connection) => connection,
                None => return self.missing(token.as_deref()),
            },
        };
        match (upgrade, transport) {
            (Some(upgrade), _) => self.connect_websocket(upgrade, connection, parts).await,
            (None, TransportType::ServerSentEvents) => self.connect_sse(connection, parts),
            (None, _) => self.long_poll(connection, parts).await,
        }
    }

    async fn connect_websocket(
        &self,
        upgrade: websockets::Upgrade,
        connection: Arc<EndpointConnection>,
        parts: Parts,
    ) -> Response {
        if connection.transport() == Some(TransportType::WebSockets) {
            return self.reconnect_websocket(upgrade, connection).await;
        }
        let claimed = match connection.claim(TransportType::WebSockets, parts) {
            Ok(claimed) => claimed,
            Err(error) => return Self::refused(error),
        };
        self.inner.connections.claimed(&connection);
        let response = upgrade.response();
        let this = self.clone();
        // Both boxed until they are used: the task keeps room for what its block
        // captured for the connection's whole life, and they are used once, at its start.
        let socket = Box::pin(upgrade.socket(self.inner.options.websocket_max_message_size));
        let application = Box::new(claimed.application);
        tokio::spawn(async move {
            let Some(socket) = socket.await.map(websockets::boxed) else {
                tracing::debug!("the WebSocket upgrade did not complete");
                this.inner.connections.remove(&connection.token);
                return;
            };
            // The application and its first WebSocket share this task: every record
            // crosses between them without a trip through the scheduler. (A WebSocket
            // that resumes the connection later runs in its own.) The socket is polled
            // first, so that what the client sent with the upgrade (its handshake) is in
            // the pipe when the application starts.
            let application = this.application(&connection, *application);
            let outbound = claimed.outbound_rx;
            let transport = this.carry(socket, connection, outbound, claimed.superseded);
            one_task::BothInOneTask::new(transport, application).await;
        });
        response
    }

    /// Stateful reconnect: a new WebSocket for a connection that has (or had) one. It
    /// takes the connection over, replaying what the client has not acknowledged; the
    /// application goes on as if nothing happened.
    async fn reconnect_websocket(
        &self,
        upgrade: websockets::Upgrade,
        connection: Arc<EndpointConnection>,
    ) -> Response {
        let wait = self.inner.options.websocket_close_timeout;
        let taken = match connection.take_over(wait).await {
            Ok(taken) => taken,
            Err(error) => return Self::refused(error),
        };
        let response = upgrade.response();
        let this = self.clone();
        let max_message_size = self.inner.options.websocket_max_message_size;
        tokio::spawn(async move {
            match upgrade
                .socket(max_message_size)
                .await
                .map(websockets::boxed)
            {
                Some(socket) => {
                    tracing::debug!("a stateful connection resumed on a new WebSocket");
                    this.carry(
                        socket,
                        connection,
                        taken.outbound_rx,
                        Some(taken.superseded),
                    )
                    .await;
                }
                None => {
                    let timeout = this.inner.options.disconnect_timeout;
                    this.inner
                        .connections
                        .park(&connection, taken.outbound_rx, timeout);
                }
            }
        });
        response
    }

    /// Runs one WebSocket of a connection; when it ends, so does the connection, unless
    /// it waits for the next WebSocket (stateful reconnect).
    async fn carry(
        &self,
        socket: websockets::BoxedSocket,
        connection: Arc<EndpointConnection>,
        outbound: crate::connection::PipeReceiver,
        superseded: Option<tokio_util::sync::CancellationToken>,
    ) {
        let options = &self.inner.options;
        let ended = websockets::run(
            socket,
            &connection,
            outbound,
            options.websocket_close_timeout,
            superseded,
        )
        .await;
        match ended {
            websockets::Ended::Closed => self.inner.connections.remove(&connection.token),
            websockets::Ended::Dropped(outbound) => {
                self.inner
                    .connections
                    .park(&connection, outbound, options.disconnect_timeout);
            }
        }
    }

    fn connect_sse(&self, connection: Arc<EndpointConnection>, parts: Parts) -> Response {
        let claimed = match connection.claim(TransportType::ServerSentEvents, parts) {
            Ok(claimed) => claimed,
            Err(error) => return Self::refused(error),
        };
        self.inner.connections.claimed(&connection);
        self.start_application(&connection, claimed.application);
        let connections = self.inner.connections.clone();
        let token = connection.token.clone();
        server_sent_events::response(&connection, claimed.outbound_rx, move || {
            connections.remove(&token)
        })
    }

    async fn long_poll(&self, connection: Arc<EndpointConnection>, parts: Parts) -> Response {
        let long_poll = match connection.transport() {
            None => {
                let claimed = match connection.claim(TransportType::LongPolling, parts) {
                    Ok(claimed) => claimed,
                    Err(error) => return Self::refused(error),
                };
                self.inner.connections.claimed(&connection);
                connection.set_long_poll(Arc::new(LongPoll::new(claimed.outbound_rx)));
                self.start_application(&connection, claimed.application);
                connection.set_active(false);
                return long_polling::first_poll();
            }
            Some(TransportType::LongPolling) => match connection.long_poll() {
                Some(long_poll) => long_poll,
                None => return text(StatusCode::NOT_FOUND, "No Connection with that ID"),
            },
            Some(_) => {
                return text(
                    StatusCode::BAD_REQUEST,
                    "Cannot change transports mid-connection",
                )
            }
        };
        let (response, ended) = long_polling::poll(
            &connection,
            &long_poll,
            self.inner.options.long_poll_timeout,
        )
        .await;
        if ended {
            self.inner.connections.remove(&connection.token);
        }
        response
    }
}

fn accepts_event_stream(parts: &Parts) -> bool {
    parts
        .headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/event-stream"))
}

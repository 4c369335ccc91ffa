//! The application's view of one connection: received bytes in, shared bytes out.

use super::outbound::OutboundSender;
use super::pipe::Interruption;
use super::pipe::PipeReceiver;
use super::shared::ConnectionShared;
use super::transport_type::TransportType;
use crate::protocol::{HubProtocol, TransferFormat};
use axum::http::request::Parts;
use bytes::Bytes;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Query parameters that carry secrets: the connection token (`id`, which lets anyone
/// who has it read and write the connection) and the access token that browsers' clients
/// put in the URL (`access_token`).
const SECRET_QUERY_PARAMETERS: [&str; 2] = ["id", "access_token"];

/// Headers whose values are credentials: kept, but marked sensitive so that `Debug`
/// output never shows them.
const CREDENTIAL_HEADERS: [axum::http::HeaderName; 3] = [
    axum::http::header::AUTHORIZATION,
    axum::http::header::PROXY_AUTHORIZATION,
    axum::http::header::COOKIE,
];

/// `uri` without its secret query parameters (matched as the server reads them: decoded,
/// in any case).
fn without_secrets(uri: &axum::http::Uri) -> Option<axum::http::Uri> {
    let query = uri.query()?;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let name = pair.split('=').next().unwrap_or_default();
            let (name, _) = form_urlencoded::parse(name.as_bytes())
                .next()
                .unwrap_or_default();
            !SECRET_QUERY_PARAMETERS
                .iter()
                .any(|secret| name.eq_ignore_ascii_case(secret))
        })
        .collect();
    let path = uri.path();
    let rebuilt = if kept.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", kept.join("&"))
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(rebuilt.parse().ok()?);
    axum::http::Uri::from_parts(parts).ok()
}

/// Copies the parts of a request that borrow the server's read buffer, without secrets.
///
/// hyper parses header values and the URI as slices of its connection read buffer (8 to
/// 16 KiB); keeping them for the connection's lifetime would keep that whole buffer alive
/// for every connection. Owned copies cost a few hundred bytes; the `Sec-WebSocket-*`
/// handshake headers are left out. The connection token and access token are taken out
/// of the URI, and credential headers are marked sensitive, so that neither the
/// application (`Ctx::request()`) nor any `Debug` output or log of the request shows
/// them.
fn detach(mut parts: Parts) -> Parts {
    // Room for exactly what is kept: a header map's entries are about 100 bytes each, and
    // every connection keeps its map for its lifetime.
    let kept = parts
        .headers
        .keys()
        .filter(|name| !is_handshake_plumbing(name))
        .map(|name| parts.headers.get_all(name).iter().count())
        .sum();
    let mut headers = axum::http::HeaderMap::with_capacity(kept);
    let mut last_name = None;
    for (name, value) in std::mem::take(&mut parts.headers) {
        // `into_iter` yields each further value of a name with `None`.
        if let Some(name) = name {
            last_name = Some(name);
        }
        let Some(name) = last_name.clone() else {
            continue;
        };
        if is_handshake_plumbing(&name) {
            continue;
        }
        let mut copy =
            axum::http::HeaderValue::from_bytes(value.as_bytes()).unwrap_or(value.clone());
        copy.set_sensitive(value.is_sensitive() || CREDENTIAL_HEADERS.contains(&name));
        headers.append(name, copy);
    }
    parts.headers = headers;
    let uri = without_secrets(&parts.uri).unwrap_or_else(|| parts.uri.clone());
    if let Ok(uri) = axum::http::Uri::try_from(uri.to_string()) {
        parts.uri = uri;
    }
    parts
}

/// The WebSocket handshake's plumbing (`Sec-WebSocket-*`), of no use once the socket is
/// open.
fn is_handshake_plumbing(name: &axum::http::HeaderName) -> bool {
    name.as_str().starts_with("sec-websocket-")
}

/// When the identity that authenticated a connection expires (a token's `exp`): an
/// authentication layer puts it into the request's extensions, and with
/// `close_on_authentication_expiration` the connection is closed at that instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthenticationExpiry(pub std::time::SystemTime);

/// The application side of one connection, handed to a
/// [`ConnectionHandler`](super::ConnectionHandler).
#[derive(Debug)]
pub struct ConnectionContext {
    pub(crate) shared: Arc<ConnectionShared>,
    inbound: PipeReceiver,
    sender: OutboundSender,
    request: Arc<Parts>,
    transport: TransportType,
    /// `inbound` is interrupted when the abort token fires (the connection's teardown
    /// fires it too), so that [`receive`](Self::receive) is one pipe read and watches no
    /// token itself.
    _interruption: Interruption,
}

impl ConnectionContext {
    pub(crate) fn new(
        shared: Arc<ConnectionShared>,
        inbound: PipeReceiver,
        sender: OutboundSender,
        request: Parts,
        transport: TransportType,
    ) -> Self {
        let interruption = inbound.interrupt_when_cancelled(shared.abort.clone());
        ConnectionContext {
            shared,
            inbound,
            sender,
            request: Arc::new(detach(request)),
            transport,
            _interruption: interruption,
        }
    }

    /// Whether the transport keeps the connection alive by itself (Long Polling), so that
    /// protocol pings are neither needed nor expected.
    pub fn has_inherent_keep_alive(&self) -> bool {
        self.transport == TransportType::LongPolling
    }

    /// The transport carrying the connection.
    pub fn transport(&self) -> TransportType {
        self.transport
    }

    /// The public connection id (`connectionId` in negotiate).
    pub fn connection_id(&self) -> &str {
        &self.shared.connection_id
    }

    /// The id as a cheaply cloneable string.
    pub fn connection_id_arc(&self) -> Arc<str> {
        self.shared.connection_id.clone()
    }

    /// The next chunk of bytes the client sent; `None` once the transport has ended.
    ///
    /// Chunks follow transport framing, not application records: split them yourself.
    ///
    /// It also returns `None` once the connection is closed or aborted, even with chunks
    /// still queued.
    pub async fn receive(&mut self) -> Option<Bytes> {
        self.inbound.recv().await
    }

    /// A handle for writing to the client; clone it freely.
    pub fn sender(&self) -> &OutboundSender {
        &self.sender
    }

    /// Tells the transport whether the application writes text or binary data.
    ///
    /// Returns `false` when the transport cannot carry binary data (Server-Sent Events).
    pub fn set_transfer_format(&self, format: TransferFormat) -> bool {
        if !self.transport.transfer_formats().contains(&format) {
            return false;
        }
        self.shared
            .binary
            .store(format == TransferFormat::Binary, Ordering::Relaxed);
        true
    }

    /// Turns on stateful reconnect (protocol.md §6) if negotiate granted it and the
    /// transport is WebSockets, the only one that reconnects: from now on every record
    /// sent through [`sender`](Self::sender) except pings, Acks and the Close is numbered
    /// and kept until the client acknowledges it, senders wait while more than
    /// `buffer_size` bytes are unacknowledged, and a WebSocket that drops without a close
    /// leaves the connection waiting (up to `disconnect_timeout`) for a new one that
    /// resumes it with a replay, starting with a Sequence record in `protocol`.
    ///
    /// Returns whether it is on.
    pub fn enable_stateful_reconnect(&self, protocol: HubProtocol, buffer_size: usize) -> bool {
        if !self.shared.stateful_reconnect || self.transport != TransportType::WebSockets {
            return false;
        }
        self.sender.keep_for_replay(protocol, buffer_size);
        self.shared.resumable.store(true, Ordering::Release);
        true
    }

    /// Declares that every write is self-delimiting (whole hub records, which carry their
    /// own framing), so that the transport may send writes queued together in one
    /// WebSocket frame: one system call and one TCP segment instead of one per record,
    /// as .NET sends what its pipe holds at each flush. Off by default: a raw connection
    /// keeps one frame per write.
    pub fn allow_batching(&self) {
        self.shared.batchable.store(true, Ordering::Release);
    }

    /// The transfer format currently set.
    pub fn transfer_format(&self) -> TransferFormat {
        self.shared.transfer_format()
    }

    /// The HTTP request that connected the transport (headers, URI, extensions), without
    /// its secrets: no `id` or `access_token` in the query, credential headers marked
    /// sensitive.
    pub fn request(&self) -> &Parts {
        &self.request
    }

    /// When the connection must be closed because its authentication expires: the
    /// request's [`AuthenticationExpiry`], if the endpoint's
    /// `close_on_authentication_expiration` is on.
    pub fn authentication_expiry(&self) -> Option<std::time::SystemTime> {
        if !self.shared.close_on_authentication_expiration {
            return None;
        }
        self.request
            .extensions
            .get::<AuthenticationExpiry>()
            .map(|expiry| expiry.0)
    }

    /// The request parts, shared.
    pub fn request_arc(&self) -> Arc<Parts> {
        self.request.clone()
    }

    /// A token that fires when the connection is torn down.
    pub fn closed(&self) -> CancellationToken {
        self.shared.closed.clone()
    }

    /// Whether the transport is gone (as opposed to the server asking to end).
    pub fn is_transport_closed(&self) -> bool {
        self.shared.closed.is_cancelled()
    }

    /// A token that asks the application to end the connection; [`receive`](Self::receive)
    /// then returns `None`. The connection's teardown ([`closed`](Self::closed)) fires
    /// it too.
    pub fn abort_token(&self) -> CancellationToken {
        self.shared.abort.clone()
    }

    /// Asks the application side to end the connection.
    pub fn abort(&self) {
        self.shared.abort.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str) -> Parts {
        let (parts, ()) = axum::http::Request::builder()
            .uri(uri)
            .header("authorization", "Bearer header-s3cret")
            .header("cookie", "session=cookie-s3cret")
            .header("x-kept", "visible")
            .body(())
            .unwrap()
            .into_parts();
        parts
    }

    #[test]
    fn the_kept_request_has_no_connection_token_or_access_token_and_hides_credentials() {
        let kept = detach(parts(
            "/hub?id=token-s3cret&keep=1&access_token=query-s3cret&ID=again&Access_Token=x",
        ));
        assert_eq!(kept.uri.to_string(), "/hub?keep=1");
        let debug = format!("{kept:?}");
        for secret in [
            "token-s3cret",
            "query-s3cret",
            "header-s3cret",
            "cookie-s3cret",
            "again",
        ] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        assert!(debug.contains("visible"));
        // Still there for the application to read.
        assert_eq!(kept.headers["authorization"], "Bearer header-s3cret");
    }

    #[test]
    fn percent_encoded_names_are_recognised_and_a_query_of_secrets_only_goes_away() {
        assert_eq!(
            detach(parts("/hub?%69d=t&access%5Ftoken=a"))
                .uri
                .to_string(),
            "/hub"
        );
        assert_eq!(detach(parts("/hub")).uri.to_string(), "/hub");
        assert_eq!(
            detach(parts("/hub?negotiateVersion=1&identity=kept"))
                .uri
                .to_string(),
            "/hub?negotiateVersion=1&identity=kept"
        );
    }
}

//! Bearer-token authentication for hub endpoints, as a tower layer.
//!
//! SignalR clients send the token as `Authorization: Bearer <token>` where they can, and
//! as the `access_token` query parameter where they cannot set headers (browser
//! WebSockets, EventSource). [`BearerAuthLayer`] reads either, checks it with your
//! validator on negotiate and on every transport request, and answers `401 Unauthorized`
//! (empty body) when it is missing or invalid. A valid token's [`UserId`] goes into the
//! request extensions, where the default user id provider finds it.

use crate::endpoint::query_param;
use crate::hub::UserId;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The raw bearer token of an authenticated request, kept in its extensions.
///
/// Its `Debug` output is redacted (`BearerToken(<redacted>)`), so that logging a request's
/// extensions or a struct holding one never writes the credential out.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken(pub String);

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

/// Checks a bearer token; `None` refuses the request.
///
/// Closures `Fn(&str) -> Option<UserId>` are validators.
pub trait TokenValidator: Send + Sync + 'static {
    /// The user the token belongs to, or `None` when it is not valid.
    fn validate(&self, token: &str) -> Option<UserId>;

    /// Validates `token` and records what it says about the caller in the request's
    /// `extensions`, where the hub's user id provider and `#[authorize]` policies find it;
    /// `false` refuses the request. The default inserts the [`UserId`] from
    /// [`validate`](Self::validate); override it to add claims or roles as well.
    fn authenticate(&self, token: &str, extensions: &mut axum::http::Extensions) -> bool {
        match self.validate(token) {
            Some(user) => {
                extensions.insert(user);
                true
            }
            None => false,
        }
    }
}

impl<F> TokenValidator for F
where
    F: Fn(&str) -> Option<UserId> + Send + Sync + 'static,
{
    fn validate(&self, token: &str) -> Option<UserId> {
        self(token)
    }
}

/// A tower layer requiring a valid bearer token on every request it wraps.
///
/// ```
/// use signalr_core::auth::BearerAuthLayer;
/// use signalr_core::hub::UserId;
///
/// let layer = BearerAuthLayer::new(|token: &str| {
///     (token == "secret").then(|| UserId::new("alice"))
/// });
/// let protected: axum::Router = axum::Router::new().layer(layer);
/// ```
pub struct BearerAuthLayer<V> {
    validator: Arc<V>,
}

impl<V> Clone for BearerAuthLayer<V> {
    fn clone(&self) -> Self {
        BearerAuthLayer {
            validator: self.validator.clone(),
        }
    }
}

impl<V> std::fmt::Debug for BearerAuthLayer<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerAuthLayer")
    }
}

impl<V: TokenValidator> BearerAuthLayer<V> {
    /// A layer checking tokens with `validator`.
    pub fn new(validator: V) -> Self {
        BearerAuthLayer {
            validator: Arc::new(validator),
        }
    }
}

impl<S, V> tower_layer::Layer<S> for BearerAuthLayer<V> {
    type Service = BearerAuth<S, V>;

    fn layer(&self, inner: S) -> Self::Service {
        BearerAuth {
            inner,
            validator: self.validator.clone(),
        }
    }
}

/// The service [`BearerAuthLayer`] wraps around an endpoint.
pub struct BearerAuth<S, V> {
    inner: S,
    validator: Arc<V>,
}

impl<S: Clone, V> Clone for BearerAuth<S, V> {
    fn clone(&self) -> Self {
        BearerAuth {
            inner: self.inner.clone(),
            validator: self.validator.clone(),
        }
    }
}

impl<S, V> std::fmt::Debug for BearerAuth<S, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerAuth")
    }
}

/// The token of a request: the `Authorization: Bearer` header first, else the
/// `access_token` query parameter.
pub fn bearer_token<B>(request: &Request<B>) -> Option<String> {
    let from_header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_owned())
        });
    from_header
        .or_else(|| query_param(request.uri().query(), "access_token"))
        .filter(|token| !token.is_empty())
}

type BoxedResponse<E> = Pin<Box<dyn Future<Output = Result<Response, E>> + Send>>;

impl<S, V> tower_service::Service<Request<Body>> for BearerAuth<S, V>
where
    S: tower_service::Service<Request<Body>, Response = Response> + Send + 'static,
    S::Future: Send + 'static,
    V: TokenValidator,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxedResponse<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        let token = bearer_token(&request);
        let authenticated = token
            .as_deref()
            .is_some_and(|token| self.validator.authenticate(token, request.extensions_mut()));
        match token {
            Some(token) if authenticated => {
                request.extensions_mut().insert(BearerToken(token));
                Box::pin(self.inner.call(request))
            }
            _ => Box::pin(async { Ok(StatusCode::UNAUTHORIZED.into_response()) }),
        }
    }
}

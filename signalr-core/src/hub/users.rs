//! Which user a connection belongs to (modelling `IUserIdProvider`).

use axum::http::request::Parts;

/// The authenticated user of a request: an authentication layer (tower middleware, an
/// axum extractor layer) inserts it into the request's extensions, and the default
/// [`UserIdProvider`] reads it when a connection starts.
///
/// ```
/// use signalr_core::hub::UserId;
/// let mut request = axum::http::Request::new(());
/// request.extensions_mut().insert(UserId::new("alice"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserId(String);

impl UserId {
    /// A user id (for JWTs typically the `sub` claim).
    pub fn new(id: impl Into<String>) -> Self {
        UserId(id.into())
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Decides the user id of a connection from the request that connected it. Computed once
/// per connection, after the handshake. A connection without a user id is not reachable
/// through `clients().user(..)`.
///
/// Closures `Fn(&Parts) -> Option<String>` are providers too:
///
/// ```text
/// server.user_id_provider(|request: &Parts| {
///     request.headers.get("x-user").and_then(|v| v.to_str().ok()).map(str::to_owned)
/// })
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a user id provider",
    note = "implement `UserIdProvider`, or pass a closure `|request: &Parts| -> Option<String>`"
)]
pub trait UserIdProvider: Send + Sync + 'static {
    /// The user id of the connection made by `request`, if any.
    fn user_id(&self, request: &Parts) -> Option<String>;
}

/// The default provider: the [`UserId`] in the request's extensions.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultUserIdProvider;

impl UserIdProvider for DefaultUserIdProvider {
    fn user_id(&self, request: &Parts) -> Option<String> {
        request
            .extensions
            .get::<UserId>()
            .map(|user| user.as_str().to_owned())
    }
}

impl<F> UserIdProvider for F
where
    F: Fn(&Parts) -> Option<String> + Send + Sync + 'static,
{
    fn user_id(&self, request: &Parts) -> Option<String> {
        self(request)
    }
}

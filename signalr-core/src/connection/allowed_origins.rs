//! [`AllowedOrigins`]: which web pages may open connections to an endpoint.

use axum::http::HeaderValue;

/// The browser origins an endpoint accepts connections from, checked against the
/// `Origin` header of negotiate requests and WebSocket upgrades.
///
/// WebSockets are not subject to CORS: without this check, a page on any site can open
/// a WebSocket to the endpoint, and the browser sends the user's cookies with it. With
/// cookie authentication, restrict the origins. A request without `Origin` (a client
/// that is not a browser) is always served; a refused one gets `403` with a body naming
/// the origin.
///
/// ```
/// use signalr_core::connection::AllowedOrigins;
/// use axum::http::HeaderValue;
///
/// let origins = AllowedOrigins::list(["https://app.example.com"]);
/// assert!(origins.allows(Some(&HeaderValue::from_static("https://APP.example.com"))));
/// assert!(!origins.allows(Some(&HeaderValue::from_static("https://evil.example"))));
/// assert!(origins.allows(None));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// Every origin (the default, as an ASP.NET Core endpoint without an origin policy).
    #[default]
    Any,
    /// Only these origins: `scheme://host[:port]`, compared without regard to ASCII case.
    List(Vec<String>),
}

impl AllowedOrigins {
    /// Only the given origins (`"https://app.example.com"`, `"http://localhost:5173"`).
    pub fn list<S: Into<String>>(origins: impl IntoIterator<Item = S>) -> Self {
        AllowedOrigins::List(
            origins
                .into_iter()
                .map(|origin| origin.into().trim_end_matches('/').to_owned())
                .collect(),
        )
    }

    /// Whether a request with this `Origin` header (or none) may proceed.
    pub fn allows(&self, origin: Option<&HeaderValue>) -> bool {
        let (AllowedOrigins::List(allowed), Some(origin)) = (self, origin) else {
            return true;
        };
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        allowed
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(origin))
    }
}

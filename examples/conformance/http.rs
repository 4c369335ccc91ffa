//! The plain HTTP parts of the test server: CORS, case-insensitive paths, redirects,
//! cookies on negotiate, tokens and client results from HTTP (contract A.2, A.6).

use crate::jwt::Tokens;
use crate::test_hub::TestClient;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use signalr::hub::{ClientResultError, HubContext};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Shared by the HTTP endpoints.
#[derive(Clone)]
pub(crate) struct AppState {
    /// The `/testhub` hub, for `/clientresult/{id}`.
    pub(crate) test_hub: HubContext,
    /// Token issuer.
    pub(crate) tokens: Arc<Tokens>,
}

/// CORS for browser runs (tower-http): any origin, reflected, with credentials (the
/// official browser client sends cookies by default), the methods and headers the
/// client asks for in its preflight (`Authorization`, `X-Requested-With`, `X-SignalR-*`).
pub(crate) fn cors() -> tower_http::cors::CorsLayer {
    use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer};
    CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_credentials(true)
        .allow_methods(AllowMethods::mirror_request())
        .allow_headers(AllowHeaders::mirror_request())
}

/// Rewrites paths to lower case (ASP.NET Core routing ignores case), except the
/// connection id of `/clientresult/{id}`; answers the redirect endpoints; adds the test
/// cookies to negotiate responses.
pub(crate) fn route_quirks(
    redirects: Arc<AtomicU64>,
) -> impl Fn(Request, Next) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>>
       + Clone
       + Send
       + Sync
       + 'static {
    move |mut request: Request, next: Next| {
        let redirects = redirects.clone();
        Box::pin(async move {
            let path = request.uri().path().to_owned();
            let lower = path.to_ascii_lowercase();
            if lower.starts_with("/echoredirect") {
                let target = format!(
                    "{}{}",
                    path.replacen(&path[..13], "/echo", 1),
                    request
                        .uri()
                        .query()
                        .map(|q| format!("?{q}"))
                        .unwrap_or_default()
                );
                return (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, target)])
                    .into_response();
            }
            if lower.starts_with("/redirect") {
                let n = redirects.fetch_add(1, Ordering::Relaxed) + 1;
                let base = signalr::endpoint::query_param(request.uri().query(), "baseUrl")
                    .unwrap_or_default();
                let body = serde_json::json!({ "url": format!("{base}/testHub?numRedirects={n}") });
                return (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/json")],
                    body.to_string(),
                )
                    .into_response();
            }
            if lower.starts_with("/bad-negotiate") {
                return (StatusCode::BAD_REQUEST, "Some response from server").into_response();
            }
            if !lower.starts_with("/clientresult/") && lower != path {
                let query = request
                    .uri()
                    .query()
                    .map(|q| format!("?{q}"))
                    .unwrap_or_default();
                if let Ok(uri) = format!("{lower}{query}").parse() {
                    *request.uri_mut() = uri;
                }
            }
            let negotiate = lower.contains("/negotiate");
            let mut response = next.run(request).await;
            if negotiate {
                let an_hour_ago =
                    std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
                let expired = format!(
                    "expiredCookie=doesntmatter; Path=/; Expires={}",
                    httpdate::fmt_http_date(an_hour_ago)
                );
                let headers = response.headers_mut();
                for cookie in [
                    "testCookie=testValue; Path=/",
                    "testCookie2=testValue2; Path=/",
                ] {
                    headers.append(header::SET_COOKIE, HeaderValue::from_static(cookie));
                }
                if let Ok(expired) = HeaderValue::from_str(&expired) {
                    headers.append(header::SET_COOKIE, expired);
                }
            }
            response
        })
    }
}

/// `GET /generateJwtToken`.
/// `GET /generateJwtToken[?user=NAME][&role=ROLE]`: a token for that user (default
/// `testuser`) with that role (none by default).
pub(crate) async fn generate_jwt_token(
    State(state): State<AppState>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let user = signalr::endpoint::query_param(query.as_deref(), "user");
    let role = signalr::endpoint::query_param(query.as_deref(), "role");
    match state.tokens.issue(user, role) {
        Ok(token) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain")],
            token,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// `GET /clientresult/{id}`: asks that connection for `Result()` and writes the answer.
/// `GET /health/backplane` (ours): the Redis backplane's state and counters as JSON;
/// `404` without `--redis`, `503` while the backplane is not fully working.
pub(crate) async fn backplane_health(backplane: Option<signalr_redis::RedisBackplane>) -> Response {
    let Some(backplane) = backplane else {
        return (
            StatusCode::NOT_FOUND,
            "this server runs without a backplane",
        )
            .into_response();
    };
    let health = backplane.health();
    let status = if health.is_healthy() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(health)).into_response()
}

pub(crate) async fn client_result(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    let client = state.test_hub.clients().client(&id);
    let text = match client.result().await {
        Ok(value) => value.to_string(),
        Err(ClientResultError::Client(error)) => error,
        Err(other) => other.to_string(),
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain")],
        Body::from(text),
    )
        .into_response()
}

//! The HTTP side: the page, the official browser client from the npm package the page
//! installs (never a CDN), sign-in, and a health check.

use crate::auth::{SignIn, Tokens};
use crate::dispatch::Dispatch;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use std::path::PathBuf;
use std::sync::Arc;

/// What the handlers share.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) tokens: Tokens,
    pub(crate) dispatch: Arc<Dispatch>,
}

pub(crate) async fn index() -> Html<&'static str> {
    Html(include_str!("page/index.html"))
}

pub(crate) async fn app_js() -> Response {
    asset("text/javascript", include_str!("page/app.js"))
}

pub(crate) async fn style_css() -> Response {
    asset("text/css", include_str!("page/style.css"))
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    (
        [(header::CONTENT_TYPE, format!("{kind}; charset=utf-8"))],
        body,
    )
        .into_response()
}

/// Where `npm ci --prefix examples/warehouse/page` puts the official browser bundle.
fn bundle_path() -> PathBuf {
    let page = std::env::var_os("WAREHOUSE_PAGE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/warehouse/page")
        });
    page.join("node_modules/@microsoft/signalr/dist/browser/signalr.min.js")
}

/// `GET /lib/signalr.js`: the official browser client, from the page's npm package.
pub(crate) async fn signalr_js() -> Response {
    let path = bundle_path();
    match tokio::fs::read(&path).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                (header::CACHE_CONTROL, "max-age=3600"),
            ],
            bytes,
        )
            .into_response(),
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "the page's npm package is not installed ({}: {error}); run \
                 `npm ci --prefix examples/warehouse/page` or ./scripts/demo",
                path.display()
            ),
        )
            .into_response(),
    }
}

/// `POST /api/signin` `{name, section, role}` → `{token, employee}`, or 400 with why.
pub(crate) async fn sign_in(
    State(state): State<AppState>,
    Json(request): Json<SignIn>,
) -> Response {
    let employee = match request.employee() {
        Ok(employee) => employee,
        Err(why) => return (StatusCode::BAD_REQUEST, why).into_response(),
    };
    match state.tokens.issue(&employee) {
        Ok(token) => {
            Json(serde_json::json!({ "token": token, "employee": employee })).into_response()
        }
        Err(error) => {
            tracing::error!(%error, "could not sign a token");
            (StatusCode::INTERNAL_SERVER_ERROR, "could not sign you in").into_response()
        }
    }
}

/// `GET /api/health`: the store answers.
pub(crate) async fn health(State(state): State<AppState>) -> Response {
    match state.dispatch.store.count().await {
        Ok(stored) => Json(serde_json::json!({ "status": "ok", "stored": stored })).into_response(),
        Err(error) => (StatusCode::SERVICE_UNAVAILABLE, error.to_string()).into_response(),
    }
}

//! The HTTP surface of an endpoint: any method, query and body on negotiate and on the
//! connection route answer with a status, never a panic.
#![no_main]

use axum::body::Body;
use axum::http::{Method, Request};
#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use signalr_core::connection::{ConnectionContext, ConnectionHandler};
use signalr_core::endpoint::HttpConnectionDispatcher;
use std::sync::OnceLock;
use tower::ServiceExt;

struct Echo;

impl ConnectionHandler for Echo {
    async fn on_connected(&self, mut connection: ConnectionContext) {
        while let Some(chunk) = connection.receive().await {
            if connection.sender().send(chunk).await.is_err() {
                break;
            }
        }
    }
}

/// One endpoint for every execution, as a server has (each endpoint keeps a task that
/// waits for shutdown).
fn router() -> axum::Router {
    static ROUTER: OnceLock<axum::Router> = OnceLock::new();
    ROUTER
        .get_or_init(|| {
            // Connections left behind are disposed at once, not 15 s later.
            let options = signalr_core::connection::HttpConnectionOptions {
                disconnect_timeout: std::time::Duration::from_millis(1),
                ..Default::default()
            };
            HttpConnectionDispatcher::new(Echo, options).router("/hub")
        })
        .clone()
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    // The query up to the first newline, the body after it.
    let split = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
    let (query, body) = (&rest[..split], rest.get(split + 1..).unwrap_or_default());
    let Ok(query) = std::str::from_utf8(query) else {
        return;
    };
    let method =
        [Method::POST, Method::GET, Method::DELETE, Method::PUT][usize::from(selector % 4)].clone();
    let path = if selector & 4 == 0 {
        "/hub/negotiate"
    } else {
        "/hub"
    };
    let Ok(request) = Request::builder()
        .method(method)
        .uri(format!("{path}?{query}"))
        .header(
            "accept",
            if selector & 8 == 0 {
                "*/*"
            } else {
                "text/event-stream"
            },
        )
        .body(Body::from(body.to_vec()))
    else {
        return;
    };
    common::runtime().block_on(async {
        let router = router();
        let response = tokio::time::timeout(
            std::time::Duration::from_millis(100),
            router.oneshot(request),
        )
        .await;
        if let Ok(Ok(response)) = response {
            assert!(response.status().as_u16() >= 100);
        }
    });
});

//! A whole hub session fed any bytes: a Long Polling connection is negotiated, sends a
//! handshake and then the input through the real session loop, and is polled; nothing
//! panics (libfuzzer-sys aborts on any panic, caught or not) and the endpoint answers.
#![no_main]

use axum::body::Body;
use axum::http::Request;
#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use signalr::prelude::*;
use signalr::protocol::{ByteArray, Timestamp};
use std::sync::OnceLock;
use std::time::Duration;
use tower::ServiceExt;

#[signalr::hub_client]
pub trait Caller {
    async fn told(&self, text: String);
}

#[signalr::hub]
pub trait Fuzzed {
    async fn echo(&self, text: String) -> String;
    async fn add(&self, a: i64, b: i64) -> i64;
    async fn bytes(&self, data: ByteArray) -> usize;
    async fn when(&self, at: Timestamp) -> i64;
    async fn any(&self, value: serde_json::Value) -> serde_json::Value;
    async fn tell(&self, cx: &Ctx, text: String) -> Result<(), HubError>;
    async fn count(&self, to: u8) -> impl Stream<Item = u8>;
    async fn concat(&self, parts: UploadStream<String>) -> Result<String, HubError>;
}

struct Hub;

impl Fuzzed for Hub {
    async fn echo(&self, text: String) -> String {
        text
    }
    async fn add(&self, a: i64, b: i64) -> i64 {
        a.wrapping_add(b)
    }
    async fn bytes(&self, data: ByteArray) -> usize {
        data.0.len()
    }
    async fn when(&self, at: Timestamp) -> i64 {
        at.unix_seconds()
    }
    async fn any(&self, value: serde_json::Value) -> serde_json::Value {
        value
    }
    async fn tell(&self, cx: &Ctx, text: String) -> Result<(), HubError> {
        cx.clients().caller().told(text).await?;
        Ok(())
    }
    async fn count(&self, to: u8) -> impl Stream<Item = u8> {
        signalr::stream::iter(0..to.min(20))
    }
    async fn concat(&self, mut parts: UploadStream<String>) -> Result<String, HubError> {
        let mut all = String::new();
        while let Some(part) = parts.next().await {
            all.push_str(&part?);
        }
        Ok(all)
    }
}

fn router() -> axum::Router {
    static ROUTER: OnceLock<axum::Router> = OnceLock::new();
    ROUTER
        .get_or_init(|| {
            let options = signalr::connection::HttpConnectionOptions {
                long_poll_timeout: Duration::from_millis(5),
                ..Default::default()
            };
            axum::Router::new().route_hub(
                "/hub",
                Hub.into_server()
                    .enable_detailed_errors(true)
                    .maximum_receive_message_size(Some(4096))
                    .transport_options(options),
            )
        })
        .clone()
}

async fn call(method: &str, uri: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::from(body))
        .expect("a request");
    let response = router().oneshot(request).await.expect("infallible");
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    (status, body.to_vec())
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    let handshake: &[u8] = if selector & 1 == 0 {
        b"{\"protocol\":\"json\",\"version\":1}\x1e"
    } else {
        b"{\"protocol\":\"messagepack\",\"version\":1}\x1e"
    };
    common::runtime().block_on(async {
        let (status, body) = call("POST", "/hub/negotiate?negotiateVersion=1", Vec::new()).await;
        assert_eq!(status, 200);
        let negotiated: serde_json::Value = serde_json::from_slice(&body).expect("json");
        let token = negotiated["connectionToken"]
            .as_str()
            .expect("a token")
            .to_owned();
        let uri = format!("/hub?id={token}");
        assert_eq!(call("GET", &uri, Vec::new()).await.0, 200, "first poll");
        let mut sent = handshake.to_vec();
        sent.extend_from_slice(input);
        let (status, _) = call("POST", &uri, sent).await;
        assert!(matches!(status, 200 | 404), "send answered {status}");
        for _ in 0..3 {
            let (status, _) = call("GET", &uri, Vec::new()).await;
            if status != 200 {
                break;
            }
        }
        let _ = call("DELETE", &uri, Vec::new()).await;
    });
});

//! Allowed origins: negotiate and WebSocket upgrades from a browser origin the endpoint
//! does not list are refused with `403` and a body; requests without `Origin` (clients
//! that are not browsers) and from listed origins are served.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
use common::http::{request, serve, websocket_upgrade_with};

use signalr::connection::{AllowedOrigins, HttpConnectionOptions};
use std::net::SocketAddr;

#[signalr::hub]
pub trait Plain {
    async fn ping(&self) -> u32;
}

struct Hub;

impl Plain for Hub {
    async fn ping(&self) -> u32 {
        1
    }
}

async fn server() -> SocketAddr {
    serve(Hub.into_server().transport_options(HttpConnectionOptions {
        allowed_origins: AllowedOrigins::list(["http://allowed.localhost:5555"]),
        ..Default::default()
    }))
    .await
}

async fn negotiate(addr: SocketAddr, origin: Option<&str>) -> common::http::HttpResponse {
    let headers: Vec<(&str, &str)> = origin.map(|o| ("Origin", o)).into_iter().collect();
    request(
        addr,
        "POST",
        "/hub/negotiate?negotiateVersion=1",
        &headers,
        b"",
    )
    .await
}

async fn upgrade_status(addr: SocketAddr, query: &str, origin: &str) -> (u16, String) {
    let stream = websocket_upgrade_with(addr, query, &[("Origin", origin)]).await;
    let status = stream.status;
    if status == 101 {
        return (status, String::new());
    }
    let response = stream.into_response().await;
    (status, response.text().to_owned())
}

#[tokio::test]
async fn negotiate_from_an_origin_not_listed_is_refused_with_a_reason() {
    let addr = server().await;
    let refused = negotiate(addr, Some("http://evil.example")).await;
    refused.assert_text(
        403,
        "The origin 'http://evil.example' is not allowed to connect to this endpoint.",
    );
    assert_eq!(
        negotiate(addr, Some("http://allowed.localhost:5555"))
            .await
            .status,
        200
    );
    assert_eq!(
        negotiate(addr, Some("HTTP://Allowed.Localhost:5555"))
            .await
            .status,
        200
    );
    assert_eq!(
        negotiate(addr, None).await.status,
        200,
        "no Origin: not a browser"
    );
}

#[tokio::test]
async fn websocket_upgrades_are_checked_with_and_without_negotiate() {
    let addr = server().await;
    let token = negotiate(addr, None).await.json()["connectionToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = upgrade_status(addr, &format!("?id={token}"), "http://evil.example").await;
    assert_eq!(
        (status, body.as_str()),
        (
            403,
            "The origin 'http://evil.example' is not allowed to connect to this endpoint."
        )
    );
    // skipNegotiation: no connection is created for a refused origin.
    assert_eq!(upgrade_status(addr, "", "http://evil.example").await.0, 403);
    // The refused attempt did not use up the connection: the listed origin connects.
    assert_eq!(
        upgrade_status(
            addr,
            &format!("?id={token}"),
            "http://allowed.localhost:5555"
        )
        .await
        .0,
        101
    );
}

#[tokio::test]
async fn by_default_every_origin_is_served() {
    let addr = serve(Hub.into_server()).await;
    assert_eq!(
        negotiate(addr, Some("http://anywhere.example"))
            .await
            .status,
        200
    );
    assert_eq!(
        upgrade_status(addr, "", "http://anywhere.example").await.0,
        101
    );
}

//! `#[authorize]` on a hub and on its methods, behind an authentication layer of the
//! application's own (an axum middleware reading `x-user` and `x-roles`): the hub's rule
//! answers negotiate and every transport request `401` or `403`; a method's rule answers
//! the invocation with .NET's error Completion and keeps the connection.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
use common::http::{request, start};
use common::invocation;
use common::ws::{try_open_with_headers, Client};

use axum::extract::Request;
use axum::middleware::Next;
use signalr::connection::{AuthenticationExpiry, HttpConnectionOptions};
use signalr::prelude::*;
use std::net::SocketAddr;
use std::time::Duration;

/// The roles the authentication layer found for the caller.
#[derive(Clone)]
struct Roles(Vec<String>);

fn is_admin(cx: &AuthorizationContext<'_>) -> bool {
    cx.extensions()
        .get::<Roles>()
        .is_some_and(|roles| roles.0.iter().any(|role| role == "admin"))
}

fn not_mallory(cx: &AuthorizationContext<'_>) -> bool {
    cx.user_id() != Some("mallory")
}

/// Sees the undecoded arguments: transfers of at most 100.
fn small_amounts(cx: &AuthorizationContext<'_>) -> bool {
    cx.method() == Some("Transfer")
        && cx
            .arguments()
            .first()
            .and_then(|amount| amount.decode::<u32>().ok())
            .is_some_and(|amount| amount <= 100)
}

#[signalr::hub]
#[authorize(not_mallory)]
pub trait Guarded {
    async fn who_am_i(&self, cx: &Ctx) -> String;
    #[authorize(is_admin)]
    async fn admin_only(&self, message: String) -> String;
    #[authorize(small_amounts)]
    async fn transfer(&self, amount: u32) -> u32;
}

#[authorize]
#[signalr::hub]
pub trait Members {
    async fn hello(&self) -> u32;
}

#[signalr::hub]
pub trait Open {
    #[authorize]
    async fn members_only(&self) -> u32;
    async fn anyone(&self) -> u32;
}

struct Hub;

impl Guarded for Hub {
    async fn who_am_i(&self, cx: &Ctx) -> String {
        cx.user_id().unwrap_or_default().to_owned()
    }
    async fn admin_only(&self, message: String) -> String {
        message
    }
    async fn transfer(&self, amount: u32) -> u32 {
        amount
    }
}

impl Members for Hub {
    async fn hello(&self) -> u32 {
        1
    }
}

impl Open for Hub {
    async fn members_only(&self) -> u32 {
        1
    }
    async fn anyone(&self) -> u32 {
        2
    }
}

/// The application's authentication: `x-user` names the user, `x-roles` lists roles.
async fn authenticate(mut request: Request, next: Next) -> axum::response::Response {
    let header = |request: &Request, name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    if let Some(user) = header(&request, "x-user") {
        let roles = header(&request, "x-roles").unwrap_or_default();
        let roles = Roles(
            roles
                .split(',')
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect(),
        );
        request.extensions_mut().insert(UserId::new(user));
        request.extensions_mut().insert(roles);
        if let Some(ms) = header(&request, "x-expires-in-ms").and_then(|ms| ms.parse().ok()) {
            let at = std::time::SystemTime::now() + std::time::Duration::from_millis(ms);
            request.extensions_mut().insert(AuthenticationExpiry(at));
        }
    }
    next.run(request).await
}

async fn serve(router: axum::Router) -> SocketAddr {
    let app = router.layer(axum::middleware::from_fn(authenticate));
    let listener = signalr::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn negotiate(addr: SocketAddr, headers: &[(&str, &str)]) -> common::http::HttpResponse {
    request(
        addr,
        "POST",
        "/hub/negotiate?negotiateVersion=1",
        headers,
        b"",
    )
    .await
}

/// Invokes `method` with `arguments` (JSON) and returns the next record.
async fn call(client: &mut Client, id: &str, method: &str, arguments: &str) -> String {
    client
        .send_text(&invocation(Some(id), method, arguments))
        .await;
    client.next_text().await
}

fn refusal(id: &str, method: &str) -> String {
    format!(
        "{{\"type\":3,\"invocationId\":\"{id}\",\"error\":\"Failed to invoke '{method}' because user is unauthorized\"}}\x1e"
    )
}

#[tokio::test]
async fn the_hub_rule_answers_negotiate_and_transport_requests_401_or_403() {
    let addr = serve(axum::Router::new().route_hub("/hub", Guarded::into_server(Hub))).await;
    let anonymous = negotiate(addr, &[]).await;
    assert_eq!(anonymous.status, 401, "{anonymous:?}");
    assert_eq!(anonymous.header("www-authenticate"), Some("Bearer"));
    assert_eq!(
        anonymous.text(),
        "Authentication is required to connect to this hub."
    );
    let mallory = negotiate(addr, &[("x-user", "mallory")]).await;
    mallory.assert_text(403, "The authenticated user may not connect to this hub.");
    let alice = negotiate(addr, &[("x-user", "alice")]).await;
    assert_eq!(alice.status, 200);
    // Every transport request is checked, not only negotiate: a token alone is not enough.
    let token = alice.json()["connectionToken"].as_str().unwrap().to_owned();
    let poll = start(addr, "GET", &format!("/hub?id={token}"), &[], b"").await;
    assert_eq!(poll.status, 401);
    let send = start(
        addr,
        "POST",
        &format!("/hub?id={token}"),
        &[("x-user", "mallory")],
        b"{}",
    )
    .await;
    assert_eq!(send.status, 403);
    // So is a WebSocket opened without negotiate.
    match try_open_with_headers(addr, "", &[]).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 401)
        }
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }
    let mut client = Client::json_with_headers(addr, &[("x-user", "alice")]).await;
    assert_eq!(
        call(&mut client, "1", "WhoAmI", "[]").await,
        "{\"type\":3,\"invocationId\":\"1\",\"result\":\"alice\"}\x1e"
    );
}

#[tokio::test]
async fn a_method_rule_refuses_the_invocation_and_keeps_the_connection() {
    let addr = serve(axum::Router::new().route_hub("/hub", Guarded::into_server(Hub))).await;
    let mut alice = Client::json_with_headers(addr, &[("x-user", "alice")]).await;
    assert_eq!(
        call(&mut alice, "1", "AdminOnly", "[\"hi\"]").await,
        refusal("1", "AdminOnly")
    );
    // The policy sees the arguments.
    assert_eq!(
        call(&mut alice, "2", "Transfer", "[50]").await,
        "{\"type\":3,\"invocationId\":\"2\",\"result\":50}\x1e"
    );
    assert_eq!(
        call(&mut alice, "3", "Transfer", "[500]").await,
        refusal("3", "Transfer")
    );
    // Still connected.
    assert_eq!(
        call(&mut alice, "4", "WhoAmI", "[]").await,
        "{\"type\":3,\"invocationId\":\"4\",\"result\":\"alice\"}\x1e"
    );
    let mut admin =
        Client::json_with_headers(addr, &[("x-user", "root"), ("x-roles", "ops,admin")]).await;
    assert_eq!(
        call(&mut admin, "1", "AdminOnly", "[\"hi\"]").await,
        "{\"type\":3,\"invocationId\":\"1\",\"result\":\"hi\"}\x1e"
    );
}

#[tokio::test]
async fn authorize_written_above_hub_works_the_same() {
    let addr = serve(axum::Router::new().route_hub("/hub", Members::into_server(Hub))).await;
    assert_eq!(negotiate(addr, &[]).await.status, 401);
    assert_eq!(negotiate(addr, &[("x-user", "anyone")]).await.status, 200);
}

#[tokio::test]
async fn without_a_hub_rule_anonymous_callers_connect_and_only_the_methods_rule_applies() {
    let addr = serve(axum::Router::new().route_hub("/hub", Open::into_server(Hub))).await;
    let mut anonymous = Client::json_with_headers(addr, &[]).await;
    assert_eq!(
        call(&mut anonymous, "1", "MembersOnly", "[]").await,
        refusal("1", "MembersOnly")
    );
    assert_eq!(
        call(&mut anonymous, "2", "Anyone", "[]").await,
        "{\"type\":3,\"invocationId\":\"2\",\"result\":2}\x1e"
    );
    let mut member = Client::json_with_headers(addr, &[("x-user", "bob")]).await;
    assert_eq!(
        call(&mut member, "1", "MembersOnly", "[]").await,
        "{\"type\":3,\"invocationId\":\"1\",\"result\":1}\x1e"
    );
}

#[tokio::test]
async fn with_close_on_authentication_expiration_the_connection_closes_when_the_identity_expires() {
    let closing = Open::into_server(Hub)
        .enable_detailed_errors(true)
        .transport_options(HttpConnectionOptions {
            close_on_authentication_expiration: true,
            ..Default::default()
        });
    let addr = serve(axum::Router::new().route_hub("/hub", closing)).await;
    let headers = [("x-user", "alice"), ("x-expires-in-ms", "400")];
    let mut client = Client::json_with_headers(addr, &headers).await;
    assert_eq!(
        call(&mut client, "1", "Anyone", "[]").await,
        "{\"type\":3,\"invocationId\":\"1\",\"result\":2}\x1e"
    );
    let started = tokio::time::Instant::now();
    assert_eq!(
        client.next_text().await,
        "{\"type\":7,\"error\":\"Connection closed with an error. AuthenticationExpired: the connection's authentication expired.\",\"allowReconnect\":true}\x1e"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    client.expect_close().await;

    // Off (the default): the expiry is not acted on.
    let addr = serve(axum::Router::new().route_hub("/hub", Open::into_server(Hub))).await;
    let mut client = Client::json_with_headers(addr, &headers).await;
    client.expect_silence(Duration::from_millis(800)).await;
    assert_eq!(
        call(&mut client, "1", "Anyone", "[]").await,
        "{\"type\":3,\"invocationId\":\"1\",\"result\":2}\x1e"
    );
}

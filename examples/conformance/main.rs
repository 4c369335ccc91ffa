//! The conformance test server: every route, hub and method that the official SignalR
//! client's functional tests expect (`shared/conformance-contract.md`, sections A and B).
//!
//! ```text
//! cargo run --release --example conformance -- --listen 127.0.0.1:5000
//! ```

mod echo;
mod http;
mod jwt;
mod test_hub;

use axum::routing::get;
use axum::ServiceExt;
use http::AppState;
use signalr::auth::BearerAuthLayer;
use signalr::connection::{HttpConnectionDispatcher, HttpConnectionOptions, Transports};
use signalr::prelude::*;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use test_hub::{TestHub, Tests};
use tower_layer::Layer;

/// `UncreatableHub`: a hub that can never be created; every connection is refused.
#[signalr::hub]
pub trait Uncreatable {}

/// Its implementation refuses in `on_connected`, as .NET fails to activate the hub.
struct NeverCreated;

impl Uncreatable for NeverCreated {
    async fn on_connected(&self, _cx: &Ctx) -> Result<(), HubError> {
        Err(HubError::internal(
            "InvalidOperationException",
            "Unable to resolve service for type 'System.Object' while attempting to activate 'FunctionalTests.UncreatableHub'.",
        ))
    }
}

/// `HubWithAuthorization`.
#[signalr::hub]
pub trait HubWithAuthorization {
    /// Returns `message`.
    async fn echo(&self, message: String) -> String;
}

struct Authorized;

impl HubWithAuthorization for Authorized {
    async fn echo(&self, message: String) -> String {
        message
    }
}

fn listen_address() -> Result<String, String> {
    let mut args = std::env::args().skip(1);
    let mut listen = "127.0.0.1:5000".to_owned();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().ok_or("--listen needs an address")?,
            other => {
                return Err(format!(
                    "unknown argument `{other}`; usage: conformance [--listen ADDR]"
                ))
            }
        }
    }
    Ok(listen)
}

fn app() -> axum::Router {
    let test_hub = Tests.into_server().enable_detailed_errors(true);
    let state = AppState {
        test_hub: test_hub.context(),
        tokens: Arc::new(jwt::Tokens::new()),
    };
    let tokens = state.tokens.clone();
    let authorized = axum::Router::new()
        .route_hub(
            "/authorizedhub",
            Authorized.into_server().enable_detailed_errors(true),
        )
        .layer(BearerAuthLayer::new(move |token: &str| {
            tokens.validate(token)
        }));
    let no_websockets = HttpConnectionOptions {
        transports: Transports::SERVER_SENT_EVENTS | Transports::LONG_POLLING,
        ..HttpConnectionOptions::default()
    };
    axum::Router::new()
        .route("/generatejwttoken", get(http::generate_jwt_token))
        .route("/clientresult/{id}", get(http::client_result))
        .with_state(state.clone())
        .route_hub("/testhub", test_hub)
        .route_hub(
            "/testhub-nowebsockets",
            Tests
                .into_server()
                .enable_detailed_errors(true)
                .transport_options(no_websockets),
        )
        .route_hub("/testhub-nodetailederrors", Tests.into_server())
        .route_hub(
            "/uncreatable",
            NeverCreated.into_server().enable_detailed_errors(true),
        )
        .merge(authorized)
        .merge(
            HttpConnectionDispatcher::new(echo::Echo, HttpConnectionOptions::default())
                .router("/echo"),
        )
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let listen = match listen_address() {
        Ok(listen) => listen,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let redirects = Arc::new(AtomicU64::new(0));
    // Path rewriting must happen before routing, so it wraps the whole router.
    let service = axum::middleware::from_fn(http::route_quirks(redirects)).layer(app());
    let service = axum::middleware::from_fn(http::cors).layer(service);
    let listener = match signalr::bind(&listen).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("cannot listen on {listen}: {e}");
            std::process::exit(1);
        }
    };
    match listener.local_addr() {
        Ok(addr) => println!("listening on http://{addr}"),
        Err(e) => eprintln!("cannot read the bound address: {e}"),
    }
    if let Err(e) = axum::serve(listener, service.into_make_service()).await {
        eprintln!("server failed: {e}");
        std::process::exit(1);
    }
}

//! The conformance test server: every route, hub and method that the official SignalR
//! client's functional tests expect (`shared/conformance-contract.md`, sections A and B),
//! and the authorization and origin checks of sections C.1 and C.2.
//!
//! ```text
//! cargo run --release --example conformance -- --listen 127.0.0.1:5000
//! ```
//!
//! With `--redis redis://127.0.0.1:6379` every hub runs on the Redis backplane (contract
//! C.3): processes started so form one logical server. `--server-name NAME` names this
//! process on the backplane; `--jwt-key SECRET` shares the token signing key, so that a
//! token from one process is accepted by the others.

#[path = "../common/mod.rs"]
mod common;
mod echo;
mod http;
mod jwt;
mod test_hub;

use axum::routing::get;
use axum::ServiceExt;
use http::AppState;
use signalr::auth::BearerAuthLayer;
use signalr::connection::{AllowedOrigins, HttpConnectionOptions, Transports};
use signalr::endpoint::HttpConnectionDispatcher;
use signalr::hub::HubDispatcher;
use signalr::prelude::*;
use signalr_redis::{RedisBackplane, RedisHubLifetimeManager, RedisOptions};
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

/// Whether the caller's token carries the role `admin`.
fn is_admin(cx: &AuthorizationContext<'_>) -> bool {
    cx.extensions()
        .get::<jwt::Role>()
        .is_some_and(|role| role.0 == "admin")
}

/// What `/authorizedhub` calls on its clients.
#[signalr::hub_client]
pub trait AuthorizedClient {
    /// A message sent to the user.
    async fn user_message(&self, message: String);
}

/// `HubWithAuthorization` (contract A.5, C.1): a valid token is required to connect.
#[signalr::hub]
#[authorize]
pub trait HubWithAuthorization {
    /// Returns `message`.
    async fn echo(&self, message: String) -> String;
    /// The connection's user id.
    async fn who_am_i(&self, cx: &Ctx) -> String;
    /// Returns `message`, for callers with the role `admin` only.
    #[authorize(is_admin)]
    async fn admin_only(&self, message: String) -> String;
    /// Calls `UserMessage(message)` on every connection of `user`.
    async fn send_to_user(&self, cx: &Ctx, user: String, message: String) -> Result<(), HubError>;
}

struct Authorized;

impl HubWithAuthorization for Authorized {
    async fn echo(&self, message: String) -> String {
        message
    }

    async fn who_am_i(&self, cx: &Ctx) -> String {
        cx.user_id().unwrap_or_default().to_owned()
    }

    async fn admin_only(&self, message: String) -> String {
        message
    }

    async fn send_to_user(&self, cx: &Ctx, user: String, message: String) -> Result<(), HubError> {
        cx.clients().user(&user).user_message(message).await?;
        Ok(())
    }
}

/// Where the hubs keep their connections: this process only, or the Redis backplane.
/// On the backplane every route of one hub type shares one lifetime manager, named after
/// the official test hub's .NET type, as one `HubLifetimeManager<THub>` serves every
/// route of a hub in ASP.NET Core.
#[derive(Clone, Default)]
struct Scale {
    test_hub: Option<RedisHubLifetimeManager>,
    authorized: Option<RedisHubLifetimeManager>,
}

impl Scale {
    fn on_redis(backplane: &RedisBackplane) -> Self {
        Scale {
            test_hub: Some(backplane.hub_named("FunctionalTests.TestHub")),
            authorized: Some(backplane.hub_named("FunctionalTests.HubWithAuthorization")),
        }
    }
}

/// `server` with `manager` when there is one.
fn on<D: HubDispatcher>(
    server: HubServer<D>,
    manager: &Option<RedisHubLifetimeManager>,
) -> HubServer<D> {
    match manager {
        Some(manager) => server.lifetime_manager(manager.clone()),
        None => server,
    }
}

fn app(scale: Scale, tokens: jwt::Tokens, backplane: Option<RedisBackplane>) -> axum::Router {
    let tests = |server: HubServer<_>| on(server.enable_detailed_errors(true), &scale.test_hub);
    let test_hub = tests(Tests.into_server());
    let state = AppState {
        test_hub: test_hub.context(),
        tokens: Arc::new(tokens),
    };
    let tokens = state.tokens.clone();
    let authorized =
        |server: HubServer<_>| on(server.enable_detailed_errors(true), &scale.authorized);
    let authorized = axum::Router::new()
        .route_hub("/authorizedhub", authorized(Authorized.into_server()))
        // Ours, beside the contract: the same hub closing connections when their token
        // expires (the test tokens live 5 seconds).
        .route_hub(
            "/authorizedhub-expiring",
            authorized(Authorized.into_server()).transport_options(HttpConnectionOptions {
                close_on_authentication_expiration: true,
                ..HttpConnectionOptions::default()
            }),
        )
        .layer(BearerAuthLayer::new(jwt::JwtValidator(tokens)));
    let no_websockets = HttpConnectionOptions {
        transports: Transports::SERVER_SENT_EVENTS | Transports::LONG_POLLING,
        ..HttpConnectionOptions::default()
    };
    let stateful = HttpConnectionOptions {
        allow_stateful_reconnects: true,
        ..HttpConnectionOptions::default()
    };
    axum::Router::new()
        .route("/generatejwttoken", get(http::generate_jwt_token))
        .route("/clientresult/{id}", get(http::client_result))
        .with_state(state.clone())
        .route(
            "/health/backplane",
            get(move || http::backplane_health(backplane.clone())),
        )
        .route_hub("/testhub", test_hub)
        .route_hub(
            "/testhub-nowebsockets",
            tests(Tests.into_server()).transport_options(no_websockets),
        )
        .route_hub(
            "/testhub-nodetailederrors",
            on(Tests.into_server(), &scale.test_hub),
        )
        .route_hub(
            "/testhub-origins",
            tests(Tests.into_server()).transport_options(HttpConnectionOptions {
                allowed_origins: AllowedOrigins::list(["http://allowed.localhost:5555"]),
                ..HttpConnectionOptions::default()
            }),
        )
        .route_hub(
            "/testhub-stateful",
            tests(Tests.into_server()).transport_options(stateful),
        )
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
    let flags = common::flags("conformance", &["--redis", "--server-name", "--jwt-key"]);
    common::init_tracing();
    let tokens = match flags.get("--jwt-key") {
        Some(secret) => jwt::Tokens::with_secret(secret.as_bytes()),
        None => jwt::Tokens::new(),
    };
    let backplane = match flags.get("--redis") {
        Some(url) => {
            let mut options = RedisOptions::new(url);
            if let Some(name) = flags.get("--server-name") {
                options = options.server_name(name);
            }
            match RedisBackplane::connect(options).await {
                Ok(backplane) => Some(backplane),
                Err(e) => {
                    eprintln!("{e}");
                    std::process::exit(1);
                }
            }
        }
        None => None,
    };
    let scale = backplane.as_ref().map(Scale::on_redis).unwrap_or_default();
    let redirects = Arc::new(AtomicU64::new(0));
    // Path rewriting must happen before routing, so it wraps the whole router.
    let service = axum::middleware::from_fn(http::route_quirks(redirects))
        .layer(app(scale, tokens, backplane));
    let service = http::cors().layer(service);
    let listener = common::bind(&flags.listen).await;
    // Ctrl-C or SIGTERM: every client is told to reconnect, running calls finish.
    let served = axum::serve(listener, service.into_make_service())
        .with_graceful_shutdown(signalr::graceful_shutdown(signalr::shutdown_signal()));
    common::exit_on_failure(served.await);
}

//! MilesLong Warehouse: real-time notifications for the employees of a warehouse, by
//! section and role. Employees sign in on the page (name, section, role); arrivals,
//! refrigeration needs, shipments, cold-storage alerts and delays reach the sections and
//! roles they concern, and every supervisor; employees acknowledge them, supervisors see
//! the acknowledgements live; forklift tasks are offered to operators' devices, which
//! accept or decline; a chart follows the traffic. Nothing is missed: notifications are
//! stored, and whoever signs in or reconnects sees what is still open for them.
//!
//! ```text
//! ./scripts/demo                                   # installs the page's npm package, then:
//! cargo run --release --example warehouse          # http://127.0.0.1:5000, SQLite in memory
//! ```
//!
//! Options: `--listen ADDR`; `--db memory` (default) or `--db PATH` (a SQLite file);
//! `--postgres URL` (PostgreSQL instead); `--redis URL` (the Redis backplane, for several
//! processes); `--simulate-every MS` (default 4000; `0` stops the simulator);
//! `--token-key SECRET` (share sign-ins between processes); `--task-answer-secs N`
//! (how long a device has to answer a task offer, default 20).

mod auth;
#[path = "../common/mod.rs"]
mod common;
mod dispatch;
mod http;
mod hub;
mod model;
mod simulator;
mod store;

use axum::routing::{get, post};
use dispatch::Dispatch;
use hub::{NotificationHub, Notifications};
use signalr::auth::BearerAuthLayer;
use signalr::connection::HttpConnectionOptions;
use signalr::prelude::*;
use signalr_redis::{RedisBackplane, RedisOptions};
use std::sync::Arc;
use std::time::Duration;

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("{message}");
    std::process::exit(1);
}

#[tokio::main]
async fn main() {
    let flags = common::flags(
        "warehouse",
        &[
            "--db",
            "--postgres",
            "--redis",
            "--simulate-every",
            "--token-key",
            "--task-answer-secs",
        ],
    );
    common::init_tracing();
    let url = match (flags.get("--postgres"), flags.get("--db")) {
        (Some(url), _) => url.to_owned(),
        (None, None | Some("memory")) => "sqlite::memory:".to_owned(),
        (None, Some(path)) => format!("sqlite://{path}?mode=rwc"),
    };
    let store = store::Store::open(&url)
        .await
        .unwrap_or_else(|e| fail(format!("cannot open the store at {url}: {e}")));
    let number = |flag: &str, default: u64| match flags.get(flag) {
        None => default,
        Some(text) => text
            .parse()
            .unwrap_or_else(|_| fail(format!("{flag} needs a number, not `{text}`"))),
    };
    let answer_within = Duration::from_secs(number("--task-answer-secs", 20).max(1));
    let dispatch = Arc::new(Dispatch::new(store, answer_within));
    let tokens = auth::Tokens::new(flags.get("--token-key"));

    let mut hub = NotificationHub {
        dispatch: dispatch.clone(),
    }
    .into_server()
    // Phones go through tunnels: reconnecting within the buffer loses nothing.
    .transport_options(HttpConnectionOptions {
        allow_stateful_reconnects: true,
        ..HttpConnectionOptions::default()
    });
    if let Some(url) = flags.get("--redis") {
        let backplane = RedisBackplane::connect(RedisOptions::new(url))
            .await
            .unwrap_or_else(|e| fail(e));
        hub = hub.lifetime_manager(backplane.hub_named("MilesLong.Warehouse.NotificationHub"));
    }
    dispatch.set_context(hub.context());

    let every = number("--simulate-every", 4000);
    if every > 0 {
        simulator::start(dispatch.clone(), Duration::from_millis(every));
    }

    let state = http::AppState {
        tokens: tokens.clone(),
        dispatch,
    };
    let app = axum::Router::new()
        .route("/", get(http::index))
        .route("/app.js", get(http::app_js))
        .route("/style.css", get(http::style_css))
        .route("/lib/signalr.js", get(http::signalr_js))
        .route("/api/signin", post(http::sign_in))
        .route("/api/health", get(http::health))
        .with_state(state)
        .merge(
            axum::Router::new()
                .route_hub("/hubs/notifications", hub)
                .layer(BearerAuthLayer::new(tokens)),
        );
    let listener = common::bind(&flags.listen).await;
    // Ctrl-C or SIGTERM: every device is told to reconnect, running calls finish.
    common::exit_on_failure(
        signalr::serve_listener_with_shutdown(listener, app, signalr::shutdown_signal()).await,
    );
}

//! The canonical chat: `SendMessage(user, text)` reaches every client as
//! `ReceiveMessage(user, text)`. The hub is at `/chat`; `/` serves a page that uses the
//! official JavaScript client; `POST /announce` (body: text) broadcasts from outside the
//! hub through a `HubContext`.
//!
//! ```text
//! cargo run --release --example chat -- --listen 127.0.0.1:5000 [--transports ws,sse,lp]
//! ```
//!
//! `--transports` limits the transports the hub offers (all three by default), to watch
//! the official client fall back from WebSockets to Server-Sent Events to Long Polling.
//!
//! `--redis redis://127.0.0.1:6379` puts the hub on the Redis backplane: start it twice,
//! on two ports, and messages sent on one server reach the clients of the other.

#[path = "../common/mod.rs"]
mod common;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::{get, post};
use signalr::prelude::*;
use signalr_redis::{RedisBackplane, RedisOptions};
use std::sync::atomic::{AtomicU64, Ordering};

/// What the server may call on chat clients.
#[signalr::hub_client]
pub trait ChatClient {
    /// A message for the chat window.
    async fn receive_message(&self, user: String, text: String);
}

/// What chat clients may call on the server.
#[signalr::hub]
pub trait Chat {
    /// Broadcasts a message to everyone.
    async fn send_message(&self, cx: &Ctx, user: String, text: String) -> Result<(), HubError>;
    /// Returns the text unchanged.
    async fn echo(&self, text: String) -> String;
    /// Adds two numbers.
    async fn add(&self, a: i64, b: i64) -> i64;
    /// How many messages were sent so far.
    #[method(name = "MessageCount")]
    async fn sent(&self) -> u64;
    /// Always fails, with a message meant for the caller.
    async fn fail(&self, reason: String) -> Result<(), HubError>;
}

/// The chat hub: one value serves every connection.
#[derive(Default)]
struct ChatHub {
    sent: AtomicU64,
}

impl Chat for ChatHub {
    async fn send_message(&self, cx: &Ctx, user: String, text: String) -> Result<(), HubError> {
        self.sent.fetch_add(1, Ordering::Relaxed);
        cx.clients().all().receive_message(user, text).await?;
        Ok(())
    }

    async fn echo(&self, text: String) -> String {
        text
    }

    async fn add(&self, a: i64, b: i64) -> i64 {
        a.wrapping_add(b)
    }

    async fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    async fn fail(&self, reason: String) -> Result<(), HubError> {
        Err(HubError::new(reason))
    }
}

fn parse_transports(list: &str) -> Result<Transports, String> {
    list.split(',').try_fold(Transports::none(), |set, name| {
        let transport = match name.trim() {
            "ws" | "websockets" => Transports::WEB_SOCKETS,
            "sse" | "serversentevents" => Transports::SERVER_SENT_EVENTS,
            "lp" | "longpolling" => Transports::LONG_POLLING,
            other => return Err(format!("unknown transport `{other}`: use ws, sse or lp")),
        };
        Ok(set | transport)
    })
}

/// `POST /announce`: a plain axum handler calling clients through the hub context.
async fn announce(State(chat): State<HubContext>, text: String) -> StatusCode {
    let everyone = chat.clients().all();
    match everyone.receive_message("server".into(), text).await {
        Ok(()) => StatusCode::NO_CONTENT,
        Err(e) => {
            tracing::warn!(error = %e, "announcement failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

#[tokio::main]
async fn main() {
    let flags = common::flags("chat", &["--transports", "--redis"]);
    common::init_tracing();
    let transports = match flags.get("--transports").map(parse_transports) {
        None => Transports::all(),
        Some(Ok(transports)) => transports,
        Some(Err(message)) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let mut chat = ChatHub::default().into_server().transports(transports);
    if let Some(url) = flags.get("--redis") {
        match RedisBackplane::connect(RedisOptions::new(url)).await {
            // Channels named after the hub's Rust path: `chat.ChatHub:all`, …
            Ok(backplane) => chat = chat.lifetime_manager(backplane.hub::<ChatHub>()),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    }
    let context = chat.context();
    let app = axum::Router::new()
        .route("/", get(|| async { Html(include_str!("index.html")) }))
        .route("/announce", post(announce))
        .with_state(context)
        .route_hub("/chat", chat);
    let listener = common::bind(&flags.listen).await;
    // Ctrl-C or SIGTERM: every client is told to reconnect, running calls finish.
    common::exit_on_failure(
        signalr::serve_listener_with_shutdown(listener, app, signalr::shutdown_signal()).await,
    );
}

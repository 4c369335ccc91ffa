//! The benchmark hub (issue 13, `benches/loadgen`): `Echo(text)` returns its argument,
//! `Broadcast(text)` calls `Receive(text)` on every connection, `JoinGroup(group)` and
//! `SendToGroup(group, text)` do the same for a group. Built on the public API only, as a
//! user would write it; JSON and MessagePack.
//!
//! ```text
//! cargo run --release --example bench -- --listen 127.0.0.1:5000
//! ```

#[path = "../common/mod.rs"]
mod common;

use signalr::prelude::*;

/// What the server calls on benchmark clients.
#[signalr::hub_client]
pub trait BenchClient {
    /// A broadcast or group message.
    async fn receive(&self, text: String);
}

/// What benchmark clients call.
#[signalr::hub]
pub trait Bench {
    /// Returns `text`.
    async fn echo(&self, text: String) -> String;
    /// `Receive(text)` to every connection.
    async fn broadcast(&self, cx: &Ctx, text: String) -> Result<(), HubError>;
    /// Adds the caller to `group`.
    async fn join_group(&self, cx: &Ctx, group: String) -> Result<(), HubError>;
    /// `Receive(text)` to every member of `group`.
    async fn send_to_group(&self, cx: &Ctx, group: String, text: String) -> Result<(), HubError>;
}

struct BenchHub;

impl Bench for BenchHub {
    async fn echo(&self, text: String) -> String {
        text
    }

    async fn broadcast(&self, cx: &Ctx, text: String) -> Result<(), HubError> {
        cx.clients().all().receive(text).await?;
        Ok(())
    }

    async fn join_group(&self, cx: &Ctx, group: String) -> Result<(), HubError> {
        cx.groups().add_to_group(cx.connection_id(), &group).await?;
        Ok(())
    }

    async fn send_to_group(&self, cx: &Ctx, group: String, text: String) -> Result<(), HubError> {
        cx.clients().group(&group).receive(text).await?;
        Ok(())
    }
}

#[tokio::main]
async fn main() {
    let flags = common::flags("bench", &[]);
    common::init_tracing();
    let app = axum::Router::new().route_hub("/hub", BenchHub.into_server());
    let listener = common::bind(&flags.listen).await;
    common::exit_on_failure(
        signalr::serve_listener_with_shutdown(listener, app, signalr::shutdown_signal()).await,
    );
}

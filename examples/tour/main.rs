//! A tour of the hub API on a warehouse floor: groups (sections), users, lifecycle hooks,
//! per-connection items, streaming both ways, client results, filters, and a
//! `HubContext` used from axum handlers.
//!
//! ```text
//! cargo run --release --example tour -- --listen 127.0.0.1:5000
//! ```
//!
//! Users: this demo takes the user id from the `user` query parameter (a real application
//! puts an authenticated `UserId` into the request extensions instead).
//!
//! HTTP endpoints beside the hub at `/hubs/warehouse`:
//! - `POST /assign/{connection_id}` (body: task text) asks that client to accept a task
//!   (a client result) and answers `accepted`, `declined` or the error;
//! - `GET /stats` reports the server's counters as JSON (streams cancelled, connections
//!   online, disconnects).

#[path = "../common/mod.rs"]
mod common;

use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Json;
use serde::{Deserialize, Serialize};
use signalr::hub::{BoxFuture, CallOutcome, HubFilter, InvocationContext, Next, UploadError};
use signalr::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A package on the floor.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Package {
    /// Its id.
    pub id: u64,
    /// The section it belongs to.
    pub section: String,
    /// Whether it needs cold storage.
    pub refrigerated: bool,
}

/// What the server may call on warehouse clients.
#[signalr::hub_client]
pub trait Warehouse {
    /// A package arrived in a section the client follows.
    async fn package_arrived(&self, package: Package);
    /// A temperature alert for a section.
    #[method(name = "tempAlert")]
    async fn temperature_alert(&self, section: String, celsius: f32);
    /// A direct message to a user (all of the user's connections).
    async fn user_message(&self, from: String, text: String);
    /// Someone connected.
    async fn joined(&self, connection_id: String, user: Option<String>);
    /// Asks the client to take a task; the client answers (a client result).
    async fn accept_task(&self, task: String) -> bool;
}

/// What warehouse clients may call on the server.
#[signalr::hub]
pub trait Notifications {
    /// Follows a section: joins its group.
    async fn join_section(&self, cx: &Ctx, section: String) -> Result<(), HubError>;
    /// Stops following a section.
    async fn leave_section(&self, cx: &Ctx, section: String) -> Result<(), HubError>;
    /// Reports a package: everyone else following its section hears of it.
    async fn report_arrival(&self, cx: &Ctx, package: Package) -> Result<(), HubError>;
    /// Reports a package to everyone following its section, the caller included.
    async fn announce_arrival(&self, cx: &Ctx, package: Package) -> Result<(), HubError>;
    /// A temperature alert for several sections (each follower hears it once).
    async fn alert_sections(
        &self,
        cx: &Ctx,
        sections: Vec<String>,
        celsius: f32,
    ) -> Result<(), HubError>;
    /// A message to every connection of a user.
    async fn send_to_user(&self, cx: &Ctx, user: String, text: String) -> Result<(), HubError>;
    /// A message to every connection of several users.
    async fn send_to_users(
        &self,
        cx: &Ctx,
        users: Vec<String>,
        text: String,
    ) -> Result<(), HubError>;
    /// The caller's user id.
    async fn whoami(&self, cx: &Ctx) -> Option<String>;
    /// Keeps a note for the caller's connection.
    async fn remember(&self, cx: &Ctx, note: String);
    /// The note kept for the caller's connection.
    async fn recall(&self, cx: &Ctx) -> Option<String>;
    /// Streams `count` readings, one every `every_ms` milliseconds.
    async fn throughput(&self, count: u32, every_ms: u64) -> impl Stream<Item = u32>;
    /// Streams `count` feed entries produced by a separate task (a channel stream).
    async fn live_feed(&self, count: u32) -> impl Stream<Item = String>;
    /// Streams `count` readings, then fails (a stream error after items).
    async fn faulty_sensor(&self, count: u32) -> impl Stream<Item = Result<u32, HubError>>;
    /// Receives scanned package ids and returns how many arrived and their sum.
    async fn upload_scans(&self, scans: UploadStream<u64>) -> Result<ScanSummary, HubError>;
    /// Asks the caller itself to accept a task (a client result from inside a hub method).
    async fn assign_to_me(&self, cx: &Ctx, task: String) -> Result<bool, HubError>;
    /// Resets the floor: refused by the filter unless the caller is the user `admin`.
    async fn admin_reset(&self) -> String;
    /// Ends the caller's connection from the server side.
    async fn leave(&self, cx: &Ctx);
}

/// What `upload_scans` returns.
#[derive(Debug, Serialize)]
pub struct ScanSummary {
    /// How many ids arrived.
    pub count: u64,
    /// Their sum.
    pub sum: u64,
}

/// Counters the tests (and operators) read at `GET /stats`.
#[derive(Debug, Default, Serialize)]
struct Stats {
    streams_cancelled: AtomicU64,
    /// Connections the `Census` filter saw connect and not yet disconnect.
    online: AtomicU64,
    disconnects: Mutex<Vec<(String, String)>>,
}

/// A per-connection note (stored in the connection's items).
#[derive(Debug, Clone)]
struct Note(String);

/// The hub: shared state only (it serves every connection).
struct Floor {
    stats: Arc<Stats>,
}

/// Counts a stream as cancelled when it is dropped before its end.
struct CancelGuard {
    stats: Arc<Stats>,
    finished: bool,
}

impl CancelGuard {
    /// The stream reached its end: it was not cancelled.
    fn finish(&mut self) {
        self.finished = true;
    }
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if !self.finished {
            self.stats.streams_cancelled.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Notifications for Floor {
    async fn on_connected(&self, cx: &Ctx) -> Result<(), HubError> {
        let user = cx.user_id().map(str::to_owned);
        cx.clients()
            .others()
            .joined(cx.connection_id().to_owned(), user)
            .await?;
        Ok(())
    }

    async fn on_disconnected(&self, cx: &Ctx, reason: &DisconnectReason) {
        let reason = match reason {
            DisconnectReason::Closed => "closed".to_owned(),
            DisconnectReason::Aborted => "aborted".to_owned(),
            DisconnectReason::Error(e) => format!("error: {e}"),
            DisconnectReason::Shutdown => "server shutdown".to_owned(),
        };
        if let Ok(mut disconnects) = self.stats.disconnects.lock() {
            disconnects.push((cx.connection_id().to_owned(), reason));
        }
    }

    async fn join_section(&self, cx: &Ctx, section: String) -> Result<(), HubError> {
        cx.groups()
            .add_to_group(cx.connection_id(), &section)
            .await?;
        Ok(())
    }

    async fn leave_section(&self, cx: &Ctx, section: String) -> Result<(), HubError> {
        cx.groups()
            .remove_from_group(cx.connection_id(), &section)
            .await?;
        Ok(())
    }

    async fn report_arrival(&self, cx: &Ctx, package: Package) -> Result<(), HubError> {
        let section = package.section.clone();
        cx.clients()
            .others_in_group(&section)
            .package_arrived(package)
            .await?;
        Ok(())
    }

    async fn announce_arrival(&self, cx: &Ctx, package: Package) -> Result<(), HubError> {
        let section = package.section.clone();
        cx.clients()
            .group(&section)
            .package_arrived(package)
            .await?;
        Ok(())
    }

    async fn alert_sections(
        &self,
        cx: &Ctx,
        sections: Vec<String>,
        celsius: f32,
    ) -> Result<(), HubError> {
        let label = sections.join(",");
        cx.clients()
            .groups(&sections)
            .temperature_alert(label, celsius)
            .await?;
        Ok(())
    }

    async fn send_to_user(&self, cx: &Ctx, user: String, text: String) -> Result<(), HubError> {
        let from = cx.user_id().unwrap_or("anonymous").to_owned();
        cx.clients().user(&user).user_message(from, text).await?;
        Ok(())
    }

    async fn send_to_users(
        &self,
        cx: &Ctx,
        users: Vec<String>,
        text: String,
    ) -> Result<(), HubError> {
        let from = cx.user_id().unwrap_or("anonymous").to_owned();
        cx.clients().users(&users).user_message(from, text).await?;
        Ok(())
    }

    async fn whoami(&self, cx: &Ctx) -> Option<String> {
        cx.user_id().map(str::to_owned)
    }

    async fn remember(&self, cx: &Ctx, note: String) {
        cx.items().insert(Note(note));
    }

    async fn recall(&self, cx: &Ctx) -> Option<String> {
        cx.items().get::<Note>().map(|note| note.0)
    }

    async fn throughput(&self, count: u32, every_ms: u64) -> impl Stream<Item = u32> {
        let guard = CancelGuard {
            stats: self.stats.clone(),
            finished: false,
        };
        signalr::stream::unfold((0, guard), move |(i, mut guard)| async move {
            if i >= count {
                guard.finish();
                return None;
            }
            if i > 0 {
                tokio::time::sleep(Duration::from_millis(every_ms)).await;
            }
            Some((i, (i + 1, guard)))
        })
    }

    async fn live_feed(&self, count: u32) -> impl Stream<Item = String> {
        let (sender, stream) = stream_channel(8);
        tokio::spawn(async move {
            for i in 0..count {
                if sender.send(format!("entry {i}")).await.is_err() {
                    break; // the client stopped listening
                }
            }
        });
        stream
    }

    async fn faulty_sensor(&self, count: u32) -> impl Stream<Item = Result<u32, HubError>> {
        let readings = (0..count).map(Ok);
        let failure = std::iter::once(Err(HubError::new("sensor unplugged")));
        signalr::stream::iter(readings.chain(failure))
    }

    async fn upload_scans(&self, mut scans: UploadStream<u64>) -> Result<ScanSummary, HubError> {
        let mut summary = ScanSummary { count: 0, sum: 0 };
        while let Some(scan) = scans.next().await {
            let scan = scan.map_err(|e| match e {
                UploadError::Client(text) => HubError::new(text),
                other => HubError::from(other),
            })?;
            summary.count += 1;
            summary.sum = summary.sum.wrapping_add(scan);
        }
        Ok(summary)
    }

    async fn assign_to_me(&self, cx: &Ctx, task: String) -> Result<bool, HubError> {
        let accepted = cx.clients().caller().accept_task(task).await?;
        Ok(accepted)
    }

    async fn admin_reset(&self) -> String {
        "floor reset".to_owned()
    }

    async fn leave(&self, cx: &Ctx) {
        cx.abort();
    }
}

/// Refuses `Admin*` methods to everyone but the user `admin`.
struct AdminOnly;

impl HubFilter for AdminOnly {
    fn on_invocation<'a>(
        &'a self,
        invocation: &'a InvocationContext<'a>,
        next: Next<'a, Result<CallOutcome, HubError>>,
    ) -> BoxFuture<'a, Result<CallOutcome, HubError>> {
        Box::pin(async move {
            let admin_method = invocation.method.to_ascii_lowercase().starts_with("admin");
            if admin_method && invocation.cx.user_id() != Some("admin") {
                return Err(HubError::new("only the admin may do that"));
            }
            next.run().await
        })
    }
}

/// Counts connections around the hub's own lifecycle hooks, and keeps `banned` out.
struct Census {
    stats: Arc<Stats>,
}

impl HubFilter for Census {
    fn on_connected<'a>(
        &'a self,
        cx: &'a Ctx,
        next: Next<'a, Result<(), HubError>>,
    ) -> BoxFuture<'a, Result<(), HubError>> {
        Box::pin(async move {
            if cx.user_id() == Some("banned") {
                return Err(HubError::new("you are banned"));
            }
            next.run().await?;
            self.stats.online.fetch_add(1, Ordering::Relaxed);
            Ok(())
        })
    }

    fn on_disconnected<'a>(
        &'a self,
        cx: &'a Ctx,
        reason: &'a DisconnectReason,
        next: Next<'a, ()>,
    ) -> BoxFuture<'a, ()> {
        let _ = (cx, reason);
        Box::pin(async move {
            next.run().await;
            self.stats.online.fetch_sub(1, Ordering::Relaxed);
        })
    }
}

/// The demo's user ids: the `user` query parameter of the connecting request.
fn user_from_query(request: &Parts) -> Option<String> {
    let query = request.uri.query()?;
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == "user" && !value.is_empty()).then(|| value.to_owned())
    })
}

#[derive(Clone)]
struct AppState {
    hub: HubContext,
    stats: Arc<Stats>,
}

/// `POST /assign/{connection_id}`: a client result requested from an axum handler.
async fn assign(
    State(state): State<AppState>,
    Path(connection_id): Path<String>,
    task: String,
) -> (StatusCode, String) {
    let client = state.hub.clients().client(&connection_id);
    match client.accept_task(task).await {
        Ok(true) => (StatusCode::OK, "accepted".into()),
        Ok(false) => (StatusCode::OK, "declined".into()),
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()),
    }
}

/// `GET /stats`.
async fn read_stats(State(state): State<AppState>) -> Json<serde_json::Value> {
    let disconnects = state
        .stats
        .disconnects
        .lock()
        .map(|d| d.clone())
        .unwrap_or_default();
    Json(serde_json::json!({
        "streamsCancelled": state.stats.streams_cancelled.load(Ordering::Relaxed),
        "online": state.stats.online.load(Ordering::Relaxed),
        "disconnects": disconnects,
    }))
}

#[tokio::main]
async fn main() {
    let flags = common::flags("tour", &[]);
    common::init_tracing();
    let stats = Arc::new(Stats::default());
    let floor = Floor {
        stats: stats.clone(),
    }
    .into_server()
    .user_id_provider(user_from_query)
    .add_filter(Census {
        stats: stats.clone(),
    })
    .add_filter(AdminOnly)
    .client_result_timeout(Some(Duration::from_secs(10)))
    .enable_detailed_errors(true);
    let state = AppState {
        hub: floor.context(),
        stats,
    };
    let app = axum::Router::new()
        .route("/assign/{connection_id}", post(assign))
        .route("/stats", get(read_stats))
        .with_state(state)
        .route_hub("/hubs/warehouse", floor);
    let listener = common::bind(&flags.listen).await;
    // Ctrl-C or SIGTERM: every client is told to reconnect, running calls finish.
    common::exit_on_failure(
        signalr::serve_listener_with_shutdown(listener, app, signalr::shutdown_signal()).await,
    );
}

//! [`RedisBackplane`]: the connection to Redis that every hub of a server shares.

use crate::bus::Bus;
use crate::channels::RedisChannels;
use crate::error::BackplaneError;
use crate::health::BackplaneHealth;
use crate::manager::{RedisHub, RedisHubLifetimeManager};
use crate::options::RedisOptions;
use bytes::Bytes;
use fred::prelude::Value;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use tokio::sync::broadcast::error::RecvError;

/// A server's connection to the Redis backplane, shared by its hubs; cheap to clone.
///
/// [`connect`](Self::connect) once per server, then give each hub its lifetime manager
/// with [`hub_named`](Self::hub_named) (or [`hub`](Self::hub)). The connection runs until
/// [`close`](Self::close) (or the end of the process): dropping this handle does not
/// disconnect the hubs that use it.
#[derive(Debug, Clone)]
pub struct RedisBackplane {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    bus: Arc<Bus>,
    options: RedisOptions,
    server_name: Arc<str>,
    hubs: RwLock<Vec<Arc<RedisHub>>>,
}

impl RedisBackplane {
    /// Connects to Redis. Fails when Redis cannot be reached now; once running, the
    /// backplane survives Redis restarts (reconnecting with backoff and subscribing
    /// again to every channel this server needs).
    pub async fn connect(options: RedisOptions) -> Result<Self, BackplaneError> {
        let bus = Bus::connect(&options).await?;
        let server_name: Arc<str> = match &options.server_name {
            Some(name) => name.as_str().into(),
            None => default_server_name().into(),
        };
        let inner = Arc::new(Inner {
            bus,
            options,
            server_name,
            hubs: RwLock::new(Vec::new()),
        });
        tokio::spawn(route(inner.clone(), inner.bus.messages()));
        tracing::info!(server = %inner.server_name, sharded = inner.bus.sharded(), "connected to the Redis backplane");
        Ok(RedisBackplane { inner })
    }

    /// The lifetime manager of hub `full_name` (its channels start with it): use the
    /// full type name a .NET server gives the same hub (`Namespace.ChatHub`) for .NET
    /// and Rust servers to share it.
    ///
    /// # Panics
    ///
    /// When a hub of that name is already on this backplane: two hubs with the same
    /// channels would receive each other's messages.
    pub fn hub_named(&self, full_name: &str) -> RedisHubLifetimeManager {
        let channels = RedisChannels::new(&self.inner.options.channel_prefix, full_name);
        let mut hubs = self.inner.hubs.write().unwrap_or_else(|e| e.into_inner());
        if hubs
            .iter()
            .any(|hub| hub.channels.base() == channels.base())
        {
            panic!(
                "hub `{full_name}` is already on this Redis backplane; give each hub its own name"
            );
        }
        let hub = RedisHub::new(
            self.inner.bus.clone(),
            channels,
            self.inner.server_name.clone(),
            self.inner.options.protocols.clone(),
            self.inner.options.group_ack_timeout,
        );
        hubs.push(hub.clone());
        RedisHubLifetimeManager { hub }
    }

    /// The lifetime manager of hub type `H`, named after its Rust path with `::` written
    /// as `.` (`my_app::hubs::ChatHub` → `my_app.hubs.ChatHub`). Use
    /// [`hub_named`](Self::hub_named) to share a hub with .NET servers.
    pub fn hub<H: ?Sized>(&self) -> RedisHubLifetimeManager {
        self.hub_named(&std::any::type_name::<H>().replace("::", "."))
    }

    /// This server's name on the backplane.
    pub fn server_name(&self) -> &str {
        &self.inner.server_name
    }

    /// The backplane's state and counters, for a health check.
    pub fn health(&self) -> BackplaneHealth {
        self.inner.bus.health(&self.inner.server_name)
    }

    /// Closes the connections to Redis; hubs on it reach this server's connections only.
    pub async fn close(&self) {
        self.inner.bus.quit().await;
    }
}

/// `{host name}_{32 hex digits}`, as .NET names servers.
fn default_server_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "signalr".to_owned());
    let suffix: String = rand::random::<[u8; 16]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{host}_{suffix}")
}

/// The payload's bytes, without copying.
fn payload(value: Value) -> Option<Bytes> {
    match value {
        Value::Bytes(bytes) => Some(bytes),
        Value::String(text) => Some(text.into_inner()),
        _ => None,
    }
}

/// Hands every received message to the hub whose channel it is, in arrival order, until
/// the backplane is closed.
async fn route(
    inner: Arc<Inner>,
    mut messages: tokio::sync::broadcast::Receiver<fred::types::Message>,
) {
    loop {
        let message = match messages.recv().await {
            Ok(message) => message,
            Err(RecvError::Lagged(missed)) => {
                inner
                    .bus
                    .counters
                    .lost_received
                    .fetch_add(missed, Ordering::Relaxed);
                tracing::warn!(
                    missed,
                    "the backplane fell behind Redis: messages were dropped"
                );
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        let Some(bytes) = payload(message.value) else {
            continue;
        };
        let hubs = inner.hubs.read().unwrap_or_else(|e| e.into_inner());
        for hub in hubs.iter() {
            if let Some(channel) = hub.channels.classify(&message.channel, &inner.server_name) {
                hub.on_message(channel, bytes);
                break;
            }
        }
    }
}

//! The connection to Redis: one client that publishes, one that subscribes, the set of
//! channels this server needs (kept subscribed across reconnects) and the counters the
//! health report shows.

use crate::error::BackplaneError;
use crate::health::{BackplaneHealth, BackplaneState};
use crate::options::RedisOptions;
use bytes::Bytes;
use fred::prelude::{
    Builder, Client, ClientLike, ClientState, Config, EventInterface, Options, PubsubInterface,
    ReconnectPolicy, Value,
};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How long the subscription keeper waits before retrying after a failed (un)subscribe.
const RESYNC_RETRY: Duration = Duration::from_millis(500);

/// Channels per SUBSCRIBE or UNSUBSCRIBE command (unsharded pub/sub).
const CHANNELS_PER_COMMAND: usize = 500;

/// What the health report counts.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) unpublished: AtomicU64,
    pub(crate) lost_received: AtomicU64,
    pub(crate) malformed_received: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    pub(crate) subscribed: AtomicUsize,
    pub(crate) wanted: AtomicUsize,
    pub(crate) in_sync: AtomicBool,
    pub(crate) last_error: Mutex<Option<String>>,
}

impl Counters {
    pub(crate) fn record_error(&self, error: impl std::fmt::Display) {
        let text = error.to_string();
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(text);
    }
}

enum SubscriptionChange {
    /// Keep the channel subscribed; the sender is answered once it is (or once trying
    /// failed: the channel is then subscribed at the next reconnect).
    Want(String, Option<oneshot::Sender<()>>),
    /// The channel is no longer needed.
    Unwant(String),
}

/// The Redis side of the backplane, shared by every hub on it.
#[derive(Debug)]
pub(crate) struct Bus {
    publisher: Client,
    subscriber: Client,
    sharded: bool,
    command_options: Options,
    changes: mpsc::UnboundedSender<SubscriptionChange>,
    pub(crate) counters: Arc<Counters>,
}

impl std::fmt::Debug for SubscriptionChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SubscriptionChange::Want(c, _) => write!(f, "Want({c})"),
            SubscriptionChange::Unwant(c) => write!(f, "Unwant({c})"),
        }
    }
}

impl Bus {
    /// Connects both clients; fails when Redis cannot be reached now (later outages are
    /// survived: the clients reconnect with backoff).
    pub(crate) async fn connect(options: &RedisOptions) -> Result<Arc<Bus>, BackplaneError> {
        let config = Config::from_url(options.url()).map_err(BackplaneError::configuration)?;
        let clustered = config.server.is_clustered();
        let sharded = options.sharded_pubsub || clustered;
        let (min, max) = options.reconnect_delay;
        let policy = ReconnectPolicy::new_exponential(
            0,
            u32::try_from(min.as_millis()).unwrap_or(u32::MAX),
            u32::try_from(max.as_millis()).unwrap_or(u32::MAX),
            2,
        );
        let mut builder = Builder::from_config(config);
        builder
            .set_policy(policy)
            .with_connection_config(|c| {
                c.connection_timeout = options.connect_timeout;
                c.internal_command_timeout = options.connect_timeout;
            })
            .with_performance_config(|c| {
                c.broadcast_channel_capacity = options.receive_buffer;
            });
        let publisher = builder.build().map_err(BackplaneError::configuration)?;
        let subscriber = builder.build().map_err(BackplaneError::configuration)?;
        let connect = async {
            publisher.init().await?;
            subscriber.init().await?;
            Ok::<_, fred::error::Error>(())
        };
        match tokio::time::timeout(options.connect_timeout, connect).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(BackplaneError::connect(options.url(), error)),
            Err(_) => {
                let _ = publisher.quit().await;
                let _ = subscriber.quit().await;
                return Err(BackplaneError::connect(
                    options.url(),
                    format!("no answer within {:?}", options.connect_timeout),
                ));
            }
        }
        let command_options = Options {
            timeout: Some(options.command_timeout),
            fail_fast: true,
            ..Options::default()
        };
        let (changes, changes_rx) = mpsc::unbounded_channel();
        let counters = Arc::new(Counters::default());
        // Nothing is wanted yet: in sync until a hub asks for channels.
        counters.in_sync.store(true, Ordering::Relaxed);
        let keeper = SubscriptionKeeper {
            subscriber: subscriber.clone(),
            sharded,
            command_options: command_options.clone(),
            counters: counters.clone(),
            wanted: HashSet::new(),
            subscribed: HashSet::new(),
        };
        tokio::spawn(keeper.run(changes_rx, subscriber.reconnect_rx()));
        let reconnects = counters.clone();
        let mut publisher_reconnects = publisher.reconnect_rx();
        tokio::spawn(async move {
            while publisher_reconnects.recv().await.is_ok() {
                reconnects.reconnects.fetch_add(1, Ordering::Relaxed);
            }
        });
        for client in [&publisher, &subscriber] {
            let counters = counters.clone();
            let mut errors = client.error_rx();
            tokio::spawn(async move {
                while let Ok((error, server)) = errors.recv().await {
                    tracing::warn!(%error, ?server, "Redis backplane connection error");
                    counters.record_error(&error);
                }
            });
        }
        Ok(Arc::new(Bus {
            publisher,
            subscriber,
            sharded,
            command_options,
            changes,
            counters,
        }))
    }

    /// Whether channels use sharded pub/sub (`SPUBLISH`/`SSUBSCRIBE`).
    pub(crate) fn sharded(&self) -> bool {
        self.sharded
    }

    /// The messages of every subscribed channel, as they arrive.
    pub(crate) fn messages(&self) -> tokio::sync::broadcast::Receiver<fred::types::Message> {
        self.subscriber.message_rx()
    }

    /// Publishes `payload`; answers how many subscribers received it. Fails at once while
    /// Redis is unreachable and after the command timeout otherwise; every failure is
    /// counted as unpublished.
    pub(crate) async fn publish(
        &self,
        channel: &str,
        payload: Bytes,
    ) -> Result<i64, BackplaneError> {
        let client = self.publisher.with_options(&self.command_options);
        let value = Value::Bytes(payload);
        let sent: Result<i64, _> = if self.sharded {
            client.spublish(channel, value).await
        } else {
            client.publish(channel, value).await
        };
        sent.map_err(|error| {
            self.counters.unpublished.fetch_add(1, Ordering::Relaxed);
            self.counters.record_error(&error);
            tracing::warn!(%error, channel, "could not publish to the Redis backplane");
            BackplaneError::Publish(error.to_string())
        })
    }

    /// [`publish`](Self::publish) with an owned channel name.
    pub(crate) async fn publish_owned(
        &self,
        channel: String,
        payload: Bytes,
    ) -> Result<i64, BackplaneError> {
        self.publish(&channel, payload).await
    }

    /// Keeps `channel` subscribed (until [`unwant`](Self::unwant)); the answer comes once
    /// the subscription is in effect, or once trying failed.
    pub(crate) fn want(&self, channel: String) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        let _ = self
            .changes
            .send(SubscriptionChange::Want(channel, Some(tx)));
        rx
    }

    /// Like [`want`](Self::want), without waiting.
    pub(crate) fn want_now(&self, channel: String) {
        let _ = self.changes.send(SubscriptionChange::Want(channel, None));
    }

    /// The channel is no longer needed by this server.
    pub(crate) fn unwant(&self, channel: String) {
        let _ = self.changes.send(SubscriptionChange::Unwant(channel));
    }

    /// The backplane's state and counters.
    pub(crate) fn health(&self, server_name: &str) -> BackplaneHealth {
        let counters = &self.counters;
        let connected = self.publisher.state() == ClientState::Connected
            && self.subscriber.state() == ClientState::Connected;
        let state = if !connected {
            BackplaneState::Disconnected
        } else if counters.in_sync.load(Ordering::Relaxed) {
            BackplaneState::Connected
        } else {
            BackplaneState::Resubscribing
        };
        BackplaneHealth {
            state,
            server_name: server_name.to_owned(),
            sharded_pubsub: self.sharded,
            unpublished: counters.unpublished.load(Ordering::Relaxed),
            lost_received: counters.lost_received.load(Ordering::Relaxed),
            malformed_received: counters.malformed_received.load(Ordering::Relaxed),
            reconnects: counters.reconnects.load(Ordering::Relaxed),
            subscribed_channels: counters.subscribed.load(Ordering::Relaxed),
            wanted_channels: counters.wanted.load(Ordering::Relaxed),
            last_error: counters
                .last_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }

    /// Closes both connections.
    pub(crate) async fn quit(&self) {
        let _ = self.subscriber.quit().await;
        let _ = self.publisher.quit().await;
    }
}

/// The task that owns the subscriptions: it applies changes in the order they were made,
/// and after every reconnect subscribes again to everything wanted (Redis forgets a
/// connection's subscriptions when it drops).
struct SubscriptionKeeper {
    subscriber: Client,
    sharded: bool,
    command_options: Options,
    counters: Arc<Counters>,
    wanted: HashSet<String>,
    subscribed: HashSet<String>,
}

impl SubscriptionKeeper {
    async fn run(
        mut self,
        mut changes: mpsc::UnboundedReceiver<SubscriptionChange>,
        mut reconnects: tokio::sync::broadcast::Receiver<fred::types::config::Server>,
    ) {
        let mut waiters: Vec<oneshot::Sender<()>> = Vec::new();
        let mut failed = false;
        loop {
            tokio::select! {
                change = changes.recv() => {
                    let Some(change) = change else { break };
                    self.apply(change, &mut waiters);
                    while let Ok(change) = changes.try_recv() {
                        self.apply(change, &mut waiters);
                    }
                }
                reconnected = reconnects.recv() => {
                    if let Err(tokio::sync::broadcast::error::RecvError::Closed) = reconnected {
                        break;
                    }
                    tracing::info!("Redis backplane reconnected: subscribing again to {} channels", self.wanted.len());
                    self.counters.reconnects.fetch_add(1, Ordering::Relaxed);
                    self.subscribed.clear();
                    while reconnects.try_recv().is_ok() {}
                }
                _ = tokio::time::sleep(RESYNC_RETRY), if failed => {}
            }
            failed = !self.sync().await;
            self.counters.in_sync.store(!failed, Ordering::Relaxed);
            self.counters
                .subscribed
                .store(self.subscribed.len(), Ordering::Relaxed);
            self.counters
                .wanted
                .store(self.wanted.len(), Ordering::Relaxed);
            for waiter in waiters.drain(..) {
                let _ = waiter.send(());
            }
        }
    }

    fn apply(&mut self, change: SubscriptionChange, waiters: &mut Vec<oneshot::Sender<()>>) {
        match change {
            SubscriptionChange::Want(channel, waiter) => {
                self.wanted.insert(channel);
                waiters.extend(waiter);
            }
            SubscriptionChange::Unwant(channel) => {
                self.wanted.remove(&channel);
            }
        }
    }

    /// Subscribes what is wanted and not subscribed, unsubscribes the rest; `false` when
    /// a command failed (it is retried).
    async fn sync(&mut self) -> bool {
        let subscribe: Vec<String> = self.wanted.difference(&self.subscribed).cloned().collect();
        let unsubscribe: Vec<String> = self.subscribed.difference(&self.wanted).cloned().collect();
        let mut ok = true;
        if !subscribe.is_empty() {
            ok &= self.change(subscribe, true).await;
        }
        if !unsubscribe.is_empty() {
            ok &= self.change(unsubscribe, false).await;
        }
        ok
    }

    async fn change(&mut self, channels: Vec<String>, subscribe: bool) -> bool {
        let client = self.subscriber.with_options(&self.command_options);
        let mut ok = true;
        let mut done: Vec<String> = Vec::with_capacity(channels.len());
        if self.sharded {
            // In a cluster every channel lives on the shard of its own hash slot: one
            // command each, sent together.
            let results = futures_util::future::join_all(channels.iter().map(|channel| {
                let client = &client;
                async move {
                    if subscribe {
                        client.ssubscribe(channel.as_str()).await
                    } else {
                        client.sunsubscribe(channel.as_str()).await
                    }
                }
            }))
            .await;
            for (channel, result) in channels.into_iter().zip(results) {
                match result {
                    Ok(()) => done.push(channel),
                    Err(error) => {
                        ok = false;
                        self.failed(&channel, subscribe, &error);
                    }
                }
            }
        } else {
            for chunk in channels.chunks(CHANNELS_PER_COMMAND) {
                let names: Vec<&str> = chunk.iter().map(String::as_str).collect();
                let result = if subscribe {
                    client.subscribe(names).await
                } else {
                    client.unsubscribe(names).await
                };
                match result {
                    Ok(()) => done.extend(chunk.iter().cloned()),
                    Err(error) => {
                        ok = false;
                        self.failed(&chunk[0], subscribe, &error);
                    }
                }
            }
            // fred answers SUBSCRIBE and UNSUBSCRIBE once written, not once Redis has
            // processed them. Redis answers a connection's commands in order, so the
            // answer to a PING sent after them proves they took effect: a send published
            // after a join returned then reaches the new member (as .NET's awaited
            // subscription guarantees).
            if !done.is_empty() {
                if let Err(error) = client.ping::<fred::types::Value>(None).await {
                    ok = false;
                    self.failed(&done[0], subscribe, &error);
                    done.clear();
                }
            }
        }
        for channel in done {
            if subscribe {
                self.subscribed.insert(channel);
            } else {
                self.subscribed.remove(&channel);
            }
        }
        ok
    }

    fn failed(&self, channel: &str, subscribe: bool, error: &fred::error::Error) {
        let what = if subscribe {
            "subscribe to"
        } else {
            "unsubscribe from"
        };
        tracing::warn!(%error, channel, "could not {what} a Redis backplane channel; retrying");
        self.counters.record_error(error);
    }
}

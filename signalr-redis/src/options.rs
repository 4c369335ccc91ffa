//! [`RedisOptions`]: where Redis is and how the backplane uses it.

use signalr_core::protocol::HubProtocol;
use std::time::Duration;

/// How long a group change for a connection on another server waits for that server's
/// acknowledgement (.NET: 30 seconds).
pub const DEFAULT_GROUP_ACK_TIMEOUT: Duration = Duration::from_secs(30);

/// How long one Redis command (a publish, a subscribe) may take before it counts as
/// failed.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// How long connecting to Redis at start may take.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Received messages buffered between Redis and the delivery loop.
pub const DEFAULT_RECEIVE_BUFFER: usize = 8192;

/// Options of a [`RedisBackplane`](crate::RedisBackplane) (modelling .NET's
/// `RedisOptions`).
///
/// ```
/// use signalr_redis::RedisOptions;
/// use std::time::Duration;
/// let options = RedisOptions::new("redis://127.0.0.1:6379")
///     .channel_prefix("myapp")
///     .server_name("web-1")
///     .command_timeout(Duration::from_secs(2));
/// assert_eq!(options.url(), "redis://127.0.0.1:6379");
/// ```
#[derive(Debug, Clone)]
pub struct RedisOptions {
    url: String,
    pub(crate) channel_prefix: String,
    pub(crate) server_name: Option<String>,
    pub(crate) sharded_pubsub: bool,
    pub(crate) protocols: Vec<HubProtocol>,
    pub(crate) group_ack_timeout: Duration,
    pub(crate) command_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) reconnect_delay: (Duration, Duration),
    pub(crate) receive_buffer: usize,
}

impl RedisOptions {
    /// Options for the Redis at `url`: `redis://[user:password@]host:port[/db]`, or
    /// `redis-cluster://host:port[?node=host:port&…]` for a Redis Cluster (which always
    /// uses sharded pub/sub).
    pub fn new(url: impl Into<String>) -> Self {
        RedisOptions {
            url: url.into(),
            channel_prefix: String::new(),
            server_name: None,
            sharded_pubsub: false,
            protocols: HubProtocol::ALL.to_vec(),
            group_ack_timeout: DEFAULT_GROUP_ACK_TIMEOUT,
            command_timeout: DEFAULT_COMMAND_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            reconnect_delay: (Duration::from_millis(100), Duration::from_secs(5)),
            receive_buffer: DEFAULT_RECEIVE_BUFFER,
        }
    }

    /// The Redis URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Written directly before every channel name, with no separator (.NET's
    /// `ChannelPrefix`): lets several applications share one Redis. Default: none.
    pub fn channel_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.channel_prefix = prefix.into();
        self
    }

    /// This server's name on the backplane, unique among the servers (it names the
    /// server's ack and result channels). Default: the host name, `_`, and 32 random hex
    /// digits, as .NET forms it.
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// Uses sharded pub/sub (`SPUBLISH`/`SSUBSCRIBE`, Redis 7): each channel lives on the
    /// shard of its hash slot instead of every message reaching every node. Always on for
    /// a `redis-cluster://` URL; off by default otherwise, as ASP.NET Core's backplane
    /// publishes unsharded (servers sharing a Redis must agree on this).
    pub fn sharded_pubsub(mut self, sharded: bool) -> Self {
        self.sharded_pubsub = sharded;
        self
    }

    /// The hub protocols every published message is serialized in (default: JSON and
    /// MessagePack). Every server on the backplane must use the same set, .NET servers
    /// included, or a server cannot deliver to its clients of a missing protocol.
    pub fn protocols(mut self, protocols: impl IntoIterator<Item = HubProtocol>) -> Self {
        self.protocols = protocols.into_iter().collect();
        self.protocols.dedup();
        self
    }

    /// How long adding or removing a connection of another server to or from a group
    /// waits for that server's acknowledgement. Default:
    /// [`DEFAULT_GROUP_ACK_TIMEOUT`] (30 s, as .NET).
    pub fn group_ack_timeout(mut self, timeout: Duration) -> Self {
        self.group_ack_timeout = timeout;
        self
    }

    /// How long one Redis command may take before it fails; no hub call waits on Redis
    /// for longer. While Redis is unreachable commands fail at once. Default:
    /// [`DEFAULT_COMMAND_TIMEOUT`] (5 s).
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// How long connecting at start may take. Default: [`DEFAULT_CONNECT_TIMEOUT`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The backoff between reconnection attempts after Redis went away: from `min`,
    /// doubling, up to `max`. Default: 100 ms to 5 s.
    pub fn reconnect_delay(mut self, min: Duration, max: Duration) -> Self {
        self.reconnect_delay = (min, max.max(min));
        self
    }

    /// Received messages buffered between Redis and delivery; past it, messages are
    /// dropped and counted in [`BackplaneHealth::lost_received`](crate::BackplaneHealth).
    /// Default: [`DEFAULT_RECEIVE_BUFFER`].
    pub fn receive_buffer(mut self, messages: usize) -> Self {
        self.receive_buffer = messages.max(16);
        self
    }
}

//! A Redis backplane for `signalr` hubs, wire-compatible with ASP.NET Core's
//! (`Microsoft.AspNetCore.SignalR.StackExchangeRedis`): several servers, Rust or .NET, on
//! one Redis form one logical server. A client connected to any of them reaches, and is
//! reached by, clients of every other one, through every client target, group and
//! client result.
//!
//! ```no_run
//! use signalr::prelude::*;
//! use signalr_redis::{RedisBackplane, RedisOptions};
//!
//! #[signalr::hub]
//! pub trait Chat {
//!     async fn send(&self, cx: &Ctx, text: String) -> Result<(), HubError>;
//! }
//! #[signalr::hub_client]
//! pub trait ChatClient {
//!     async fn receive(&self, text: String);
//! }
//! struct ChatHub;
//! impl Chat for ChatHub {
//!     async fn send(&self, cx: &Ctx, text: String) -> Result<(), HubError> {
//!         cx.clients().all().receive(text).await?; // every server's connections
//!         Ok(())
//!     }
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let backplane = RedisBackplane::connect(RedisOptions::new("redis://127.0.0.1:6379")).await?;
//! let app: axum::Router = axum::Router::new().route_hub(
//!     "/chat",
//!     ChatHub
//!         .into_server()
//!         // Channels named `MyApp.Hubs.ChatHub:…`, as a .NET server's `ChatHub` in
//!         // namespace `MyApp.Hubs` would use.
//!         .lifetime_manager(backplane.hub_named("MyApp.Hubs.ChatHub")),
//! );
//! # let _ = app; Ok(()) }
//! ```
//!
//! Channels, envelopes, group commands, acks and client results are those of ASP.NET
//! Core (see the README's scale-out section). Beyond it: Redis Cluster with sharded
//! pub/sub ([`RedisOptions::sharded_pubsub`]), resubscription of every needed channel
//! after a reconnect, local delivery and counting while Redis is unreachable, and a
//! health report ([`RedisBackplane::health`]).

mod acks;
mod backplane;
mod bus;
mod channels;
mod envelope;
mod error;
mod health;
mod manager;
mod options;
mod results;

pub use backplane::RedisBackplane;
pub use error::BackplaneError;
pub use health::{BackplaneHealth, BackplaneState};
pub use manager::RedisHubLifetimeManager;
pub use options::{
    RedisOptions, DEFAULT_COMMAND_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, DEFAULT_GROUP_ACK_TIMEOUT,
    DEFAULT_RECEIVE_BUFFER,
};

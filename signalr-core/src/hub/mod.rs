//! The hub runtime (modelling .NET's `SignalR` layer): dispatch of client calls to hub
//! methods, typed proxies for calling clients, groups and users, streaming, client
//! results, filters, the lifetime manager and the hub context.
//!
//! # The hub instance model
//!
//! One value of your hub type serves every connection and every call at once (methods take
//! `&self`): state shared by everyone lives in its fields, behind a lock or an atomic when
//! it changes. State of one connection lives in [`Ctx::items`], which every call of that
//! connection sees. State of one call is the method's own locals. ASP.NET Core creates a
//! hub object per call instead; sharing one value makes shared state explicit.

mod client_results;
mod connection;
mod context;
mod dispatcher;
mod error;
mod filter;
mod lifecycle;
mod lifetime;
mod options;
mod proxy;
mod server;
mod session;
mod streaming;
mod user;

pub use client_results::ClientResultError;
pub use context::{Ctx, HubContext};
pub use dispatcher::{BoxFuture, CallOutcome, HubCall, HubDispatcher, MethodInfo};
pub use error::{HubError, SendError};
pub use filter::{HubFilter, InvocationContext, Next};
pub use lifecycle::{DisconnectReason, Items};
pub use options::{HubFilters, HubOptions};
pub use proxy::{
    CallerClients, ClientProxy, GroupError, Groups, HubClients, Many, ProxyScope, Single,
    SingleClientProxy,
};
pub use server::{HubServer, RouterExt};
pub use streaming::{
    stream_channel, ChannelStream, StreamClosed, StreamSender, UploadError, UploadSource,
    UploadStream,
};
pub use user::{DefaultUserIdProvider, UserId, UserIdProvider};

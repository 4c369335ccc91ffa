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

// The API hub code uses.
mod authorization;
mod clients;
mod ctx;
mod disconnect;
mod error;
mod filter;
mod groups;
mod hub_context;
mod hub_options;
mod hub_server;
mod items;
mod stream;
mod upload;
mod users;

// The seam a backplane implements.
mod lifetime;

// Behind the scenes: the contract with generated code, and the runtime.
pub(crate) mod contract;
mod handle;
mod runtime;

#[cfg(test)]
mod fan_out_tests;

pub use authorization::{AuthorizationContext, Authorize, Policy, Refusal};
pub use clients::{
    CallerClients, ClientProxy, HubClients, Many, ProxyScope, Single, SingleClientProxy,
};
pub use contract::CallOutcome;
pub use ctx::Ctx;
pub use disconnect::DisconnectReason;
pub use error::{ClientResultError, GroupError, HubError, SendError, StreamClosed, UploadError};
pub use filter::{HubFilter, InvocationContext, Next};
pub use groups::Groups;
pub use hub_context::HubContext;
pub use hub_options::{HubFilters, HubOptions};
pub use hub_server::{HubDispatcher, HubServer, RouterExt};
pub use items::Items;
pub use lifetime::{
    ClientInvocation, ClientTarget, DefaultHubLifetimeManager, HubConnectionContext,
    HubLifetimeManager, SerializedHubMessage, Stragglers,
};
pub use stream::{stream_channel, ChannelStream, StreamSender};
pub use upload::UploadStream;
pub use users::{DefaultUserIdProvider, UserId, UserIdProvider};

/// A boxed, sendable future: what hub filters and lifetime managers return.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

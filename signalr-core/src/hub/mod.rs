//! The hub runtime (modelling .NET's `SignalR` layer): dispatch of client calls to hub
//! methods, typed proxies for calling clients, the lifetime manager and the hub context.

mod connection;
mod context;
mod dispatcher;
mod error;
mod lifetime;
mod options;
mod proxy;
mod server;

pub use context::{Ctx, HubContext};
pub use dispatcher::{BoxFuture, CallOutcome, HubCall, HubDispatcher, MethodInfo};
pub use error::{HubError, SendError};
pub use options::HubOptions;
pub use proxy::{CallerClients, ClientProxy, HubClients, Many, ProxyScope, Single};
pub use server::{HubServer, RouterExt};

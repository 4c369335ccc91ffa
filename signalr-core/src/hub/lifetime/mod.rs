//! The lifetime manager seam: [`HubLifetimeManager`], what it is handed
//! ([`HubConnectionContext`], [`ClientTarget`], [`SerializedHubMessage`],
//! [`ClientInvocation`]) and the in-memory default, [`DefaultHubLifetimeManager`].

mod default_manager;
mod hub_connection;
mod hub_lifetime_manager;
mod message;
mod pending_results;
mod target;

pub use default_manager::{DefaultHubLifetimeManager, Stragglers};
pub use hub_connection::HubConnectionContext;
pub use hub_lifetime_manager::HubLifetimeManager;
pub use message::{ClientInvocation, SerializedHubMessage};
pub use target::ClientTarget;

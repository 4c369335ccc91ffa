//! The hub runtime, private to the crate: running the hub protocol on each connection of
//! an endpoint, from handshake to close.

mod answer;
mod backlog;
mod handshake;
mod heartbeat;
mod hub_connection_handler;
mod panic;
mod sequencing;
mod session;
mod shared;
mod sparse_map;

pub(crate) use hub_connection_handler::HubConnectionHandler;
pub(crate) use shared::HubShared;

//! Transport core and hub runtime of the `signalr` crate.
//!
//! Users depend on the `signalr` crate, which re-exports this one. The layers, bottom up:
//! [`protocol`] (hub messages and codecs, no I/O), [`connection`] and [`transport`]
//! (negotiate, WebSockets, the connection table), [`hub`] (dispatch, client proxies,
//! lifetime manager, hub context).

pub mod auth;
pub mod connection;
pub mod endpoint;
pub mod hub;
pub mod protocol;
pub(crate) mod transport;

//! The contract between the hub runtime and the code `#[hub]` generates, reachable only
//! through the hidden `signalr_core::__private` path: the dispatch table of a hub
//! ([`Dispatch`], [`MethodInfo`]) and the invocation it runs ([`HubCall`]).
//!
//! [`CallOutcome`] is also user-facing (hub filters return it) and is re-exported by
//! [`hub`](crate::hub).

mod call;
mod dispatch;

pub use call::{CallOutcome, HubCall};
pub use dispatch::{Dispatch, MethodInfo};

pub(crate) use call::{CallParts, Responder};

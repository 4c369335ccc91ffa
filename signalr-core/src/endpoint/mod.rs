//! The endpoint layer (modelling .NET's `HttpConnectionDispatcher`): the HTTP routes of one
//! hub or raw connection endpoint. It answers negotiate, sends each connection request to
//! its transport with .NET's status codes, keeps the endpoint's connections and disposes
//! the inactive ones.

mod connections;
mod http_dispatcher;
mod in_memory;
mod inactivity;
mod negotiate;
mod one_task;
mod query;

pub use http_dispatcher::{HttpConnectionDispatcher, RequestAuthorizer};
pub use in_memory::{InMemoryConnectError, InMemoryConnection};
pub use query::query_param;

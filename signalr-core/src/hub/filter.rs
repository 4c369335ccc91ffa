//! Hub filters (modelling `IHubFilter`): code that wraps every hub method invocation, and
//! every `on_connected` and `on_disconnected`, in order.

use super::contract::CallOutcome;
use super::ctx::Ctx;
use super::disconnect::DisconnectReason;
use super::error::HubError;
use super::BoxFuture;
use crate::protocol::RawValue;
use std::sync::Arc;

/// One invocation as filters see it.
#[derive(Debug)]
pub struct InvocationContext<'a> {
    /// The caller's context.
    pub cx: &'a Ctx,
    /// The method name as the client wrote it.
    pub method: &'a str,
    /// The arguments, undecoded; [`RawValue::decode`] reads one.
    pub arguments: &'a [RawValue],
}

/// The rest of a filter chain: the next filters, then the hub itself.
pub struct Next<'a, T> {
    run: Box<dyn FnOnce() -> BoxFuture<'a, T> + Send + 'a>,
}

impl<T> std::fmt::Debug for Next<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Next")
    }
}

impl<'a, T> Next<'a, T> {
    pub(crate) fn new(run: impl FnOnce() -> BoxFuture<'a, T> + Send + 'a) -> Self {
        Next { run: Box::new(run) }
    }

    /// Runs the rest of the chain.
    pub async fn run(self) -> T {
        (self.run)().await
    }
}

/// Wraps hub method invocations and connection lifecycle events (modelling `IHubFilter`).
///
/// Every method has a default that just runs the rest of the chain; override what you
/// need. Returning `Err` from [`on_invocation`](Self::on_invocation) skips the method and
/// answers the caller with that error (a [`HubError::new`] message reaches the client);
/// returning `Err` from [`on_connected`](Self::on_connected) refuses the connection.
///
/// ```
/// use signalr_core::hub::{BoxFuture, CallOutcome, HubError, HubFilter, InvocationContext, Next};
///
/// /// Refuses every method whose name starts with "Admin".
/// struct NoAdmin;
///
/// impl HubFilter for NoAdmin {
///     fn on_invocation<'a>(
///         &'a self,
///         invocation: &'a InvocationContext<'a>,
///         next: Next<'a, Result<CallOutcome, HubError>>,
///     ) -> BoxFuture<'a, Result<CallOutcome, HubError>> {
///         Box::pin(async move {
///             if invocation.method.to_ascii_lowercase().starts_with("admin") {
///                 return Err(HubError::new("not allowed"));
///             }
///             next.run().await
///         })
///     }
/// }
/// ```
pub trait HubFilter: Send + Sync + 'static {
    /// Wraps one hub method invocation.
    fn on_invocation<'a>(
        &'a self,
        invocation: &'a InvocationContext<'a>,
        next: Next<'a, Result<CallOutcome, HubError>>,
    ) -> BoxFuture<'a, Result<CallOutcome, HubError>> {
        let _ = invocation;
        Box::pin(next.run())
    }

    /// Wraps the hub's `on_connected`.
    fn on_connected<'a>(
        &'a self,
        cx: &'a Ctx,
        next: Next<'a, Result<(), HubError>>,
    ) -> BoxFuture<'a, Result<(), HubError>> {
        let _ = cx;
        Box::pin(next.run())
    }

    /// Wraps the hub's `on_disconnected`.
    fn on_disconnected<'a>(
        &'a self,
        cx: &'a Ctx,
        reason: &'a DisconnectReason,
        next: Next<'a, ()>,
    ) -> BoxFuture<'a, ()> {
        let _ = (cx, reason);
        Box::pin(next.run())
    }
}

/// Runs `filters` around `last` for an invocation.
pub(crate) fn invocation_chain<'a>(
    filters: &'a [Arc<dyn HubFilter>],
    invocation: &'a InvocationContext<'a>,
    last: Box<dyn FnOnce() -> BoxFuture<'a, Result<CallOutcome, HubError>> + Send + 'a>,
) -> BoxFuture<'a, Result<CallOutcome, HubError>> {
    match filters.split_first() {
        None => last(),
        Some((first, rest)) => first.on_invocation(
            invocation,
            Next::new(move || invocation_chain(rest, invocation, last)),
        ),
    }
}

/// Runs `filters` around `last` for `on_connected`.
pub(crate) fn connected_chain<'a>(
    filters: &'a [Arc<dyn HubFilter>],
    cx: &'a Ctx,
    last: Box<dyn FnOnce() -> BoxFuture<'a, Result<(), HubError>> + Send + 'a>,
) -> BoxFuture<'a, Result<(), HubError>> {
    match filters.split_first() {
        None => last(),
        Some((first, rest)) => {
            first.on_connected(cx, Next::new(move || connected_chain(rest, cx, last)))
        }
    }
}

/// Runs `filters` around `last` for `on_disconnected`.
pub(crate) fn disconnected_chain<'a>(
    filters: &'a [Arc<dyn HubFilter>],
    cx: &'a Ctx,
    reason: &'a DisconnectReason,
    last: Box<dyn FnOnce() -> BoxFuture<'a, ()> + Send + 'a>,
) -> BoxFuture<'a, ()> {
    match filters.split_first() {
        None => last(),
        Some((first, rest)) => first.on_disconnected(
            cx,
            reason,
            Next::new(move || disconnected_chain(rest, cx, reason, last)),
        ),
    }
}

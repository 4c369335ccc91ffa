//! The dispatch table `#[hub]` generates for a hub trait: its methods and lifecycle hooks.

use super::call::{CallOutcome, HubCall};
use crate::hub::{BoxFuture, Ctx, DisconnectReason, HubError};

/// One hub method as the runtime sees it.
#[derive(Debug, Clone, Copy)]
pub struct MethodInfo {
    /// The wire name (matched case-insensitively).
    pub name: &'static str,
    /// How many arguments the wire carries (upload streams not counted).
    pub parameters: usize,
    /// How many upload-stream parameters the method takes.
    pub upload_streams: usize,
    /// Whether the method returns a stream (called with a StreamInvocation).
    pub streaming: bool,
    /// What `#[authorize]` on the method requires of its callers.
    pub authorize: Option<crate::hub::Authorize>,
}

/// What the `#[hub]` macro implements for a hub's dispatcher: the method table, the
/// dispatch and the lifecycle hooks. Every `Dispatch` is a
/// [`HubDispatcher`](crate::hub::HubDispatcher).
///
/// Not meant to be implemented by hand; use `#[hub]`.
pub trait Dispatch: Send + Sync + 'static {
    /// Every hub method, indexed by position.
    const METHODS: &'static [MethodInfo];

    /// What `#[authorize]` on the hub trait requires of every connection.
    const AUTHORIZE: Option<crate::hub::Authorize> = None;

    /// Runs method number `call.method()` of [`METHODS`](Self::METHODS). (Not boxed: the
    /// session keeps it inside the call's future, one allocation per call instead of
    /// two.)
    fn dispatch<'a>(
        &'a self,
        cx: &'a Ctx,
        call: HubCall,
    ) -> impl std::future::Future<Output = CallOutcome> + Send + 'a;

    /// Runs the hub's `on_connected`; an error refuses the connection.
    fn on_connected<'a>(&'a self, cx: &'a Ctx) -> BoxFuture<'a, Result<(), HubError>>;

    /// Runs the hub's `on_disconnected`.
    fn on_disconnected<'a>(
        &'a self,
        cx: &'a Ctx,
        reason: &'a DisconnectReason,
    ) -> BoxFuture<'a, ()>;
}

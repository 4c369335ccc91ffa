#![doc = include_str!("docs/tour.md")]

pub use signalr_core::{auth, connection, endpoint, hub, protocol};
pub use signalr_macros::{authorize, hub, hub_client};

/// The Redis backplane (the `signalr-redis` crate, with the `redis` feature).
#[cfg(feature = "redis")]
pub use signalr_redis as redis;

mod listener;
mod shutdown;
pub use listener::{bind, serve, Listener, WriteDeadlineStream, DEFAULT_WRITE_STALL_TIMEOUT};
pub use shutdown::{
    graceful_shutdown, serve_listener_with_shutdown, serve_with_shutdown, shutdown_signal,
    SHUTDOWN_FORCE_AFTER,
};

/// Stream helpers for streaming hub methods (re-exported from `futures-util`).
pub mod stream {
    pub use futures_util::stream::{empty, iter, once, pending, unfold, Stream, StreamExt};
}

/// Everything a hub author usually needs.
pub mod prelude {
    pub use crate::authorize;
    pub use crate::connection::Transports;
    pub use crate::hub::{
        stream_channel, AuthorizationContext, ClientProxy, ClientResultError, Ctx,
        DisconnectReason, HubContext, HubError, HubOptions, HubServer, RouterExt, SendError,
        SingleClientProxy, UploadStream, UserId,
    };
    pub use crate::protocol::HubProtocol;
    pub use futures_util::{Stream, StreamExt};
}

/// Helpers for macro-generated code. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use signalr_core::__private::*;

    use crate::hub::HubError;

    /// A type a hub method can take as an argument.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be a hub method argument: it is not deserializable",
        label = "arguments are decoded from JSON or MessagePack",
        note = "derive `serde::Deserialize` for it (owned data only, no borrowed `&str`)"
    )]
    pub trait HubArgument: serde::de::DeserializeOwned + Send + 'static {}
    impl<T: serde::de::DeserializeOwned + Send + 'static> HubArgument for T {}

    /// A type a hub method can return.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be returned by a hub method: it is not serializable",
        label = "results are encoded as JSON or MessagePack",
        note = "derive `serde::Serialize` for it"
    )]
    pub trait HubReturn: serde::Serialize {}
    impl<T: serde::Serialize + ?Sized> HubReturn for T {}

    /// A type a client method can take as an argument.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be a client method argument: it is not serializable and sendable",
        label = "arguments are encoded as JSON or MessagePack",
        note = "derive `serde::Serialize` for it; it must also be `Send`"
    )]
    pub trait ClientArgument: serde::Serialize + Send {}
    impl<T: serde::Serialize + Send> ClientArgument for T {}

    /// Decodes the next argument of `call`.
    pub fn argument<T: HubArgument>(call: &mut HubCall) -> Result<T, CallOutcome> {
        call.argument()
    }

    /// Completes `call` with a value.
    pub fn complete_value<T: HubReturn>(call: &HubCall, value: &T) -> CallOutcome {
        call.complete_value(value)
    }

    /// Completes `call` with a `Result<(), E>`: a void Completion for `Ok`.
    pub fn complete_unit_result<E: Into<HubError>>(
        call: &HubCall,
        result: Result<(), E>,
    ) -> CallOutcome {
        call.complete_unit_result(result)
    }

    /// Takes the next upload stream of `call`.
    pub fn upload<T: HubArgument>(
        call: &mut HubCall,
    ) -> Result<crate::hub::UploadStream<T>, CallOutcome> {
        call.upload()
    }

    /// Sends a stream's items, then its Completion.
    pub async fn complete_stream<S, T>(call: HubCall, stream: S) -> CallOutcome
    where
        S: futures_util::Stream<Item = T> + Send,
        T: HubReturn + Send,
    {
        call.complete_stream(stream).await
    }

    /// Sends a fallible stream's items, then its Completion (an error one after an `Err`).
    pub async fn complete_try_stream<S, T, E>(call: HubCall, stream: S) -> CallOutcome
    where
        S: futures_util::Stream<Item = Result<T, E>> + Send,
        T: HubReturn + Send,
        E: Into<HubError>,
    {
        call.complete_try_stream(stream).await
    }

    /// Completes `call` with a `Result`.
    pub fn complete_result<T: HubReturn, E: Into<HubError>>(
        call: &HubCall,
        result: Result<T, E>,
    ) -> CallOutcome {
        call.complete_result(result)
    }

    /// Checks, at compile time, a client method argument type.
    pub fn assert_client_argument<T: ClientArgument>() {}
}

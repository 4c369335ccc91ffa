//! The contract between the runtime and the code `#[hub]` generates: a table of methods and
//! a function that decodes arguments, calls the method and encodes its Completion.

use super::context::Ctx;
use super::error::{with_detail, HubError};
use crate::protocol::{CompletionBody, HubProtocol, OutboundMessage, RawValue};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future, as returned by [`HubDispatcher::dispatch`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One hub method as the runtime sees it.
#[derive(Debug, Clone, Copy)]
pub struct MethodInfo {
    /// The wire name (matched case-insensitively).
    pub name: &'static str,
    /// How many arguments the wire carries.
    pub parameters: usize,
}

/// What the `#[hub]` macro implements for a hub: the method table and the dispatch.
///
/// Not meant to be implemented by hand; use `#[hub]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a hub dispatcher",
    note = "put `#[signalr::hub]` on a trait, implement the trait, and call `into_server()` on your value"
)]
pub trait HubDispatcher: Send + Sync + 'static {
    /// Every hub method, indexed by position.
    const METHODS: &'static [MethodInfo];

    /// Runs method number `call.method()` of [`METHODS`](Self::METHODS).
    fn dispatch<'a>(&'a self, cx: &'a Ctx, call: HubCall) -> BoxFuture<'a, CallOutcome>;
}

/// One invocation on its way to a hub method: the undecoded arguments and what is needed
/// to answer it.
#[derive(Debug)]
pub struct HubCall {
    method: usize,
    target: &'static str,
    invocation_id: Option<String>,
    protocol: HubProtocol,
    arguments: std::vec::IntoIter<RawValue>,
    detailed_errors: bool,
}

/// The Completion record to send for a call, if the caller waits for one.
#[derive(Debug)]
pub struct CallOutcome {
    pub(crate) completion: Option<Bytes>,
}

impl HubCall {
    pub(crate) fn new(
        method: usize,
        target: &'static str,
        invocation_id: Option<String>,
        protocol: HubProtocol,
        arguments: Vec<RawValue>,
        detailed_errors: bool,
    ) -> Self {
        HubCall {
            method,
            target,
            invocation_id,
            protocol,
            arguments: arguments.into_iter(),
            detailed_errors,
        }
    }

    /// Index of the called method in [`HubDispatcher::METHODS`].
    pub fn method(&self) -> usize {
        self.method
    }

    /// Decodes the next argument into `T`, or answers the call with the binding error.
    pub fn argument<T: DeserializeOwned>(&mut self) -> Result<T, CallOutcome> {
        let Some(raw) = self.arguments.next() else {
            return Err(self.binding_failed("Error binding arguments.".to_owned()));
        };
        raw.decode().map_err(|e| self.binding_failed(e.to_string()))
    }

    fn binding_failed(&self, detail: String) -> CallOutcome {
        let text = format!(
            "Failed to invoke '{}' due to an error on the server.",
            self.target
        );
        let detail = self
            .detailed_errors
            .then(|| format!("InvalidDataException: {detail}"));
        self.error(&with_detail(text, detail))
    }

    /// Answers with a void Completion.
    pub fn complete_void(&self) -> CallOutcome {
        self.encode(CompletionBody::<()>::Void)
    }

    /// Answers with `value` as the result.
    pub fn complete_value<T: Serialize + ?Sized>(&self, value: &T) -> CallOutcome {
        self.encode(CompletionBody::Result(value))
    }

    /// Answers with the value of `Ok`, or the error of `Err`.
    pub fn complete_result<T: Serialize, E: Into<HubError>>(
        &self,
        result: Result<T, E>,
    ) -> CallOutcome {
        match result {
            Ok(value) => self.complete_value(&value),
            Err(error) => self.complete_error(error.into()),
        }
    }

    /// Answers with the error a hub method returned.
    pub fn complete_error(&self, error: HubError) -> CallOutcome {
        let text = format!(
            "An unexpected error occurred invoking '{}' on the server.",
            self.target
        );
        self.error(&with_detail(text, error.detail(self.detailed_errors)))
    }

    pub(crate) fn error(&self, text: &str) -> CallOutcome {
        self.encode(CompletionBody::<()>::Error(text))
    }

    fn encode<T: Serialize + ?Sized>(&self, body: CompletionBody<'_, T>) -> CallOutcome {
        let Some(invocation_id) = self.invocation_id.as_deref() else {
            return CallOutcome { completion: None };
        };
        let message = OutboundMessage::Completion {
            invocation_id,
            body,
        };
        let completion = match message.encode(self.protocol) {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::error!(method = self.target, error = %e, "failed to serialize a hub method's result");
                let text = format!(
                    "An unexpected error occurred invoking '{}' on the server.",
                    self.target
                );
                let text = with_detail(
                    text,
                    self.detailed_errors
                        .then(|| format!("SerializationException: {e}")),
                );
                let fallback = OutboundMessage::Completion {
                    invocation_id,
                    body: CompletionBody::<()>::Error(&text),
                };
                match fallback.encode(self.protocol) {
                    Ok(bytes) => bytes,
                    Err(_) => return CallOutcome { completion: None },
                }
            }
        };
        CallOutcome {
            completion: Some(completion),
        }
    }
}

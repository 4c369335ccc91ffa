//! One invocation on its way to a hub method ([`HubCall`]) and its answer
//! ([`CallOutcome`]): generated dispatch code decodes the arguments from the call and
//! turns the method's return value into the outcome.

use crate::connection::OutboundSender;
use crate::hub::error::{with_detail, HubError};
use crate::hub::stream::drive_stream;
use crate::hub::upload::{UploadSource, UploadStream};
use crate::protocol::{ByteString, CompletionBody, HubProtocol, OutboundMessage, RawValue};
use bytes::Bytes;
use futures_util::Stream;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::VecDeque;
use tokio_util::sync::CancellationToken;

/// One invocation on its way to a hub method: the undecoded arguments and what is needed
/// to answer it.
#[derive(Debug)]
pub struct HubCall {
    method: usize,
    responder: Responder,
    arguments: std::vec::IntoIter<RawValue>,
    uploads: VecDeque<UploadSource>,
    sender: OutboundSender,
    /// Fires when the client cancels the stream or disconnects (streaming calls only).
    cancel: Option<CancellationToken>,
}

/// What answering a call needs, separable from the call (filters answer after the call
/// moved on).
#[derive(Debug, Clone)]
pub(crate) struct Responder {
    target: ByteString,
    invocation_id: Option<ByteString>,
    protocol: HubProtocol,
    detailed_errors: bool,
}

/// The answer to one invocation: the Completion record to send, if the caller waits for
/// one. Hub filters pass it through; only generated code and the runtime look inside.
#[derive(Debug)]
pub struct CallOutcome {
    pub(crate) completion: Option<Bytes>,
}

/// Everything [`HubCall::new`] needs.
#[derive(Debug)]
pub(crate) struct CallParts {
    pub(crate) method: usize,
    pub(crate) target: ByteString,
    pub(crate) invocation_id: Option<ByteString>,
    pub(crate) protocol: HubProtocol,
    pub(crate) arguments: Vec<RawValue>,
    pub(crate) uploads: VecDeque<UploadSource>,
    pub(crate) detailed_errors: bool,
    pub(crate) sender: OutboundSender,
    /// For streaming calls: fires when the client cancels or disconnects.
    pub(crate) cancel: Option<CancellationToken>,
}

impl HubCall {
    pub(crate) fn new(parts: CallParts) -> Self {
        HubCall {
            method: parts.method,
            responder: Responder {
                target: parts.target,
                invocation_id: parts.invocation_id,
                protocol: parts.protocol,
                detailed_errors: parts.detailed_errors,
            },
            arguments: parts.arguments.into_iter(),
            uploads: parts.uploads,
            sender: parts.sender,
            cancel: parts.cancel,
        }
    }

    pub(crate) fn responder(&self) -> Responder {
        self.responder.clone()
    }

    /// The arguments not yet decoded.
    pub(crate) fn remaining_arguments(&self) -> &[RawValue] {
        self.arguments.as_slice()
    }

    /// Index of the called method in [`Dispatch::METHODS`](super::Dispatch::METHODS).
    pub fn method(&self) -> usize {
        self.method
    }

    /// The method name as the client wrote it.
    pub fn target(&self) -> &str {
        &self.responder.target
    }

    /// Decodes the next argument into `T`, or answers the call with the binding error.
    pub fn argument<T: DeserializeOwned + 'static>(&mut self) -> Result<T, CallOutcome> {
        let Some(raw) = self.arguments.next() else {
            return Err(self.binding_failed("Error binding arguments.".to_owned()));
        };
        raw.decode_argument()
            .map_err(|e| self.binding_failed(e.to_string()))
    }

    /// Takes the next upload stream, decoding its items as `T`.
    pub fn upload<T: DeserializeOwned>(&mut self) -> Result<UploadStream<T>, CallOutcome> {
        match self.uploads.pop_front() {
            Some(source) => Ok(UploadStream::new(source)),
            None => Err(self.binding_failed("Missing upload stream.".to_owned())),
        }
    }

    fn binding_failed(&self, detail: String) -> CallOutcome {
        self.responder.binding_failed(detail)
    }

    /// Answers with a void Completion.
    pub fn complete_void(&self) -> CallOutcome {
        self.responder.encode(CompletionBody::<()>::Void)
    }

    /// Answers with `value` as the result.
    pub fn complete_value<T: Serialize + ?Sized>(&self, value: &T) -> CallOutcome {
        self.responder.encode(CompletionBody::Result(value))
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

    /// Answers with a void Completion for `Ok(())`, or the error of `Err`.
    pub fn complete_unit_result<E: Into<HubError>>(&self, result: Result<(), E>) -> CallOutcome {
        match result {
            Ok(()) => self.complete_void(),
            Err(error) => self.complete_error(error.into()),
        }
    }

    /// Answers with the error a hub method returned.
    pub fn complete_error(&self, error: HubError) -> CallOutcome {
        self.responder.complete_error(error)
    }

    /// Sends every item of `stream` as a StreamItem, then the closing Completion. Stops
    /// early (with a void Completion) when the client cancels or disconnects.
    pub async fn complete_stream<S, T>(self, stream: S) -> CallOutcome
    where
        S: Stream<Item = T> + Send,
        T: Serialize + Send,
    {
        use futures_util::StreamExt;
        self.complete_try_stream(stream.map(Ok::<T, HubError>))
            .await
    }

    /// Like [`complete_stream`](Self::complete_stream) for a stream of `Result`s: the first
    /// `Err` ends the stream with an error Completion.
    pub async fn complete_try_stream<S, T, E>(self, stream: S) -> CallOutcome
    where
        S: Stream<Item = Result<T, E>> + Send,
        T: Serialize + Send,
        E: Into<HubError>,
    {
        let responder = &self.responder;
        let id = responder.invocation_id.clone().unwrap_or_default();
        let cancel = self.cancel.clone().unwrap_or_default();
        match drive_stream(&self.sender, responder.protocol, &id, &cancel, stream).await {
            Ok(()) => self.complete_void(),
            Err(error) => {
                let text = "An error occurred on the server while streaming results.".to_owned();
                responder.error(&with_detail(text, error.detail(responder.detailed_errors)))
            }
        }
    }
}

impl Responder {
    /// The method name as the client wrote it.
    pub(crate) fn target(&self) -> &str {
        &self.target
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

    pub(crate) fn complete_error(&self, error: HubError) -> CallOutcome {
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
                tracing::error!(method = %self.target, error = %e, "failed to serialize a hub method's result");
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

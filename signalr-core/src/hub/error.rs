//! Every error of the hub layer: what a hub method reports to its caller (and the exact
//! text it becomes on the wire), and what sending to clients, changing groups, awaiting a
//! client result or reading an upload stream can fail with.

use crate::connection::QueueError;
use crate::protocol::{DecodeError, EncodeError};
use std::fmt;
use std::time::Duration;

/// An error returned by a hub method; it becomes the `error` of the call's Completion.
///
/// Two kinds, as in ASP.NET Core SignalR:
/// - [`HubError::new`] (modelling `HubException`): the message always reaches the client,
///   as `An unexpected error occurred invoking 'Method' on the server. HubException: <message>`.
/// - a client's own error text (a [`ClientResultError::Client`] or an
///   [`UploadError::Client`]) converts like `HubError::new`;
/// - any other error converted with `?` or `From`: the client sees only
///   `An unexpected error occurred invoking 'Method' on the server.`, unless the hub enables
///   detailed errors, which appends `<ErrorType>: <message>`.
///
/// ```
/// use signalr_core::hub::HubError;
/// fn check(n: i32) -> Result<i32, HubError> {
///     if n < 0 {
///         return Err(HubError::new("n must not be negative"));
///     }
///     let parsed: i32 = "42".parse()?; // a ParseIntError, hidden from clients by default
///     Ok(parsed + n)
/// }
/// assert_eq!(check(-1).unwrap_err().to_string(), "HubException: n must not be negative");
/// ```
pub struct HubError {
    kind: Kind,
}

enum Kind {
    /// Meant for the client.
    Exposed(String),
    /// An internal failure: its text is shown only with detailed errors.
    Internal {
        type_name: &'static str,
        message: String,
    },
}

impl HubError {
    /// An error whose message is always sent to the client (like `HubException`).
    pub fn new(message: impl Into<String>) -> Self {
        HubError {
            kind: Kind::Exposed(message.into()),
        }
    }

    /// An internal error with a type name and message, shown only with detailed errors.
    pub fn internal(type_name: &'static str, message: impl Into<String>) -> Self {
        HubError {
            kind: Kind::Internal {
                type_name,
                message: message.into(),
            },
        }
    }

    /// The text appended to a generic error message: always for [`HubError::new`], only
    /// when `detailed` for internal errors.
    pub(crate) fn detail(&self, detailed: bool) -> Option<String> {
        match &self.kind {
            Kind::Exposed(message) => Some(format!("HubException: {message}")),
            Kind::Internal { type_name, message } if detailed => {
                Some(format!("{type_name}: {message}"))
            }
            Kind::Internal { .. } => None,
        }
    }
}

/// The last path segment of a type name, without generic arguments.
fn short_type_name<E>() -> &'static str {
    let full = std::any::type_name::<E>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for HubError {
    fn from(error: E) -> Self {
        // Errors that carry a client's own words reach the caller as .NET's HubException
        // does (a client result's error, an upload stream the client failed).
        let any: &dyn std::any::Any = &error;
        if let Some(ClientResultError::Client(text)) = any.downcast_ref() {
            return HubError::new(text.clone());
        }
        if let Some(UploadError::Client(text)) = any.downcast_ref() {
            return HubError::new(text.clone());
        }
        HubError::internal(short_type_name::<E>(), error.to_string())
    }
}

impl fmt::Display for HubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Exposed(message) => write!(f, "HubException: {message}"),
            Kind::Internal { type_name, message } => write!(f, "{type_name}: {message}"),
        }
    }
}

impl fmt::Debug for HubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HubError({self})")
    }
}

/// Joins a generic error text with an optional detail, as the .NET server does.
pub(crate) fn with_detail(text: String, detail: Option<String>) -> String {
    match detail {
        Some(detail) => format!("{text} {detail}"),
        None => text,
    }
}

/// A message could not be sent to clients.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The arguments could not be serialized in one of the connections' protocols.
    #[error(transparent)]
    Serialize(#[from] EncodeError),
    /// The single target connection could not take the message: it closed, or it did not
    /// make room within its `transport_send_timeout` (it is then disconnected).
    #[error(transparent)]
    Connection(#[from] QueueError),
}

/// A client result could not be obtained.
#[derive(Debug, thiserror::Error)]
pub enum ClientResultError {
    /// The client did not answer within the hub's `client_result_timeout`.
    #[error("the client did not answer within {0:?}")]
    Timeout(Duration),
    /// The connection closed before the client answered.
    #[error("the connection closed before the client answered")]
    Disconnected,
    /// The server already awaits `limit` client results from this connection
    /// (`maximum_pending_client_results_per_client`).
    #[error("the server already awaits {limit} client results from this connection")]
    TooManyPending {
        /// The configured limit.
        limit: usize,
    },
    /// No connection with that id is on this hub.
    #[error("no connection `{0}` is on this hub")]
    UnknownConnection(String),
    /// The client answered with an error (for the JS client: the handler threw, returned
    /// nothing, or no handler exists: `Client didn't provide a result.`).
    #[error("the client answered with an error: {0}")]
    Client(String),
    /// The client's result did not decode into the expected type.
    #[error("Error trying to deserialize result to {type_name}. {detail}")]
    Deserialize {
        /// The expected Rust type.
        type_name: &'static str,
        /// What the decoder reported.
        detail: String,
    },
    /// The invocation could not be sent.
    #[error(transparent)]
    Send(#[from] SendError),
    /// A scale-out backplane could not reach the server that holds the connection (its
    /// connection to the backplane is down, or publishing timed out).
    #[error("the backplane could not carry the invocation: {0}")]
    Backplane(String),
}

/// An upload stream failed.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The client completed the stream with an error.
    #[error("the client ended the stream with an error: {0}")]
    Client(String),
    /// An item could not be decoded into the parameter's item type.
    #[error("Failed to bind Stream message. {0}")]
    Decode(#[from] DecodeError),
}

/// The client stopped listening to a stream (it cancelled or disconnected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the client is no longer listening to this stream")]
pub struct StreamClosed;

/// A group change could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    /// The lifetime manager could not apply or confirm the change (a scale-out backplane
    /// that lost its connection, or whose peers did not acknowledge in time).
    #[error("the lifetime manager did not confirm the group change: {0}")]
    Backplane(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn std_errors_keep_their_type_name_for_detailed_errors() {
        let err: HubError = "x".parse::<i32>().unwrap_err().into();
        assert_eq!(err.detail(false), None);
        assert_eq!(
            err.detail(true).as_deref(),
            Some("ParseIntError: invalid digit found in string")
        );
        assert_eq!(
            HubError::new("Nope").detail(false).as_deref(),
            Some("HubException: Nope")
        );
    }
}

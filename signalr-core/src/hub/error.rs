//! Errors a hub method reports to its caller, and the exact texts they become on the wire.

use std::fmt;

/// An error returned by a hub method; it becomes the `error` of the call's Completion.
///
/// Two kinds, as in ASP.NET Core SignalR:
/// - [`HubError::new`] (modelling `HubException`): the message always reaches the client,
///   as `An unexpected error occurred invoking 'Method' on the server. HubException: <message>`.
/// - a client's own error text (a [`ClientResultError::Client`](super::ClientResultError)
///   or an [`UploadError::Client`](super::UploadError)) converts like `HubError::new`;
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
        if let Some(super::ClientResultError::Client(text)) = any.downcast_ref() {
            return HubError::new(text.clone());
        }
        if let Some(super::UploadError::Client(text)) = any.downcast_ref() {
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
    Serialize(#[from] crate::protocol::EncodeError),
    /// The single target connection closed before the message was queued.
    #[error("the connection closed before the message could be queued")]
    ConnectionClosed,
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

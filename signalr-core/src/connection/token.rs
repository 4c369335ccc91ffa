//! [`ConnectionToken`]: the secret that addresses a connection, which no `Debug` output
//! shows.

use std::sync::Arc;

/// The token of one connection (`connectionToken` in negotiate, `id` in the query of
/// every transport request). Whoever has it can read and write the connection, so it
/// never appears in `Debug` output or logs: it prints as `ConnectionToken(<redacted>)`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct ConnectionToken(Arc<str>);

impl ConnectionToken {
    pub(crate) fn new(token: Arc<str>) -> Self {
        ConnectionToken(token)
    }
}

impl std::fmt::Debug for ConnectionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnectionToken(<redacted>)")
    }
}

impl std::ops::Deref for ConnectionToken {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for ConnectionToken {
    fn borrow(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_token() {
        let token = ConnectionToken::new(Arc::from("s3cr3t-t0ken"));
        assert_eq!(format!("{token:?}"), "ConnectionToken(<redacted>)");
        assert_eq!(&*token, "s3cr3t-t0ken");
    }
}

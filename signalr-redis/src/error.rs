//! [`BackplaneError`]: what can go wrong between a server and Redis.

/// The Redis backplane could not do what was asked.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum BackplaneError {
    /// The URL or an option is not usable.
    #[error("invalid Redis backplane configuration: {0}")]
    Configuration(String),
    /// Redis could not be reached when the backplane started.
    #[error("could not connect to Redis at {url}: {detail} (is redis-server running? `apt-get install redis-server`)")]
    Connect {
        /// The URL given, without its password.
        url: String,
        /// What the client reported.
        detail: String,
    },
    /// A message could not be published (Redis unreachable, or no answer within the
    /// command timeout). It was still delivered to this server's own connections.
    #[error("could not publish to Redis: {0}")]
    Publish(String),
}

impl BackplaneError {
    pub(crate) fn configuration(error: impl std::fmt::Display) -> Self {
        BackplaneError::Configuration(error.to_string())
    }

    pub(crate) fn connect(url: &str, detail: impl std::fmt::Display) -> Self {
        BackplaneError::Connect {
            url: redact_password(url),
            detail: detail.to_string(),
        }
    }
}

/// `redis://user:secret@host` → `redis://user:***@host`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_repeated_in_errors() {
        let error = BackplaneError::connect("redis://app:s3cret@db:6379/0", "refused");
        assert!(!error.to_string().contains("s3cret"), "{error}");
        assert!(error.to_string().contains("redis://app:***@db:6379/0"));
        assert_eq!(
            redact_password("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
    }
}

//! The test server's JSON Web Tokens (contract A.5, C.1): HS256 with a key made at
//! start-up, naming a user and optionally a role.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use signalr::auth::TokenValidator;
use signalr::hub::UserId;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The claims the functional tests expect.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The .NET short name of the name-identifier claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nameid: Option<String>,
    /// The .NET short name of the role claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<String>,
    iss: String,
    aud: String,
    exp: u64,
    nbf: u64,
    iat: u64,
}

/// Issues and checks tokens.
pub(crate) struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Tokens {
    /// A fresh random signing key.
    pub(crate) fn new() -> Self {
        let key: [u8; 32] = rand::random();
        Self::with_secret(&key)
    }

    /// A signing key shared with other processes (`--jwt-key`): servers on one backplane
    /// accept each other's tokens.
    pub(crate) fn with_secret(key: &[u8]) -> Self {
        Tokens {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
        }
    }

    /// A token for `user` (the tests' `testuser` by default) with `role`, valid for 5
    /// seconds (plus the 5 minutes of clock skew .NET allows).
    pub(crate) fn issue(
        &self,
        user: Option<String>,
        role: Option<String>,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = now();
        let claims = Claims {
            nameid: Some(user.unwrap_or_else(|| "testuser".to_owned())),
            role,
            iss: "SignalRTestServer".to_owned(),
            aud: "SignalRTests".to_owned(),
            exp: now + 5,
            nbf: now,
            iat: now,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// The claims of a valid token.
    fn claims(&self, token: &str) -> Option<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 300;
        validation.validate_aud = false;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp"]);
        decode::<Claims>(token, &self.decoding, &validation)
            .ok()
            .map(|data| data.claims)
    }
}

/// The role a token carries, for `#[authorize]` policies.
#[derive(Debug, Clone)]
pub(crate) struct Role(pub(crate) String);

/// Checks tokens for `BearerAuthLayer`: the name identifier becomes the user id, the role
/// claim a [`Role`] in the request's extensions.
pub(crate) struct JwtValidator(pub(crate) Arc<Tokens>);

impl TokenValidator for JwtValidator {
    fn validate(&self, token: &str) -> Option<UserId> {
        self.0.claims(token)?.nameid.map(UserId::new)
    }

    fn authenticate(&self, token: &str, extensions: &mut axum::http::Extensions) -> bool {
        let Some(Claims {
            nameid: Some(user),
            role,
            exp,
            ..
        }) = self.0.claims(token)
        else {
            return false;
        };
        extensions.insert(UserId::new(user));
        // Acted on by endpoints with `close_on_authentication_expiration`.
        let expires = UNIX_EPOCH + std::time::Duration::from_secs(exp);
        extensions.insert(signalr::connection::AuthenticationExpiry(expires));
        if let Some(role) = role {
            extensions.insert(Role(role));
        }
        true
    }
}

//! The test server's JSON Web Tokens (contract A.5): HS256 with a key made at start-up.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use signalr::hub::UserId;
use std::time::{SystemTime, UNIX_EPOCH};

/// The claims the functional tests expect.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The .NET short name of the name-identifier claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nameid: Option<String>,
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
        Tokens {
            encoding: EncodingKey::from_secret(&key),
            decoding: DecodingKey::from_secret(&key),
        }
    }

    /// A token for `testuser`, valid for 5 seconds (plus the 5 minutes of clock skew
    /// .NET allows).
    pub(crate) fn issue(&self) -> Result<String, jsonwebtoken::errors::Error> {
        let now = now();
        let claims = Claims {
            nameid: Some("testuser".to_owned()),
            iss: "SignalRTestServer".to_owned(),
            aud: "SignalRTests".to_owned(),
            exp: now + 5,
            nbf: now,
            iat: now,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// The user of a valid token carrying a name identifier.
    pub(crate) fn validate(&self, token: &str) -> Option<UserId> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 300;
        validation.validate_aud = false;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp"]);
        let data = decode::<Claims>(token, &self.decoding, &validation).ok()?;
        data.claims.nameid.map(UserId::new)
    }
}

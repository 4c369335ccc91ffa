//! Sign-in: `POST /api/signin` with a name, a section and a role issues a token (HS256,
//! 12 hours) naming the employee; the hub's bearer layer checks it on every request and
//! puts the [`Employee`] into the request, where `#[authorize]` policies and hub methods
//! find it.

use crate::model::{Employee, Role, Section};
use axum::http::Extensions;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use signalr::auth::TokenValidator;
use signalr::hub::{AuthorizationContext, UserId};
use std::sync::Arc;

const TOKEN_LIFETIME_SECS: u64 = 12 * 60 * 60;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    section: Section,
    role: Role,
    exp: u64,
}

/// Issues and checks sign-in tokens.
#[derive(Clone)]
pub(crate) struct Tokens {
    encoding: Arc<EncodingKey>,
    decoding: Arc<DecodingKey>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens(..)")
    }
}

impl Tokens {
    /// A random key (tokens die with the process), or `secret` shared by every process
    /// of a deployment (`--token-key`).
    pub(crate) fn new(secret: Option<&str>) -> Self {
        let random: [u8; 32] = rand::random();
        let key = secret.map(str::as_bytes).unwrap_or(&random);
        Tokens {
            encoding: Arc::new(EncodingKey::from_secret(key)),
            decoding: Arc::new(DecodingKey::from_secret(key)),
        }
    }

    pub(crate) fn issue(&self, employee: &Employee) -> Result<String, jsonwebtoken::errors::Error> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let claims = Claims {
            sub: employee.name.clone(),
            section: employee.section,
            role: employee.role,
            exp: now + TOKEN_LIFETIME_SECS,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    fn employee(&self, token: &str) -> Option<Employee> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        let claims = decode::<Claims>(token, &self.decoding, &validation)
            .ok()?
            .claims;
        Some(Employee {
            name: claims.sub,
            section: claims.section,
            role: claims.role,
        })
    }
}

impl TokenValidator for Tokens {
    fn validate(&self, token: &str) -> Option<UserId> {
        self.employee(token).map(|e| UserId::new(e.name))
    }

    fn authenticate(&self, token: &str, extensions: &mut Extensions) -> bool {
        let Some(employee) = self.employee(token) else {
            return false;
        };
        extensions.insert(UserId::new(employee.name.clone()));
        extensions.insert(employee);
        true
    }
}

/// The `#[authorize(is_supervisor)]` policy.
pub(crate) fn is_supervisor(cx: &AuthorizationContext<'_>) -> bool {
    cx.extensions()
        .get::<Employee>()
        .is_some_and(Employee::is_supervisor)
}

/// A sign-in request from the page.
#[derive(Debug, Deserialize)]
pub(crate) struct SignIn {
    pub(crate) name: String,
    pub(crate) section: String,
    pub(crate) role: String,
}

impl SignIn {
    /// The employee it names, or what is wrong with it.
    pub(crate) fn employee(&self) -> Result<Employee, String> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 40 {
            return Err("a name of 1 to 40 characters, please".to_owned());
        }
        if name.chars().any(char::is_control) {
            return Err("a name without control characters, please".to_owned());
        }
        let section = Section::from_name(&self.section)
            .ok_or_else(|| format!("unknown section `{}`", self.section))?;
        let role =
            Role::from_name(&self.role).ok_or_else(|| format!("unknown role `{}`", self.role))?;
        Ok(Employee {
            name: name.to_owned(),
            section,
            role,
        })
    }
}

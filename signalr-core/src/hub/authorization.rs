//! Authorization of hubs and hub methods (`#[authorize]`), modelling ASP.NET Core's
//! `[Authorize]` on a hub class and on its methods.
//!
//! Authentication is the job of a tower layer in front of the hub (such as
//! [`BearerAuthLayer`](crate::auth::BearerAuthLayer), or any layer that puts a
//! [`UserId`](super::UserId) into the request's extensions, or whatever the hub's
//! [`UserIdProvider`](super::UserIdProvider) reads). Authorization decides what an
//! identity may do: a **policy** is a function that sees an [`AuthorizationContext`] (the
//! caller's user id, the request with everything the authentication layer put in its
//! extensions, such as claims or roles, and for a method the invocation) and answers
//! whether to let it through.

use crate::protocol::RawValue;
use axum::http::request::Parts;
use axum::http::Extensions;

/// What a policy sees.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizationContext<'a> {
    user_id: Option<&'a str>,
    request: &'a Parts,
    method: Option<&'a str>,
    arguments: &'a [RawValue],
}

impl<'a> AuthorizationContext<'a> {
    /// The context of a connection request (negotiate or a transport request).
    pub fn for_connection(user_id: Option<&'a str>, request: &'a Parts) -> Self {
        AuthorizationContext {
            user_id,
            request,
            method: None,
            arguments: &[],
        }
    }

    /// The context of an invocation of `method` with its undecoded `arguments`.
    pub fn for_invocation(
        user_id: Option<&'a str>,
        request: &'a Parts,
        method: &'a str,
        arguments: &'a [RawValue],
    ) -> Self {
        AuthorizationContext {
            user_id,
            request,
            method: Some(method),
            arguments,
        }
    }

    /// The caller's user id, as the hub's `UserIdProvider` found it; `None`: anonymous.
    pub fn user_id(&self) -> Option<&'a str> {
        self.user_id
    }

    /// Whether the caller is authenticated (has a user id).
    pub fn is_authenticated(&self) -> bool {
        self.user_id.is_some()
    }

    /// The request that connected (or is connecting) the caller, without its secrets.
    pub fn request(&self) -> &'a Parts {
        self.request
    }

    /// What the authentication layer put in the request (claims, roles, …).
    pub fn extensions(&self) -> &'a Extensions {
        &self.request.extensions
    }

    /// The hub method's wire name, for a method's policy; `None` for the hub's.
    pub fn method(&self) -> Option<&'a str> {
        self.method
    }

    /// The invocation's arguments, undecoded (decode one with
    /// [`RawValue::decode`]); empty for the hub's policy.
    pub fn arguments(&self) -> &'a [RawValue] {
        self.arguments
    }
}

/// A policy: `fn(&AuthorizationContext<'_>) -> bool`, named by `#[authorize(policy)]`.
pub type Policy = fn(&AuthorizationContext<'_>) -> bool;

/// What `#[authorize]` requires of a caller.
#[derive(Debug, Clone, Copy)]
pub enum Authorize {
    /// `#[authorize]`: an authenticated caller.
    Authenticated,
    /// `#[authorize(policy)]`: an authenticated caller the policy accepts.
    Policy(Policy),
}

/// Why a caller was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No identity: `401 Unauthorized`.
    Unauthenticated,
    /// An identity the policy refuses: `403 Forbidden`.
    Forbidden,
}

impl Authorize {
    /// Checks a caller.
    pub fn check(&self, context: &AuthorizationContext<'_>) -> Result<(), Refusal> {
        if !context.is_authenticated() {
            return Err(Refusal::Unauthenticated);
        }
        match self {
            Authorize::Authenticated => Ok(()),
            Authorize::Policy(policy) if policy(context) => Ok(()),
            Authorize::Policy(_) => Err(Refusal::Forbidden),
        }
    }
}

/// `#[authorize]` on a hub, as the endpoint applies it to negotiate and every transport
/// request: `401` without an identity, `403` when the policy refuses it.
pub(crate) struct ConnectionAuthorizer {
    pub(crate) rule: Authorize,
    pub(crate) users: std::sync::Arc<dyn super::UserIdProvider>,
}

impl crate::endpoint::RequestAuthorizer for ConnectionAuthorizer {
    fn authorize(&self, request: &Parts) -> Result<(), axum::http::StatusCode> {
        let user_id = self.users.user_id(request);
        let context = AuthorizationContext::for_connection(user_id.as_deref(), request);
        self.rule.check(&context).map_err(|refusal| match refusal {
            Refusal::Unauthenticated => axum::http::StatusCode::UNAUTHORIZED,
            Refusal::Forbidden => axum::http::StatusCode::FORBIDDEN,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts() -> Parts {
        axum::http::Request::new(()).into_parts().0
    }

    fn alice_only(context: &AuthorizationContext<'_>) -> bool {
        context.user_id() == Some("alice")
    }

    #[test]
    fn anonymous_callers_are_unauthenticated_and_policies_decide_for_the_others() {
        let request = parts();
        let anonymous = AuthorizationContext::for_connection(None, &request);
        let alice = AuthorizationContext::for_connection(Some("alice"), &request);
        let bob = AuthorizationContext::for_invocation(Some("bob"), &request, "Send", &[]);
        assert_eq!(
            Authorize::Authenticated.check(&anonymous),
            Err(Refusal::Unauthenticated)
        );
        assert_eq!(Authorize::Authenticated.check(&bob), Ok(()));
        let policy = Authorize::Policy(alice_only);
        assert_eq!(policy.check(&anonymous), Err(Refusal::Unauthenticated));
        assert_eq!(policy.check(&alice), Ok(()));
        assert_eq!(policy.check(&bob), Err(Refusal::Forbidden));
        assert_eq!(bob.method(), Some("Send"));
    }
}

//! Parsing our attributes inside a trait: `#[method(...)]` on methods and `#[authorize]`
//! on the trait and its methods.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Attribute, LitStr, Meta};

/// What `#[authorize]` or `#[authorize(policy)]` says.
pub(crate) struct AuthorizeAttribute {
    /// The policy function, if one is named.
    pub(crate) policy: Option<syn::Path>,
    /// Where the attribute is written.
    pub(crate) span: Span,
}

/// Whether `attr` is `#[authorize]` (or `#[signalr::authorize]`).
fn is_authorize(attr: &Attribute) -> bool {
    let segments: Vec<String> = attr
        .path()
        .segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect();
    matches!(segments.as_slice(), [only] if only == "authorize")
        || matches!(segments.as_slice(), [krate, name] if krate == "signalr" && name == "authorize")
}

const POLICY_FORMS: &str = "write `#[authorize]` (any authenticated caller) or `#[authorize(policy)]`, naming a function `fn policy(cx: &AuthorizationContext<'_>) -> bool`";

/// Takes the `#[authorize]` attribute out of `attrs`, leaving the others.
pub(crate) fn take_authorize(
    attrs: &mut Vec<Attribute>,
) -> syn::Result<Option<AuthorizeAttribute>> {
    let mut found: Option<AuthorizeAttribute> = None;
    let mut kept = Vec::with_capacity(attrs.len());
    for attr in attrs.drain(..) {
        if !is_authorize(&attr) {
            kept.push(attr);
            continue;
        }
        if found.is_some() {
            return Err(syn::Error::new(
                attr.span(),
                "`#[authorize]` is given twice",
            ));
        }
        let policy = match &attr.meta {
            Meta::Path(_) => None,
            Meta::List(list) => match syn::parse2::<syn::Path>(list.tokens.clone()) {
                Ok(path) => Some(path),
                Err(_) => {
                    return Err(syn::Error::new(
                        list.tokens.span(),
                        format!("unknown policy form: {POLICY_FORMS}"),
                    ))
                }
            },
            Meta::NameValue(value) => {
                return Err(syn::Error::new(
                    value.span(),
                    format!("unknown policy form: {POLICY_FORMS}"),
                ))
            }
        };
        found = Some(AuthorizeAttribute {
            policy,
            span: attr.span(),
        });
    }
    *attrs = kept;
    Ok(found)
}

/// What `#[method(name = "...")]` says about one method.
#[derive(Default)]
pub(crate) struct MethodAttributes {
    /// The wire name override and its span.
    pub(crate) name: Option<LitStr>,
}

/// Takes the `#[method]` attributes out of `attrs`, leaving the others.
pub(crate) fn take_method_attributes(attrs: &mut Vec<Attribute>) -> syn::Result<MethodAttributes> {
    let mut parsed = MethodAttributes::default();
    let mut kept = Vec::with_capacity(attrs.len());
    for attr in attrs.drain(..) {
        if !attr.path().is_ident("method") {
            kept.push(attr);
            continue;
        }
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                let value: LitStr = meta.value()?.parse()?;
                let name = value.value();
                if name.trim().is_empty() {
                    return Err(syn::Error::new(
                        value.span(),
                        "the wire name must not be empty: give the name clients call, e.g. `#[method(name = \"SendMessage\")]`",
                    ));
                }
                if name.chars().any(char::is_control) {
                    return Err(syn::Error::new(
                        value.span(),
                        "the wire name must not contain control characters",
                    ));
                }
                if parsed.name.is_some() {
                    return Err(syn::Error::new(value.span(), "`name` is given twice"));
                }
                parsed.name = Some(value);
                Ok(())
            } else {
                Err(meta.error(format!(
                    "unknown `#[method]` option `{}`: the only option is `name = \"WireName\"`",
                    meta.path
                        .get_ident()
                        .map(ToString::to_string)
                        .unwrap_or_else(|| "?".into())
                )))
            }
        })
        .map_err(|e| {
            if e.to_string().contains("expected") && !e.to_string().contains("wire name") {
                syn::Error::new(attr.span(), format!("{e}: write `#[method(name = \"WireName\")]`"))
            } else {
                e
            }
        })?;
    }
    *attrs = kept;
    Ok(parsed)
}

//! Parsing the `#[method(...)]` attribute on trait methods.

use syn::spanned::Spanned;
use syn::{Attribute, LitStr};

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

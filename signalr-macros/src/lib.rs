//! Procedural macros of the `signalr` crate: `#[hub]`, `#[hub_client]` and `#[authorize]`.
//!
//! Use them through the `signalr` crate (`#[signalr::hub]`); generated code names every
//! path through `::signalr`.

mod attributes;
mod model;
mod naming;
mod render_client;
mod render_hub;

use proc_macro::TokenStream;
use syn::ItemTrait;

/// Turns every error into `compile_error!` at its span.
fn expand(
    attr: TokenStream,
    item: TokenStream,
    f: impl FnOnce(ItemTrait) -> syn::Result<proc_macro2::TokenStream>,
) -> TokenStream {
    if !attr.is_empty() {
        let attr = proc_macro2::TokenStream::from(attr);
        return syn::Error::new_spanned(attr, "this attribute takes no arguments")
            .to_compile_error()
            .into();
    }
    match syn::parse::<ItemTrait>(item) {
        Ok(item) => f(item)
            .unwrap_or_else(syn::Error::into_compile_error)
            .into(),
        Err(e) => syn::Error::new(e.span(), format!("{e}: this attribute goes on a trait"))
            .into_compile_error()
            .into(),
    }
}

#[doc = include_str!("docs/hub.md")]
#[proc_macro_attribute]
pub fn hub(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand(attr, item, |item| {
        let model = model::parse(
            model::Side::Hub,
            item,
            &["into_server", "on_connected", "on_disconnected"],
        )?;
        Ok(render_hub::render(model))
    })
}

/// Requires callers to be authorized: on a `#[hub]` trait (written below `#[hub]`), every
/// connection; on one of its methods, every invocation of it.
///
/// - `#[authorize]`: any authenticated caller (one the hub's `UserIdProvider` finds a
///   user id for, such as a request through `BearerAuthLayer`).
/// - `#[authorize(policy)]`: an authenticated caller `policy` accepts, where `policy` is a
///   function `fn(&AuthorizationContext<'_>) -> bool` in scope (a wrong signature is a
///   compile error at its name).
///
/// On the hub, negotiate and every transport request are answered `401` without an
/// identity and `403` when the policy refuses it. On a method, a refused invocation gets
/// an error Completion with .NET's text, `Failed to invoke '<Method>' because user is
/// unauthorized`, and the connection stays up.
///
/// ```ignore
/// fn is_admin(cx: &AuthorizationContext<'_>) -> bool {
///     cx.extensions().get::<Roles>().is_some_and(|roles| roles.contains("admin"))
/// }
///
/// #[signalr::hub]
/// #[authorize]
/// pub trait Orders {
///     async fn list(&self) -> Vec<Order>;
///     #[authorize(is_admin)]
///     async fn cancel(&self, id: u64) -> Result<(), HubError>;
/// }
/// ```
///
/// The `#[hub]` macro reads these attributes; anywhere else `#[authorize]` is an error.
#[proc_macro_attribute]
pub fn authorize(attr: TokenStream, item: TokenStream) -> TokenStream {
    // Written above `#[hub]`, it runs first: it moves itself below, where `#[hub]` reads it.
    if let Ok(mut trait_item) = syn::parse::<ItemTrait>(item.clone()) {
        let is_hub = |attribute: &syn::Attribute| {
            attribute
                .path()
                .segments
                .last()
                .is_some_and(|segment| segment.ident == "hub")
        };
        if let Some(position) = trait_item.attrs.iter().position(is_hub) {
            let arguments = proc_macro2::TokenStream::from(attr);
            let moved: syn::Attribute = if arguments.is_empty() {
                syn::parse_quote!(#[authorize])
            } else {
                syn::parse_quote!(#[authorize(#arguments)])
            };
            trait_item.attrs.insert(position + 1, moved);
            return quote::quote!(#trait_item).into();
        }
    }
    let item = proc_macro2::TokenStream::from(item);
    syn::Error::new_spanned(
        item,
        "`#[authorize]` goes on a `#[hub]` trait (below `#[hub]`) or on a method of one",
    )
    .into_compile_error()
    .into()
}

#[doc = include_str!("docs/hub_client.md")]
#[proc_macro_attribute]
pub fn hub_client(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand(attr, item, |item| {
        let model = model::parse(model::Side::Client, item, &[])?;
        Ok(render_client::render(model))
    })
}

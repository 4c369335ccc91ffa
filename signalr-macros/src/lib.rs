//! Procedural macros of the `signalr` crate: `#[hub]` and `#[hub_client]`.
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

#[doc = include_str!("docs/hub_client.md")]
#[proc_macro_attribute]
pub fn hub_client(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand(attr, item, |item| {
        let model = model::parse(model::Side::Client, item, &[])?;
        Ok(render_client::render(model))
    })
}

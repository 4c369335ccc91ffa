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

/// Declares the methods clients may call on the server: a SignalR hub.
///
/// Every method is an `async fn` taking `&self`, optionally `cx: &Ctx` next, then the
/// arguments the client sends (decoded from JSON or MessagePack). Its wire name is the
/// method name in `PascalCase` (`send_message` → `SendMessage`), matched ignoring case as
/// .NET does, or the name given by `#[method(name = "...")]`. It may return nothing (a void
/// Completion), a serializable value, or `Result<T, E>` with `E: Into<HubError>`.
///
/// The macro adds `into_server()` to the trait, which wraps an implementation into a
/// `HubServer` to mount on an axum router.
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

/// Declares the methods the server may call on clients (the `T` of .NET's `Hub<T>`).
///
/// Every method is an `async fn` taking `&self` and serializable arguments; its wire name
/// follows the same rule as `#[hub]`. The trait is implemented for every `ClientProxy`,
/// so `cx.clients().all().receive_message(user, text).await` sends an Invocation of
/// `ReceiveMessage` to every connection.
#[proc_macro_attribute]
pub fn hub_client(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand(attr, item, |item| {
        let model = model::parse(model::Side::Client, item, &[])?;
        Ok(render_client::render(model))
    })
}

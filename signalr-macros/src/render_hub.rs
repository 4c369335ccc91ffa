//! Code generation for `#[hub]`: the trait with `Send` futures, its dispatcher, and
//! `into_server()`.

use crate::attributes::AuthorizeAttribute;
use crate::model::{ReturnKind, TraitModel};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::parse_quote;
use syn::spanned::Spanned;

/// Turns `async fn f(..) -> R` into `fn f(..) -> impl Future<Output = R> + Send`, so that
/// implementations may still write `async fn` and the runtime can run calls on any thread.
pub(crate) fn desugar_async(sig: &mut syn::Signature) {
    sig.asyncness = None;
    let output = match &mut sig.output {
        syn::ReturnType::Default => quote!(()),
        syn::ReturnType::Type(_, ty) => {
            // A returned `impl Stream` crosses threads with the call: it must be `Send`.
            add_send(ty);
            quote!(#ty)
        }
    };
    sig.output = parse_quote! {
        -> impl ::core::future::Future<Output = #output> + ::core::marker::Send
    };
}

/// Adds `Send` to an `impl Trait` type, or to one in the first generic argument (for
/// `Result<impl Stream<..>, E>`).
fn add_send(ty: &mut syn::Type) {
    match ty {
        syn::Type::ImplTrait(impl_trait) => {
            let has_send = impl_trait.bounds.iter().any(|bound| {
                matches!(bound, syn::TypeParamBound::Trait(t)
                    if t.path.segments.last().is_some_and(|s| s.ident == "Send"))
            });
            if !has_send {
                impl_trait.bounds.push(parse_quote!(::core::marker::Send));
            }
        }
        syn::Type::Path(path) => {
            let Some(segment) = path.path.segments.last_mut() else {
                return;
            };
            if let syn::PathArguments::AngleBracketed(arguments) = &mut segment.arguments {
                if let Some(syn::GenericArgument::Type(first)) = arguments.args.first_mut() {
                    if matches!(first, syn::Type::ImplTrait(_)) {
                        add_send(first);
                    }
                }
            }
        }
        _ => {}
    }
}

/// The `Option<Authorize>` constant for an `#[authorize]` attribute (or its absence). A
/// policy of the wrong type is reported at its path.
fn authorize_rule(attribute: &Option<AuthorizeAttribute>) -> TokenStream {
    match attribute {
        None => quote!(::std::option::Option::None),
        Some(AuthorizeAttribute { policy: None, .. }) => {
            quote!(::std::option::Option::Some(
                ::signalr::__private::Authorize::Authenticated
            ))
        }
        Some(AuthorizeAttribute {
            policy: Some(path), ..
        }) => {
            let policy = quote_spanned! {path.span()=>
                {
                    const POLICY: ::signalr::hub::Policy = #path;
                    POLICY
                }
            };
            quote!(::std::option::Option::Some(::signalr::__private::Authorize::Policy(#policy)))
        }
    }
}

pub(crate) fn render(model: TraitModel) -> TokenStream {
    let TraitModel {
        mut item,
        methods,
        authorize,
    } = model;
    let hub_authorize = authorize_rule(&authorize);
    let trait_ident = item.ident.clone();
    let vis = item.vis.clone();
    let dispatcher = format_ident!("{}Dispatcher", trait_ident);

    let mut declarations = Vec::new();
    let mut infos = Vec::new();
    let mut arms = Vec::new();
    for (index, method) in methods.iter().enumerate() {
        let mut declaration = method.item.clone();
        desugar_async(&mut declaration.sig);
        declarations.push(declaration);

        let wire_name = &method.wire_name;
        let parameters = method.wire_parameters();
        let upload_streams = method.upload_streams();
        let streaming = matches!(method.returns, ReturnKind::Stream { .. });
        let authorize = authorize_rule(&method.authorize);
        infos.push(quote! {
            ::signalr::__private::MethodInfo {
                name: #wire_name,
                parameters: #parameters,
                upload_streams: #upload_streams,
                streaming: #streaming,
                authorize: #authorize,
            }
        });

        let ident = &method.ident;
        let names: Vec<_> = method.params.iter().map(|p| &p.name).collect();
        let decode = method.params.iter().map(|param| {
            let name = &param.name;
            let ty = &param.ty;
            let take = if param.upload {
                quote_spanned!(ty.span()=> ::signalr::__private::upload(&mut call))
            } else {
                quote_spanned!(ty.span()=> ::signalr::__private::argument::<#ty>(&mut call))
            };
            quote_spanned! {ty.span()=>
                let #name: #ty = match #take {
                    ::core::result::Result::Ok(value) => value,
                    ::core::result::Result::Err(outcome) => return outcome,
                };
            }
        });
        let context = method.takes_context.as_ref().map(|_| quote!(cx,));
        let complete = match &method.returns {
            ReturnKind::Unit => quote! {
                let () = __value;
                call.complete_void()
            },
            ReturnKind::Value(ty) => quote_spanned! {ty.span()=>
                ::signalr::__private::complete_value::<#ty>(&call, &__value)
            },
            ReturnKind::Result(ty) => quote_spanned! {ty.span()=>
                ::signalr::__private::complete_result(&call, __value)
            },
            ReturnKind::UnitResult(ty) => quote_spanned! {ty.span()=>
                ::signalr::__private::complete_unit_result(&call, __value)
            },
            ReturnKind::Stream {
                item,
                fallible,
                may_fail_to_start,
            } => {
                let drive = if *fallible {
                    quote_spanned!(item.span()=> ::signalr::__private::complete_try_stream(call, __value).await)
                } else {
                    quote_spanned!(item.span()=> ::signalr::__private::complete_stream(call, __value).await)
                };
                if *may_fail_to_start {
                    quote! {
                        match __value {
                            ::core::result::Result::Ok(__value) => #drive,
                            ::core::result::Result::Err(error) => {
                                call.complete_error(::core::convert::Into::into(error))
                            }
                        }
                    }
                } else {
                    drive
                }
            }
        };
        arms.push(quote! {
            #index => {
                #(#decode)*
                let __value = <H as #trait_ident>::#ident(&self.0, #context #(#names),*).await;
                #complete
            }
        });
    }

    item.items = declarations.into_iter().map(syn::TraitItem::Fn).collect();
    item.supertraits.push(parse_quote!(::core::marker::Send));
    item.supertraits.push(parse_quote!(::core::marker::Sync));
    item.supertraits.push(parse_quote!('static));
    let into_server_doc = format!(
        "Wraps this implementation of [`{trait_ident}`] into a [`HubServer`](::signalr::hub::HubServer), ready to mount on a router."
    );
    item.items.push(parse_quote! {
        /// Runs once a connection completed its handshake, before any of its calls.
        /// Returning an error refuses the connection (the client gets a Close message).
        /// Provided by `#[hub]`: override it in your `impl` to use it.
        fn on_connected(
            &self,
            cx: &::signalr::hub::Ctx,
        ) -> impl ::core::future::Future<
            Output = ::core::result::Result<(), ::signalr::hub::HubError>,
        > + ::core::marker::Send {
            let _ = cx;
            async { ::core::result::Result::Ok(()) }
        }
    });
    item.items.push(parse_quote! {
        /// Runs once a connection ended, with the reason. Provided by `#[hub]`: override
        /// it in your `impl` to use it.
        fn on_disconnected(
            &self,
            cx: &::signalr::hub::Ctx,
            reason: &::signalr::hub::DisconnectReason,
        ) -> impl ::core::future::Future<Output = ()> + ::core::marker::Send {
            let _ = (cx, reason);
            async {}
        }
    });
    item.items.push(parse_quote! {
        #[doc = #into_server_doc]
        fn into_server(self) -> ::signalr::hub::HubServer<#dispatcher<Self>>
        where
            Self: ::core::marker::Sized,
        {
            ::signalr::hub::HubServer::new(#dispatcher(self))
        }
    });
    let dispatcher_doc = format!(
        "Dispatches calls from the wire to an implementation of [`{trait_ident}`] (generated by `#[hub]`)."
    );
    let dispatcher_name = dispatcher.to_string();

    quote! {
        #item

        #[doc = #dispatcher_doc]
        #vis struct #dispatcher<H>(H);

        impl<H> ::core::fmt::Debug for #dispatcher<H> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(#dispatcher_name)
            }
        }

        impl<H: #trait_ident> ::signalr::__private::Dispatch for #dispatcher<H> {
            const METHODS: &'static [::signalr::__private::MethodInfo] = &[#(#infos),*];

            const AUTHORIZE: ::std::option::Option<::signalr::__private::Authorize> = #hub_authorize;

            #[allow(unused_mut)]
            fn dispatch<'a>(
                &'a self,
                cx: &'a ::signalr::hub::Ctx,
                mut call: ::signalr::__private::HubCall,
            ) -> impl ::core::future::Future<Output = ::signalr::hub::CallOutcome>
                   + ::core::marker::Send
                   + 'a {
                // One future for every method (as large as the largest), not a box per
                // call: the session holds it inside the call's own future.
                async move {
                    let _ = cx;
                    match call.method() {
                        #(#arms)*
                        _ => call.complete_error(::signalr::hub::HubError::new("Method does not exist.")),
                    }
                }
            }

            fn on_connected<'a>(
                &'a self,
                cx: &'a ::signalr::hub::Ctx,
            ) -> ::signalr::hub::BoxFuture<'a, ::core::result::Result<(), ::signalr::hub::HubError>> {
                ::std::boxed::Box::pin(<H as #trait_ident>::on_connected(&self.0, cx))
            }

            fn on_disconnected<'a>(
                &'a self,
                cx: &'a ::signalr::hub::Ctx,
                reason: &'a ::signalr::hub::DisconnectReason,
            ) -> ::signalr::hub::BoxFuture<'a, ()> {
                ::std::boxed::Box::pin(<H as #trait_ident>::on_disconnected(&self.0, cx, reason))
            }
        }
    }
}

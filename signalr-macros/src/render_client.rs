//! Code generation for `#[hub_client]`: the typed methods on every `ClientProxy`.

use crate::model::{ReturnKind, TraitModel};
use crate::render_hub::desugar_async;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::parse_quote;
use syn::spanned::Spanned;

pub(crate) fn render(model: TraitModel) -> TokenStream {
    // `#[authorize]` on a client trait was refused while parsing.
    let TraitModel {
        mut item, methods, ..
    } = model;
    let trait_ident = item.ident.clone();
    let mut declarations = Vec::new();
    let mut implementations = Vec::new();
    for method in &methods {
        let mut declaration = method.item.clone();
        let result = match &method.returns {
            ReturnKind::Unit => None,
            ReturnKind::UnitResult(ty)
            | ReturnKind::Result(ty)
            | ReturnKind::Value(ty)
            | ReturnKind::Stream { item: ty, .. } => Some(ty.clone()),
        };
        declaration.sig.output = match &result {
            None => parse_quote!(-> ::core::result::Result<(), ::signalr::hub::SendError>),
            Some(ty) => {
                parse_quote!(-> ::core::result::Result<#ty, ::signalr::hub::ClientResultError>)
            }
        };
        if result.is_some() {
            declaration
                .sig
                .generics
                .make_where_clause()
                .predicates
                .push(parse_quote!(Self: ::signalr::hub::SingleClientProxy));
        }
        desugar_async(&mut declaration.sig);
        declarations.push(declaration.clone());

        let ident = &method.ident;
        let wire_name = &method.wire_name;
        let names: Vec<_> = method.params.iter().map(|p| &p.name).collect();
        let types: Vec<_> = method.params.iter().map(|p| &p.ty).collect();
        let arguments = if names.is_empty() {
            quote!(&[(); 0])
        } else {
            quote!(&(#(#names,)*))
        };
        let checks = types.iter().map(|ty| {
            quote_spanned! {ty.span()=> ::signalr::__private::assert_client_argument::<#ty>(); }
        });
        implementations.push(match &result {
            None => quote! {
                fn #ident(
                    &self,
                    #(#names: #types),*
                ) -> impl ::core::future::Future<
                    Output = ::core::result::Result<(), ::signalr::hub::SendError>,
                > + ::core::marker::Send {
                    #(#checks)*
                    async move { self.send(#wire_name, #arguments).await }
                }
            },
            Some(ty) => quote! {
                fn #ident(
                    &self,
                    #(#names: #types),*
                ) -> impl ::core::future::Future<
                    Output = ::core::result::Result<#ty, ::signalr::hub::ClientResultError>,
                > + ::core::marker::Send
                where
                    Self: ::signalr::hub::SingleClientProxy,
                {
                    #(#checks)*
                    async move {
                        <Self as ::signalr::hub::SingleClientProxy>::invoke(self, #wire_name, #arguments).await
                    }
                }
            },
        });
    }
    item.items = declarations.into_iter().map(syn::TraitItem::Fn).collect();
    quote! {
        #item

        impl<S: ::signalr::hub::ProxyScope> #trait_ident for ::signalr::hub::ClientProxy<S> {
            #(#implementations)*
        }
    }
}

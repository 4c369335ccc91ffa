//! The model both macros work from: a trait's methods with their wire names, parameters
//! and return kinds, validated with an error at the offending span.

use crate::attributes::{take_authorize, take_method_attributes, AuthorizeAttribute};
use crate::naming::pascal_case;
use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{FnArg, Ident, ItemTrait, Pat, ReturnType, TraitItem, TraitItemFn, Type};

/// Which macro is building the model: the rules differ slightly.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// `#[hub]`: methods clients call on the server.
    Hub,
    /// `#[hub_client]`: methods the server calls on clients.
    Client,
}

impl Side {
    fn what(self) -> &'static str {
        match self {
            Side::Hub => "hub method",
            Side::Client => "client method",
        }
    }
}

/// What a method returns, as far as the wire is concerned.
pub(crate) enum ReturnKind {
    /// Nothing (`()` or no return type): a void Completion.
    Unit,
    /// `Result<(), E>`: a void or an error Completion.
    UnitResult(Type),
    /// `Result<T, E>`: a result or an error Completion.
    Result(Type),
    /// Any other type: a result Completion.
    Value(Type),
    /// `impl Stream<Item = T>`: StreamItems then a Completion; `fallible` when `T` is a
    /// `Result` (an `Err` ends the stream with an error); `may_fail_to_start` for
    /// `Result<impl Stream<..>, E>` (an `Err` fails the call before any item).
    Stream {
        item: Type,
        fallible: bool,
        may_fail_to_start: bool,
    },
}

/// One parameter after `&self` (and the context).
pub(crate) struct Param {
    pub(crate) name: Ident,
    pub(crate) ty: Type,
    /// An `UploadStream<T>`: bound to a client stream, not to an argument.
    pub(crate) upload: bool,
}

impl Method {
    /// How many arguments the wire carries.
    pub(crate) fn wire_parameters(&self) -> usize {
        self.params.iter().filter(|p| !p.upload).count()
    }

    /// How many upload streams the method takes.
    pub(crate) fn upload_streams(&self) -> usize {
        self.params.iter().filter(|p| p.upload).count()
    }
}

/// Whether the last path segment of `ty` is `name`.
fn last_segment_is(ty: &Type, name: &str) -> bool {
    match ty {
        Type::Path(path) if path.qself.is_none() => path
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == name),
        _ => false,
    }
}

/// The first generic argument of the last path segment of `ty`, if it is a type.
fn first_type_argument(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let segment = path.path.segments.last()?;
    let syn::PathArguments::AngleBracketed(arguments) = &segment.arguments else {
        return None;
    };
    arguments.args.iter().find_map(|arg| match arg {
        syn::GenericArgument::Type(ty) => Some(ty),
        _ => None,
    })
}

/// For `impl Stream<Item = T> + ...`, the item type `T`.
fn stream_item(ty: &Type) -> Option<Type> {
    let Type::ImplTrait(impl_trait) = ty else {
        return None;
    };
    impl_trait.bounds.iter().find_map(|bound| {
        let syn::TypeParamBound::Trait(bound) = bound else {
            return None;
        };
        let segment = bound.path.segments.last()?;
        if segment.ident != "Stream" {
            return None;
        }
        let syn::PathArguments::AngleBracketed(arguments) = &segment.arguments else {
            return None;
        };
        arguments.args.iter().find_map(|arg| match arg {
            syn::GenericArgument::AssocType(assoc) if assoc.ident == "Item" => {
                Some(assoc.ty.clone())
            }
            _ => None,
        })
    })
}

/// One trait method.
pub(crate) struct Method {
    pub(crate) ident: Ident,
    pub(crate) wire_name: String,
    pub(crate) wire_name_span: Span,
    /// Whether the hub method asks for the call context (`cx: &Ctx`) first.
    pub(crate) takes_context: Option<Type>,
    pub(crate) params: Vec<Param>,
    pub(crate) returns: ReturnKind,
    /// `#[authorize]` on the method.
    pub(crate) authorize: Option<AuthorizeAttribute>,
    /// The declaration as written, attributes of ours removed.
    pub(crate) item: TraitItemFn,
}

/// A validated trait.
pub(crate) struct TraitModel {
    pub(crate) item: ItemTrait,
    pub(crate) methods: Vec<Method>,
    /// `#[authorize]` on the trait.
    pub(crate) authorize: Option<AuthorizeAttribute>,
}

/// Collects errors so that one expansion reports every misuse at once.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(existing) => existing.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// Whether `ty` is `&Ctx` (any path ending in `Ctx`).
fn is_context(ty: &Type) -> bool {
    let Type::Reference(reference) = ty else {
        return false;
    };
    let Type::Path(path) = &*reference.elem else {
        return false;
    };
    path.path
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "Ctx")
}

fn is_unit(ty: &Type) -> bool {
    matches!(ty, Type::Tuple(tuple) if tuple.elems.is_empty())
}

fn return_kind(output: &ReturnType) -> ReturnKind {
    match output {
        ReturnType::Default => ReturnKind::Unit,
        ReturnType::Type(_, ty) => {
            if is_unit(ty) {
                ReturnKind::Unit
            } else if let Some(item) = stream_item(ty) {
                let fallible = last_segment_is(&item, "Result");
                ReturnKind::Stream {
                    item,
                    fallible,
                    may_fail_to_start: false,
                }
            } else if let Some(item) = last_segment_is(ty, "Result")
                .then(|| first_type_argument(ty).and_then(stream_item))
                .flatten()
            {
                let fallible = last_segment_is(&item, "Result");
                ReturnKind::Stream {
                    item,
                    fallible,
                    may_fail_to_start: true,
                }
            } else if last_segment_is(ty, "Result") {
                if first_type_argument(ty).is_some_and(is_unit) {
                    ReturnKind::UnitResult((**ty).clone())
                } else {
                    ReturnKind::Result((**ty).clone())
                }
            } else {
                ReturnKind::Value((**ty).clone())
            }
        }
    }
}

fn method(side: Side, mut item: TraitItemFn, errors: &mut Errors) -> Option<Method> {
    let what = side.what();
    let attributes = match take_method_attributes(&mut item.attrs) {
        Ok(attributes) => attributes,
        Err(e) => {
            errors.push(e);
            return None;
        }
    };
    let authorize = match take_authorize(&mut item.attrs) {
        Ok(authorize) => authorize,
        Err(e) => {
            errors.push(e);
            return None;
        }
    };
    if let (Side::Client, Some(authorize)) = (side, &authorize) {
        errors.push(syn::Error::new(
            authorize.span,
            "`#[authorize]` goes on the methods of a `#[hub]` trait (what clients may call), not on client methods",
        ));
        return None;
    }
    let sig = &item.sig;
    let mut ok = true;
    let mut fail = |span: Span, message: String| {
        errors.push(syn::Error::new(span, message));
        ok = false;
    };
    if sig.asyncness.is_none() {
        fail(
            sig.fn_token.span,
            format!(
                "a {what} must be an `async fn`: write `async fn {}(&self, ...)`",
                sig.ident
            ),
        );
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        fail(
            sig.generics.span(),
            format!("a {what} cannot be generic: its argument types must be known to decode calls from the wire"),
        );
    }
    if let Some(variadic) = &sig.variadic {
        fail(variadic.span(), format!("a {what} cannot be variadic"));
    }
    if item.default.is_some() {
        fail(
            item.sig.ident.span(),
            format!("a {what} declaration has no body here: implement it in `impl` blocks"),
        );
    }
    let mut inputs = sig.inputs.iter();
    match inputs.next() {
        Some(FnArg::Receiver(receiver))
            if receiver.reference.is_some() && receiver.mutability.is_none() => {}
        Some(FnArg::Receiver(receiver)) => fail(
            receiver.span(),
            format!(
                "a {what} takes `&self`: {}",
                match side {
                    Side::Hub => "one hub value serves every connection at once, so it is shared, never borrowed mutably or moved; keep mutable state behind a lock or in an atomic",
                    Side::Client => "the proxy is shared, never borrowed mutably or moved",
                }
            ),
        ),
        _ => fail(
            sig.ident.span(),
            format!("a {what} takes `&self` as its first parameter"),
        ),
    }
    let mut takes_context = None;
    let mut params = Vec::new();
    for (position, input) in inputs.enumerate() {
        let FnArg::Typed(typed) = input else { continue };
        if side == Side::Hub && position == 0 && is_context(&typed.ty) {
            takes_context = Some((*typed.ty).clone());
            continue;
        }
        if is_context(&typed.ty) {
            fail(
                typed.ty.span(),
                match side {
                    Side::Hub => {
                        "the call context `&Ctx` must be the first parameter after `&self`"
                            .to_owned()
                    }
                    Side::Client => {
                        "a client method cannot take the call context: it runs on the client"
                            .to_owned()
                    }
                },
            );
            continue;
        }
        let name = match &*typed.pat {
            Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => {
                Ident::new(&format!("__arg{position}"), pat.ident.span())
            }
            Pat::Wild(wild) => Ident::new(&format!("__arg{position}"), wild.span()),
            other => {
                fail(
                    other.span(),
                    format!("a {what} parameter must be a plain name"),
                );
                continue;
            }
        };
        if let Type::Reference(reference) = &*typed.ty {
            fail(
                reference.span(),
                format!("a {what} parameter must be an owned type (it is decoded from the wire or moved into the message): use `String` for `&str`, `Vec<T>` for `&[T]`"),
            );
            continue;
        }
        if let Type::ImplTrait(ty) = &*typed.ty {
            fail(
                ty.span(),
                format!("a {what} parameter cannot be `impl Trait`: name a concrete type"),
            );
            continue;
        }
        let upload = last_segment_is(&typed.ty, "UploadStream");
        if upload && side == Side::Client {
            fail(
                typed.ty.span(),
                "a client method cannot take an `UploadStream`: upload streams go from clients to hub methods".to_owned(),
            );
            continue;
        }
        params.push(Param {
            name,
            ty: (*typed.ty).clone(),
            upload,
        });
    }
    let (wire_name, wire_name_span) = match attributes.name {
        Some(name) => (name.value(), name.span()),
        None => (pascal_case(&sig.ident.to_string()), sig.ident.span()),
    };
    let returns = return_kind(&sig.output);
    if let ReturnType::Type(_, ty) = &sig.output {
        match (&**ty, &returns, side) {
            (Type::ImplTrait(ty), ReturnKind::Stream { .. }, Side::Client) => fail(
                ty.span(),
                "a client method cannot return a stream: only hub methods stream to clients (a client method may return one value, a client result)".to_owned(),
            ),
            (Type::ImplTrait(_), ReturnKind::Stream { .. }, Side::Hub) => {}
            (Type::ImplTrait(ty), _, _) => fail(
                ty.span(),
                format!("a {what} cannot return this `impl Trait`: return a concrete serializable type, or `impl Stream<Item = T>` to stream"),
            ),
            _ => {}
        }
    }
    ok.then(|| Method {
        ident: item.sig.ident.clone(),
        wire_name,
        wire_name_span,
        takes_context,
        params,
        returns,
        authorize,
        item,
    })
}

/// Builds and validates the model of a `#[hub]` or `#[hub_client]` trait.
pub(crate) fn parse(side: Side, mut item: ItemTrait, reserved: &[&str]) -> syn::Result<TraitModel> {
    let mut errors = Errors::default();
    let authorize = match take_authorize(&mut item.attrs) {
        Ok(authorize) => authorize,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    if let (Side::Client, Some(found)) = (side, &authorize) {
        errors.push(syn::Error::new(
            found.span,
            "`#[authorize]` goes on a `#[hub]` trait (what clients may call), not on a `#[hub_client]` trait",
        ));
    }
    if !item.generics.params.is_empty() {
        errors.push(syn::Error::new(
            item.generics.span(),
            format!(
                "a {} trait cannot be generic",
                match side {
                    Side::Hub => "#[hub]",
                    Side::Client => "#[hub_client]",
                }
            ),
        ));
    }
    let mut methods: Vec<Method> = Vec::new();
    for trait_item in std::mem::take(&mut item.items) {
        match trait_item {
            TraitItem::Fn(function) => {
                let name = function.sig.ident.to_string();
                if reserved.contains(&name.as_str()) {
                    let message = if name.starts_with("on_") {
                        let signature = if name == "on_connected" {
                            "async fn on_connected(&self, cx: &Ctx) -> Result<(), HubError>"
                        } else {
                            "async fn on_disconnected(&self, cx: &Ctx, reason: &DisconnectReason)"
                        };
                        format!("`{name}` is a lifecycle hook that `#[hub]` provides: do not declare it in the trait, implement it in your `impl` block as `{signature}`")
                    } else {
                        format!("`{name}` is generated by the macro: rename this method and keep its wire name with `#[method(name = \"...\")]`")
                    };
                    errors.push(syn::Error::new(function.sig.ident.span(), message));
                    continue;
                }
                if let Some(method) = method(side, function, &mut errors) {
                    if let Some(first) = methods
                        .iter()
                        .find(|m| m.wire_name.eq_ignore_ascii_case(&method.wire_name))
                    {
                        errors.push(syn::Error::new(
                            method.wire_name_span,
                            format!(
                                "the wire name `{}` is already used by `{}` (wire names are matched ignoring case): rename one with `#[method(name = \"...\")]`",
                                method.wire_name, first.ident
                            ),
                        ));
                        continue;
                    }
                    methods.push(method);
                }
            }
            other => errors.push(syn::Error::new(
                other.span(),
                format!(
                    "a {} trait holds only `async fn` methods",
                    match side {
                        Side::Hub => "#[hub]",
                        Side::Client => "#[hub_client]",
                    }
                ),
            )),
        }
    }
    errors.finish()?;
    Ok(TraitModel {
        item,
        methods,
        authorize,
    })
}

//! Stage 4 for `drift_shapes.rs`: the spec's field tree of every response and callback event as data (pure,
//! no I/O), which the runtime's drift reports compare answers against.
//!
//! One `static` per struct (its fields: wire name, shape, required, flex), a `response_shape(path)` lookup
//! over the endpoints and an `event_shape(event, change_type)` lookup over the callback events. The tables are
//! not feature-gated: they are data, and a report names endpoints the build may not have methods for.

use crate::model::{Api, Code, Enum, Event, EventTy, Scalar, Ty};
use crate::naming;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

fn enum_shape(e: &Enum) -> TokenStream {
    let ints: Vec<i64> = e
        .values
        .iter()
        .filter_map(|v| match &v.code {
            Code::Int(n) => Some(*n),
            Code::Str(_) => None,
        })
        .collect();
    let strs: Vec<&str> = e
        .values
        .iter()
        .filter_map(|v| match &v.code {
            Code::Str(s) => Some(s.as_str()),
            Code::Int(_) => None,
        })
        .collect();
    if strs.is_empty() {
        quote! { S::IntEnum(&[#(#ints),*]) }
    } else {
        quote! { S::StrEnum(&[#(#strs),*]) }
    }
}

fn shape(ty: &Ty, enums: &[&Enum]) -> TokenStream {
    match ty {
        Ty::Scalar(Scalar::String) | Ty::Secret => quote! { S::String },
        Ty::Scalar(Scalar::Bool) => quote! { S::Bool },
        Ty::Scalar(Scalar::F64) => quote! { S::Number },
        Ty::Scalar(_) => quote! { S::Integer },
        Ty::Json => quote! { S::Any },
        Ty::List(t) => {
            let inner = shape(t, enums);
            quote! { S::List(&#inner) }
        }
        Ty::Struct(n) => {
            let s = format_ident!("{}", naming::shape_static(n));
            quote! { S::Object(#n, &#s) }
        }
        Ty::Enum(n) => match enums.iter().find(|e| &e.name == n) {
            Some(e) => enum_shape(e),
            None => quote! { S::Any },
        },
    }
}

fn event_shape(ev: &Event, values: &[Enum]) -> TokenStream {
    let fields = ev.fields.iter().map(|f| {
        let name = &f.wire;
        let required = f.required;
        let s = match &f.ty {
            EventTy::String | EventTy::Secret => quote! { S::String },
            EventTy::U64 | EventTy::I64 | EventTy::UnixTime => quote! { S::Integer },
            EventTy::Items => {
                quote! { S::Object("", &[F { name: "Item", shape: S::List(&S::String), required: false, flex: false }]) }
            }
            EventTy::Values(n) => match values.iter().find(|e| &e.name == n) {
                Some(e) => enum_shape(e),
                None => quote! { S::String },
            },
        };
        quote! { F { name: #name, shape: #s, required: #required, flex: false } }
    });
    quote! { &[#(#fields),*] }
}

fn reach(ty: &Ty, out: &mut Vec<String>) {
    match ty {
        Ty::List(t) => reach(t, out),
        Ty::Struct(n) => out.push(n.clone()),
        _ => {}
    }
}

/// The file: the tables of the structs answers use, and the two lookups.
pub(crate) fn shapes_file(api: &Api) -> TokenStream {
    let enums: Vec<&Enum> = api.groups.iter().flat_map(|g| g.enums.iter()).collect();
    let structs: Vec<&crate::model::Struct> = api.groups.iter().flat_map(|g| g.structs.iter()).collect();
    let mut used = std::collections::BTreeSet::new();
    let mut todo: Vec<String> = api
        .groups
        .iter()
        .flat_map(|g| g.endpoints.iter())
        .map(|ep| ep.response.clone())
        .collect();
    while let Some(n) = todo.pop() {
        if !used.insert(n.clone()) {
            continue;
        }
        if let Some(s) = structs.iter().find(|s| s.name == n) {
            for f in &s.fields {
                reach(&f.ty, &mut todo);
            }
        }
    }
    let tables = structs.iter().filter(|s| used.contains(&s.name)).map(|s| {
        let name = format_ident!("{}", naming::shape_static(&s.name));
        let n = s.fields.len();
        let fields = s.fields.iter().map(|f| {
            let wire = &f.wire;
            let sh = shape(&f.ty, &enums);
            let (required, flex) = (f.required, f.flex);
            quote! { F { name: #wire, shape: #sh, required: #required, flex: #flex } }
        });
        quote! { static #name: [F; #n] = [#(#fields),*]; }
    });
    let responses = api.groups.iter().flat_map(|g| g.endpoints.iter()).map(|ep| {
        let path = &ep.path;
        let s = format_ident!("{}", naming::shape_static(&ep.response));
        quote! { #path => Some(&#s), }
    });
    let events = api.events.iter().map(|ev| {
        let (e, c) = (&ev.event, &ev.change_type);
        let fields = event_shape(ev, &api.event_values);
        quote! { (#e, #c) => Some(#fields), }
    });
    quote! {
        use crate::drift::{FieldShape as F, Shape as S};
        #(#tables)*
        /// The spec's fields of an endpoint's answer (without `errcode`/`errmsg`), by path.
        pub(crate) fn response_shape(path: &str) -> Option<&'static [F]> {
            match path {
                #(#responses)*
                _ => None,
            }
        }
        /// The spec's fields of a callback event (without the envelope), by `Event`/`InfoType` and `ChangeType`.
        pub(crate) fn event_shape(event: &str, change_type: &str) -> Option<&'static [F]> {
            match (event, change_type) {
                #(#events)*
                _ => None,
            }
        }
    }
}

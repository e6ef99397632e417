//! Emits WeCom's global error codes (`spec/errcodes.yaml`, checked in [`crate::validate`] and lowered in
//! [`crate::lower`]) as the runtime's errcode table. Part of the emit stage.

use crate::model::{Api, Class, ThrottleDef};
use proc_macro2::TokenStream;
use quote::quote;

/// `errcodes.rs`: the table `crate::errcode` searches (sorted by code), each code with its class.
pub(crate) fn emit(api: &Api) -> TokenStream {
    let rows = api.errcodes.iter().map(|e| {
        let (code, zh, en, retryable) = (e.code, &e.zh, &e.en, e.class.can_succeed_later());
        let class = match e.class {
            Class::TokenInvalid(kind) => {
                let kind = crate::emit::token_kind(kind);
                quote! { TokenInvalid(crate::TokenKind::#kind) }
            }
            Class::Retryable => quote! { Retryable },
            Class::Throttled(ThrottleDef::Frequency) => quote! { Throttled(crate::errcode::Throttle::Frequency) },
            Class::Throttled(ThrottleDef::Concurrency) => quote! { Throttled(crate::errcode::Throttle::Concurrency) },
            Class::Fatal => quote! { Fatal },
        };
        quote! {
            crate::errcode::ErrcodeInfo {
                code: #code,
                meaning: #zh,
                gloss: #en,
                retryable: #retryable,
                class: crate::errcode::ErrorClass::#class,
            },
        }
    });
    quote! {
        /// WeCom's global error codes, sorted by code, each with its class (from `spec/errcodes.yaml`).
        pub(crate) const ERRCODES: &[crate::errcode::ErrcodeInfo] = &[ #(#rows)* ];
    }
}

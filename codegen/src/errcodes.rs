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
    let named = error_code_enum(api);
    quote! {
        /// WeCom's global error codes, sorted by code, each with its class (from `spec/errcodes.yaml`).
        pub(crate) const ERRCODES: &[crate::errcode::ErrcodeInfo] = &[ #(#rows)* ];

        #named
    }
}

/// The `ErrCode` enum: one variant per code (its `name`), documented with both meanings, and
/// `Unrecognized(i64)` keeping any other code; `code`/`from_code` convert (the rest is hand-written in
/// `src/errcode.rs`).
fn error_code_enum(api: &Api) -> TokenStream {
    let idents: Vec<proc_macro2::Ident> = api
        .errcodes
        .iter()
        .map(|e| proc_macro2::Ident::new(&e.variant, proc_macro2::Span::call_site()))
        .collect();
    let codes: Vec<i64> = api.errcodes.iter().map(|e| e.code).collect();
    let variants = api.errcodes.iter().zip(&idents).map(|(e, ident)| {
        let doc = format!(" `{}`: {} — {}", e.code, e.zh, e.en);
        quote! { #[doc = #doc] #ident, }
    });
    quote! {
        /// A WeCom errcode by name: one variant per code of `spec/errcodes.yaml`, and
        /// [`Unrecognized`](Self::Unrecognized) for any other code (kept as is). Built with
        /// [`from_code`](Self::from_code) or `From<i64>`; [`Error::code`](crate::Error::code) gives an API
        /// error's. Match it with a wildcard arm: codes can be added.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum ErrCode {
            #(#variants)*
            /// A code `spec/errcodes.yaml` does not list.
            Unrecognized(i64),
        }

        impl ErrCode {
            /// Every named code, in code order.
            pub const ALL: &'static [ErrCode] = &[ #(ErrCode::#idents),* ];

            /// The numeric code.
            pub const fn code(self) -> i64 {
                match self {
                    #(ErrCode::#idents => #codes,)*
                    ErrCode::Unrecognized(code) => code,
                }
            }

            /// The named code of `code`, or [`Unrecognized`](Self::Unrecognized) keeping it.
            pub const fn from_code(code: i64) -> ErrCode {
                match code {
                    #(#codes => ErrCode::#idents,)*
                    other => ErrCode::Unrecognized(other),
                }
            }
        }
    }
}

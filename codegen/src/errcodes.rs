//! WeCom's global error codes (`spec/errcodes.yaml`) with their classes: checked here and emitted as the
//! runtime's errcode table. Self-contained so the main stages only call in. (The endpoints' retry facts are
//! checked in [`crate::validate`].)

use crate::error::Errors;
use crate::load::Loaded;
use crate::model::Api;
use crate::spec::{ThrottleDef, TokenKind};
use proc_macro2::TokenStream;
use quote::quote;
use std::collections::BTreeMap;

/// One error code, lowered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Errcode {
    /// The code.
    pub code: i64,
    /// The `ErrCode` variant (UpperCamelCase).
    pub variant: String,
    /// Official meaning (Chinese).
    pub zh: String,
    /// English gloss.
    pub en: String,
    /// What the code calls for.
    pub class: Class,
}

/// The class of an error code (the runtime's `errcode::ErrorClass`): from its `retryable`, `throttled` or
/// `token` key, `Fatal` without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// A token of this kind was refused: replay once with a new one.
    TokenInvalid(TokenKind),
    /// The same request can succeed later: retried on reads.
    Retryable,
    /// A rate limit: never retried blindly.
    Throttled(ThrottleDef),
    /// Anything else.
    Fatal,
}

impl Class {
    /// Whether the same request can succeed later (the runtime's `ErrcodeInfo::retryable`).
    pub fn can_succeed_later(self) -> bool {
        matches!(self, Class::Retryable | Class::Throttled(_))
    }
}

/// Checks the errcodes: unique, uniquely named in snake_case, with both meanings, at most one class key, a
/// real token kind.
pub fn validate(files: &[Loaded], errors: &Errors) {
    let mut seen: BTreeMap<i64, &str> = BTreeMap::new();
    let mut names: BTreeMap<&str, i64> = BTreeMap::new();
    for l in files {
        let file = errors.file(&l.source.file);
        for e in &l.spec.errcodes {
            let s = file.item(format!("errcode {}", e.code), e.line);
            if let Some(other) = seen.insert(e.code, &l.source.file) {
                s.err(format!("listed twice (also in {other})"));
            }
            let snake = !e.name.is_empty()
                && e.name.starts_with(|c: char| c.is_ascii_lowercase())
                && e.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                && !e.name.contains("__")
                && !e.name.ends_with('_');
            if !snake {
                s.err(format!(
                    "`name: {}` must be snake_case (a-z, 0-9, single `_`, starting with a letter): it names the \
                     `errcode::ErrCode` variant",
                    e.name
                ));
            }
            if e.name == "unrecognized" {
                s.err("`name: unrecognized` is the catch-all `ErrCode::Unrecognized`: choose another name");
            }
            if let Some(other) = names.insert(&e.name, e.code) {
                s.err(format!(
                    "`name: {}` is also errcode {other}'s: names must be unique",
                    e.name
                ));
            }
            if e.zh.trim().is_empty() || e.en.trim().is_empty() {
                s.err("needs both `zh` (the official meaning) and `en` (a short gloss)");
            }
            let keys: Vec<&str> = [
                (e.retryable, "`retryable: true`"),
                (e.throttled.is_some(), "`throttled`"),
                (e.token.is_some(), "`token`"),
            ]
            .iter()
            .filter(|(set, _)| *set)
            .map(|(_, key)| *key)
            .collect();
            if keys.len() > 1 {
                s.err(format!(
                    "{} each give the code a class: keep one (`token` for a refused token, `throttled` for a \
                     rate limit, `retryable: true` for a passing failure; none for fatal)",
                    keys.join(" and ")
                ));
            }
            if e.token == Some(TokenKind::None) {
                s.err("`token: none` names no token: write the kind the code refuses (access, suite or provider)");
            }
        }
    }
}

/// The errcodes of all files, sorted by code.
pub fn lower(files: &[Loaded]) -> Vec<Errcode> {
    let mut out: Vec<Errcode> = files
        .iter()
        .flat_map(|l| &l.spec.errcodes)
        .map(|e| Errcode {
            code: e.code,
            variant: crate::naming::camel(&e.name),
            zh: e.zh.trim().to_string(),
            en: e.en.trim().to_string(),
            class: match (e.token, e.throttled, e.retryable) {
                (Some(kind), _, _) => Class::TokenInvalid(kind),
                (None, Some(t), _) => Class::Throttled(t),
                (None, None, true) => Class::Retryable,
                (None, None, false) => Class::Fatal,
            },
        })
        .collect();
    out.sort_by_key(|e| e.code);
    out.dedup_by_key(|e| e.code);
    out
}

/// `errcodes.rs`: the table `crate::errcode` searches (sorted by code), each code with its class.
pub fn emit(api: &Api) -> TokenStream {
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

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

/// Checks the errcodes: unique, with both meanings, at most one class key, a real token kind.
pub fn validate(files: &[Loaded], errors: &Errors) {
    let mut seen: BTreeMap<i64, &str> = BTreeMap::new();
    for l in files {
        let file = errors.file(&l.source.file);
        for e in &l.spec.errcodes {
            let s = file.item(format!("errcode {}", e.code), e.line);
            if let Some(other) = seen.insert(e.code, &l.source.file) {
                s.err(format!("listed twice (also in {other})"));
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
    quote! {
        /// WeCom's global error codes, sorted by code, each with its class (from `spec/errcodes.yaml`).
        pub(crate) const ERRCODES: &[crate::errcode::ErrcodeInfo] = &[ #(#rows)* ];
    }
}

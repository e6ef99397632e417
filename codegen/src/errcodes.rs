//! WeCom's global error codes (`spec/errcodes.yaml`): checked here and emitted as the runtime's errcode table.
//! Self-contained so the main stages only call in. (The endpoints' retry facts are checked in
//! [`crate::validate`].)

use crate::error::Errors;
use crate::load::Loaded;
use crate::model::Api;
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
    /// Whether retrying can help.
    pub retryable: bool,
}

/// Checks the errcodes: unique, with both meanings.
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
            retryable: e.retryable,
        })
        .collect();
    out.sort_by_key(|e| e.code);
    out.dedup_by_key(|e| e.code);
    out
}

/// `errcodes.rs`: the table `crate::errcode` searches (sorted by code).
pub fn emit(api: &Api) -> TokenStream {
    let rows = api.errcodes.iter().map(|e| {
        let (code, zh, en, retryable) = (e.code, &e.zh, &e.en, e.retryable);
        quote! { crate::errcode::ErrcodeInfo { code: #code, meaning: #zh, gloss: #en, retryable: #retryable }, }
    });
    quote! {
        /// WeCom's global error codes, sorted by code (from `spec/errcodes.yaml`).
        pub(crate) static ERRCODES: &[crate::errcode::ErrcodeInfo] = &[ #(#rows)* ];
    }
}

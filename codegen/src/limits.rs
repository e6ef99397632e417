//! Emits WeCom's frequency limits (`spec/limits.yaml`, 访问频率限制, doc 90454) and each endpoint's budget into
//! the catalog. The `limits` block and the endpoints' `rate_limit` are checked in [`crate::validate`] and
//! lowered in [`crate::lower`]. Part of the emit stage.

use crate::model::{Budget, Limits};
use proc_macro2::TokenStream;
use quote::quote;

/// `crate::catalog::RateBudget { .. }`.
fn emit_struct(b: Budget) -> TokenStream {
    let (m, h) = (
        proc_macro2::Literal::u32_unsuffixed(b.per_minute),
        proc_macro2::Literal::u32_unsuffixed(b.per_hour),
    );
    quote! { crate::catalog::RateBudget { per_minute: #m, per_hour: #h } }
}

/// `Some(crate::catalog::RateBudget { .. })` or `None`.
pub(crate) fn emit_budget(b: Option<Budget>) -> TokenStream {
    match b {
        Some(b) => {
            let b = emit_struct(b);
            quote! { Some(#b) }
        }
        None => quote! { None },
    }
}

/// The catalog's `LIMITS` constant.
pub(crate) fn emit(limits: Option<&Limits>) -> TokenStream {
    let body = match limits {
        Some(l) => {
            let (c, i, p) = (
                emit_struct(l.per_corp),
                emit_struct(l.per_ip),
                emit_struct(l.per_provider_ip),
            );
            quote! { Some(crate::catalog::FrequencyLimits { per_corp: #c, per_ip: #i, per_provider_ip: #p }) }
        }
        None => quote! { None },
    };
    quote! {
        /// WeCom's frequency limits per API (from `spec/limits.yaml`).
        pub(crate) static LIMITS: Option<crate::catalog::FrequencyLimits> = #body;
    }
}

/// The rustdoc line of an endpoint's budget.
pub(crate) fn doc_line(budget: Option<Budget>, own: bool) -> Option<String> {
    let b = budget?;
    Some(if own {
        format!(
            "Rate budget: WeCom documents a stricter limit for it, {} calls a minute and {} an hour per corp; \
             the client's budget keeps under it (see `Budgets`).",
            b.per_minute, b.per_hour
        )
    } else {
        format!(
            "Rate budget: WeCom's default, {} calls a minute and {} an hour per corp (and per IP; see \
             `catalog::frequency_limits`); the client's budget keeps under it (see `Budgets`).",
            b.per_minute, b.per_hour
        )
    })
}

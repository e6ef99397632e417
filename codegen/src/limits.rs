//! WeCom's frequency limits (`spec/limits.yaml`, 访问频率限制, doc 90454) and the endpoints' stricter
//! `rate_limit` overrides: checked here, lowered into each endpoint's budget and emitted into the catalog.
//! Self-contained so the main stages only call in.

use crate::error::{Errors, Scope};
use crate::load::Loaded;
use crate::spec::BudgetDef;
use proc_macro2::TokenStream;
use quote::quote;

/// A rate budget, lowered: calls allowed per minute and per hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Calls a minute.
    pub per_minute: u32,
    /// Calls an hour.
    pub per_hour: u32,
}

/// WeCom's frequency limits, lowered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Per corp and API.
    pub per_corp: Budget,
    /// Per IP and API (a corp's own app).
    pub per_ip: Budget,
    /// Per IP and API (a third-party service provider).
    pub per_provider_ip: Budget,
}

fn lower_budget(b: &BudgetDef) -> Budget {
    Budget {
        per_minute: b.per_minute,
        per_hour: b.per_hour,
    }
}

/// Checks one budget: both counts at least 1, and an hour holds at least a minute's calls.
fn check_budget(b: &BudgetDef, what: &str, s: &Scope<'_>) {
    for (key, n) in [("per_minute", b.per_minute), ("per_hour", b.per_hour)] {
        if n == 0 && b.at.keys.contains_key(key) {
            s.line(b.at.key(key)).err(format!(
                "{what}: `{key}` must be at least 1 (leave the budget out if WeCom sets none)"
            ));
        }
    }
    if b.per_minute > 0 && b.per_hour > 0 && b.per_hour < b.per_minute {
        s.line(b.at.key("per_hour")).err(format!(
            "{what}: `per_hour: {}` is less than `per_minute: {}`; an hour holds at least a minute's calls",
            b.per_hour, b.per_minute
        ));
    }
}

/// Checks the `limits` block (at most one in the whole spec, with all three budgets) and every endpoint's
/// `rate_limit` (only stricter than the per-corp default, and only with a `limits` block to be stricter than).
pub fn validate(files: &[Loaded], errors: &Errors) {
    let mut first: Option<&str> = None;
    for l in files {
        let file = errors.file(&l.source.file);
        let Some(limits) = &l.spec.limits else { continue };
        let s = file.item("limits", l.spec.at.key("limits"));
        if let Some(other) = first {
            s.err(format!(
                "`limits` is set in {other} already; WeCom's limits are stated once"
            ));
        }
        first.get_or_insert(&l.source.file);
        for (key, b) in [
            ("per_corp", &limits.per_corp),
            ("per_ip", &limits.per_ip),
            ("per_provider_ip", &limits.per_provider_ip),
        ] {
            match b {
                Some(b) => check_budget(b, &format!("`{key}`"), &s),
                None => s.err(format!(
                    "missing `{key}: {{ per_minute: N, per_hour: M }}` (WeCom's documented limit, doc 90454)"
                )),
            }
        }
    }
    let default = lower(files).map(|l| l.per_corp);
    for l in files {
        let file = errors.file(&l.source.file);
        for ep in &l.spec.endpoints {
            let Some(b) = &ep.rate_limit else { continue };
            let s = file.item(format!("endpoint {}", ep.path), ep.at.key("rate_limit"));
            check_budget(b, "`rate_limit`", &s);
            match default {
                None => s.err("`rate_limit` needs the spec's `limits` block (spec/limits.yaml) to be stricter than"),
                Some(d) if b.per_minute > d.per_minute || b.per_hour > d.per_hour => s.err(format!(
                    "`rate_limit` ({}/min, {}/h) must be stricter than the per-corp default ({}/min, {}/h): \
                     set it only where WeCom documents a lower limit for this endpoint",
                    b.per_minute, b.per_hour, d.per_minute, d.per_hour
                )),
                Some(_) => {}
            }
        }
    }
}

/// The spec's limits, if a file states them (all three budgets).
pub fn lower(files: &[Loaded]) -> Option<Limits> {
    let l = files.iter().find_map(|l| l.spec.limits.as_ref())?;
    Some(Limits {
        per_corp: lower_budget(l.per_corp.as_ref()?),
        per_ip: lower_budget(l.per_ip.as_ref()?),
        per_provider_ip: lower_budget(l.per_provider_ip.as_ref()?),
    })
}

/// An endpoint's per-corp budget: its own `rate_limit`, else the default; `true` when it is its own.
pub fn endpoint_budget(limits: Option<&Limits>, own: Option<&BudgetDef>) -> Option<(Budget, bool)> {
    match own {
        Some(b) => Some((lower_budget(b), true)),
        None => limits.map(|l| (l.per_corp, false)),
    }
}

/// `crate::catalog::RateBudget { .. }`.
fn emit_struct(b: Budget) -> TokenStream {
    let (m, h) = (
        proc_macro2::Literal::u32_unsuffixed(b.per_minute),
        proc_macro2::Literal::u32_unsuffixed(b.per_hour),
    );
    quote! { crate::catalog::RateBudget { per_minute: #m, per_hour: #h } }
}

/// `Some(crate::catalog::RateBudget { .. })` or `None`.
pub fn emit_budget(b: Option<Budget>) -> TokenStream {
    match b {
        Some(b) => {
            let b = emit_struct(b);
            quote! { Some(#b) }
        }
        None => quote! { None },
    }
}

/// The catalog's `LIMITS` constant.
pub fn emit(limits: Option<&Limits>) -> TokenStream {
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
pub fn doc_line(budget: Option<Budget>, own: bool) -> Option<String> {
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

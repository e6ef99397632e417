//! Tokens of every kind: `gettoken` (a corp's access_token), the suite, corp and provider token endpoints,
//! and the check of the token every catalogued call carries (41001, 40014, 42001, 40082, 42009).

use super::routes::wecom_error;
use super::{Inner, StandIn};
use crate::catalog::{self, Endpoint, TokenKind};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::time::Duration;

impl StandIn {
    /// How many times `gettoken` was answered.
    pub fn gettoken_count(&self) -> usize {
        self.lock().gettoken_count
    }

    /// Marks every token issued so far as expired: the next call with one gets errcode 42001.
    pub fn expire_tokens(&self) {
        let mut s = self.lock();
        let v: Vec<String> = s.valid.iter().cloned().collect();
        for t in v {
            s.valid.remove(&t);
            s.expired.insert(t);
        }
    }

    /// WeCom pushes a new `suite_ticket`: from now on `service/get_suite_token` accepts only this one.
    pub fn push_suite_ticket(&self, ticket: &str) {
        self.lock().suite.ticket = Some(ticket.to_string());
    }

    /// The ticket `service/get_suite_token` accepts now (what a `suite_ticket` callback would carry).
    pub fn suite_ticket(&self) -> String {
        let s = self.lock();
        s.suite
            .ticket
            .clone()
            .unwrap_or_else(|| self.inner.config.suite.suite_ticket.clone())
    }

    /// How many suite tokens `service/get_suite_token` issued.
    pub fn suite_token_count(&self) -> usize {
        self.lock().suite.suite_token_count
    }

    /// How many tokens `service/get_corp_token` issued for `corp_id`.
    pub fn corp_token_count(&self, corp_id: &str) -> usize {
        self.lock().suite.corp_token_counts.get(corp_id).copied().unwrap_or(0)
    }

    /// How many tokens `service/get_corp_token` issued in all.
    pub fn corp_token_total(&self) -> usize {
        self.lock().suite.corp_token_counts.values().sum()
    }

    /// How many provider tokens `service/get_provider_token` issued.
    pub fn provider_token_count(&self) -> usize {
        self.lock().suite.provider_token_count
    }

    /// Marks every suite token issued so far as expired: the next call with one gets errcode 42009.
    pub fn expire_suite_tokens(&self) {
        let mut s = self.lock();
        let tokens = std::mem::take(&mut s.suite.suite_tokens);
        s.suite.expired_suite_tokens.extend(tokens);
    }

    /// Marks every authorized-corp token issued so far as expired: the next call with one gets errcode 42001.
    pub fn expire_corp_tokens(&self) {
        let mut s = self.lock();
        let tokens = std::mem::take(&mut s.suite.corp_tokens);
        s.suite.expired_corp_tokens.extend(tokens);
    }
}

/// `Some(None)`: a token the stand-in issued through the suite endpoints, good for this endpoint;
/// `Some(Some(error))`: one of those, refused with WeCom's errcode; `None`: not one of those.
fn check_issued_suite_token(inner: &Inner, wants: TokenKind, token: &str) -> Option<Option<Response>> {
    let s = inner.lock();
    let st = &s.suite;
    let found = if st.suite_tokens.contains(token) {
        (TokenKind::Suite, true)
    } else if st.expired_suite_tokens.contains(token) {
        (TokenKind::Suite, false)
    } else if st.corp_tokens.contains_key(token) {
        (TokenKind::Access, true)
    } else if st.expired_corp_tokens.contains_key(token) {
        (TokenKind::Access, false)
    } else if st.provider_tokens.contains(token) {
        (TokenKind::Provider, true)
    } else {
        return None;
    };
    Some(match (wants, found) {
        (TokenKind::Suite, (TokenKind::Suite, true))
        | (TokenKind::Access, (TokenKind::Access, true))
        | (TokenKind::Provider, (TokenKind::Provider, true)) => None,
        (TokenKind::Suite, (TokenKind::Suite, false)) => Some(wecom_error(42009, "suite_access_token expired")),
        (TokenKind::Access, (TokenKind::Access, false)) => Some(wecom_error(42001, "access_token expired")),
        // A suite or provider token where a corp's access_token is required, and the other way round.
        (TokenKind::Access, _) => Some(wecom_error(40014, "invalid access_token")),
        (TokenKind::Suite, _) => Some(wecom_error(40082, "invalid suite_access_token")),
        _ => Some(wecom_error(40014, "invalid provider_access_token")),
    })
}

/// `service/get_suite_token`, `service/get_corp_token` and `service/get_provider_token`: check the
/// credentials and issue tokens. `None` for every other path.
pub(super) async fn token_endpoint(
    inner: &Inner,
    path: &str,
    query: &[(String, String)],
    body: Option<&Value>,
) -> Option<Response> {
    if !matches!(
        path,
        "service/get_suite_token" | "service/get_corp_token" | "service/get_provider_token"
    ) {
        return None;
    }
    let field = |k: &str| body.and_then(|b| b.get(k)).and_then(Value::as_str).unwrap_or("");
    let config = &inner.config.suite;
    let ttl = inner.config.token_ttl_secs;
    let delay = inner.config.gettoken_delay;
    let resp = match path {
        "service/get_suite_token" => {
            if field("suite_id") != config.suite_id {
                return Some(wecom_error(40083, "invalid suite_id"));
            }
            if field("suite_secret") != config.suite_secret {
                return Some(wecom_error(40080, "invalid suite_secret"));
            }
            let current = inner.lock().suite.ticket.clone();
            if field("suite_ticket") != current.as_deref().unwrap_or(&config.suite_ticket) {
                return Some(wecom_error(40085, "invalid suite_ticket"));
            }
            sleep(delay).await;
            let mut s = inner.lock();
            s.suite.suite_token_count += 1;
            let token = format!("standin-suite-token-{}", s.suite.suite_token_count);
            s.suite.suite_tokens.insert(token.clone());
            json!({ "suite_access_token": token, "expires_in": ttl })
        }
        "service/get_corp_token" => {
            let ep = catalog::endpoint(path)?;
            if let Some(refused) = check_token(inner, ep, query) {
                return Some(refused);
            }
            let corp_id = field("auth_corpid");
            let Some(corp) = config.corps.iter().find(|c| c.corp_id == corp_id) else {
                return Some(wecom_error(40013, "invalid auth_corpid: not authorized"));
            };
            if field("permanent_code") != corp.permanent_code {
                return Some(wecom_error(40084, "invalid permanent_code"));
            }
            sleep(delay).await;
            let mut s = inner.lock();
            let n = s.suite.corp_token_counts.entry(corp_id.to_string()).or_insert(0);
            *n += 1;
            let token = format!("standin-corp-token-{corp_id}-{n}");
            s.suite.corp_tokens.insert(token.clone(), corp_id.to_string());
            json!({ "errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": ttl })
        }
        _ => {
            if field("corpid") != config.provider_corp_id {
                return Some(wecom_error(40013, "invalid corpid"));
            }
            if field("provider_secret") != config.provider_secret {
                return Some(wecom_error(40001, "invalid provider_secret"));
            }
            sleep(delay).await;
            let mut s = inner.lock();
            s.suite.provider_token_count += 1;
            let token = format!("standin-provider-token-{}", s.suite.provider_token_count);
            s.suite.provider_tokens.insert(token.clone());
            json!({ "errcode": 0, "errmsg": "ok", "provider_access_token": token, "expires_in": ttl })
        }
    };
    Some((StatusCode::OK, axum::Json(resp)).into_response())
}

async fn sleep(delay: Duration) {
    if !delay.is_zero() {
        crate::clock::sleep(delay).await;
    }
}

/// The token check of a catalogued call: `None` when the token is one the endpoint takes and is valid, else
/// WeCom's refusal (41001 missing, 40014 or 40082 of the wrong kind or unknown, 42001 or 42009 expired).
pub(super) fn check_token(inner: &Inner, ep: &Endpoint, query: &[(String, String)]) -> Option<Response> {
    let name = ep.token.query_name()?;
    let Some((_, token)) = query.iter().find(|(k, _)| k == name) else {
        return Some(wecom_error(41001, &format!("{name} missing")));
    };
    if let Some(kind) = inner.config.extra_tokens.get(token) {
        return (*kind != ep.token).then(|| wecom_error(40014, &format!("invalid {name}")));
    }
    if let Some(verdict) = check_issued_suite_token(inner, ep.token, token) {
        return verdict;
    }
    if ep.token != TokenKind::Access {
        return Some(wecom_error(40082, &format!("invalid {name}")));
    }
    let s = inner.lock();
    if s.valid.contains(token) {
        None
    } else if s.expired.contains(token) {
        Some(wecom_error(42001, "access_token expired"))
    } else {
        Some(wecom_error(40014, "invalid access_token"))
    }
}

/// `gettoken`: checks the corp id and secret, then issues a fresh access_token.
pub(super) async fn gettoken(inner: &Inner, query: &[(String, String)]) -> Response {
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if get("corpid") != Some(inner.config.corp_id.as_str()) {
        return wecom_error(40013, "invalid corpid");
    }
    if get("corpsecret") != Some(inner.config.secret.as_str()) {
        return wecom_error(40001, "invalid credential");
    }
    if !inner.config.gettoken_delay.is_zero() {
        crate::clock::sleep(inner.config.gettoken_delay).await;
    }
    let token = {
        let mut s = inner.lock();
        s.gettoken_count += 1;
        let t = format!("standin-token-{}", s.gettoken_count);
        s.issued.push(t.clone());
        s.valid.insert(t.clone());
        t
    };
    (
        StatusCode::OK,
        axum::Json(
            json!({ "errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": inner.config.token_ttl_secs }),
        ),
    )
        .into_response()
}

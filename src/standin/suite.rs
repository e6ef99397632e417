//! The third-party suite the stand-in plays WeCom for (issue 8): its configuration and authorized corps,
//! the state of the tokens it issued, and the answers scoped to one corp (60111 for another corp's member).

use super::routes::wecom_error;
use super::{Inner, StandIn};
use crate::catalog::Endpoint;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// One corp that has authorized the stand-in's suite.
#[derive(Clone)]
pub struct AuthorizedCorp {
    /// The corp's id (`auth_corpid`).
    pub corp_id: String,
    /// Its permanent code (what `service/get_corp_token` must carry).
    pub permanent_code: String,
    /// Its members with 客户联系 (what `externalcontact/get_follow_user_list` answers with this corp's
    /// token); a request with this corp's token naming another corp's member gets errcode 60111.
    pub follow_users: Vec<String>,
}

impl AuthorizedCorp {
    /// A corp with its permanent code and members.
    pub fn new(corp_id: &str, permanent_code: &str, follow_users: &[&str]) -> Self {
        AuthorizedCorp {
            corp_id: corp_id.into(),
            permanent_code: permanent_code.into(),
            follow_users: follow_users.iter().map(|u| u.to_string()).collect(),
        }
    }
}

impl std::fmt::Debug for AuthorizedCorp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizedCorp")
            .field("corp_id", &self.corp_id)
            .field("permanent_code", &"[redacted]")
            .field("follow_users", &self.follow_users)
            .finish()
    }
}

/// The third-party suite the stand-in plays WeCom for. `Debug` leaves out the secrets, the ticket and the
/// permanent codes.
#[derive(Clone)]
pub struct SuiteConfig {
    /// The suite id `service/get_suite_token` must carry.
    pub suite_id: String,
    /// The suite secret it must carry.
    pub suite_secret: String,
    /// The ticket WeCom last pushed; `service/get_suite_token` must carry this one (see
    /// [`StandIn::push_suite_ticket`]).
    pub suite_ticket: String,
    /// The corps that authorized the suite.
    pub corps: Vec<AuthorizedCorp>,
    /// The provider's corp id (`service/get_provider_token`).
    pub provider_corp_id: String,
    /// The provider secret.
    pub provider_secret: String,
}

impl Default for SuiteConfig {
    fn default() -> Self {
        SuiteConfig {
            suite_id: "wwstandinsuite".into(),
            suite_secret: "standin-suite-secret".into(),
            suite_ticket: "standin-suite-ticket-1".into(),
            corps: vec![
                AuthorizedCorp::new("wwcorpa", "standin-permanent-code-a", &["a-zhangsan", "a-lisi"]),
                AuthorizedCorp::new("wwcorpb", "standin-permanent-code-b", &["b-wangwu"]),
                AuthorizedCorp::new(
                    "wwcorpc",
                    "standin-permanent-code-c",
                    &["c-zhaoliu", "c-sunqi", "c-zhouba"],
                ),
            ],
            provider_corp_id: "wwstandinprovider".into(),
            provider_secret: "standin-provider-secret".into(),
        }
    }
}

impl std::fmt::Debug for SuiteConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SuiteConfig")
            .field("suite_id", &self.suite_id)
            .field("suite_secret", &"[redacted]")
            .field("suite_ticket", &"[redacted]")
            .field("corps", &self.corps)
            .field("provider_corp_id", &self.provider_corp_id)
            .field("provider_secret", &"[redacted]")
            .finish()
    }
}

/// What the stand-in issued for the suite, its corps and the provider.
#[derive(Default)]
pub(super) struct SuiteState {
    /// A ticket pushed since the start (replaces the configured one).
    pub(super) ticket: Option<String>,
    pub(super) suite_tokens: BTreeSet<String>,
    pub(super) expired_suite_tokens: BTreeSet<String>,
    /// Corp tokens and their corp.
    pub(super) corp_tokens: BTreeMap<String, String>,
    pub(super) expired_corp_tokens: BTreeMap<String, String>,
    pub(super) provider_tokens: BTreeSet<String>,
    pub(super) suite_token_count: usize,
    pub(super) corp_token_counts: BTreeMap<String, usize>,
    pub(super) provider_token_count: usize,
    /// (corp, path) of every call made with a corp token.
    pub(super) corp_calls: Vec<(String, String)>,
}

impl StandIn {
    /// The suite configuration.
    pub fn suite_config(&self) -> &SuiteConfig {
        &self.inner.config.suite
    }

    /// `(corp id, path)` of every call that carried an authorized corp's token, oldest first.
    pub fn corp_calls(&self) -> Vec<(String, String)> {
        self.lock().suite.corp_calls.clone()
    }
}

/// Calls made with an authorized corp's token: recorded per corp; a member of another corp named in the
/// request (`userid`, `userid_list`) is refused with 60111; `get_follow_user_list` answers the corp's own
/// members. `None` for anything else.
pub(super) fn corp_scoped_answer(
    inner: &Inner,
    ep: &Endpoint,
    query: &[(String, String)],
    body: Option<&Value>,
) -> Option<Response> {
    let name = ep.token.query_name()?;
    let token = query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())?;
    let corp_id = {
        let mut s = inner.lock();
        let corp_id = s.suite.corp_tokens.get(token)?.clone();
        s.suite.corp_calls.push((corp_id.clone(), ep.path.to_string()));
        corp_id
    };
    let corps = &inner.config.suite.corps;
    let own = corps.iter().find(|c| c.corp_id == corp_id)?;
    let mut named: Vec<&str> = query
        .iter()
        .filter(|(k, _)| k == "userid")
        .map(|(_, v)| v.as_str())
        .collect();
    if let Some(b) = body {
        named.extend(b.get("userid").and_then(Value::as_str));
        if let Some(list) = b.get("userid_list").and_then(Value::as_array) {
            named.extend(list.iter().filter_map(Value::as_str));
        }
    }
    let foreign = |u: &str| {
        !own.follow_users.iter().any(|m| m == u)
            && corps
                .iter()
                .any(|c| c.corp_id != corp_id && c.follow_users.iter().any(|m| m == u))
    };
    if named.iter().any(|u| foreign(u)) {
        return Some(wecom_error(60111, "invalid userid: not a member of this corp"));
    }
    if ep.path == "externalcontact/get_follow_user_list" {
        let answer = json!({ "errcode": 0, "errmsg": "ok", "follow_user": own.follow_users });
        return Some((StatusCode::OK, axum::Json(answer)).into_response());
    }
    None
}

#[cfg(feature = "service")]
impl StandIn {
    /// A [`SuiteTokenProvider`](crate::token::SuiteTokenProvider) for the stand-in's suite, pointed at the
    /// stand-in, with no ticket yet (hand it [`suite_ticket`](Self::suite_ticket) as a callback would).
    pub fn suite_token_provider(&self) -> crate::token::SuiteTokenProvider {
        let suite = &self.inner.config.suite;
        crate::token::SuiteTokenProvider::new(suite.suite_id.clone(), suite.suite_secret.as_str())
            .base_url(self.base_url())
    }

    /// A [`ProviderTokenProvider`](crate::token::ProviderTokenProvider) for the stand-in's provider.
    pub fn provider_token_provider(&self) -> crate::token::ProviderTokenProvider {
        let suite = &self.inner.config.suite;
        crate::token::ProviderTokenProvider::new(suite.provider_corp_id.clone(), suite.provider_secret.as_str())
            .base_url(self.base_url())
    }
}

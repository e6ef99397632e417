//! The answer of a token endpoint (`gettoken`, `service/get_suite_token`, `service/get_corp_token`,
//! `service/get_provider_token`), turned into a [`CachedToken`] the same way for every kind of token.

use super::{CachedToken, Secret};
use crate::catalog::HttpMethod;
use crate::transport::{Body, Http};
use crate::{Error, Result};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// The life WeCom gives a token when its answer leaves `expires_in` out (two hours).
const DEFAULT_LIFE_SECS: u64 = 7200;

/// The token `field` of `endpoint`'s answer, good for `expires_in` seconds (two hours when 0), or a decode
/// error naming the field (never the answer, which may hold a token).
pub(crate) fn issued(endpoint: &str, field: &str, token: Secret, expires_in: u64) -> Result<CachedToken> {
    if token.expose().is_empty() {
        return Err(Error::Decode {
            endpoint: endpoint.into(),
            message: format!("no {field} in the response"),
            excerpt: String::new(),
        });
    }
    let life = if expires_in == 0 { DEFAULT_LIFE_SECS } else { expires_in };
    Ok(CachedToken::new(token, Duration::from_secs(life)))
}

/// Sends a request to a token endpoint (its query or body holds a secret) and decodes the answer in one
/// pass; neither the request nor the answer ever reaches an error.
pub(crate) async fn request<T: DeserializeOwned>(
    http: &Http,
    method: HttpMethod,
    endpoint: &str,
    query: &[(&str, &str)],
    body: Body,
) -> Result<T> {
    let bytes = http.send(method, endpoint, query, body).await?;
    crate::envelope::decode(endpoint, &bytes, false)
}

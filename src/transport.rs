//! The HTTP transport: URLs, sending, error mapping, redaction and query encoding.
//!
//! This module is a leaf of the runtime: it knows the catalog's types and the error type, nothing else. The
//! token providers and the client both send through it. Errors never carry the URL (it holds the token).

use crate::catalog::{HttpMethod, SECRET_QUERY_PARAMS, TOKEN_QUERY_PARAMS};
use crate::{Error, Result};
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;

/// The official API host.
pub const DEFAULT_BASE_URL: &str = "https://qyapi.weixin.qq.com";

/// The HTTP transport of one client (shared with its token provider).
#[derive(Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
    pub(crate) base: String,
}

/// What a request carries besides its query.
#[derive(Clone)]
pub(crate) enum Body {
    /// Nothing (GET).
    None,
    /// A JSON body (POST).
    Json(Bytes),
    /// A multipart upload: the part's name, the file name, its MIME type and bytes.
    Multipart {
        part: String,
        filename: String,
        content_type: String,
        bytes: Bytes,
    },
}

/// A failed exchange, and whether it failed before any byte of an answer arrived (the only transport
/// failures a retry may repeat: a connect error, or a 502/503/504 from a gateway).
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) error: Error,
    pub(crate) before_answer: bool,
}

impl From<Failure> for Error {
    fn from(f: Failure) -> Error {
        f.error
    }
}

/// The per-request timeout of a client built without one (30 s).
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest connect timeout of the default HTTP client (10 s, less when the request timeout is shorter).
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The one default HTTP client of the crate (the client's, and the suite and provider token providers'):
/// `timeout` per request, connecting within at most 10 s.
pub(crate) fn default_client(timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(MAX_CONNECT_TIMEOUT))
        .build()
        .map_err(|e| Error::Config(format!("cannot build the HTTP client: {}", e.without_url())))
}

impl Http {
    pub(crate) fn new(client: reqwest::Client, base: String) -> Self {
        Http { client, base }
    }

    fn map_err(endpoint: &str, e: reqwest::Error, status: Option<u16>) -> Error {
        if e.is_timeout() {
            return Error::Timeout {
                endpoint: endpoint.to_string(),
            };
        }
        let e = e.without_url();
        let mut message = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            message.push_str(": ");
            message.push_str(&s.to_string());
            src = s.source();
        }
        Error::Transport {
            endpoint: endpoint.to_string(),
            message: redact_query(&message),
            status,
        }
    }

    /// Sends one request and returns the body of a 2xx answer.
    pub(crate) async fn send(
        &self,
        method: HttpMethod,
        path: &str,
        query: &[(&str, &str)],
        body: Body,
    ) -> std::result::Result<Bytes, Failure> {
        let url = format!("{}/cgi-bin/{}", self.base, path);
        let mut rb = match method {
            HttpMethod::Get => self.client.get(url),
            HttpMethod::Post => self.client.post(url),
        };
        rb = rb.query(query);
        rb = match body {
            Body::None => rb,
            Body::Json(b) => rb.header(reqwest::header::CONTENT_TYPE, "application/json").body(b),
            Body::Multipart {
                part,
                filename,
                content_type,
                bytes,
            } => {
                let p = reqwest::multipart::Part::stream(bytes)
                    .file_name(filename)
                    .mime_str(&content_type)
                    .map_err(|e| Failure {
                        error: Error::InvalidRequest {
                            endpoint: path.to_string(),
                            message: format!("bad content type: {}", e.without_url()),
                        },
                        before_answer: false,
                    })?;
                rb.multipart(reqwest::multipart::Form::new().part(part, p))
            }
        };
        let resp = rb.send().await.map_err(|e| Failure {
            // A timeout may have reached the server: only other send errors are "before any answer".
            before_answer: !e.is_timeout(),
            error: Self::map_err(path, e, None),
        })?;
        let status = resp.status();
        if !status.is_success() {
            return Err(Failure {
                error: Error::Transport {
                    endpoint: path.to_string(),
                    message: format!("HTTP status {status}"),
                    status: Some(status.as_u16()),
                },
                before_answer: matches!(status.as_u16(), 502..=504),
            });
        }
        resp.bytes().await.map_err(|e| Failure {
            error: Self::map_err(path, e, Some(status.as_u16())),
            before_answer: false,
        })
    }
}

/// Removes the values of token and secret query parameters from a message.
pub(crate) fn redact_query(message: &str) -> String {
    let mut out = message.to_string();
    for name in TOKEN_QUERY_PARAMS.iter().chain(SECRET_QUERY_PARAMS.iter()) {
        let key = format!("{name}=");
        let mut from = 0;
        while let Some(i) = out[from..].find(&key) {
            let start = from + i + key.len();
            let end = out[start..]
                .find(['&', ' ', ')', '"'])
                .map(|j| start + j)
                .unwrap_or(out.len());
            out.replace_range(start..end, "[redacted]");
            from = start + "[redacted]".len();
        }
    }
    out
}

/// A request's fields as query parameters (GET endpoints and uploads), in the order the request declares
/// them. `null` fields are left out, bools are `1`/`0`; a nested value is an [`Error::InvalidRequest`].
pub(crate) fn to_query(endpoint: &str, req: &impl Serialize) -> Result<Vec<(String, String)>> {
    let invalid = |message: String| Error::InvalidRequest {
        endpoint: endpoint.to_string(),
        message,
    };
    // Through JSON text rather than `Value`: a `Value` object's order depends on whether anything in the
    // build enables serde_json's `preserve_order` (this crate does not), its entries read back in order do not.
    let json = serde_json::to_vec(req).map_err(|e| invalid(e.to_string()))?;
    let Fields(fields) =
        serde_json::from_slice(&json).map_err(|_| invalid("a request must be a JSON object".into()))?;
    let mut out = Vec::with_capacity(fields.len());
    for (k, v) in fields {
        let s = match v {
            Value::Null => continue,
            Value::String(s) => s,
            Value::Bool(b) => if b { "1" } else { "0" }.to_string(),
            Value::Number(n) => n.to_string(),
            other => return Err(invalid(format!("query parameter `{k}` must be a scalar, not {other}"))),
        };
        out.push((k, s));
    }
    Ok(out)
}

/// A JSON object's entries in the order they are written.
struct Fields(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Fields {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> serde::de::Visitor<'de> for FieldsVisitor {
            type Value = Fields;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<Fields, A::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(entry) = map.next_entry()? {
                    fields.push(entry);
                }
                Ok(Fields(fields))
            }
        }
        d.deserialize_map(FieldsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_secrets_in_messages() {
        let m = redact_query(
            "error sending request for url (http://h/cgi-bin/x?access_token=abc123&x=1) corpsecret=s3cr3t",
        );
        assert!(!m.contains("abc123") && !m.contains("s3cr3t"), "{m}");
        assert!(m.contains("access_token=[redacted]&x=1"), "{m}");
    }

    #[test]
    fn query_from_request() {
        #[derive(Serialize)]
        struct R {
            userid: String,
            n: u32,
            b: bool,
            o: Option<String>,
        }
        let q = to_query(
            "x",
            &R {
                userid: "u".into(),
                n: 3,
                b: true,
                o: None,
            },
        )
        .unwrap();
        assert_eq!(
            q,
            vec![
                ("userid".into(), "u".into()),
                ("n".into(), "3".into()),
                ("b".into(), "1".into())
            ]
        );
    }

    #[test]
    fn query_keeps_declaration_order_and_refuses_what_is_not_a_flat_object() {
        #[derive(Serialize)]
        struct Z {
            zeta: u8,
            alpha: u8,
            mid: u8,
        }
        let q = to_query(
            "x",
            &Z {
                zeta: 1,
                alpha: 2,
                mid: 3,
            },
        )
        .unwrap();
        let names: Vec<&str> = q.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["zeta", "alpha", "mid"]);

        #[derive(Serialize)]
        struct Nested {
            userid: String,
            inner: Z,
        }
        let nested = Nested {
            userid: "u".into(),
            inner: Z {
                zeta: 1,
                alpha: 2,
                mid: 3,
            },
        };
        match to_query("x", &nested) {
            Err(Error::InvalidRequest { endpoint, message }) => {
                assert_eq!(endpoint, "x");
                assert!(message.contains("`inner` must be a scalar"), "{message}");
            }
            other => panic!("expected InvalidRequest, got {other:?}"),
        }
        match to_query("x", &vec![1, 2]) {
            Err(Error::InvalidRequest { message, .. }) => assert_eq!(message, "a request must be a JSON object"),
            other => panic!("expected InvalidRequest, got {other:?}"),
        }
    }
}

//! Helpers shared by the integration tests (and by the generated per-endpoint tests).
#![allow(dead_code)]

use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;
use std::sync::Arc;
use wecom_externalcontact::catalog::{self, Endpoint, PagingStyle};
use wecom_externalcontact::standin::{StandIn, StandInConfig, WorldConfig};
use wecom_externalcontact::token::StaticToken;
use wecom_externalcontact::{Client, TokenKind, Upload};

#[cfg(all(feature = "axum", feature = "redis"))]
pub(crate) mod callbacks;
pub(crate) mod child;
pub(crate) mod redis_server;

/// A client of the stand-in's corp with this retry policy.
pub(crate) fn client_with_retries(s: &StandIn, policy: wecom_externalcontact::RetryPolicy) -> Client {
    Client::builder()
        .corp_id(s.corp_id())
        .secret(s.secret())
        .base_url(s.base_url())
        .retry_policy(policy)
        .build()
        .unwrap()
}

/// A stand-in answering from the world `world` describes.
pub(crate) async fn world_standin(world: WorldConfig) -> StandIn {
    let config = StandInConfig {
        world: Some(world),
        ..Default::default()
    };
    StandIn::start_with(config).await.unwrap()
}

/// How many requests the stand-in received for `path` (under `/cgi-bin/`).
pub(crate) fn calls_to(s: &StandIn, path: &str) -> usize {
    requests_to(s, path).len()
}

/// The requests the stand-in recorded on `path`, oldest first.
pub(crate) fn requests_to(s: &StandIn, path: &str) -> Vec<wecom_externalcontact::standin::RecordedRequest> {
    s.requests().into_iter().filter(|r| r.path == path).collect()
}

/// The variant's name of a decoded callback, e.g. `AddExternalContact`.
pub(crate) fn variant_name(kind: &wecom_externalcontact::callback::EventKind) -> String {
    format!("{kind:?}")
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect()
}

/// What is wrong with an official callback sample (empty when nothing is): it decodes, to the variant `kind`,
/// in the `envelope` (`app` or `suite`) it is written in; with a byte-order mark in front (some official
/// samples have one) to the same event; its JSON form decodes back to the same event; and, when `expect` is
/// given, its JSON form (`{"kind", "event", "extra"}`) equals it (numbers strictly, first differing key path).
pub(crate) fn event_sample_failures(kind: &str, envelope: &str, xml: &str, expect: Option<&str>) -> Vec<String> {
    use wecom_externalcontact::callback::{Envelope, Event};
    let event = match Event::from_xml(xml) {
        Ok(event) => event,
        Err(e) => return vec![format!("does not decode: {e}")],
    };
    let mut failures = Vec::new();
    let decoded = variant_name(&event.kind);
    if decoded != kind {
        failures.push(format!("decodes to {decoded}, not {kind}"));
    }
    let is_app = matches!(event.envelope, Envelope::App { .. });
    if is_app != (envelope == "app") {
        failures.push(format!("decoded with the other envelope: {:?}", event.envelope));
    }
    if Event::from_xml(&format!("\u{feff}{xml}")).ok().as_ref() != Some(&event) {
        failures.push("with a byte-order mark it decodes differently".into());
    }
    let json = serde_json::to_string(&event).unwrap();
    if Event::from_json(&json).ok().as_ref() != Some(&event) {
        failures.push(format!("its JSON form does not decode back to the same event: {json}"));
    }
    if let Some(expect) = expect {
        let expected: Value = serde_json::from_str(expect).unwrap_or_else(|e| panic!("expect: {e}"));
        let actual = serde_json::json!({
            "kind": decoded,
            "event": serde_json::to_value(&event).unwrap(),
            "extra": serde_json::to_value(&event.extra).unwrap(),
        });
        if let Some(diff) = first_strict_difference(&expected, &actual) {
            failures.push(format!("expected ≠ decoded at {diff}"));
        }
    }
    failures
}

/// The check of each generated sample test (`tests/it/callback_events.rs`): see [`event_sample_failures`].
pub(crate) fn check_event_sample(kind: &str, envelope: &str, xml: &str, expect: Option<&str>) {
    let failures = event_sample_failures(kind, envelope, xml, expect);
    assert!(
        failures.is_empty(),
        "the {envelope} sample of {kind}:\n{}",
        failures.join("\n")
    );
}

/// The catalogued endpoint at `path`.
pub(crate) fn endpoint(path: &str) -> &'static Endpoint {
    catalog::endpoint(path).unwrap_or_else(|| panic!("{path} is not in the catalog"))
}

/// Numbers compare by value, a numeric string equals the number it spells (fields marked `flex`), and an
/// absent key equals an empty list (a response list WeCom leaves out decodes as an empty `Vec`).
pub(crate) fn same(a: &Value, b: &Value) -> bool {
    first_difference(a, b).is_none()
}

/// Where `a` and `b` first differ under [`same`]'s rules, as a key path with both sides
/// (`follow_user[0].tags[1].tag_id: "et1" ≠ "et2"`, `external_contact.unionid: only on the left`), or `None`.
pub(crate) fn first_difference(a: &Value, b: &Value) -> Option<String> {
    difference(a, b, true)
}

/// Like [`first_difference`], but a numeric string differs from its number.
pub(crate) fn first_strict_difference(a: &Value, b: &Value) -> Option<String> {
    difference(a, b, false)
}

fn difference(a: &Value, b: &Value, flex: bool) -> Option<String> {
    fn at(path: &str) -> &str {
        if path.is_empty() {
            "(top level)"
        } else {
            path
        }
    }
    fn walk(a: &Value, b: &Value, path: &mut String, flex: bool) -> Option<String> {
        let len = path.len();
        let found = match (a, b) {
            (Value::Number(x), Value::Number(y)) if x == y || x.as_f64() == y.as_f64() => None,
            (Value::String(s), Value::Number(n)) | (Value::Number(n), Value::String(s))
                if flex && s.trim().parse::<f64>().ok() == n.as_f64() =>
            {
                None
            }
            (Value::Array(x), Value::Array(y)) => {
                let mut found = None;
                for (i, (p, q)) in x.iter().zip(y).enumerate() {
                    path.push_str(&format!("[{i}]"));
                    found = walk(p, q, path, flex);
                    path.truncate(len);
                    if found.is_some() {
                        break;
                    }
                }
                found.or_else(|| {
                    (x.len() != y.len()).then(|| format!("{}: {} items ≠ {} items", at(path), x.len(), y.len()))
                })
            }
            (Value::Object(x), Value::Object(y)) => {
                let mut found = None;
                for (k, v) in x {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(k);
                    found = match y.get(k) {
                        Some(w) => walk(v, w, path, flex),
                        // A response list WeCom leaves out decodes as an empty `Vec`.
                        None if v.as_array().is_some_and(Vec::is_empty) => None,
                        None => Some(format!("{path}: only on the left ({v})")),
                    };
                    path.truncate(len);
                    if found.is_some() {
                        break;
                    }
                }
                found.or_else(|| {
                    let (k, w) = y
                        .iter()
                        .find(|(k, w)| !x.contains_key(*k) && !w.as_array().is_some_and(Vec::is_empty))?;
                    let dot = if path.is_empty() { "" } else { "." };
                    Some(format!("{path}{dot}{k}: only on the right ({w})"))
                })
            }
            _ if a == b => None,
            _ => Some(format!("{}: {a} ≠ {b}", at(path))),
        };
        path.truncate(len);
        found
    }
    walk(a, b, &mut String::new(), flex)
}

/// Panics with the first differing key path unless `a` and `b` are the [`same`].
#[track_caller]
pub(crate) fn assert_same(a: &Value, b: &Value, what: &str) {
    if let Some(diff) = first_difference(a, b) {
        panic!("{what}: first difference at {diff}\nleft:  {a}\nright: {b}");
    }
}

pub(crate) fn without_errcode(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.remove("errcode");
        m.remove("errmsg");
    }
    v
}

/// The official examples of `path` survive JSON → typed model → JSON with no value lost.
pub(crate) fn examples_round_trip(path: &str) {
    let ep = endpoint(path);
    if let Some(req) = ep.example_request {
        let v: Value = serde_json::from_str(req).expect("example request is JSON");
        let back = catalog::roundtrip_request(path, &v)
            .unwrap_or_else(|e| panic!("{path}: example request does not decode: {e}"));
        assert_same(
            &v,
            &back,
            &format!("{path}: request example changed in a round trip (left: in, right: out)"),
        );
    }
    if let Some(resp) = ep.example_response {
        let v: Value = serde_json::from_str(resp).expect("example response is JSON");
        let back = catalog::roundtrip_response(path, &v)
            .unwrap_or_else(|e| panic!("{path}: example response does not decode: {e}"));
        let v = without_errcode(v);
        assert_same(
            &v,
            &back,
            &format!("{path}: response example changed in a round trip (left: in, right: out)"),
        );
    }
}

pub(crate) const SUITE_TOKEN: &str = "standin-suite-token";
pub(crate) const PROVIDER_TOKEN: &str = "standin-provider-token";

/// A stand-in and a client holding the kind of token `path` takes.
pub(crate) async fn setup(path: &str) -> (StandIn, Client, &'static Endpoint) {
    let ep = endpoint(path);
    let mut config = StandInConfig::default();
    let ex: Value = serde_json::from_str(ep.example_request.unwrap_or("{}")).unwrap();
    let ex_str = |k: &str| ex[k].as_str().unwrap_or_default().to_string();
    match ep.path {
        // The token endpoints: the stand-in accepts the credentials of the official example.
        "gettoken" => {
            config.corp_id = ex_str("corpid");
            config.secret = ex_str("corpsecret");
        }
        "service/get_suite_token" => {
            config.suite.suite_id = ex_str("suite_id");
            config.suite.suite_secret = ex_str("suite_secret");
            config.suite.suite_ticket = ex_str("suite_ticket");
        }
        "service/get_provider_token" => {
            config.suite.provider_corp_id = ex_str("corpid");
            config.suite.provider_secret = ex_str("provider_secret");
        }
        "service/get_corp_token" => config
            .suite
            .corps
            .push(wecom_externalcontact::standin::AuthorizedCorp::new(
                &ex_str("auth_corpid"),
                &ex_str("permanent_code"),
                &[],
            )),
        _ => {}
    }
    config.extra_tokens.insert(SUITE_TOKEN.into(), TokenKind::Suite);
    config.extra_tokens.insert(PROVIDER_TOKEN.into(), TokenKind::Provider);
    let standin = StandIn::start_with(config).await.expect("stand-in starts");
    let client = match ep.token {
        TokenKind::Suite => Client::builder()
            .base_url(standin.base_url())
            .token_provider(TokenKind::Suite, Arc::new(StaticToken::new(SUITE_TOKEN)))
            .build()
            .unwrap(),
        TokenKind::Provider => Client::builder()
            .base_url(standin.base_url())
            .token_provider(TokenKind::Provider, Arc::new(StaticToken::new(PROVIDER_TOKEN)))
            .build()
            .unwrap(),
        _ => standin.client(),
    };
    (standin, client, ep)
}

/// The example request of `ep` as its typed model (`{}` when the docs print none).
pub(crate) fn example_request<T: DeserializeOwned>(ep: &Endpoint) -> T {
    let text = ep.example_request.unwrap_or("{}");
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{}: example request does not fit its model: {e}", ep.path))
}

pub(crate) fn sample_upload() -> Upload {
    Upload::from_bytes("hello.png", b"\x89PNG\r\n\x1a\nstand-in bytes".to_vec()).content_type("image/png")
}

/// What went over the wire matches the endpoint's method, path, query/body; the typed response equals the
/// stand-in's answer (the official example, with paging fields set by the stand-in); a value the spec marks
/// `secret` shows in neither `Debug` of the request nor of the stand-in's record of it (where a non-secret
/// field holds the same placeholder, as in corpgroup/unionid_to_external_userid's example where every field
/// is "xxxxx", the value shows no more often than those fields show it: once in each `Debug`).
pub(crate) fn check_exchange<Req: Serialize + std::fmt::Debug, Resp: Serialize>(
    ep: &Endpoint,
    standin: &StandIn,
    request: &Req,
    response: &Resp,
) {
    let calls: Vec<_> = standin.requests().into_iter().filter(|r| r.path == ep.path).collect();
    assert_eq!(calls.len(), 1, "{}: exactly one request", ep.path);
    let call = &calls[0];
    if let Value::Object(fields) = serde_json::to_value(request).unwrap() {
        let shown = format!("{request:?} {call:?}");
        let is_secret = |name: &String| catalog::secret_fields().contains(&name.as_str());
        for (name, value) in fields.iter().filter(|(n, _)| is_secret(n)) {
            if let Some(secret) = value.as_str().filter(|v| v.len() >= 4) {
                let same_value = fields
                    .iter()
                    .filter(|(n, v)| !is_secret(n) && v.as_str() == Some(secret))
                    .count();
                assert!(
                    shown.matches(secret).count() <= 2 * same_value,
                    "{}: secret `{name}` shown in Debug: {shown}",
                    ep.path
                );
            }
        }
    }
    assert_eq!(call.method, ep.method.as_str(), "{}: HTTP method", ep.path);
    let sent = serde_json::to_value(request).unwrap();
    let as_query = |v: &Value| -> Vec<(String, String)> {
        let mut q: Vec<(String, String)> = v
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                let s = match v {
                    Value::String(s) => s.clone(),
                    Value::Bool(b) => {
                        if *b {
                            "1".into()
                        } else {
                            "0".into()
                        }
                    }
                    other => other.to_string(),
                };
                (k.clone(), s)
            })
            .collect();
        q.sort();
        q
    };
    if ep.upload.is_some() {
        let mut q = call.query.clone();
        q.sort();
        assert_eq!(q, as_query(&sent), "{}: query", ep.path);
        let ct = call.content_type.clone().unwrap_or_default();
        assert!(ct.starts_with("multipart/form-data"), "{}: content type {ct}", ep.path);
        let body = String::from_utf8_lossy(&call.body);
        assert!(
            body.contains("name=\"media\"")
                && body.contains("filename=\"hello.png\"")
                && body.contains("stand-in bytes"),
            "{}: multipart body",
            ep.path
        );
    } else if ep.method.as_str() == "GET" {
        let mut q = call.query.clone();
        q.sort();
        assert_eq!(q, as_query(&sent), "{}: query", ep.path);
        assert!(call.body.is_empty(), "{}: a GET has no body", ep.path);
    } else {
        assert!(
            call.query.is_empty(),
            "{}: a POST sends only the token in the query",
            ep.path
        );
        assert_eq!(call.json.as_ref(), Some(&sent), "{}: JSON body", ep.path);
        assert_eq!(
            call.content_type.as_deref(),
            Some("application/json"),
            "{}: content type",
            ep.path
        );
        if let Some(ex) = ep.example_request {
            let ex: Value = serde_json::from_str(ex).unwrap();
            assert_same(
                &ex,
                &sent,
                &format!(
                    "{}: the body is the official example (left: example, right: sent)",
                    ep.path
                ),
            );
        }
    }
    let got = serde_json::to_value(response).unwrap();
    if let Some(ex) = ep.example_response {
        let mut ex = without_errcode(serde_json::from_str(ex).unwrap());
        let mut got = got.clone();
        let issued = match ep.path {
            "gettoken" => Some(("access_token", "standin-token-")),
            "service/get_suite_token" => Some(("suite_access_token", "standin-suite-token-")),
            "service/get_corp_token" => Some(("access_token", "standin-corp-token-")),
            "service/get_provider_token" => Some(("provider_access_token", "standin-provider-token-")),
            _ => None,
        };
        if let Some((field, prefix)) = issued {
            // The token endpoints: the stand-in issues its own token.
            assert!(
                got[field].as_str().is_some_and(|t| t.starts_with(prefix)),
                "{}: a token",
                ep.path
            );
            for v in [&mut ex, &mut got] {
                if let Value::Object(m) = v {
                    m.remove(field);
                }
            }
        }
        if let Some(p) = ep.paging {
            // The stand-in sets these itself.
            for v in [&mut ex, &mut got] {
                if let Value::Object(m) = v {
                    if let Some(n) = p.next {
                        m.remove(n);
                    }
                    if p.style == PagingStyle::Offset {
                        m.remove(p.items);
                    }
                }
            }
        }
        assert_same(
            &ex,
            &got,
            &format!("{}: decoded response (left: example, right: decoded)", ep.path),
        );
    }
}

/// Runs `call(i, client)` for `i` in `0..n` at once, each in its own task, and returns the results in order
/// (a task that panicked fails the test).
pub(crate) async fn concurrently<T, Fut>(n: usize, client: &Client, call: impl Fn(usize, Client) -> Fut) -> Vec<T>
where
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|i| tokio::spawn(call(i, client.clone()))).collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.expect("the task ran to the end"));
    }
    out
}

/// Makes a log-capturing subscriber installed with `tracing::subscriber::set_default` (thread-local) see every
/// event of its thread, however the other tests of this binary run beside it. Call it before `set_default`.
///
/// `tracing` caches each callsite's interest process-wide, computed when the callsite is first hit — while at
/// most one dispatcher is registered, from the hitting thread's subscriber. A sibling test thread without a
/// subscriber could so cache a callsite as "never", and a capturing test would miss its events (seen under
/// load: a callback test's log lacked its second and third requests). This registers, once per process, two
/// subscribers that want nothing but answer "sometimes" for every callsite, so no callsite is ever cached as
/// "never" and each event asks its own thread's subscriber; then it rebuilds the cache.
pub(crate) fn logs_reach_scoped_subscribers() {
    use tracing::subscriber::Interest;
    use tracing::{span, Event, Metadata};
    struct Anchor;
    impl tracing::Subscriber for Anchor {
        fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
            Interest::sometimes()
        }
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            false
        }
        fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
            span::Id::from_u64(1)
        }
        fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
        fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
        fn event(&self, _: &Event<'_>) {}
        fn enter(&self, _: &span::Id) {}
        fn exit(&self, _: &span::Id) {}
    }
    static ANCHORS: std::sync::OnceLock<[tracing::Dispatch; 2]> = std::sync::OnceLock::new();
    ANCHORS.get_or_init(|| [tracing::Dispatch::new(Anchor), tracing::Dispatch::new(Anchor)]);
    tracing::callsite::rebuild_interest_cache();
}

/// A write that keeps `add_corp_tag`'s request rules (a group name and a tag), for tests of the write path.
pub(crate) fn a_valid_add_corp_tag() -> wecom_externalcontact::models::AddCorpTagRequest {
    use wecom_externalcontact::models::{AddCorpTagRequest, NewCorpTag};
    AddCorpTagRequest::new()
        .group_name("VIP")
        .tag([NewCorpTag::new("gold")])
}

/// A connection to `redis` for a test's own reads and writes.
pub(crate) async fn redis_connection(redis: &redis_server::RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// A loopback port that refuses connections for as long as this value lives: the port is bound (so no other
/// server, e.g. a Redis another test starts, can take it) but never listened on, so a connection is refused
/// at once. Tests that need "nowhere" use this instead of a port they released (which another process may
/// bind in between).
pub(crate) struct ClosedPort {
    _socket: tokio::net::TcpSocket,
    port: u16,
}

impl ClosedPort {
    /// Binds a fresh loopback port without listening on it.
    pub(crate) fn new() -> Self {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let port = socket.local_addr().unwrap().port();
        Self { _socket: socket, port }
    }

    /// The port.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }
}

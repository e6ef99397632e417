//! Zero log lines with a token or a secret: every log line at TRACE level, for every target (this crate,
//! reqwest, hyper, redis through the `log` bridge), is captured during successful calls, API failures,
//! retries, token refreshes, a wrong secret, transport failures and a Redis outage, and searched.
//! Every call's endpoint and each failing errcode must appear in the log.
#[path = "it/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::Duration;
use support::redis_server::RedisServer;
use support::ClosedPort;
use wecom_externalcontact::models::{GetCorpTagListRequest, GetFollowUserListRequest, RemarkRequest};
use wecom_externalcontact::standin::{StandIn, StandInConfig};
use wecom_externalcontact::token::RedisTokenStore;
use wecom_externalcontact::{Client, RetryPolicy};

const SECRET: &str = "LOGGING-corpsecret-5d2f90aa";
const REMARK: &str = "a-private-remark-in-a-body";

#[path = "capture/mod.rs"]
mod capture;
use capture::capture;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_or_secret_in_any_log_line_and_every_call_is_logged() {
    let log = capture();
    let redis = RedisServer::start();
    let s = StandIn::start_with(StandInConfig {
        secret: SECRET.into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let closed = ClosedPort::new();
    let store_url = redis
        .as_ref()
        .map_or_else(|| format!("redis://127.0.0.1:{}/", closed.port()), |r| r.url());
    let client = Client::builder()
        .corp_id(s.corp_id())
        .secret(SECRET)
        .base_url(s.base_url())
        .retry_policy(RetryPolicy::default().base_delay(Duration::from_millis(5)))
        .token_store(Arc::new(RedisTokenStore::new(&store_url).unwrap()))
        // Fail-fast budgets: the 45009 below comes back at once (with its hold's warn! line) instead of being
        // waited out for a minute.
        .budgets(wecom_externalcontact::Budgets::default().fail_fast())
        .build()
        .unwrap();

    // Calls that succeed (a GET and a POST with a body).
    client
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap();
    client
        .remark(&RemarkRequest::new("zhangsan", "wmABC").remark(REMARK))
        .await
        .unwrap();
    // Retries: -1 then a 503 on a read.
    s.fail_next("externalcontact/get_corp_tag_list", -1, "system busy");
    s.fail_next_http("externalcontact/get_corp_tag_list", 503);
    client.get_corp_tag_list(&GetCorpTagListRequest::new()).await.unwrap();
    // An API failure.
    s.fail_next(
        "externalcontact/get_corp_tag_list",
        45009,
        "api freq out of limit, hint: [h1]",
    );
    client
        .get_corp_tag_list(&GetCorpTagListRequest::new())
        .await
        .unwrap_err();
    // A refresh after the server expired the token.
    s.expire_tokens();
    client
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap();
    // Redis goes away (or was never there): calls go on.
    drop(redis);
    for _ in 0..5 {
        client
            .get_follow_user_list(&GetFollowUserListRequest::new())
            .await
            .unwrap();
    }
    s.expire_tokens();
    client
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap();
    // A wrong secret.
    let wrong = Client::builder()
        .corp_id(s.corp_id())
        .secret("WRONG-secret-71c0")
        .base_url(s.base_url())
        .build()
        .unwrap();
    wrong
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap_err();
    // A transport failure.
    let refusing = ClosedPort::new();
    let nowhere = Client::builder()
        .corp_id("ww-nowhere")
        .secret(SECRET)
        .base_url(format!("http://127.0.0.1:{}", refusing.port()))
        .build()
        .unwrap();
    nowhere
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap_err();

    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(text.lines().count() > 20, "the log was captured:\n{text}");
    for secret in [
        SECRET,
        "WRONG-secret-71c0",
        "standin-token-",
        "access_token=",
        "corpsecret=",
        REMARK,
    ] {
        let hits: Vec<&str> = text.lines().filter(|l| l.contains(secret)).collect();
        assert!(hits.is_empty(), "`{secret}` leaked into the log:\n{}", hits.join("\n"));
    }
    for needle in [
        "wecom.call",
        "endpoint=\"externalcontact/get_follow_user_list\"",
        "endpoint=\"externalcontact/remark\"",
        "endpoint=\"externalcontact/get_corp_tag_list\"",
        "errcode=45009",
        "outcome=\"api_error\"",
        "duration_ms=",
        "method=\"POST\"",
        "next_attempt=3",
        "errcode=-1",
        "retrying an idempotent call",
        "status=503",
        "token fetch failed",
        "dropping a rejected token",
    ] {
        assert!(text.contains(needle), "`{needle}` is not in the log:\n{text}");
    }
    let outage_warnings = text.lines().filter(|l| l.contains("token store unreachable")).count();
    assert_eq!(outage_warnings, 1, "one warning per outage, not per call:\n{text}");
    for target in [" hyper_util::", " reqwest::", " wecom_externalcontact::"] {
        assert!(
            text.lines()
                .any(|l| l.contains(target) && (l.contains("TRACE") || l.contains("DEBUG"))),
            "TRACE/DEBUG lines of `{target}` were captured"
        );
    }
}

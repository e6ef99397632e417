//! Retries and limits: -1, 45033 and gateway failures retried on idempotent endpoints only, 45009 held,
//! concurrency limits that queue, the errcode catalog in errors.
//!
//! Tests with retry delays or with the stand-in's response delays run on tokio's paused clock
//! (`start_paused`): a delay is virtual, so "five calls overlap" does not depend on how fast a loaded machine
//! gets them all started.

use crate::support;
use std::time::Duration;
use wecom_externalcontact::models::{GetCorpTagListRequest, MarkTagRequest, RemarkRequest};
use wecom_externalcontact::standin::StandIn;
use wecom_externalcontact::{catalog, errcode, Client, Error, RetryPolicy};

const READ: &str = "externalcontact/get_corp_tag_list";
const WRITE: &str = "externalcontact/add_corp_tag";

use crate::support::{calls_to, client_with_retries as client};

fn fast() -> RetryPolicy {
    RetryPolicy::default().base_delay(Duration::from_millis(5))
}

#[tokio::test(start_paused = true)]
async fn minus_one_twice_on_a_read_succeeds_on_the_third_attempt() {
    let s = StandIn::start().await.unwrap();
    s.fail_next(READ, -1, "system busy, hint: [1]");
    s.fail_next(READ, -1, "system busy, hint: [2]");
    // The default policy: 200 ms, then 400 ms, each with jitter between half and all of it — virtual time.
    let c = client(&s, RetryPolicy::default());
    let started = tokio::time::Instant::now();
    c.get_corp_tag_list(&GetCorpTagListRequest::new())
        .await
        .expect("the third attempt succeeds");
    assert_eq!(calls_to(&s, READ), 3);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(300) && waited <= Duration::from_millis(600),
        "backed off 100–200 ms, then 200–400 ms: {waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn retries_stop_at_the_policy_limit() {
    let s = StandIn::start().await.unwrap();
    for _ in 0..4 {
        s.fail_next(READ, -1, "system busy");
    }
    let c = client(&s, fast());
    let e = c.get_corp_tag_list(&GetCorpTagListRequest::new()).await.unwrap_err();
    assert_eq!(e.errcode(), Some(-1));
    assert!(e.is_retryable());
    assert_eq!(calls_to(&s, READ), 3, "at most 3 attempts in all");

    let c = client(&s, RetryPolicy::none());
    assert_eq!(
        c.get_corp_tag_list(&GetCorpTagListRequest::new())
            .await
            .unwrap_err()
            .errcode(),
        Some(-1)
    );
    assert_eq!(calls_to(&s, READ), 4, "retries off: one request");
}

#[tokio::test]
async fn a_write_is_never_retried() {
    let s = StandIn::start().await.unwrap();
    s.fail_next(WRITE, -1, "system busy");
    let c = client(&s, fast());
    let e = c
        .add_corp_tag(&crate::support::a_valid_add_corp_tag())
        .await
        .unwrap_err();
    assert_eq!(e.errcode(), Some(-1));
    assert_eq!(calls_to(&s, WRITE), 1);

    s.fail_next_http(WRITE, 503);
    let e = c
        .add_corp_tag(&crate::support::a_valid_add_corp_tag())
        .await
        .unwrap_err();
    assert_eq!(e.http_status(), Some(503), "{e:?}");
    assert_eq!(calls_to(&s, WRITE), 2);
}

#[tokio::test]
async fn gateway_failures_are_retried_on_reads_but_not_500() {
    let s = StandIn::start().await.unwrap();
    s.fail_next_http(READ, 502);
    s.fail_next_http(READ, 504);
    let c = client(&s, fast());
    c.get_corp_tag_list(&GetCorpTagListRequest::new())
        .await
        .expect("retried past 502 and 504");
    assert_eq!(calls_to(&s, READ), 3);

    s.fail_next_http(READ, 500);
    let e = c.get_corp_tag_list(&GetCorpTagListRequest::new()).await.unwrap_err();
    assert!(matches!(e, Error::Transport { status: Some(500), .. }), "{e:?}");
    assert_eq!(calls_to(&s, READ), 4, "a 500 may have done the work: not retried");
}

#[tokio::test]
async fn frequency_and_concurrency_limits_say_what_they_are() {
    let s = StandIn::start().await.unwrap();
    // Fail-fast budgets: the 45009 comes back at once instead of being waited out (tests/it/limits.rs).
    let c = Client::builder()
        .corp_id(s.corp_id())
        .secret(s.secret())
        .base_url(s.base_url())
        .retry_policy(fast())
        .budgets(wecom_externalcontact::Budgets::default().fail_fast())
        .build()
        .unwrap();
    s.fail_next(
        READ,
        45009,
        "api freq out of limit, hint: [1700000000_1_abc], from ip: 1.2.3.4",
    );
    let e = c.get_corp_tag_list(&GetCorpTagListRequest::new()).await.unwrap_err();
    assert_eq!(calls_to(&s, READ), 1, "45009: one request");
    let text = e.to_string();
    assert!(text.contains("45009") && text.contains("接口调用超过限制"), "{text}");
    assert!(text.contains("frequency limit"), "{text}");
    assert!(
        text.contains("hint: [1700000000_1_abc]"),
        "the server's errmsg is kept: {text}"
    );
    assert!(e.is_retryable(), "later, after the block");

    // 45033 on a read: retried (with the concurrency halved); twice more, and the retries are spent.
    let c = client(&s, fast());
    for _ in 0..3 {
        s.fail_next(READ, 45033, "api concurrent out of limit");
    }
    let e = c.get_corp_tag_list(&GetCorpTagListRequest::new()).await.unwrap_err();
    assert_eq!(calls_to(&s, READ), 4, "45033: three attempts");
    assert!(e.to_string().contains("接口并发调用超过限制"), "{e}");
}

#[tokio::test]
async fn errors_carry_official_meanings() {
    let info = errcode::lookup(40001).unwrap();
    assert_eq!(info.meaning, "不合法的secret参数");
    assert!(!info.retryable);
    assert!(errcode::lookup(-1).unwrap().retryable);
    assert!(errcode::lookup(123_456).is_none());
    let all = errcode::all();
    assert!(all.windows(2).all(|w| w[0].code < w[1].code), "sorted, no duplicates");

    let s = StandIn::start().await.unwrap();
    s.fail_next(READ, 84061, "not external contact");
    let e = s
        .client()
        .get_corp_tag_list(&GetCorpTagListRequest::new())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("不存在外部联系人的关系"), "{e}");
    assert!(!e.is_retryable());
    s.fail_next(READ, 99_999_999, "brand new");
    let e = s
        .client()
        .get_corp_tag_list(&GetCorpTagListRequest::new())
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), format!("WeCom API error 99999999 on {READ}: brand new"));
}

#[tokio::test(start_paused = true)]
async fn endpoint_limits_from_the_spec_queue_excess_callers() {
    let path = "externalcontact/remark";
    assert_eq!(catalog::endpoint(path).unwrap().max_concurrency, Some(5));
    let s = StandIn::start().await.unwrap();
    s.delay_responses(path, Duration::from_millis(60));
    let c = s.client();
    let results = support::concurrently(20, &c, |i, c| async move {
        c.remark(&RemarkRequest::new("zhangsan", format!("wm{i}"))).await
    })
    .await;
    for r in results {
        r.expect("queued, not failed");
    }
    assert_eq!(calls_to(&s, path), 20);
    assert_eq!(s.max_in_flight(path), 5, "never more than WeCom's 5 at once");
}

#[tokio::test(start_paused = true)]
async fn tag_edits_of_one_customer_run_one_at_a_time_and_of_others_side_by_side() {
    let path = "externalcontact/mark_tag";
    assert_eq!(
        catalog::endpoint(path).unwrap().one_at_a_time_per,
        Some("external_userid")
    );
    let edit = |member: String, customer: String| MarkTagRequest::new(member, customer).add_tag(["et1"]);

    // Eight members tag the same customer at once: WeCom would answer 45033, so they go one at a time.
    let s = StandIn::start().await.unwrap();
    s.delay_responses(path, Duration::from_millis(40));
    let c = s.client();
    let results = support::concurrently(8, &c, |i, c| async move {
        c.mark_tag(&edit(format!("member{i}"), "wmSAME".into())).await
    })
    .await;
    assert!(results.iter().all(Result::is_ok), "queued, not failed: {results:?}");
    assert_eq!(calls_to(&s, path), 8);
    assert_eq!(s.max_in_flight(path), 1, "one edit of a customer at a time");

    // Eight customers at once: side by side, up to the endpoint's limit of 5.
    let s = StandIn::start().await.unwrap();
    s.delay_responses(path, Duration::from_millis(40));
    let c = s.client();
    let results = support::concurrently(8, &c, |i, c| async move {
        c.mark_tag(&edit("zhangsan".into(), format!("wm{i}"))).await
    })
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(
        s.max_in_flight(path),
        5,
        "different customers do not wait for each other"
    );
}

#[tokio::test(start_paused = true)]
async fn a_client_wide_limit_queues_excess_callers() {
    let s = StandIn::start().await.unwrap();
    s.delay_responses(READ, Duration::from_millis(50));
    let c = Client::builder()
        .corp_id(s.corp_id())
        .secret(s.secret())
        .base_url(s.base_url())
        .max_concurrency(3)
        .build()
        .unwrap();
    let results = support::concurrently(12, &c, |_, c| async move {
        c.get_corp_tag_list(&GetCorpTagListRequest::new()).await
    })
    .await;
    for r in results {
        r.unwrap();
    }
    assert_eq!(s.max_in_flight(READ), 3);

    // Off by default: all at once.
    let c = s.client();
    let results = support::concurrently(8, &c, |_, c| async move {
        c.get_corp_tag_list(&GetCorpTagListRequest::new()).await
    })
    .await;
    for r in results {
        r.unwrap();
    }
    assert!(s.max_in_flight(READ) > 3, "{}", s.max_in_flight(READ));
}

/// A server that accepts each connection and closes it without a byte: a failure before any answer.
async fn hang_up_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(sock);
        }
    });
    (format!("http://{addr}"), accepted)
}

#[tokio::test]
async fn a_connection_closed_before_any_answer_is_retried_on_reads_only() {
    use std::sync::atomic::Ordering;
    use wecom_externalcontact::token::StaticToken;
    let (base, accepted) = hang_up_server().await;
    let c = Client::builder()
        .base_url(base)
        .token_provider(
            wecom_externalcontact::TokenKind::Access,
            std::sync::Arc::new(StaticToken::new("t")),
        )
        .retry_policy(fast())
        .build()
        .unwrap();
    let e = c.get_corp_tag_list(&GetCorpTagListRequest::new()).await.unwrap_err();
    assert!(matches!(e, Error::Transport { status: None, .. }), "{e:?}");
    assert!(e.is_retryable());
    assert_eq!(accepted.load(Ordering::SeqCst), 3, "a read: three attempts");
    c.add_corp_tag(&crate::support::a_valid_add_corp_tag())
        .await
        .unwrap_err();
    assert_eq!(accepted.load(Ordering::SeqCst), 4, "a write: one attempt");
}

//! Rate budgets and 45009 holds in one process, against the stand-in (counts of requests it received).

use std::sync::Arc;
use std::time::Duration;
use wecom_externalcontact::catalog::RateBudget;
use wecom_externalcontact::limits::ThrottleReason;
use wecom_externalcontact::models::GetFollowUserListRequest;
use wecom_externalcontact::standin::StandIn;
use wecom_externalcontact::token::{MemoryTokenStore, TokenStore};
use wecom_externalcontact::{Budgets, Client, Error};

const PATH: &str = "externalcontact/get_follow_user_list";

fn client(s: &StandIn, budgets: Budgets, store: Arc<dyn TokenStore>) -> Client {
    Client::builder()
        .corp_id(s.corp_id())
        .secret(s.secret())
        .base_url(s.base_url())
        .token_store(store)
        .budgets(budgets)
        .build()
        .unwrap()
}

use crate::support::calls_to;

/// `n` calls one after another: (sent and answered, throttled).
async fn calls(c: &Client, n: usize) -> (usize, Vec<Error>) {
    let (mut ok, mut throttled) = (0, Vec::new());
    for _ in 0..n {
        match c.get_follow_user_list(&GetFollowUserListRequest::new()).await {
            Ok(_) => ok += 1,
            Err(e @ Error::Throttled { .. }) => throttled.push(e),
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    (ok, throttled)
}

#[tokio::test]
async fn over_budget_a_fail_fast_call_is_not_sent_and_clients_of_one_budgets_share_it() {
    let s = StandIn::start().await.unwrap();
    let store: Arc<dyn TokenStore> = Arc::new(MemoryTokenStore::new());
    // 500 a minute: a burst of 9, then one call every ~123 ms.
    let budgets = Budgets::default().per_corp(RateBudget::new(500, 30_000)).fail_fast();
    let a = client(&s, budgets.clone(), store.clone());
    let (sent, throttled) = calls(&a, 30).await;
    assert!(
        (9..=12).contains(&sent),
        "the burst goes out, then calls are refused: {sent}"
    );
    assert_eq!(calls_to(&s, PATH), sent, "a throttled call is never sent");
    let Error::Throttled {
        reason, retry_after, ..
    } = &throttled[0]
    else {
        unreachable!()
    };
    assert_eq!(*reason, ThrottleReason::Budget);
    assert!(
        *retry_after > Duration::ZERO && *retry_after < Duration::from_secs(1),
        "{retry_after:?}"
    );
    assert!(throttled[0].is_retryable());

    // Another client built with a clone of the same budgets draws on the same (spent) budget.
    let b = client(&s, budgets.clone(), store.clone());
    let (sent_b, _) = calls(&b, 3).await;
    assert!(sent_b <= 1, "{sent_b}");
    // Budgets off: everything is sent.
    let off = client(&s, Budgets::off(), store);
    assert_eq!(calls(&off, 30).await.0, 30);
}

#[tokio::test]
async fn waiting_callers_get_their_permits_in_turn() {
    let s = StandIn::start().await.unwrap();
    // 600 a "minute" of 1 s: a burst of 11, then one call every ~1.7 ms; 40 calls wait for permits.
    let budgets = Budgets::default()
        .per_corp(RateBudget::new(600, 36_000))
        .minute(Duration::from_secs(1));
    let c = client(&s, budgets, Arc::new(MemoryTokenStore::new()));
    let (sent, throttled) = calls(&c, 40).await;
    assert_eq!((sent, throttled.len()), (40, 0), "callers wait rather than fail");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_45009_holds_the_endpoint_for_the_corp_here_and_through_the_store() {
    let s = StandIn::start().await.unwrap();
    let store: Arc<dyn TokenStore> = Arc::new(MemoryTokenStore::new());
    // WeCom's "minute" is 1 s here: the hold lasts 1 s.
    let budgets = || Budgets::default().minute(Duration::from_secs(1)).fail_fast();
    let a = client(&s, budgets(), store.clone());
    let other = client(&s, budgets(), store.clone()); // its own limiters: it learns the hold from the store
    s.fail_next(PATH, 45009, "api freq out of limit");
    let e = a
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap_err();
    assert_eq!(e.errcode(), Some(45009), "fail-fast: the 45009 itself comes back: {e}");
    assert_eq!(calls_to(&s, PATH), 1);
    for c in [&a, &other] {
        let e = c
            .get_follow_user_list(&GetFollowUserListRequest::new())
            .await
            .unwrap_err();
        match e {
            Error::Throttled {
                reason: ThrottleReason::Held,
                retry_after,
                ..
            } => assert!(retry_after <= Duration::from_secs(1), "{retry_after:?}"),
            other => panic!("expected a hold, got {other}"),
        }
    }
    assert_eq!(calls_to(&s, PATH), 1, "no request during the hold, from either client");
    // Another endpoint of the same corp is not held.
    a.get_corp_tag_list(&Default::default()).await.unwrap();

    // A waiting client waits the hold out and then calls.
    let waiting = client(&s, Budgets::default().minute(Duration::from_secs(1)), store.clone());
    waiting
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap();
    assert_eq!(calls_to(&s, PATH), 2);

    // A second 45009 right after the hold ended: the hour's limit tripped; held for 60 "minutes".
    s.fail_next(PATH, 45009, "api freq out of limit");
    let e = a
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap_err();
    assert_eq!(e.errcode(), Some(45009));
    match other
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap_err()
    {
        Error::Throttled {
            reason: ThrottleReason::Held,
            retry_after,
            ..
        } => assert!(
            retry_after > Duration::from_secs(50),
            "an hour of 1 s minutes: {retry_after:?}"
        ),
        other => panic!("expected an hour's hold, got {other}"),
    }
}

#[tokio::test]
async fn a_45033_is_retried_on_a_read_and_returned_on_a_write() {
    use wecom_externalcontact::models::RemarkRequest;
    let s = StandIn::start().await.unwrap();
    let c = client(&s, Budgets::default(), Arc::new(MemoryTokenStore::new()));
    s.fail_next(PATH, 45033, "api concurrent out of limit");
    c.get_follow_user_list(&GetFollowUserListRequest::new()).await.unwrap();
    assert_eq!(calls_to(&s, PATH), 2, "the read was retried once");

    s.fail_next("externalcontact/remark", 45033, "api concurrent out of limit");
    let e = c.remark(&RemarkRequest::new("zhangsan", "wm1")).await.unwrap_err();
    assert_eq!(e.errcode(), Some(45033));
    assert_eq!(calls_to(&s, "externalcontact/remark"), 1, "a write is never retried");
}

mod standin_enforced {
    use super::*;
    use wecom_externalcontact::models::RemarkRequest;
    use wecom_externalcontact::standin::{StandInConfig, StandInLimits};
    use wecom_externalcontact::RetryPolicy;

    async fn standin(limits: StandInLimits) -> StandIn {
        StandIn::start_with(StandInConfig {
            limits: Some(limits),
            ..Default::default()
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn over_its_budget_the_standin_answers_45009_and_blocks_for_the_window() {
        let s = standin(StandInLimits::budget(RateBudget::new(5, 300)).minute(Duration::from_millis(1500))).await;
        let c = client(&s, Budgets::off(), Arc::new(MemoryTokenStore::new()));
        let mut codes = Vec::new();
        for _ in 0..7 {
            codes.push(
                c.get_follow_user_list(&GetFollowUserListRequest::new())
                    .await
                    .err()
                    .and_then(|e| e.errcode()),
            );
        }
        assert_eq!(codes, [None, None, None, None, None, Some(45009), Some(45009)]);
        assert_eq!(s.limit_refusals(PATH), (2, 0));
        // Another endpoint has a budget of its own.
        c.get_corp_tag_list(&Default::default()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1600)).await;
        c.get_follow_user_list(&GetFollowUserListRequest::new())
            .await
            .expect("the block ended with its minute");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_45033_burst_is_absorbed_by_retried_reads_and_writes_are_not_retried() {
        let s = standin(StandInLimits::default().max_concurrency(2)).await;
        s.delay_responses(PATH, Duration::from_millis(30));
        let c = Client::builder()
            .corp_id(s.corp_id())
            .secret(s.secret())
            .base_url(s.base_url())
            .retry_policy(
                RetryPolicy::default()
                    .max_attempts(8)
                    .base_delay(Duration::from_millis(5)),
            )
            .build()
            .unwrap();
        let burst = |c: Client| async move {
            let tasks: Vec<_> = (0..16)
                .map(|_| {
                    let c = c.clone();
                    tokio::spawn(async move { c.get_follow_user_list(&GetFollowUserListRequest::new()).await })
                })
                .collect();
            for t in tasks {
                t.await.unwrap().expect("reads are retried until they fit");
            }
        };
        burst(c.clone()).await;
        let first = s.limit_refusals(PATH).1;
        assert!(first > 0, "16 at once over a concurrency of 2: 45033s");
        // The second burst runs under the limit the first one left (halved, partly grown back): it still
        // completes. (The halving and regrowth themselves are checked on virtual time in src/limits/adaptive.rs.)
        burst(c.clone()).await;

        // Writes: 8 remarks at once (the spec lets 5 in flight; the stand-in 2): the 45033s come back.
        s.delay_responses("externalcontact/remark", Duration::from_millis(30));
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let c = c.clone();
                tokio::spawn(async move { c.remark(&RemarkRequest::new("zhangsan", format!("wm{i}"))).await })
            })
            .collect();
        let mut refused = 0;
        for t in tasks {
            if let Err(e) = t.await.unwrap() {
                assert_eq!(e.errcode(), Some(45033), "{e}");
                refused += 1;
            }
        }
        assert!(refused > 0);
        assert_eq!(calls_to(&s, "externalcontact/remark"), 8, "no write was retried");
    }
}

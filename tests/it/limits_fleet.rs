//! Rate budgets and 45009 holds shared through a real `redis-server` (started by the test), between clients
//! with their own in-process state (as separate processes have); Redis down → the fallback share.

use crate::support::redis_server::RedisServer;
use std::sync::Arc;
use std::time::Duration;
use wecom_externalcontact::catalog::RateBudget;
use wecom_externalcontact::limits::ThrottleReason;
use wecom_externalcontact::models::GetFollowUserListRequest;
use wecom_externalcontact::standin::StandIn;
use wecom_externalcontact::token::RedisTokenStore;
use wecom_externalcontact::{Budgets, Client, Error};

const PATH: &str = "externalcontact/get_follow_user_list";

fn calls_to(s: &StandIn) -> usize {
    crate::support::calls_to(s, PATH)
}

/// A client with budgets of its own, shared through `store`.
fn client(s: &StandIn, store: &Arc<RedisTokenStore>, budgets: Budgets) -> Client {
    Client::builder()
        .corp_id(s.corp_id())
        .secret(s.secret())
        .base_url(s.base_url())
        .token_store(store.clone())
        .budgets(budgets.fleet(store.clone(), 0.5))
        .build()
        .unwrap()
}

/// The most calls a GCRA with this burst and period lets through in `elapsed`: the burst, one more per
/// period, and one for rounding. The tests bound what was sent by this rather than by a fixed count, so a
/// loaded machine, whose calls take longer and so earn more permits, cannot fail them.
fn at_most(burst: usize, period: Duration, elapsed: Duration) -> usize {
    burst + (elapsed.as_nanos() / period.as_nanos()) as usize + 1
}

async fn sent_of(c: &Client, n: usize) -> (usize, Vec<Error>) {
    let (mut ok, mut refused) = (0, Vec::new());
    for _ in 0..n {
        match c.get_follow_user_list(&GetFollowUserListRequest::new()).await {
            Ok(_) => ok += 1,
            Err(e) => refused.push(e),
        }
    }
    (ok, refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_budgets_share_one_redis_budget_and_one_hold() {
    let Some(redis) = RedisServer::start() else { return };
    let s = StandIn::start().await.unwrap();
    let store = Arc::new(RedisTokenStore::new(&redis.url()).unwrap().key_prefix("lim:"));
    // 500 a minute: a burst of 9, then one call every ~123 ms, for the whole fleet.
    let budgets = || Budgets::default().per_corp(RateBudget::new(500, 30_000)).fail_fast();
    let a = client(&s, &store, budgets());
    let b = client(&s, &store, budgets());
    // (495 usable: a burst of 495 / 50 = 9, the other 486 spread over the minute.)
    let period = Duration::from_secs(60) / 486;
    let started = std::time::Instant::now();
    let (sent_a, _) = sent_of(&a, 20).await;
    let after_a = started.elapsed();
    let (sent_b, refused_b) = sent_of(&b, 20).await;
    let after_b = started.elapsed();
    assert!(
        sent_a >= 9 && sent_a <= at_most(9, period, after_a),
        "{sent_a} in {after_a:?}"
    );
    assert!(
        sent_a + sent_b <= at_most(9, period, after_b),
        "b draws on the budget a spent: {sent_a} + {sent_b} in {after_b:?}"
    );
    if at_most(9, period, after_b) < 40 {
        assert!(!refused_b.is_empty(), "40 calls where the budget allows fewer");
    }
    assert!(refused_b.iter().all(|e| matches!(
        e,
        Error::Throttled {
            reason: ThrottleReason::Budget,
            ..
        }
    )));
    assert_eq!(calls_to(&s), sent_a + sent_b);

    // A 45009 to a: b (its own process state) makes no call until the hold ends.
    let minute = || Budgets::default().minute(Duration::from_secs(2)).fail_fast();
    let (a, b) = (client(&s, &store, minute()), client(&s, &store, minute()));
    s.clear_requests();
    s.fail_next(PATH, 45009, "api freq out of limit");
    assert_eq!(sent_of(&a, 1).await.1[0].errcode(), Some(45009));
    let (sent, refused) = sent_of(&b, 5).await;
    assert_eq!(sent, 0);
    assert!(refused.iter().all(|e| matches!(
        e,
        Error::Throttled {
            reason: ThrottleReason::Held,
            ..
        }
    )));
    assert_eq!(calls_to(&s), 1, "only the call that got the 45009");
    // A waiting client in the fleet waits the hold out, then calls.
    let waiting = client(&s, &store, Budgets::default().minute(Duration::from_secs(2)));
    waiting
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap();
    assert_eq!(calls_to(&s), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_a_process_keeps_to_its_fallback_share() {
    let Some(mut redis) = RedisServer::start() else { return };
    let s = StandIn::start().await.unwrap();
    let store = Arc::new(
        RedisTokenStore::new(&redis.url())
            .unwrap()
            .key_prefix("down:")
            .timeout(Duration::from_millis(200)),
    );
    // Fallback: half of 5,000 a minute: a burst of 49 in this process.
    let c = client(
        &s,
        &store,
        Budgets::default().per_corp(RateBudget::new(5_000, 300_000)).fail_fast(),
    );
    c.get_follow_user_list(&GetFollowUserListRequest::new()).await.unwrap();
    redis.stop();
    // (2,475 usable: a burst of 49, the other 2,426 spread over the minute.)
    let period = Duration::from_secs(60) / 2426;
    let started = std::time::Instant::now();
    let (sent, refused) = sent_of(&c, 120).await;
    let elapsed = started.elapsed();
    assert!(
        sent >= 45 && sent <= at_most(49, period, elapsed),
        "the fallback budget's burst, then refusals: {sent} in {elapsed:?}"
    );
    if at_most(49, period, elapsed) < 120 {
        assert!(sent < 120, "some calls were refused: {sent} in {elapsed:?}");
    }
    assert!(refused.iter().all(|e| matches!(e, Error::Throttled { .. })));
}

//! Third-party suites in a fleet: the ticket one process received, and the suite and corp tokens, shared
//! through the Redis token store (a real `redis-server` started by the test on a free loopback port).
use crate::support;

use std::sync::Arc;
use std::time::Duration;
use support::redis_server::RedisServer;
use wecom_externalcontact::models::GetFollowUserListRequest;
use wecom_externalcontact::standin::{StandIn, StandInConfig};
use wecom_externalcontact::token::RedisTokenStore;
use wecom_externalcontact::Suite;

/// One "process": its own Redis connection, its own in-process single flight, one `Suite`.
fn process(s: &StandIn, redis: &RedisServer) -> Suite {
    let store = Arc::new(RedisTokenStore::new(&redis.url()).unwrap());
    Suite::new(s.suite_token_provider().token_store(store)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_processes_share_the_ticket_and_fetch_each_token_once() {
    let Some(redis) = RedisServer::start() else { return };
    let s = StandIn::start_with(StandInConfig {
        gettoken_delay: Duration::from_millis(50),
        ..Default::default()
    })
    .await
    .unwrap();
    let fleet: Vec<Suite> = (0..4).map(|_| process(&s, &redis)).collect();
    // Only the first process receives the ticket callback.
    fleet[0].set_ticket(s.suite_ticket()).await.unwrap();
    let corps = s.suite_config().corps.clone();
    let mut tasks = Vec::new();
    for suite in &fleet {
        for corp in &corps {
            for _ in 0..25 {
                let (suite, corp) = (suite.clone(), corp.clone());
                tasks.push(tokio::spawn(async move {
                    let client = suite.corp_client(&corp.corp_id, corp.permanent_code.as_str())?;
                    let r = client.get_follow_user_list(&GetFollowUserListRequest::new()).await?;
                    assert_eq!(r.follow_user, corp.follow_users);
                    Ok::<_, wecom_externalcontact::Error>(())
                }));
            }
        }
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(s.suite_token_count(), 1, "one get_suite_token for the fleet");
    assert_eq!(s.corp_token_total(), 3, "one get_corp_token per corp for the fleet");
    assert_eq!(s.corp_calls().len(), 4 * 3 * 25);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_redis_is_down_the_process_that_got_the_ticket_keeps_working() {
    let Some(mut redis) = RedisServer::start() else { return };
    let s = StandIn::start().await.unwrap();
    let suite = process(&s, &redis);
    suite.set_ticket(s.suite_ticket()).await.unwrap();
    redis.stop();
    let (corp_id, code) = {
        let c = &s.suite_config().corps[0];
        (c.corp_id.clone(), c.permanent_code.clone())
    };
    let r = suite
        .corp_client(&corp_id, code.as_str())
        .unwrap()
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap();
    assert_eq!(r.follow_user, s.suite_config().corps[0].follow_users);
    assert_eq!(s.suite_token_count(), 1);
    // A process that never saw the ticket cannot read it now: the store's error comes back, nothing is sent.
    let sent = s.requests().len();
    let other = process(&s, &redis);
    let err = other
        .corp_client(&corp_id, code.as_str())
        .unwrap()
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await
        .unwrap_err();
    assert!(matches!(err, wecom_externalcontact::Error::Store(_)), "{err:?}");
    assert_eq!(s.requests().len(), sent);
}

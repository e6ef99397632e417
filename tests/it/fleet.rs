//! Tokens for fleets: no gettoken herds on failure, the Redis token store against a real `redis-server`
//! started by the test, and several OS processes sharing one Redis and one stand-in.
//!
//! The multi-process tests re-execute this test binary (`std::env::current_exe()`) with `WECOM_FLEET_CHILD`
//! set, running only the ignored test `fleet_child`, which makes 50 concurrent calls and exits.
//!
//! Time: the backoff tests run on tokio's paused clock (`start_paused`, see `wecom_externalcontact::clock`),
//! so their windows are exact and no machine load moves them. Tests that talk to a real `redis-server` or to
//! child processes keep real time (a paused clock would jump past Redis's response timeout while the runtime
//! waits for another process); they assert nothing that a slow machine could break: leases and waits there
//! are far longer than any step takes, and Redis's own expiry (`PX`, on Redis's clock) is awaited by polling.
use crate::support;

use std::sync::Arc;
use std::time::Duration;
use support::child;
use support::redis_server::RedisServer;
use support::ClosedPort;
use wecom_externalcontact::models::GetFollowUserListRequest;
use wecom_externalcontact::standin::{StandIn, StandInConfig};
use wecom_externalcontact::token::{
    token_key, CachedToken, FetchPolicy, MemoryTokenStore, RedisTokenStore, Secret, SharedFetch, TokenStore,
};
use wecom_externalcontact::{Client, Error};

const SECRET: &str = "FLEET-secret-9c1e77d0";

async fn standin(delay_ms: u64) -> StandIn {
    StandIn::start_with(StandInConfig {
        secret: SECRET.into(),
        gettoken_delay: Duration::from_millis(delay_ms),
        ..Default::default()
    })
    .await
    .unwrap()
}

use crate::support::calls_to;

async fn concurrent_calls(client: &Client, n: usize) -> Vec<wecom_externalcontact::Result<()>> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move {
                c.get_follow_user_list(&GetFollowUserListRequest::new())
                    .await
                    .map(|_| ())
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test(start_paused = true)]
async fn a_wrong_secret_makes_one_gettoken_for_a_herd() {
    let s = standin(50).await;
    let client = Client::builder()
        .corp_id(s.corp_id())
        .secret("wrong-secret")
        .base_url(s.base_url())
        .build()
        .unwrap();
    let results = concurrent_calls(&client, 200).await;
    assert_eq!(s.gettoken_count(), 0, "the stand-in counts only successful gettokens");
    assert_eq!(
        calls_to(&s, "gettoken"),
        1,
        "200 concurrent calls share one failed gettoken"
    );
    let first = results[0].as_ref().unwrap_err().to_string();
    for r in &results {
        let e = r.as_ref().unwrap_err();
        assert_eq!(e.errcode(), Some(40001));
        assert_eq!(e.to_string(), first, "every caller gets the same error");
    }
    // Inside the backoff (1 s by default, on the paused clock): callers get the last error at once.
    tokio::time::advance(Duration::from_millis(999)).await;
    let results = concurrent_calls(&client, 50).await;
    assert!(results.iter().all(|r| r.as_ref().unwrap_err().errcode() == Some(40001)));
    assert_eq!(calls_to(&s, "gettoken"), 1, "no gettoken inside the backoff");
    assert_eq!(calls_to(&s, "externalcontact/get_follow_user_list"), 0);
}

#[tokio::test(start_paused = true)]
async fn failure_backoff_grows_and_ends() {
    let s = standin(0).await;
    let client = Client::builder()
        .corp_id(s.corp_id())
        .secret("wrong-secret")
        .base_url(s.base_url())
        .token_fetch_policy(FetchPolicy::default().backoff(Duration::from_millis(300), Duration::from_millis(1200)))
        .build()
        .unwrap();
    let request = GetFollowUserListRequest::new();
    let call = || client.get_follow_user_list(&request);
    assert_eq!(call().await.unwrap_err().errcode(), Some(40001));
    assert_eq!(call().await.unwrap_err().errcode(), Some(40001));
    assert_eq!(
        calls_to(&s, "gettoken"),
        1,
        "inside the backoff: the last error at once"
    );
    // The paused clock makes each backoff's end exact (a call takes no time on it): a millisecond before it,
    // the last error at once; at it, one new fetch. It doubles up to the maximum (1200 ms) and stays there.
    for (backoff_ms, fetches) in [(300, 2), (600, 3), (1200, 4), (1200, 5)] {
        tokio::time::sleep(Duration::from_millis(backoff_ms - 1)).await;
        call().await.unwrap_err();
        assert_eq!(
            calls_to(&s, "gettoken"),
            fetches - 1,
            "inside the {backoff_ms} ms backoff"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
        call().await.unwrap_err();
        assert_eq!(calls_to(&s, "gettoken"), fetches, "one new fetch after {backoff_ms} ms");
    }
}

#[tokio::test]
async fn shared_fetch_shares_errors_and_compare_and_deletes() {
    let store = Arc::new(MemoryTokenStore::new());
    let shared = SharedFetch::new(store.clone());
    let t = shared
        .get("k", || async { Ok(CachedToken::new("t1", Duration::from_secs(60))) })
        .await
        .unwrap();
    assert_eq!(t.expose(), "t1");
    // Fresh: no fetch.
    let t = shared
        .get("k", || async { Err(Error::Config("must not run".into())) })
        .await
        .unwrap();
    assert_eq!(t.expose(), "t1");
    // A newer token survives the invalidation of an older one.
    shared.invalidate("k", "t0").await;
    assert_eq!(store.get("k").await.unwrap().unwrap().token.expose(), "t1");
    shared.invalidate("k", "t1").await;
    assert!(store.get("k").await.unwrap().is_none());
    let t = shared
        .get("k", || async { Ok(CachedToken::new("t2", Duration::from_secs(60))) })
        .await
        .unwrap();
    assert_eq!((t.expose(), shared.fetch_count()), ("t2", 2));
    // Keys are independent.
    let other = shared
        .get("other", || async { Err(Error::Config("down".into())) })
        .await
        .unwrap_err();
    assert!(matches!(other, Error::Config(_)));
    assert_eq!(
        shared.get("k", || async { unreachable!() }).await.unwrap().expose(),
        "t2"
    );
}

#[tokio::test(start_paused = true)]
async fn a_lease_held_elsewhere_is_waited_out_then_fetched_around() {
    let store: Arc<dyn TokenStore> = Arc::new(MemoryTokenStore::new());
    let policy = FetchPolicy::default().lease(Duration::from_secs(10), Duration::from_secs(3));
    let shared = SharedFetch::with_policy(store.clone(), policy);
    let fetch = || async { Ok(CachedToken::new("mine", Duration::from_secs(60))) };
    // Another process took the lease and went silent: wait `lease_wait` (3 s) for its token, then fetch.
    assert!(store.try_lease("k", "silent", Duration::from_secs(10)).await.unwrap());
    let started = tokio::time::Instant::now();
    assert_eq!(shared.get("k", fetch).await.unwrap().expose(), "mine");
    assert_eq!(started.elapsed(), Duration::from_secs(3), "waited exactly lease_wait");
    assert_eq!(shared.fetch_count(), 1);
    // A lease that runs out (1 s) before the wait does: taken over as it expires, on the poll's 25 ms grid.
    assert!(store.try_lease("j", "silent", Duration::from_secs(1)).await.unwrap());
    let started = tokio::time::Instant::now();
    assert_eq!(shared.get("j", fetch).await.unwrap().expose(), "mine");
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(1),
        "the expired lease was taken over"
    );
    assert_eq!(shared.fetch_count(), 2);
}

#[test]
fn keys_name_the_corp_and_a_fingerprint_never_the_secret() {
    let a = token_key("access_token", "ww1", &Secret::new(SECRET));
    let b = token_key("access_token", "ww1", &Secret::new("another secret"));
    assert!(a.starts_with("access_token:ww1:"), "{a}");
    assert_ne!(a, b, "two apps of one corp have two keys");
    assert!(!a.contains(SECRET));
    assert_eq!(a.len(), "access_token:ww1:".len() + 12);
}

#[tokio::test]
async fn redis_store_round_trips_leases_and_compare_and_delete() {
    let Some(redis) = RedisServer::start() else { return };
    let store = RedisTokenStore::new(&redis.url()).unwrap().key_prefix("test:");
    assert!(store.get("k").await.unwrap().is_none());
    let t = CachedToken::new("tok-1", Duration::from_secs(60));
    store.set("k", &t).await.unwrap();
    assert_eq!(store.get("k").await.unwrap(), Some(t.clone()));
    assert!(!store.clear_if("k", "tok-0").await.unwrap(), "another token stays");
    assert!(store.clear_if("k", "tok-1").await.unwrap());
    assert!(store.get("k").await.unwrap().is_none());
    // Leases: one owner at a time; only the owner releases (a minute each: no step of the test takes that).
    let minute = Duration::from_secs(60);
    assert!(store.try_lease("k", "a", minute).await.unwrap());
    assert!(!store.try_lease("k", "b", minute).await.unwrap());
    store.release("k", "b").await.unwrap();
    assert!(!store.try_lease("k", "b", minute).await.unwrap());
    store.release("k", "a").await.unwrap();
    assert!(store.try_lease("k", "b", minute).await.unwrap());
    // They expire: Redis's own clock (`PX`) ends a 50 ms lease; the test waits for that, however long it
    // takes on this machine (a lease that never expired fails after 10 s), instead of sleeping a guess.
    assert!(store.try_lease("j", "a", Duration::from_millis(50)).await.unwrap());
    let started = std::time::Instant::now();
    while !store.try_lease("j", "c", minute).await.unwrap() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "a 50 ms lease never expired"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !store.try_lease("k", "c", minute).await.unwrap(),
        "the minute lease holds"
    );
    // An expired token is not stored at all; the prefix is applied.
    store.set("gone", &CachedToken::with_expiry("x", 1)).await.unwrap();
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(&mut conn).await.unwrap();
    assert!(keys.iter().all(|k| k.starts_with("test:")), "{keys:?}");
    assert!(!keys.iter().any(|k| k.contains("gone")), "{keys:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_sharing_redis_fetch_once_and_keep_no_secret_in_redis() {
    let Some(redis) = RedisServer::start() else { return };
    let s = standin(100).await;
    let clients: Vec<Client> = (0..4)
        .map(|_| {
            Client::builder()
                .corp_id(s.corp_id())
                .secret(SECRET)
                .base_url(s.base_url())
                .token_store(Arc::new(RedisTokenStore::new(&redis.url()).unwrap()))
                .build()
                .unwrap()
        })
        .collect();
    let mut all = Vec::new();
    for c in &clients {
        let c = c.clone();
        all.push(tokio::spawn(async move { concurrent_calls(&c, 25).await }));
    }
    for t in all {
        assert!(t.await.unwrap().iter().all(|r| r.is_ok()));
    }
    assert_eq!(
        s.gettoken_count(),
        1,
        "four clients with their own stores, one Redis: one gettoken"
    );
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(&mut conn).await.unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(
        keys[0].starts_with(&format!("wecom:access_token:{}:", s.corp_id())),
        "{keys:?}"
    );
    let value: String = redis::cmd("GET").arg(&keys[0]).query_async(&mut conn).await.unwrap();
    assert!(!keys[0].contains(SECRET) && !value.contains(SECRET));
    let ttl: i64 = redis::cmd("PTTL").arg(&keys[0]).query_async(&mut conn).await.unwrap();
    assert!(ttl > 6_000_000 && ttl <= 7_200_000, "expires with the token: {ttl} ms");
}

/// Runs `n` child processes of this binary against `base_url` and `redis_url`, each making 50 concurrent
/// calls; returns their outputs after asserting they all succeeded.
async fn run_children(n: usize, base_url: &str, corp_id: &str, redis_url: &str) {
    run_children_with(n, base_url, corp_id, redis_url, &[]).await;
}

/// [`run_children`] with extra environment for the children (see `fleet_child`).
async fn run_children_with(n: usize, base_url: &str, corp_id: &str, redis_url: &str, env: &[(&str, &str)]) {
    let mut all = vec![
        ("WECOM_FLEET_CHILD", "1"),
        ("WECOM_FLEET_BASE_URL", base_url),
        ("WECOM_FLEET_CORP_ID", corp_id),
        ("WECOM_FLEET_REDIS_URL", redis_url),
    ];
    all.extend_from_slice(env);
    let children = (0..n)
        .map(|_| child::command("fleet::fleet_child", &all).spawn().unwrap())
        .collect();
    let outputs = child::outputs(children).await;
    for o in outputs {
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success() && out.contains("FLEET CHILD: 50 calls ok"),
            "child failed: {out}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_processes_sharing_redis_make_one_gettoken_and_one_refresh() {
    let Some(redis) = RedisServer::start() else { return };
    let s = standin(200).await;
    run_children(8, &s.base_url(), s.corp_id(), &redis.url()).await;
    assert_eq!(
        s.gettoken_count(),
        1,
        "8 processes × 50 cold calls: one gettoken in all"
    );
    assert_eq!(calls_to(&s, "externalcontact/get_follow_user_list"), 400);

    s.expire_tokens();
    run_children(8, &s.base_url(), s.corp_id(), &redis.url()).await;
    assert_eq!(
        s.gettoken_count(),
        2,
        "after expiry, 8 fresh processes × 50 calls: one refresh in all"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_in_eight_processes_makes_one_gettoken_in_all() {
    let Some(redis) = RedisServer::start() else { return };
    let s = standin(200).await;
    let wrong = [("WECOM_FLEET_WRONG_SECRET", "1")];
    run_children_with(8, &s.base_url(), s.corp_id(), &redis.url(), &wrong).await;
    assert_eq!(
        calls_to(&s, "gettoken"),
        1,
        "8 processes × 50 calls with a wrong secret: one refused gettoken in all"
    );
    // Fresh processes inside the backoff: the shared refusal holds, no gettoken at all.
    run_children_with(8, &s.base_url(), s.corp_id(), &redis.url(), &wrong).await;
    assert_eq!(calls_to(&s, "gettoken"), 1, "the fleet waits out the backoff");
    assert_eq!(calls_to(&s, "externalcontact/get_follow_user_list"), 0);
    // What Redis holds: the errcode and WeCom's message, never the secret.
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*:failure")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let value: String = redis::cmd("GET").arg(&keys[0]).query_async(&mut conn).await.unwrap();
    assert!(value.contains("40001") && !value.contains("wrong-secret"), "{value}");
}

/// The errcode `fetcher` answers for `k` inside the fleet's backoff, where it must not fetch.
async fn held(fetcher: &SharedFetch) -> Option<i64> {
    let refused = fetcher.get("k", || async { panic!("no fetch inside the fleet's backoff") });
    refused.await.unwrap_err().errcode()
}

#[tokio::test(start_paused = true)]
async fn a_refusal_is_shared_through_the_store_and_cleared_by_success() {
    // Two fetchers (as two processes would be) over one store.
    let store: Arc<dyn TokenStore> = Arc::new(MemoryTokenStore::new());
    let policy = FetchPolicy::default().backoff(Duration::from_millis(300), Duration::from_secs(5));
    let a = SharedFetch::with_policy(store.clone(), policy);
    let b = SharedFetch::with_policy(store.clone(), policy);
    let refuse = || async {
        Err(Error::Api {
            endpoint: "gettoken".into(),
            errcode: 40001,
            errmsg: "invalid credential".into(),
        })
    };
    assert_eq!(a.get("k", refuse).await.unwrap_err().errcode(), Some(40001));
    // b has never fetched: it gets a's refusal without fetching.
    assert_eq!(held(&b).await, Some(40001));
    assert_eq!((a.fetch_count(), b.fetch_count()), (1, 0));
    let shared = store.get_failure("k").await.unwrap().unwrap();
    assert_eq!((shared.errcode, shared.failures), (40001, 1));
    // On the paused clock the shared retry time is exact: 300 ms after a's refusal, not a millisecond less.
    tokio::time::sleep(Duration::from_millis(299)).await;
    assert_eq!(held(&b).await, Some(40001));
    tokio::time::sleep(Duration::from_millis(1)).await;
    // After the backoff, b fetches; refused again, the fleet's count grows and so does the backoff.
    assert!(b.get("k", refuse).await.is_err());
    assert_eq!(b.fetch_count(), 1);
    let shared = store.get_failure("k").await.unwrap().unwrap();
    assert_eq!(shared.failures, 2, "the second refusal in the fleet");
    let wait = shared
        .retry_at_ms
        .saturating_sub(wecom_externalcontact::clock::unix_millis());
    assert_eq!(wait, 600, "backoff doubled to 600 ms");
    // a adopts b's refusal until b's retry time.
    tokio::time::sleep(Duration::from_millis(599)).await;
    assert_eq!(held(&a).await, Some(40001), "a adopts b's refusal");
    // A success clears the shared refusal.
    tokio::time::sleep(Duration::from_millis(1)).await;
    let t = a
        .get("k", || async { Ok(CachedToken::new("good", Duration::from_secs(60))) })
        .await
        .unwrap();
    assert_eq!(t.expose(), "good");
    assert!(store.get_failure("k").await.unwrap().is_none());
    // Transport failures stay in the process that saw them (they may be that host's network).
    let c = SharedFetch::with_policy(store.clone(), policy);
    let d = SharedFetch::with_policy(store.clone(), policy);
    let down = || async {
        Err(Error::Timeout {
            endpoint: "gettoken".into(),
        })
    };
    assert!(c.get("j", down).await.is_err());
    assert!(store.get_failure("j").await.unwrap().is_none());
    assert!(d
        .get("j", || async { Ok(CachedToken::new("t", Duration::from_secs(60))) })
        .await
        .is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_still_succeed_when_redis_is_unreachable() {
    let s = standin(50).await;
    let closed = ClosedPort::new();
    let nowhere = format!("redis://127.0.0.1:{}/", closed.port());
    run_children(3, &s.base_url(), s.corp_id(), &nowhere).await;
    assert_eq!(s.gettoken_count(), 3, "each process fetched once, directly");
    assert_eq!(calls_to(&s, "externalcontact/get_follow_user_list"), 150);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_survives_redis_going_away() {
    let Some(mut redis) = RedisServer::start() else { return };
    let s = standin(0).await;
    let client = Client::builder()
        .corp_id(s.corp_id())
        .secret(SECRET)
        .base_url(s.base_url())
        .token_store(Arc::new(RedisTokenStore::new(&redis.url()).unwrap()))
        .build()
        .unwrap();
    assert!(concurrent_calls(&client, 10).await.iter().all(|r| r.is_ok()));
    redis.stop();
    assert!(concurrent_calls(&client, 10).await.iter().all(|r| r.is_ok()));
    // The token fetched before the outage is used while Redis is away (kept in the process).
    assert_eq!(s.gettoken_count(), 1);
    s.expire_tokens();
    assert!(concurrent_calls(&client, 10).await.iter().all(|r| r.is_ok()));
    assert_eq!(s.gettoken_count(), 2, "a refresh without Redis");
}

/// The child process of the multi-process tests (run only by them: see the module doc).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a child process of the multi-process tests"]
async fn fleet_child() {
    assert!(
        std::env::var_os("WECOM_FLEET_CHILD").is_some(),
        "run by the multi-process tests"
    );
    let env = |k: &str| std::env::var(k).unwrap();
    // With WECOM_FLEET_WRONG_SECRET the child expects every call to fail with 40001 (a long backoff keeps
    // the test's timing out of the picture).
    let wrong = std::env::var_os("WECOM_FLEET_WRONG_SECRET").is_some();
    let client = Client::builder()
        .corp_id(env("WECOM_FLEET_CORP_ID"))
        .secret(if wrong { "wrong-secret" } else { SECRET })
        .base_url(env("WECOM_FLEET_BASE_URL"))
        .token_store(Arc::new(RedisTokenStore::new(&env("WECOM_FLEET_REDIS_URL")).unwrap()))
        // A long backoff, and waits for another process's fetch far longer than any fetch takes on a loaded
        // machine: "one gettoken in all" must not depend on how fast the leaseholder is scheduled.
        .token_fetch_policy(
            FetchPolicy::default()
                .backoff(Duration::from_secs(20), Duration::from_secs(60))
                .lease(Duration::from_secs(60), Duration::from_secs(30)),
        )
        .build()
        .unwrap();
    let results = concurrent_calls(&client, 50).await;
    for r in &results {
        match r {
            Err(e) if wrong && e.errcode() == Some(40001) => {}
            Err(e) => panic!("a call failed: {e}"),
            Ok(()) if wrong => panic!("a call with a wrong secret succeeded"),
            Ok(()) => {}
        }
    }
    println!("FLEET CHILD: {} calls ok", results.len());
}

/// The test Redis starter never mistakes another listener for its server: on a port someone else holds,
/// the server it starts is refused (it exits, or the pid in `INFO` is not its own), and `start` then picks
/// another port (no free-port race between tests).
#[test]
fn the_redis_starter_refuses_a_port_that_another_process_holds() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let Some(first) = RedisServer::start() else { return };
    assert!(
        RedisServer::start_on(port).is_none(),
        "a server on a taken port was accepted"
    );
    // A foreign Redis on a port: a second one there is refused too, and the first keeps answering.
    assert!(RedisServer::start_on(first.port()).is_none());
    assert!(std::net::TcpStream::connect(("127.0.0.1", first.port())).is_ok());
    drop(taken);
}

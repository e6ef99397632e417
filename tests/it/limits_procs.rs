//! Fleets of OS processes sharing one Redis against one stand-in:
//! - 4 processes export every customer from a stand-in that enforces a scaled budget (WeCom's 45009 with a
//!   10-second "minute"): with fleet budgets, no 45009 and a run close to the budget's floor; with budgets
//!   off (the control), 45009s.
//! - One 45009 from the stand-in to one process: no process calls that endpoint until the hold ends (read
//!   from the stand-in's request log and its arrival times), then they all resume; the other endpoints keep
//!   working meanwhile.
//!
//! The tests re-execute this test binary (`support::child`), running only the ignored test `limits_child`
//! (exports the customers of its share of the members through `batch_get_by_user_stream` and prints how
//! many it got) or `hold_child` (steps through the hold test's phases as the parent tells it on stdin).

use crate::support::child::{self, Proc};
use crate::support::redis_server::RedisServer;
use futures_util::StreamExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use wecom_externalcontact::catalog::RateBudget;
use wecom_externalcontact::limits::ThrottleReason;
use wecom_externalcontact::models::{BatchGetByUserRequest, GetRequest, ListRequest};
use wecom_externalcontact::standin::{StandIn, StandInConfig, StandInLimits, World, WorldConfig};
use wecom_externalcontact::token::RedisTokenStore;
use wecom_externalcontact::{Budgets, Client, Error};

const PATH: &str = "externalcontact/batch/get_by_user";
const PROCESSES: usize = 4;
const MEMBERS: usize = 300;
const CUSTOMERS: usize = 30_000;
/// The stand-in's budget of batch/get_by_user: 300 calls a 10-second "minute" (30 a second). (With a
/// budget of a few dozen a minute the GCRA has no burst left to absorb a late call, and a loaded machine
/// makes every call a little late; WeCom's 10,000 a minute leaves a burst of 198.) Not shorter: the client
/// keeps 1% of a window in reserve, and that 1% (100 ms here) is all the delay between a call leaving and
/// its arrival at the stand-in that a run can absorb (with a 5-second "minute", 8 tests at once on 2 cores
/// produced a 45009).
const PER_MINUTE: u32 = 300;
const MINUTE: Duration = Duration::from_secs(10);

/// Runs the fleet (each process exports its members' customers in 5 streams at once); returns (calls of batch/get_by_user, seconds, 45009s the stand-in answered). With budgets
/// on, every customer must be exported.
async fn export(redis_url: &str, budgets_on: bool) -> (usize, f64, usize) {
    let budget = RateBudget::new(PER_MINUTE, PER_MINUTE * 60);
    let config = StandInConfig {
        world: Some(WorldConfig::sized(MEMBERS, CUSTOMERS)),
        limits: Some(StandInLimits::budget(budget).minute(MINUTE)),
        ..Default::default()
    };
    let s = StandIn::start_with(config).await.unwrap();
    let items = s.world().map_or(0, |w| w.follows().count());
    let base_url = s.base_url();
    let children = (0..PROCESSES)
        .map(|i| {
            let index = i.to_string();
            let env = [
                ("WECOM_LIMITS_CHILD", index.as_str()),
                ("WECOM_LIMITS_BASE_URL", base_url.as_str()),
                ("WECOM_LIMITS_CORP_ID", s.corp_id()),
                ("WECOM_LIMITS_SECRET", s.secret()),
                ("WECOM_LIMITS_REDIS_URL", redis_url),
                ("WECOM_LIMITS_ON", if budgets_on { "1" } else { "0" }),
            ];
            child::command("limits_procs::limits_child", &env).spawn().unwrap()
        })
        .collect();
    let outputs = child::outputs(children).await;
    let (mut first, mut last) = (u64::MAX, 0u64);
    let mut exported = 0;
    for o in &outputs {
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "child failed: {out}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        exported += out
            .lines()
            .find_map(|l| l.split("EXPORTED ").nth(1))
            .and_then(|n| n.trim().parse::<usize>().ok())
            .unwrap_or_else(|| panic!("no count in {out}"));
        let span: Vec<u64> = out
            .lines()
            .find_map(|l| l.split("SPAN ").nth(1))
            .map(|l| l.split_whitespace().filter_map(|n| n.parse().ok()).collect())
            .unwrap_or_default();
        first = first.min(span[0]);
        last = last.max(span[1]);
    }
    // From the fleet's first export call to its last (process start-up and tokens are not the budget's).
    let took = last.saturating_sub(first) as f64 / 1000.0;
    assert!(
        !budgets_on || exported == items,
        "every (customer, member) pair once: {exported} of {items}"
    );
    let calls = crate::support::calls_to(&s, PATH);
    (calls, took, s.limit_refusals(PATH).0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_export_at_the_budget_without_a_45009_and_the_control_gets_45009s() {
    let Some(redis) = RedisServer::start() else { return };
    let (calls, took, refused) = export(&redis.url(), true).await;
    assert_eq!(refused, 0, "no 45009 with fleet budgets");
    let calls = calls as f64;
    let floor = calls / (f64::from(PER_MINUTE) / MINUTE.as_secs_f64());
    eprintln!(
        "fleet export: {calls} calls in {took:.2} s; floor {floor:.2} s; ratio {:.3}",
        took / floor
    );
    assert!(took <= floor * 1.15, "{took:.2} s for a floor of {floor:.2} s");

    let (_, _, refused) = export(&redis.url(), false).await;
    assert!(refused > 0, "the control (budgets off) crosses the budget");
}

#[tokio::test]
#[ignore = "run by the multi-process test"]
async fn limits_child() {
    let Ok(index) = std::env::var("WECOM_LIMITS_CHILD") else {
        panic!("run by the multi-process test");
    };
    let index: usize = index.parse().unwrap();
    let env = |k: &str| std::env::var(k).unwrap();
    let store = Arc::new(RedisTokenStore::new(&env("WECOM_LIMITS_REDIS_URL")).unwrap());
    let budgets = if env("WECOM_LIMITS_ON") == "1" {
        Budgets::default()
            .per_corp(RateBudget::new(PER_MINUTE, PER_MINUTE * 60))
            .minute(MINUTE)
            .fleet(store.clone(), 1.0 / PROCESSES as f64)
    } else {
        Budgets::off()
    };
    let client = Client::builder()
        .corp_id(env("WECOM_LIMITS_CORP_ID"))
        .secret(env("WECOM_LIMITS_SECRET"))
        .base_url(env("WECOM_LIMITS_BASE_URL"))
        .token_store(store)
        .budgets(budgets)
        .build()
        .unwrap();
    let members: Vec<String> = World::generate(&WorldConfig::sized(MEMBERS, 0))
        .members()
        .iter()
        .map(|m| m.userid.clone())
        .collect();
    let mine: Vec<String> = members.iter().skip(index).step_by(PROCESSES).cloned().collect();
    // The export's span (after the process started and got its token): from its first call to its last.
    client
        .get_follow_user_list(&wecom_externalcontact::models::GetFollowUserListRequest::new())
        .await
        .unwrap();
    let started = wecom_externalcontact::clock::unix_millis();
    let mut count = 0;
    let mut failed = 0;
    // Five streams at once per process (as `wecom export --jobs`), so the budget, not latency, sets the pace.
    let streams = mine.chunks(15).map(|chunk| {
        let client = client.clone();
        let chunk = chunk.to_vec();
        async move {
            let (mut count, mut failed) = (0, 0);
            let mut stream = client.batch_get_by_user_stream(BatchGetByUserRequest::new(chunk).limit(100u32));
            while let Some(item) = stream.next().await {
                match item {
                    Ok(_) => count += 1,
                    Err(_) => {
                        failed += 1;
                        break;
                    }
                }
            }
            (count, failed)
        }
    });
    for (c, f) in futures_util::future::join_all(streams).await {
        count += c;
        failed += f;
    }
    println!("SPAN {started} {}", wecom_externalcontact::clock::unix_millis());
    println!("EXPORTED {count}");
    println!("FAILED {failed}");
}

/// The endpoint the stand-in answers one 45009 for, and another one the processes keep calling meanwhile.
const HELD_PATH: &str = "externalcontact/list";
const OTHER_PATH: &str = "externalcontact/get";
/// The hold test's "minute" (how long a first 45009 holds the endpoint): long enough that every process,
/// even on a loaded machine, calls the other endpoint and probes the hold before it ends.
const HOLD_MINUTE: Duration = Duration::from_secs(4);

/// The request's value of query parameter `key` (the processes call with their own `userid` and
/// `external_userid`, so the log tells them apart).
fn query<'a>(r: &'a wecom_externalcontact::standin::RecordedRequest, key: &str) -> Option<&'a str> {
    r.query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_45009_silences_the_endpoint_in_every_process_until_the_hold_ends_then_they_resume() {
    let Some(redis) = RedisServer::start() else { return };
    let s = StandIn::start().await.unwrap();
    let (base_url, redis_url) = (s.base_url(), redis.url());
    let minute_ms = HOLD_MINUTE.as_millis().to_string();
    let mut procs: Vec<Proc> = (0..PROCESSES)
        .map(|i| {
            let index = i.to_string();
            Proc::spawn(
                "limits_procs::hold_child",
                &[
                    ("WECOM_HOLD_CHILD", index.as_str()),
                    ("WECOM_HOLD_BASE_URL", base_url.as_str()),
                    ("WECOM_HOLD_CORP_ID", s.corp_id()),
                    ("WECOM_HOLD_SECRET", s.secret()),
                    ("WECOM_HOLD_REDIS_URL", redis_url.as_str()),
                    ("WECOM_HOLD_MINUTE_MS", minute_ms.as_str()),
                ],
            )
        })
        .collect();
    for p in &procs {
        p.wait_for("HOLD CHILD READY");
    }
    // Every process calls both endpoints: they do call the held one while there is no hold.
    for p in &mut procs {
        p.send("warm");
    }
    for p in &procs {
        p.wait_for("WARM");
    }
    let warm = s.requests();
    for i in 0..PROCESSES {
        let me = format!("member{i}");
        assert!(
            warm.iter()
                .any(|r| r.path == HELD_PATH && query(r, "userid") == Some(me.as_str())),
            "process {i} called {HELD_PATH} before the hold"
        );
    }

    // The processes are idle; the next call of the endpoint (process 0's) gets WeCom's 45009.
    s.clear_requests();
    s.fail_next(HELD_PATH, 45009, "api freq out of limit");
    procs[0].send("trip");
    assert_eq!(procs[0].wait_for("TRIPPED "), "45009");
    // Now every process (each learning the hold from Redis, process 0 too from its other client) calls the
    // other endpoint, probes the held one with a fail-fast client, and calls it three times with a waiting one.
    for p in &mut procs {
        p.send("held");
    }
    let reports: Vec<String> = procs.iter().map(|p| p.wait_for("HOLD CHILD DONE ")).collect();
    for (i, p) in procs.iter_mut().enumerate() {
        assert!(p.exited_ok(), "process {i} failed: {}", reports[i]);
    }
    let log = s.requests();
    let tripped = log
        .iter()
        .position(|r| r.path == HELD_PATH)
        .expect("the call that got the 45009");
    assert_eq!(query(&log[tripped], "userid"), Some("member0"), "process 0 tripped it");
    // The hold a client starts ends one "minute" after it read the 45009, which the stand-in had received
    // earlier (both on the machine's wall clock): no call of the held endpoint may arrive before this. (5 ms
    // of slack for the clock's millisecond rounding; a call let through the hold arrives seconds early.)
    let hold_end = log[tripped].received_ms + HOLD_MINUTE.as_millis() as u64;
    let after: Vec<_> = log[tripped + 1..].iter().collect();
    let early: Vec<_> = after
        .iter()
        .filter(|r| r.path == HELD_PATH && r.received_ms + 5 < hold_end)
        .map(|r| (query(r, "userid"), hold_end - r.received_ms))
        .collect();
    assert!(
        early.is_empty(),
        "calls of {HELD_PATH} during the hold (process, ms before its end): {early:?}"
    );
    for (i, report) in reports.iter().enumerate() {
        let me = format!("member{i}");
        let other = format!("wm-other-{i}");
        // The fail-fast client got the typed error at once; the waiting one waited, then got through.
        assert_eq!(report, "probe=held resumed=3 other_failed=0", "process {i}");
        let resumed = after
            .iter()
            .filter(|r| r.path == HELD_PATH && query(r, "userid") == Some(me.as_str()))
            .count();
        assert_eq!(resumed, 3, "process {i} resumed calling {HELD_PATH} after the hold");
        assert!(
            after.iter().any(|r| r.path == OTHER_PATH
                && query(r, "external_userid") == Some(other.as_str())
                && r.received_ms < hold_end),
            "process {i} called {OTHER_PATH} during the hold"
        );
    }
}

/// Hold test phases (lines on stdin): `warm` (call both endpoints), `trip` (one call of the held endpoint
/// with the fail-fast client; prints its errcode), `held` (call the other endpoint, probe the held one
/// fail-fast, then call it 3 times with the waiting client while calling the other every 100 ms).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by the multi-process test"]
async fn hold_child() {
    use tokio::io::AsyncBufReadExt;
    let Ok(index) = std::env::var("WECOM_HOLD_CHILD") else {
        panic!("run by the multi-process test");
    };
    let env = |k: &str| std::env::var(k).unwrap();
    let store = Arc::new(RedisTokenStore::new(&env("WECOM_HOLD_REDIS_URL")).unwrap());
    let minute = Duration::from_millis(env("WECOM_HOLD_MINUTE_MS").parse().unwrap());
    // Two clients with budgets of their own (as two processes have), sharing holds through Redis.
    let client = |budgets: Budgets| {
        Client::builder()
            .corp_id(env("WECOM_HOLD_CORP_ID"))
            .secret(env("WECOM_HOLD_SECRET"))
            .base_url(env("WECOM_HOLD_BASE_URL"))
            .token_store(store.clone())
            .budgets(budgets.minute(minute).fleet(store.clone(), 1.0 / PROCESSES as f64))
            .build()
            .unwrap()
    };
    let waiting = client(Budgets::default());
    let fast = client(Budgets::default().fail_fast());
    let list = ListRequest::new(format!("member{index}"));
    let get = GetRequest::new(format!("wm-other-{index}"));
    println!("HOLD CHILD READY");
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Some(command) = lines.next_line().await.unwrap() {
        match command.trim() {
            "warm" => {
                waiting.list(&list).await.unwrap();
                waiting.get(&get).await.unwrap();
                println!("WARM");
            }
            "trip" => {
                let e = fast.list(&list).await.unwrap_err();
                println!("TRIPPED {}", e.errcode().unwrap_or_default());
            }
            "held" => {
                waiting.get(&get).await.unwrap();
                let probe = match fast.list(&list).await {
                    Err(Error::Throttled {
                        reason: ThrottleReason::Held,
                        ..
                    }) => "held".to_string(),
                    other => format!("{other:?}"),
                };
                let done = AtomicBool::new(false);
                let resume = async {
                    let mut ok = 0;
                    for _ in 0..3 {
                        ok += usize::from(waiting.list(&list).await.is_ok());
                    }
                    done.store(true, Ordering::SeqCst);
                    ok
                };
                let others = async {
                    let mut failed = 0;
                    while !done.load(Ordering::SeqCst) {
                        failed += usize::from(waiting.get(&get).await.is_err());
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    failed
                };
                let (resumed, other_failed) = tokio::join!(resume, others);
                println!("HOLD CHILD DONE probe={probe} resumed={resumed} other_failed={other_failed}");
                return;
            }
            other => panic!("unknown command {other:?}"),
        }
    }
}

//! A fleet of 4 OS processes sharing one Redis exports every customer from a stand-in that enforces a scaled
//! budget (WeCom's 45009 with a 10-second "minute"): with fleet budgets, no 45009 and a run close to the
//! budget's floor; with budgets off (the control), 45009s.
//!
//! The test re-executes this test binary (`std::env::current_exe()`) with `WECOM_LIMITS_CHILD` set, running
//! only the ignored test `limits_procs::limits_child`, which exports the customers of its share of the
//! members through `batch_get_by_user_stream` and prints how many it got.

use crate::support::redis_server::RedisServer;
use futures_util::StreamExt;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wecom_externalcontact::catalog::RateBudget;
use wecom_externalcontact::models::BatchGetByUserRequest;
use wecom_externalcontact::standin::{StandIn, StandInConfig, StandInLimits, World, WorldConfig};
use wecom_externalcontact::token::RedisTokenStore;
use wecom_externalcontact::{Budgets, Client};

const PATH: &str = "externalcontact/batch/get_by_user";
const PROCESSES: usize = 4;
const MEMBERS: usize = 300;
const CUSTOMERS: usize = 30_000;
/// The stand-in's budget of batch/get_by_user: 300 calls a 10-second "minute" (30 a second). (With a
/// budget of a few dozen a minute the GCRA has no burst left to absorb a late call, and a loaded machine
/// makes every call a little late; WeCom's 10,000 a minute leaves a burst of 198.)
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
    let exe = std::env::current_exe().unwrap();
    let started = Instant::now();
    let children: Vec<_> = (0..PROCESSES)
        .map(|i| {
            Command::new(&exe)
                .args([
                    "--ignored",
                    "--exact",
                    "limits_procs::limits_child",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("WECOM_LIMITS_CHILD", i.to_string())
                .env("WECOM_LIMITS_BASE_URL", s.base_url())
                .env("WECOM_LIMITS_CORP_ID", s.corp_id())
                .env("WECOM_LIMITS_SECRET", s.secret())
                .env("WECOM_LIMITS_REDIS_URL", redis_url)
                .env("WECOM_LIMITS_ON", if budgets_on { "1" } else { "0" })
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let _ = started;
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
    let calls = s.requests().iter().filter(|r| r.path == PATH).count();
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

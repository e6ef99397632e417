//! Benchmark of the rate budgets: the per-call overhead of the in-process budget and of the Redis fleet
//! budget (one Lua step per call, and leased batches of 10) against no budget.
//!
//! Starts the embedded stand-in and a throwaway `redis-server` (skipped when none is installed) on loopback,
//! then makes N sequential calls of `get_follow_user_list` per configuration, in interleaved rounds so drift
//! hits every configuration alike, with a budget far above what the calls use (no call ever waits). Prints
//! the p50 and p90 latency per call and the p50 overhead against no budget.
//!
//! ```text
//! cargo run --release --example limits_bench [calls per configuration, default 5000]
//! ```
use std::sync::Arc;
use std::time::{Duration, Instant};
use wecom_externalcontact::catalog::RateBudget;
use wecom_externalcontact::models::GetFollowUserListRequest;
use wecom_externalcontact::standin::StandIn;
use wecom_externalcontact::token::RedisTokenStore;
use wecom_externalcontact::{Budgets, Client};

#[path = "../tests/it/support/redis_server.rs"]
mod redis_server;
use redis_server::RedisServer;

const ROUNDS: usize = 10;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let calls: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 5000,
    };
    let s = StandIn::start().await?;
    let redis = RedisServer::start();
    let huge = RateBudget::new(u32::MAX / 2, u32::MAX / 2);
    let client = |budgets: Budgets| {
        Client::builder()
            .corp_id(s.corp_id())
            .secret(s.secret())
            .base_url(s.base_url())
            .budgets(budgets.per_corp(huge))
            .build()
    };
    let mut configs: Vec<(&str, Client)> = vec![
        ("no budget", client(Budgets::off())?),
        ("in-process budget", client(Budgets::default())?),
    ];
    if let Some(r) = &redis {
        let store = Arc::new(RedisTokenStore::new(&r.url())?.key_prefix("bench:"));
        configs.push((
            "Redis budget, 1 step per call",
            client(Budgets::default().fleet(store.clone(), 0.25))?,
        ));
        configs.push((
            "Redis budget, leased batches of 10",
            client(Budgets::default().fleet(store, 0.25).fleet_batch(10))?,
        ));
    } else {
        println!("(no redis-server: the Redis rows are skipped)");
    }
    for (_, c) in &configs {
        // Warm up: the token, the connections, the script cache.
        for _ in 0..200 {
            c.get_follow_user_list(&GetFollowUserListRequest::new()).await?;
        }
    }
    let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(calls); configs.len()];
    for _ in 0..ROUNDS {
        for (i, (_, c)) in configs.iter().enumerate() {
            for _ in 0..calls / ROUNDS {
                let t = Instant::now();
                c.get_follow_user_list(&GetFollowUserListRequest::new()).await?;
                samples[i].push(t.elapsed());
            }
        }
    }
    let pct = |v: &mut Vec<Duration>, p: usize| {
        v.sort();
        v[(v.len() * p / 100).min(v.len() - 1)]
    };
    let base = pct(&mut samples[0].clone(), 50);
    println!("{calls} sequential calls per configuration on loopback (stand-in; p50 / p90 per call):");
    for (i, (name, _)) in configs.iter().enumerate() {
        let p50 = pct(&mut samples[i], 50);
        let p90 = pct(&mut samples[i], 90);
        let over = p50.as_secs_f64() * 1e6 - base.as_secs_f64() * 1e6;
        println!(
            "  {name:<36} p50 {:>7.1} µs   p90 {:>7.1} µs   overhead (p50) {over:>+7.1} µs",
            p50.as_secs_f64() * 1e6,
            p90.as_secs_f64() * 1e6
        );
    }
    Ok(())
}

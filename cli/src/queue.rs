//! `wecom callback queue stats|dead|replay`: inspect and operate the durable callback queue in Redis.

use crate::fail::Fail;
use clap::{Args, Subcommand};
use serde_json::json;
use std::time::Duration;
use wecom_externalcontact::callback::RedisQueue;

#[derive(Subcommand, Debug)]
pub(crate) enum QueueCommand {
    /// Per shard: entries, waiting, in flight, the oldest unhandled event's age, the worker holding it;
    /// and the number of dead letters.
    #[command(after_help = STATS_HELP)]
    Stats {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        redis: RedisArgs,
    },
    /// List the dead letters (events whose handler failed every attempt), oldest first.
    #[command(after_help = DEAD_HELP)]
    Dead {
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Print JSON lines (without the decrypted message) instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        redis: RedisArgs,
    },
    /// Put a dead letter back at the end of its shard, to be handled again (attempts start from 1).
    #[command(after_help = REPLAY_HELP)]
    Replay {
        /// The dead letter's id, as `wecom callback queue dead` lists it.
        id: String,
        #[command(flatten)]
        redis: RedisArgs,
    },
}

const STATS_HELP: &str = "\
Examples:
  export WECOM_REDIS_URL=redis://127.0.0.1:6379/
  wecom callback queue stats
  wecom callback queue stats --json | jq '.pending'

Exit codes: 0 printed; 3 WECOM_REDIS_URL missing or malformed; 4 Redis unreachable.";

const DEAD_HELP: &str = "\
Examples:
  wecom callback queue dead
  wecom callback queue dead --json | jq -r .id

Exit codes: 0 listed; 3 WECOM_REDIS_URL missing or malformed; 4 Redis unreachable.";

const REPLAY_HELP: &str = "\
Examples:
  wecom callback queue replay 1733212345678-0

Exit codes: 0 replayed (the new entry id is printed); 2 no dead letter with this id;
3 WECOM_REDIS_URL missing or malformed; 4 Redis unreachable.";

/// Where the queue is. The URL may hold a password: its value is never shown.
#[derive(Args, Debug)]
pub(crate) struct RedisArgs {
    /// The Redis the receivers and workers use (`redis://[:password@]host:port/db`).
    #[arg(long = "redis-url", env = "WECOM_REDIS_URL", hide_env_values = true)]
    redis_url: Option<String>,
    /// The queue's key prefix.
    #[arg(long, env = "WECOM_CALLBACK_QUEUE_PREFIX", default_value = RedisQueue::DEFAULT_PREFIX)]
    prefix: String,
}

impl RedisArgs {
    async fn queue(&self) -> Result<RedisQueue, Fail> {
        let url = self
            .redis_url
            .as_deref()
            .filter(|u| !u.is_empty())
            .ok_or_else(|| Fail::config("WECOM_REDIS_URL is not set (or pass --redis-url)"))?;
        let queue = RedisQueue::open(url)
            .map_err(|e| Fail::config(e.to_string()))?
            .prefix(self.prefix.clone());
        queue.with_recorded_shards().await.map_err(unreachable)
    }
}

/// A Redis failure: the network kind of exit.
fn unreachable(e: wecom_externalcontact::Error) -> Fail {
    Fail {
        code: crate::fail::EXIT_TRANSPORT,
        message: e.to_string(),
    }
}

fn age(age: Option<Duration>) -> String {
    match age {
        None => "-".into(),
        Some(d) if d < Duration::from_secs(1) => format!("{}ms", d.as_millis()),
        Some(d) => format!("{:.1}s", d.as_secs_f64()),
    }
}

/// Runs a queue command.
pub(crate) async fn run(cmd: QueueCommand) -> Result<(), Fail> {
    match cmd {
        QueueCommand::Stats { json, redis } => {
            let stats = redis.queue().await?.stats().await.map_err(unreachable)?;
            if json {
                let shards: Vec<_> = stats
                    .shards
                    .iter()
                    .map(|s| {
                        json!({
                            "shard": s.shard, "length": s.length, "waiting": s.waiting,
                            "in_flight": s.in_flight, "pending": s.pending(),
                            "oldest_age_ms": s.oldest_age.map(|a| a.as_millis() as u64),
                            "held_by": s.held_by,
                        })
                    })
                    .collect();
                let out = json!({
                    "pending": stats.pending(), "dead": stats.dead,
                    "oldest_age_ms": stats.oldest_age().map(|a| a.as_millis() as u64), "shards": shards,
                });
                println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            } else {
                println!(
                    "{:>5} {:>8} {:>8} {:>9} {:>10}  held by",
                    "shard", "entries", "waiting", "in flight", "oldest"
                );
                for s in &stats.shards {
                    println!(
                        "{:>5} {:>8} {:>8} {:>9} {:>10}  {}",
                        s.shard,
                        s.length,
                        s.waiting,
                        s.in_flight,
                        age(s.oldest_age),
                        s.held_by.as_deref().unwrap_or("-")
                    );
                }
                println!(
                    "pending {}, oldest {}, dead letters {}",
                    stats.pending(),
                    age(stats.oldest_age()),
                    stats.dead
                );
            }
            Ok(())
        }
        QueueCommand::Dead { limit, json, redis } => {
            let dead = redis.queue().await?.dead_letters(limit).await.map_err(unreachable)?;
            if !json {
                println!(
                    "{:<20} {:>5} {:>8}  {:<18} {:<40} entity",
                    "id", "shard", "attempts", "error", "event"
                );
            }
            for letter in &dead {
                let event = letter.event();
                let name = event
                    .as_ref()
                    .map(|e| format!("{}/{}", e.event_name().unwrap_or("?"), e.change_type().unwrap_or("")))
                    .unwrap_or_else(|| "undecodable".into());
                if json {
                    let line = json!({
                        "id": letter.id, "shard": letter.shard, "origin": letter.origin,
                        "attempts": letter.attempts, "error": letter.error, "detail": letter.detail,
                        "event": name, "entity": letter.entity,
                        "received_ms": letter.received_ms, "failed_ms": letter.failed_ms,
                    });
                    println!("{line}");
                } else {
                    let shard = letter.shard.map_or("-".to_string(), |s| s.to_string());
                    println!(
                        "{:<20} {:>5} {:>8}  {:<18} {:<40} {}",
                        letter.id,
                        shard,
                        letter.attempts,
                        letter.error,
                        name,
                        letter.entity.as_deref().unwrap_or("-")
                    );
                    if !letter.detail.is_empty() {
                        println!("{:<20} {}", "", letter.detail);
                    }
                }
            }
            if !json {
                eprintln!("{} dead letter(s)", dead.len());
            }
            Ok(())
        }
        QueueCommand::Replay { id, redis } => {
            let queue = redis.queue().await?;
            match queue.replay(&id).await {
                Ok(new_id) => {
                    println!("{new_id}");
                    Ok(())
                }
                Err(e) => {
                    let dead = queue.dead_letters(usize::MAX).await.map_err(unreachable)?;
                    if dead.iter().any(|d| d.id == id) {
                        Err(unreachable(e))
                    } else {
                        Err(Fail::usage(format!(
                            "no dead letter with id {id}; `wecom callback queue dead` lists them"
                        )))
                    }
                }
            }
        }
    }
}

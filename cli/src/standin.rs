//! `wecom standin`: the embedded stand-in as a standalone server.

use crate::fail::Fail;
use serde::Deserialize;
use std::io::Write;
use std::path::Path;
use wecom_externalcontact::catalog::RateBudget;
use wecom_externalcontact::standin::{StandIn, StandInConfig, StandInLimits, WorldConfig};

/// The `--config` file.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    corp_id: Option<String>,
    secret: Option<String>,
    token_ttl_secs: Option<u64>,
    pages: Option<usize>,
    customers: Option<Customers>,
    world: Option<World>,
    limits: Option<Limits>,
}

/// WeCom's limits, enforced: every endpoint's budget (per minute and per hour), budgets of single endpoints,
/// a concurrency beyond which calls get 45033, and the length of the "minute" in milliseconds.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Limits {
    per_minute: Option<u32>,
    per_hour: Option<u32>,
    #[serde(default)]
    endpoints: std::collections::BTreeMap<String, Budget>,
    max_concurrency: Option<usize>,
    minute_ms: Option<u64>,
}

/// One endpoint's budget.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Budget {
    per_minute: u32,
    per_hour: u32,
}

/// A world of these sizes (the short form of `world`, kept from before the world had more).
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Customers {
    members: usize,
    customers: usize,
}

/// The stand-in's world: every key optional (the default world's value).
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct World {
    seed: Option<u64>,
    members: Option<usize>,
    customers: Option<usize>,
    tag_groups: Option<usize>,
    tags_per_group: Option<usize>,
    strategy_tag_groups: Option<usize>,
    group_chats: Option<usize>,
    unlicensed: Option<usize>,
}

/// The world `file` describes (`world`, or the short form `customers`), checked against the sizes a
/// stand-in can hold.
fn world_from(file: &ConfigFile, path: &Path) -> Result<Option<WorldConfig>, Fail> {
    let mut w = match (&file.world, &file.customers) {
        (Some(_), Some(_)) => {
            return Err(Fail::config(format!(
                "{}: give `world` or its short form `customers`, not both",
                path.display()
            )))
        }
        (None, None) => return Ok(None),
        (None, Some(c)) => WorldConfig::sized(c.members, c.customers),
        (Some(_), None) => WorldConfig::default(),
    };
    if let Some(f) = &file.world {
        let d = WorldConfig::default();
        w = WorldConfig {
            seed: f.seed.unwrap_or(d.seed),
            members: f.members.unwrap_or(d.members),
            customers: f.customers.unwrap_or(d.customers),
            tag_groups: f.tag_groups.unwrap_or(d.tag_groups),
            tags_per_group: f.tags_per_group.unwrap_or(d.tags_per_group),
            strategy_tag_groups: f.strategy_tag_groups.unwrap_or(d.strategy_tag_groups),
            group_chats: f.group_chats.unwrap_or(d.group_chats),
            unlicensed: f.unlicensed.unwrap_or(d.unlicensed),
        };
    }
    let bad = [
        (w.members == 0 || w.members > 100_000, "members must be 1 to 100000"),
        (w.customers > 10_000_000, "customers must be at most 10000000"),
        (w.unlicensed > w.members, "unlicensed must be at most members"),
        (
            w.tag_groups > 1000 || w.strategy_tag_groups > 1000,
            "tag groups must be at most 1000",
        ),
        (w.tags_per_group > 1000, "tags_per_group must be at most 1000"),
        (w.group_chats > 1_000_000, "group_chats must be at most 1000000"),
    ];
    match bad.iter().find(|(b, _)| *b) {
        Some((_, why)) => Err(Fail::config(format!("{}: world: {why}", path.display()))),
        None => Ok(Some(w)),
    }
}

/// Reads the stand-in's configuration from a `--config` file.
fn config_from(path: Option<&Path>) -> Result<StandInConfig, Fail> {
    let mut config = StandInConfig::default();
    let Some(path) = path else {
        return Ok(config);
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| Fail::config(format!("cannot read {}: {e}", path.display())))?;
    let file: ConfigFile = serde_json::from_str(&text).map_err(|e| Fail::config(format!("{}: {e}", path.display())))?;
    config.world = world_from(&file, path)?;
    if let Some(v) = file.corp_id {
        config.corp_id = v;
    }
    if let Some(v) = file.secret {
        config.secret = v;
    }
    if let Some(v) = file.token_ttl_secs {
        config.token_ttl_secs = v;
    }
    if let Some(v) = file.pages {
        config.pages = v;
    }
    if let Some(l) = file.limits {
        let mut limits = StandInLimits::default();
        if l.per_minute.is_some() || l.per_hour.is_some() {
            let per_minute = l.per_minute.unwrap_or(u32::MAX / 60);
            limits.budget = Some(RateBudget::new(
                per_minute,
                l.per_hour.unwrap_or(per_minute.saturating_mul(60)),
            ));
        }
        for (path, b) in l.endpoints {
            limits = limits.endpoint(&path, RateBudget::new(b.per_minute, b.per_hour));
        }
        if let Some(n) = l.max_concurrency {
            limits = limits.max_concurrency(n);
        }
        if let Some(ms) = l.minute_ms {
            limits = limits.minute(std::time::Duration::from_millis(ms));
        }
        config.limits = Some(limits);
    }
    Ok(config)
}

/// Runs the stand-in until Ctrl-C or SIGTERM. The first stdout line tells where it is and its credentials
/// (made-up ones, for tests: printing them is the point).
pub(crate) async fn run(port: u16, config: Option<&Path>) -> Result<(), Fail> {
    let config = config_from(config)?;
    let customers = config.world.as_ref().map(|w| (w.members, w.customers));
    let standin = StandIn::start_on(config, port)
        .await
        .map_err(|e| Fail::config(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
    let line = serde_json::json!({
        "base_url": standin.base_url(),
        "corp_id": standin.corp_id(),
        "secret": standin.secret(),
    });
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}").and_then(|_| out.flush()).map_err(Fail::io)?;
    }
    match customers {
        Some((m, c)) => eprintln!(
            "wecom standin: listening on {} with {c} customers across {m} members; Ctrl-C stops it",
            standin.base_url()
        ),
        None => eprintln!(
            "wecom standin: listening on {} (answers are the official examples); Ctrl-C stops it",
            standin.base_url()
        ),
    }
    shutdown_signal().await;
    eprintln!("wecom standin: stopped after {} requests", standin.requests().len());
    Ok(())
}

#[cfg(unix)]
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

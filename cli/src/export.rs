//! `wecom export customers`: every customer of every member with 客户联系, as JSON Lines.
//!
//! Members come from `get_follow_user_list`; their customers from the `batch/get_by_user` stream, one
//! stream per chunk of 100 members (the documented cap), each following its cursor to the end. Chunks run a
//! few at a time (`--jobs`); every request goes through the crate's `Client`, so its token handling,
//! timeout and whatever retry and concurrency settings it has apply. A customer followed by several members is written once,
//! with one `follow_info` per member.
//!
//! With `--out FILE`, each finished chunk is appended to `FILE.partial` (its items, then a `done` marker),
//! and the result is written to a temporary file beside FILE and renamed over it at the end, so FILE is
//! never half-written. A rerun after a failure or Ctrl-C reuses the finished chunks of `FILE.partial` when
//! the member list is unchanged.
//!
//! Calls keep to WeCom's frequency limits through the client's rate budgets ([`BudgetArgs`]: the share of
//! the budget, how long a call may wait, off, and fleet budgets shared through Redis).

use crate::fail::Fail;
use crate::Conn;
use clap::Args;
use futures_util::{StreamExt, TryStreamExt};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wecom_externalcontact::models::{BatchGetByUserRequest, GetFollowUserListRequest};
use wecom_externalcontact::token::RedisTokenStore;
use wecom_externalcontact::{Budgets, Client};

/// The documented cap of `userid_list` in `batch/get_by_user`.
const MEMBERS_PER_REQUEST: usize = 100;

/// Options of `wecom export customers`.
#[derive(Args, Debug)]
pub(crate) struct CustomersArgs {
    /// Write to this file (atomically, resumable) instead of stdout.
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// How many 100-member chunks to fetch at once.
    #[arg(long, short, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: u16,
    /// Page size of batch/get_by_user (WeCom caps it at 100).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100))]
    limit: u32,
    /// Plain progress lines on stderr even on a terminal (no bar); `--quiet` prints none.
    #[arg(long, conflicts_with = "quiet")]
    plain: bool,
    /// No progress output, only errors.
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    conn: Conn,
    #[command(flatten)]
    budgets: BudgetArgs,
}

/// The rate budgets of the export's calls (WeCom's frequency limits: per corp and API 10,000 calls a
/// minute and 150,000 an hour; over them WeCom answers 45009 and blocks the API for the corp).
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Rate budgets (WeCom's frequency limits)")]
pub(crate) struct BudgetArgs {
    /// The share (0 < SHARE ≤ 1) of WeCom's per-corp budget this export may use, leaving the rest to the
    /// corp's other apps and jobs (e.g. 0.5).
    #[arg(long, env = "WECOM_BUDGET_SHARE", value_name = "SHARE", default_value_t = 1.0, value_parser = share)]
    budget_share: f64,
    /// The longest a call waits for a permit of its budget, or for a 45009 block to end, in seconds; a call
    /// that would wait longer fails the export (exit 4).
    #[arg(long, value_name = "SECS", default_value_t = 60.0, value_parser = seconds)]
    budget_max_wait: f64,
    /// Never wait: a call over its budget fails the export at once (as --budget-max-wait 0).
    #[arg(long, conflicts_with = "budget_max_wait")]
    budget_fail_fast: bool,
    /// No rate budgets: calls go out as fast as --jobs and --max-concurrency let them, and WeCom may answer
    /// 45009 (--budget-share and --budget-redis, from flags or the environment, are then ignored).
    #[arg(long, conflicts_with_all = ["budget_max_wait", "budget_fail_fast"])]
    no_budgets: bool,
    /// Share the budgets and the 45009 blocks with every process using this Redis (redis://host:port/db),
    /// e.g. several exports, or services calling WeCom for the same corp.
    #[arg(long, env = "WECOM_BUDGET_REDIS_URL", value_name = "URL")]
    budget_redis: Option<String>,
    /// With --budget-redis: the share of each budget this process keeps to while Redis is unreachable
    /// (e.g. 0.25 for one of four processes).
    #[arg(long, value_name = "SHARE", default_value_t = 0.25, value_parser = share, requires = "budget_redis")]
    budget_fallback_share: f64,
}

/// A share of a budget: a number in (0, 1].
fn share(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 1.0 => Ok(v),
        _ => Err("a share is a number greater than 0 and at most 1".into()),
    }
}

/// A wait in seconds: 0 to 3600.
fn seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=3600.0).contains(&v) => Ok(v),
        _ => Err("seconds from 0 to 3600 (fractions allowed)".into()),
    }
}

impl BudgetArgs {
    /// The client's budgets these options ask for. A malformed Redis URL is a configuration error (its
    /// text, which may hold a password, is not repeated).
    fn budgets(&self) -> Result<Budgets, Fail> {
        if self.no_budgets {
            return Ok(Budgets::off());
        }
        let wait = if self.budget_fail_fast {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(self.budget_max_wait)
        };
        let budgets = Budgets::default().share(self.budget_share).max_wait(wait);
        Ok(match &self.budget_redis {
            Some(url) => {
                let store = RedisTokenStore::new(url).map_err(|e| Fail::config(format!("--budget-redis: {e}")))?;
                budgets.fleet(Arc::new(store), self.budget_fallback_share)
            }
            None => budgets,
        })
    }
}

/// Progress on stderr: a bar on a terminal, otherwise a line per finished chunk.
struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    started: Instant,
    members_total: usize,
    members_done: usize,
    records: usize,
}

impl Progress {
    fn new(members_total: usize, args: &CustomersArgs) -> Progress {
        let bar = (!args.quiet && !args.plain && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(Some(members_total as u64), ProgressDrawTarget::stderr());
            let style =
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} members  {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        let plain = !args.quiet && bar.is_none();
        Progress {
            bar,
            plain,
            started: Instant::now(),
            members_total,
            members_done: 0,
            records: 0,
        }
    }

    fn chunk_done(&mut self, members: usize, records: usize, resumed: bool) {
        self.members_done += members;
        self.records += records;
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = self.records as f64 / secs;
        let msg = format!("{} customer records, {rate:.0}/s", self.records);
        if let Some(bar) = &self.bar {
            bar.set_position(self.members_done as u64);
            bar.set_message(msg);
        } else if self.plain {
            let how = if resumed { " (from the previous run)" } else { "" };
            eprintln!(
                "export: {}/{} members, {msg}{how}",
                self.members_done, self.members_total
            );
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The finished chunks of an interrupted run, kept in `FILE.partial`.
struct Partial {
    path: PathBuf,
    file: std::fs::File,
}

impl Partial {
    fn path_for(out: &Path) -> PathBuf {
        let mut name = out.file_name().unwrap_or_default().to_os_string();
        name.push(".partial");
        out.with_file_name(name)
    }

    /// Opens `FILE.partial`, returning the chunks finished by a previous run with the same member list.
    fn open(out: &Path, members: &[String]) -> Result<(Partial, BTreeMap<usize, Vec<Value>>), Fail> {
        let path = Self::path_for(out);
        let header = json!({ "wecom_export": "customers", "members": members });
        let mut done: BTreeMap<usize, Vec<Value>> = BTreeMap::new();
        let mut reuse = false;
        if let Ok(f) = std::fs::File::open(&path) {
            let mut lines = std::io::BufReader::new(f).lines();
            if let Some(Ok(first)) = lines.next() {
                reuse = serde_json::from_str::<Value>(&first).ok().as_ref() == Some(&header);
            }
            if reuse {
                let mut pending: HashMap<usize, Vec<Value>> = HashMap::new();
                for line in lines {
                    // A line cut short by an interruption ends what can be trusted.
                    let Ok(line) = line else { break };
                    let Ok(v) = serde_json::from_str::<Value>(&line) else {
                        break;
                    };
                    let Some(chunk) = v["chunk"].as_u64().map(|c| c as usize) else {
                        break;
                    };
                    if v.get("done").is_some() {
                        done.insert(chunk, pending.remove(&chunk).unwrap_or_default());
                    } else {
                        pending.entry(chunk).or_default().push(v["item"].clone());
                    }
                }
            }
        }
        // Rewrite the file with exactly what is reused: no torn tail, no chunk of another member list.
        let tmp = path.with_extension("partial.tmp");
        let write = || -> std::io::Result<()> {
            let mut w = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
            writeln!(w, "{header}")?;
            for (chunk, items) in &done {
                for item in items {
                    writeln!(w, "{}", json!({ "chunk": chunk, "item": item }))?;
                }
                writeln!(w, "{}", json!({ "chunk": chunk, "done": true }))?;
            }
            w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|e| Fail::config(format!("cannot write {}: {e}", path.display())))?;
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| Fail::config(format!("cannot open {}: {e}", path.display())))?;
        Ok((Partial { path, file }, done))
    }

    /// Appends a finished chunk in one write.
    fn record(&mut self, chunk: usize, items: &[Value]) -> Result<(), Fail> {
        let mut buf = String::new();
        for item in items {
            buf.push_str(&json!({ "chunk": chunk, "item": item }).to_string());
            buf.push('\n');
        }
        buf.push_str(&json!({ "chunk": chunk, "done": true }).to_string());
        buf.push('\n');
        self.file
            .write_all(buf.as_bytes())
            .map_err(|e| Fail::config(format!("cannot write {}: {e}", self.path.display())))
    }
}

/// Fetches every customer record (customer, one follow_info) of one chunk of members.
async fn fetch_chunk(client: Client, members: Vec<String>, limit: u32) -> Result<Vec<Value>, Fail> {
    let request = BatchGetByUserRequest::new(members).limit(limit);
    let items: Vec<_> = client.batch_get_by_user_stream(request).try_collect().await?;
    items
        .into_iter()
        .map(|i| serde_json::to_value(i).map_err(|e| Fail::config(format!("cannot encode a customer: {e}"))))
        .collect()
}

/// Groups records by customer, in first-seen order: one line per customer with every follow_info.
fn group(chunks: BTreeMap<usize, Vec<Value>>) -> (Vec<Value>, usize) {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<(Value, Vec<Value>)> = Vec::new();
    let mut records = 0;
    for (_, items) in chunks {
        for mut item in items {
            records += 1;
            let contact = item["external_contact"].take();
            let follow = item["follow_info"].take();
            let id = contact["external_userid"].as_str().unwrap_or_default().to_string();
            match index.get(&id) {
                Some(&i) => {
                    let follows = &mut out[i].1;
                    // The same member listed twice (in two chunks) is still one follower.
                    if !follows.iter().any(|f| f["userid"] == follow["userid"]) {
                        follows.push(follow);
                    }
                }
                None => {
                    index.insert(id, out.len());
                    out.push((contact, vec![follow]));
                }
            }
        }
    }
    let lines = out
        .into_iter()
        .map(|(c, f)| json!({ "external_contact": c, "follow_info": f }))
        .collect();
    (lines, records)
}

fn write_lines(w: &mut impl Write, lines: &[Value]) -> std::io::Result<()> {
    for line in lines {
        serde_json::to_writer(&mut *w, line)?;
        w.write_all(b"\n")?;
    }
    w.flush()
}

/// Runs the export.
pub(crate) async fn customers(args: CustomersArgs) -> Result<(), Fail> {
    let started = Instant::now();
    let client = args
        .conn
        .builder()?
        .budgets(args.budgets.budgets()?)
        .build()
        .map_err(Fail::from)?;
    let members = client
        .get_follow_user_list(&GetFollowUserListRequest::new())
        .await?
        .follow_user;
    let mut seen = std::collections::HashSet::new();
    let members: Vec<String> = members.into_iter().filter(|m| seen.insert(m.clone())).collect();
    let chunks: Vec<Vec<String>> = members.chunks(MEMBERS_PER_REQUEST).map(<[String]>::to_vec).collect();

    let (mut partial, mut done) = match &args.out {
        Some(out) => {
            let (p, d) = Partial::open(out, &members)?;
            (Some(p), d)
        }
        None => (None, BTreeMap::new()),
    };
    let mut progress = Progress::new(members.len(), &args);
    for (i, items) in &done {
        progress.chunk_done(chunks.get(*i).map_or(0, Vec::len), items.len(), true);
    }

    let todo: Vec<(usize, Vec<String>)> = chunks
        .iter()
        .cloned()
        .enumerate()
        .filter(|(i, _)| !done.contains_key(i))
        .collect();
    let limit = args.limit;
    let mut results = futures_util::stream::iter(todo.into_iter().map(|(i, chunk)| {
        let client = client.clone();
        let n = chunk.len();
        async move { fetch_chunk(client, chunk, limit).await.map(|items| (i, n, items)) }
    }))
    .buffer_unordered(usize::from(args.jobs));
    while let Some(result) = results.next().await {
        let (i, n, items) = match result {
            Ok(r) => r,
            Err(f) => {
                progress.finish();
                let hint = match &partial {
                    Some(p) if !done.is_empty() => {
                        format!(" ({} chunks kept in {}; rerun to resume)", done.len(), p.path.display())
                    }
                    _ => String::new(),
                };
                return Err(Fail {
                    code: f.code,
                    message: format!("{}{hint}", f.message),
                });
            }
        };
        if let Some(p) = &mut partial {
            p.record(i, &items)?;
        }
        progress.chunk_done(n, items.len(), false);
        done.insert(i, items);
    }
    drop(results);
    progress.finish();

    let (lines, records) = group(done);
    match &args.out {
        Some(out) => {
            let mut tmp_name = out.file_name().unwrap_or_default().to_os_string();
            tmp_name.push(".tmp");
            let tmp = out.with_file_name(tmp_name);
            let write = || -> std::io::Result<()> {
                let mut w = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
                write_lines(&mut w, &lines)?;
                w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
                std::fs::rename(&tmp, out)
            };
            write().map_err(|e| Fail::config(format!("cannot write {}: {e}", out.display())))?;
            if let Some(p) = partial {
                drop(p.file);
                let _ = std::fs::remove_file(&p.path);
            }
        }
        None => write_lines(&mut std::io::stdout().lock(), &lines).map_err(Fail::io)?,
    }
    if !args.quiet {
        let to = args
            .out
            .as_ref()
            .map_or("stdout".to_string(), |o| o.display().to_string());
        eprintln!(
            "export: {} customers ({records} follow records) of {} members in {:.1} s to {to}",
            lines.len(),
            members.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

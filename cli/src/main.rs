//! `wecom`: the WeCom 客户联系 API from the shell, built on the `wecom-externalcontact` crate.
//!
//! `wecom endpoints`, `wecom call`, `wecom standin`, `wecom export customers`, `wecom callback verify|decrypt`,
//! `wecom drift`;
//! `wecom callback queue stats|dead|replay`;
//! `wecom --help` and `wecom <command> --help` print examples and the exit codes.

#![deny(missing_docs)]

mod callback;
mod drift;
mod export;
mod fail;
mod queue;
mod standin;

use clap::{Args, Parser, Subcommand};
use fail::{Fail, EXIT_CODES};
use serde_json::{json, Value};
use std::io::{IsTerminal, Read, Write};
use wecom_externalcontact::{catalog, Client, ClientBuilder, RetryPolicy, DEFAULT_BASE_URL};

/// The WeCom (企业微信) 客户联系 API from the shell: the endpoint catalog, calls with your credentials, a
/// local stand-in server for tests in any language, a full customer export, and callback debugging.
#[derive(Parser, Debug)]
#[command(name = "wecom", version, after_help = EXIT_CODES, after_long_help = TOP_EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

const TOP_EXAMPLES: &str = "\
Examples:
  wecom endpoints --group tag
  export WECOM_CORP_ID=ww0123456789abcdef WECOM_SECRET=…   # the 客户联系 secret
  wecom call externalcontact/get_follow_user_list
  wecom call externalcontact/get '{\"external_userid\":\"wmXXXX\"}'
  wecom standin --port 8080
  wecom export customers --out customers.jsonl

Exit codes: 0 success; 1 WeCom answered with an error (or a callback failed
its check); 2 bad usage or input; 3 configuration missing or wrong; 4 network,
timeout or an answer that does not decode.";

#[derive(Subcommand, Debug)]
enum Command {
    /// List the catalogued endpoints (path, method, Chinese name, doc link).
    #[command(
        after_help = "Examples:\n  wecom endpoints\n  wecom endpoints --group customer\n  wecom endpoints --json | jq '.[].path'"
    )]
    Endpoints {
        /// Only this group (the spec file / cargo feature, e.g. `tag`, `customer`, `groupchat`).
        #[arg(long, short)]
        group: Option<String>,
        /// Print a JSON array of endpoints instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Call any endpoint by path with a JSON request; prints the response JSON.
    ///
    /// The request is checked against the endpoint's typed model first (a misspelled or mistyped field is
    /// refused before anything is sent). GET endpoints take the object's fields as query parameters.
    /// Credentials come from WECOM_CORP_ID and WECOM_SECRET (the 客户联系 secret); the host from WECOM_BASE_URL.
    #[command(after_help = CALL_HELP)]
    Call {
        /// The path under /cgi-bin/, e.g. `externalcontact/get` (`wecom endpoints` lists them).
        path: String,
        /// The request JSON; `-` or absent reads it from stdin (absent on a terminal: `{}`).
        json: Option<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Run the embedded stand-in for WeCom as a standalone server until interrupted.
    ///
    /// Its first stdout line is one JSON object {"base_url": …, "corp_id": …, "secret": …}, so a test suite
    /// in any language can start it and read where it is and which credentials it takes. It answers
    /// `gettoken` and every catalogued endpoint with the official examples, checks tokens and request
    /// fields the way WeCom does, and with a `world` (one seeded corp) answers the customer, tag and group
    /// chat endpoints from it and lets the tag writes, mark_tag and remark change it.
    #[command(after_help = STANDIN_HELP)]
    Standin {
        /// The loopback port to listen on (default: a free one).
        #[arg(long, short, default_value_t = 0)]
        port: u16,
        /// A JSON file with the stand-in's options (see below).
        #[arg(long, short)]
        config: Option<std::path::PathBuf>,
    },
    /// Export data in bulk.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Check and decrypt a captured callback (token, EncodingAESKey and receive id from flags or env), or
    /// inspect the durable callback queue (`wecom callback queue stats|dead|replay`, WECOM_REDIS_URL).
    #[command(subcommand)]
    Callback(callback::CallbackCommand),
    /// Compare captured answers with the spec: the drift found and the YAML to add for it.
    ///
    /// Reads JSON lines {"path": "externalcontact/get", "body": {…}} and prints, per endpoint, each field
    /// the spec lacks (with its JSON kind), each kind that differs from the spec's type, each enum code
    /// outside the spec's list and each required field absent, then the YAML field entries to paste into
    /// the spec (names, types guessed from the JSON kinds, `doc` left empty). No value from the answers is
    /// printed, so the output can go into a public bug report. spec/README.md: from a report to a release.
    #[command(after_help = DRIFT_HELP)]
    Drift(drift::DriftArgs),
}

const DRIFT_HELP: &str = "\
Examples:
  wecom drift captured.jsonl
  wecom drift captured.jsonl --spec ./spec     # against an edited copy of spec/

Exit codes: 0 nothing drifted; 1 something did; 2 bad input (not JSON lines
of {\"path\", \"body\"}, or an endpoint the spec lacks); 3 the file or the
--spec copy cannot be read, or the copy has mistakes (listed as speccheck
lists them).";

#[derive(Subcommand, Debug)]
enum ExportCommand {
    /// Every customer of every member with 客户联系, with their follow info, as JSON Lines.
    ///
    /// Lists the members (get_follow_user_list), then pages through batch/get_by_user for 100 members per
    /// request, following every cursor. Writes one line per customer — {"external_contact": {…},
    /// "follow_info": [{…}, …]} with one follow_info per member who added them — each customer once.
    /// With --out the file appears only when complete (written beside it, then renamed); an interrupted
    /// export keeps the finished chunks in FILE.partial and the next run with the same --out resumes from
    /// them. Progress goes to stderr: a bar on a terminal, plain lines otherwise. Calls keep to WeCom's
    /// frequency limits (rate budgets: over budget a call waits; after a 45009 nothing calls that API until
    /// WeCom's block ends); the --budget-* options set the share, the wait, and a Redis shared by a fleet.
    #[command(after_help = EXPORT_HELP)]
    Customers(export::CustomersArgs),
}

const CALL_HELP: &str = "\
Examples:
  wecom call externalcontact/get_follow_user_list
  wecom call externalcontact/list '{\"userid\":\"zhangsan\"}'
  echo '{\"userid_list\":[\"zhangsan\"],\"limit\":100}' | wecom call externalcontact/batch/get_by_user
  WECOM_BASE_URL=http://127.0.0.1:8080 wecom call externalcontact/get_corp_tag_list '{}'

Exit codes: 0 success; 1 WeCom answered with an error (errcode ≠ 0); 2 bad
usage, invalid JSON, unknown endpoint or a request that does not fit the
endpoint; 3 credentials missing; 4 network, timeout or decode error.";

const STANDIN_HELP: &str = "\
Config file (JSON; every key optional):
  {\"corp_id\": \"standin-corp\", \"secret\": \"standin-secret\",
   \"token_ttl_secs\": 7200, \"pages\": 3,
   \"world\": {\"seed\": 1, \"members\": 8, \"customers\": 100, \"tag_groups\": 3,
             \"tags_per_group\": 4, \"strategy_tag_groups\": 1,
             \"group_chats\": 10, \"unlicensed\": 0}}
  world: one seeded corp (every key optional; these are the defaults):
  members (member001…), customers spread over them (every fourth followed by
  two members) with remarks and tags from the tag library, strategy tags,
  group chats, and `unlicensed` members without a 互通 licence (in
  batch/get_by_user's fail_info). The customer, tag and group chat endpoints
  answer from it; add/edit/del_corp_tag, mark_tag and remark change it. The
  same seed gives the same world.
  {\"customers\": {\"members\": 8, \"customers\": 400}} is short for a world of
  those sizes.

Examples:
  wecom standin --port 8080
  wecom standin --config standin.json
  python: p = subprocess.Popen([\"wecom\", \"standin\"], stdout=PIPE)
          info = json.loads(p.stdout.readline())

Exit codes: 0 stopped by Ctrl-C or SIGTERM; 2 bad usage; 3 unreadable config
or port in use.";

const EXPORT_HELP: &str = "\
Examples:
  wecom export customers --out customers.jsonl
  wecom export customers | jq -c '[.external_contact.name, (.follow_info | length)]'
  wecom export customers --out c.jsonl --budget-share 0.5 --budget-max-wait 300
  wecom export customers --out c.jsonl --budget-redis redis://127.0.0.1:6379/

Exit codes: 0 success; 1 WeCom answered with an error; 3 credentials missing or
the output not writable; 4 network, timeout or decode error, or a call over its
rate budget longer than --budget-max-wait. Rerunning after a failure resumes
from FILE.partial.";

/// Where to call and with which credentials.
#[derive(Args, Debug, Clone)]
pub struct Conn {
    /// The corp id (企业ID).
    #[arg(long, env = "WECOM_CORP_ID")]
    corp_id: Option<String>,
    /// The API host.
    #[arg(long, env = "WECOM_BASE_URL", default_value = DEFAULT_BASE_URL)]
    base_url: String,
    /// Attempts in all for reads on a retryable errcode (-1, 6000, 41063) or a failure before any answer (1: no
    /// retries; writes are never retried).
    #[arg(long, env = "WECOM_ATTEMPTS", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=10))]
    attempts: u32,
    /// At most this many requests in flight at once (the rest queue); unlimited by default.
    #[arg(long, env = "WECOM_MAX_CONCURRENCY", value_parser = clap::value_parser!(u64).range(1..=1000))]
    max_concurrency: Option<u64>,
}

impl Conn {
    /// A client from the flags and WECOM_SECRET (the secret is read from the environment only, never a flag,
    /// so it does not show in the process list or shell history).
    pub fn client(&self) -> Result<Client, Fail> {
        self.builder()?.build().map_err(Fail::from)
    }

    /// The client's builder from the flags and WECOM_SECRET, for commands that set more (e.g. budgets).
    pub fn builder(&self) -> Result<ClientBuilder, Fail> {
        let corp_id = self
            .corp_id
            .clone()
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| Fail::config("WECOM_CORP_ID is not set (or pass --corp-id)"))?;
        let secret = std::env::var("WECOM_SECRET")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| Fail::config("WECOM_SECRET is not set (the 客户联系 secret)"))?;
        let mut builder = Client::builder()
            .corp_id(corp_id)
            .secret(secret)
            .base_url(self.base_url.clone())
            .retry_policy(RetryPolicy::default().max_attempts(self.attempts));
        if let Some(n) = self.max_concurrency.and_then(|n| usize::try_from(n).ok()) {
            builder = builder.max_concurrency(n);
        }
        Ok(builder)
    }
}

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => fail::exit(Fail::config(format!("cannot start the async runtime: {e}"))),
    };
    if let Err(f) = runtime.block_on(run(cli.command)) {
        fail::exit(f);
    }
}

async fn run(command: Command) -> Result<(), Fail> {
    match command {
        Command::Endpoints { group, json } => endpoints(group.as_deref(), json),
        Command::Call { path, json, conn } => call(&path, json, &conn).await,
        Command::Standin { port, config } => standin::run(port, config.as_deref()).await,
        Command::Export(ExportCommand::Customers(args)) => export::customers(args).await,
        Command::Callback(cmd) => callback::run(cmd).await,
        Command::Drift(args) => drift::run(args),
    }
}

fn endpoints(group: Option<&str>, as_json: bool) -> Result<(), Fail> {
    let all = catalog::endpoints();
    if let Some(g) = group {
        if !all.iter().any(|e| e.group == g) {
            let groups: std::collections::BTreeSet<&str> = all.iter().map(|e| e.group).collect();
            let groups: Vec<&str> = groups.into_iter().collect();
            return Err(Fail::usage(format!("no group `{g}`; groups: {}", groups.join(", "))));
        }
    }
    let list: Vec<&catalog::Endpoint> = all.iter().filter(|e| group.is_none_or(|g| e.group == g)).collect();
    let mut out = std::io::stdout().lock();
    let res = if as_json {
        let items: Vec<Value> = list
            .iter()
            .map(|e| {
                json!({
                    "path": e.path,
                    "method": e.method.as_str(),
                    "name": e.name,
                    "name_zh": e.name_zh,
                    "summary": e.summary,
                    "group": e.group,
                    "doc_url": e.doc_url,
                    "token": e.token.query_name(),
                    "deprecated": e.deprecated,
                    "upload": e.upload,
                    "paged": e.paging.is_some(),
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&items).unwrap_or_default())
    } else {
        let width = list.iter().map(|e| e.path.len()).max().unwrap_or(0);
        list.iter().try_for_each(|e| {
            writeln!(
                out,
                "{:<4} {:<width$}  {}  {}{}",
                e.method.as_str(),
                e.path,
                e.name_zh,
                e.doc_url,
                if e.deprecated.is_some() { "  (deprecated)" } else { "" }
            )
        })
    };
    res.map_err(Fail::io)
}

async fn call(path: &str, arg: Option<String>, conn: &Conn) -> Result<(), Fail> {
    if catalog::endpoint(path).is_none() {
        return Err(Fail::usage(format!(
            "no endpoint `{path}` in the catalog (`wecom endpoints` lists them)"
        )));
    }
    let from_stdin = match arg.as_deref() {
        Some("-") => true,
        Some(_) => false,
        None => !std::io::stdin().is_terminal(),
    };
    let text = if from_stdin {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Fail::usage(format!("cannot read the request from stdin: {e}")))?;
        s
    } else {
        arg.unwrap_or_default()
    };
    let text = if text.trim().is_empty() { "{}" } else { text.as_str() };
    let request: Value =
        serde_json::from_str(text).map_err(|e| Fail::usage(format!("the request is not valid JSON: {e}")))?;
    if !request.is_object() {
        return Err(Fail::usage("the request must be a JSON object"));
    }
    let client = conn.client()?;
    let response = client.call(path, request).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string_pretty(&response).unwrap_or_default()).map_err(Fail::io)
}

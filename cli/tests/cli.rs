//! The `wecom` binary end to end: a standalone stand-in started as `wecom standin --port N` (its first stdout
//! line read for where it is), then `wecom call`, `wecom endpoints`, `wecom export customers` and
//! `wecom callback` against it, with their outputs and exit codes.
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use wecom_externalcontact::callback::CallbackCrypto;
use wecom_externalcontact::catalog;
use wecom_externalcontact::standin::{World, WorldConfig};

#[path = "../../tests/it/support/redis_server.rs"]
mod redis_server;
use redis_server::RedisServer;

const BIN: &str = env!("CARGO_BIN_EXE_wecom");

/// A `wecom standin` child process, killed when dropped.
struct StandinProcess {
    child: Child,
    info: Value,
}

impl Drop for StandinProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl StandinProcess {
    fn start(config: Option<&Path>) -> StandinProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = Command::new(BIN);
        cmd.args(["standin", "--port", &port.to_string()]);
        if let Some(c) = config {
            cmd.arg("--config").arg(c);
        }
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let info: Value = serde_json::from_str(&first).unwrap_or_else(|e| panic!("first line {first:?}: {e}"));
        assert_eq!(
            info["base_url"],
            format!("http://127.0.0.1:{port}"),
            "it listens on --port"
        );
        StandinProcess { child, info }
    }

    /// `wecom <args>` with this stand-in's credentials in the environment.
    fn wecom(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env("WECOM_BASE_URL", self.info["base_url"].as_str().unwrap())
            .env("WECOM_CORP_ID", self.info["corp_id"].as_str().unwrap())
            .env("WECOM_SECRET", self.info["secret"].as_str().unwrap())
            .env_remove("WECOM_BUDGET_SHARE")
            .env_remove("WECOM_BUDGET_REDIS_URL");
        run(cmd, stdin)
    }
}

fn run(mut cmd: Command, stdin: Option<&str>) -> Output {
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn wecom_alone(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("WECOM_CORP_ID")
        .env_remove("WECOM_SECRET")
        .env_remove("WECOM_BASE_URL")
        .env_remove("WECOM_CALLBACK_TOKEN")
        .env_remove("WECOM_CALLBACK_AES_KEY")
        .env_remove("WECOM_CALLBACK_RECEIVE_ID")
        .env_remove("WECOM_REDIS_URL")
        .env_remove("WECOM_CALLBACK_QUEUE_PREFIX")
        .env_remove("WECOM_BUDGET_SHARE")
        .env_remove("WECOM_BUDGET_REDIS_URL")
        .envs(env.iter().copied());
    run(cmd, Some(""))
}

fn stdout_json(o: &Output) -> Value {
    assert!(o.status.success(), "failed: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn call_goes_through_the_standalone_standin() {
    let s = StandinProcess::start(None);
    // GET with no request: the official example answer, errcode/errmsg handled by the client.
    let v = stdout_json(&s.wecom(&["call", "externalcontact/get_follow_user_list"], None));
    assert_eq!(v["follow_user"], serde_json::json!(["zhangsan", "lissi"]));
    assert!(v.get("errcode").is_none());
    // POST from the argument and from stdin, with a leading /cgi-bin/.
    let v = stdout_json(&s.wecom(
        &[
            "call",
            "externalcontact/batch/get_by_user",
            r#"{"userid_list":["zhangsan"],"limit":10}"#,
        ],
        None,
    ));
    assert!(v["external_contact_list"].as_array().is_some_and(|a| !a.is_empty()));
    let v = stdout_json(&s.wecom(
        &["call", "/cgi-bin/externalcontact/list", "-"],
        Some(r#"{"userid":"zhangsan"}"#),
    ));
    assert!(v["external_userid"].is_array());
}

#[test]
fn call_errors_are_messages_on_stderr_with_exit_codes() {
    let s = StandinProcess::start(None);
    // A misspelled field is refused before sending: usage error 2.
    let o = s.wecom(&["call", "externalcontact/list", r#"{"user_id":"zhangsan"}"#], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert!(stderr(&o).contains("unknown field `user_id`"), "{}", stderr(&o));
    // Not JSON, not an object, not an endpoint: 2.
    for args in [
        &["call", "externalcontact/list", "{"][..],
        &["call", "externalcontact/list", "[1]"],
        &["call", "externalcontact/nope", "{}"],
    ] {
        let o = s.wecom(args, None);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).starts_with("wecom: error: "), "{}", stderr(&o));
    }
    // WeCom's own error (a wrong secret): 1, and the secret is not printed.
    let mut cmd = Command::new(BIN);
    cmd.args(["call", "externalcontact/list", r#"{"userid":"zhangsan"}"#])
        .env("WECOM_BASE_URL", s.info["base_url"].as_str().unwrap())
        .env("WECOM_CORP_ID", "standin-corp")
        .env("WECOM_SECRET", "WRONG-secret-4711");
    let o = run(cmd, None);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("40001"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("WRONG-secret-4711"));
    // No credentials: 3. Nobody listening: 4.
    let o = wecom_alone(&["call", "externalcontact/list", r#"{"userid":"a"}"#], &[]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("WECOM_CORP_ID"), "{}", stderr(&o));
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{closed}");
    let o = wecom_alone(
        &["call", "externalcontact/list", r#"{"userid":"a"}"#],
        &[
            ("WECOM_CORP_ID", "c"),
            ("WECOM_SECRET", "s3cr3t-value"),
            ("WECOM_BASE_URL", &base),
        ],
    );
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(!stderr(&o).contains("s3cr3t-value"));
}

#[test]
fn endpoints_lists_the_catalog() {
    let v = stdout_json(&wecom_alone(&["endpoints", "--json"], &[]));
    let items = v.as_array().unwrap();
    assert_eq!(items.len(), catalog::endpoints().len());
    for (item, ep) in items.iter().zip(catalog::endpoints()) {
        assert_eq!(item["path"], ep.path);
        assert_eq!(item["method"], ep.method.as_str());
        assert_eq!(item["name_zh"], ep.name_zh);
        assert_eq!(item["doc_url"], ep.doc_url);
    }
    let v = stdout_json(&wecom_alone(&["endpoints", "--group", "tag", "--json"], &[]));
    let tag: Vec<_> = catalog::endpoints().iter().filter(|e| e.group == "tag").collect();
    assert_eq!(v.as_array().unwrap().len(), tag.len());
    assert!(v.as_array().unwrap().iter().all(|e| e["group"] == "tag"));
    let o = wecom_alone(&["endpoints", "--group", "tag"], &[]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert_eq!(text.lines().count(), tag.len());
    assert!(text.contains("externalcontact/get_corp_tag_list") && text.contains("获取企业标签库"));
    let o = wecom_alone(&["endpoints", "--group", "nope"], &[]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn endpoints_marks_the_deprecated_ones() {
    let o = wecom_alone(&["endpoints", "--group", "service"], &[]);
    let text = String::from_utf8(o.stdout).unwrap();
    for (path, deprecated) in [
        ("service/get_permanent_code", true),
        ("service/get_auth_info", true),
        ("service/get_admin_list", true),
        ("service/v2/get_permanent_code", false),
        ("service/v2/get_auth_info", false),
        ("agent/get_admin_list", false),
    ] {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().any(|w| w == path))
            .unwrap_or_else(|| panic!("{path} listed:\n{text}"));
        assert_eq!(line.contains("(deprecated)"), deprecated, "{line}");
    }
    let v = stdout_json(&wecom_alone(&["endpoints", "--group", "service", "--json"], &[]));
    let old = v
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "service/get_admin_list")
        .unwrap();
    assert!(
        old["deprecated"].as_str().unwrap().contains("agent_get_admin_list"),
        "{old}"
    );
}

/// Writes a stand-in config holding `members` members and `customers` customers.
fn dataset_config(dir: &Path, members: usize, customers: usize) -> PathBuf {
    let path = dir.join("standin.json");
    std::fs::write(
        &path,
        serde_json::json!({ "customers": { "members": members, "customers": customers } }).to_string(),
    )
    .unwrap();
    path
}

/// Reads an export: external_userid → the userids of its follow_info, asserting each customer appears once.
fn read_export(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let id = v["external_contact"]["external_userid"].as_str().unwrap().to_string();
        let follows: BTreeSet<String> = v["follow_info"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["userid"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            follows.len(),
            v["follow_info"].as_array().unwrap().len(),
            "{id}: a member twice"
        );
        assert!(out.insert(id.clone(), follows).is_none(), "{id} written twice");
    }
    out
}

/// What the export should hold for the world of `{"customers": {"members": …, "customers": …}}`.
fn expected(members: usize, customers: usize) -> BTreeMap<String, BTreeSet<String>> {
    let world = World::generate(&WorldConfig::sized(members, customers));
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (customer, follow) in world.follows() {
        out.entry(customer.external_userid.clone())
            .or_default()
            .insert(follow.userid.clone());
    }
    assert_eq!(out.len(), customers);
    out
}

#[test]
fn export_writes_each_customer_once_with_all_its_followers() {
    // 250 members: three batch/get_by_user chunks (100, 100, 50), each over several pages of 100.
    let dir = temp_dir("export");
    let s = StandinProcess::start(Some(&dataset_config(&dir, 250, 700)));
    let out = dir.join("customers.jsonl");
    let o = s.wecom(
        &["export", "customers", "--out", out.to_str().unwrap(), "--jobs", "2"],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.is_empty(), "with --out nothing goes to stdout");
    let got = read_export(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(got, expected(250, 700));
    assert!(got.values().any(|f| f.len() == 2), "some customers have two followers");
    // Not a terminal: plain progress lines, then the summary.
    let err = stderr(&o);
    assert!(err.contains("export: 250/250 members"), "{err}");
    assert!(
        err.contains("700 customers (875 follow records) of 250 members"),
        "{err}"
    );
    assert!(
        !dir.join("customers.jsonl.partial").exists(),
        "the partial file is removed when done"
    );

    // Safe to rerun: same result. And to stdout.
    let o = s.wecom(&["export", "customers", "--out", out.to_str().unwrap()], None);
    assert!(o.status.success());
    assert_eq!(read_export(&std::fs::read_to_string(&out).unwrap()), expected(250, 700));
    let o = s.wecom(&["export", "customers", "--quiet"], None);
    assert!(o.status.success());
    assert!(o.stderr.is_empty());
    assert_eq!(read_export(&String::from_utf8(o.stdout).unwrap()), expected(250, 700));

    // The runtime's settings: one request in flight at a time, no retries; still every customer once.
    let o = s.wecom(
        &[
            "export",
            "customers",
            "--quiet",
            "--max-concurrency",
            "1",
            "--attempts",
            "1",
        ],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read_export(&String::from_utf8(o.stdout).unwrap()), expected(250, 700));
    let o = s.wecom(&["export", "customers", "--attempts", "0"], None);
    assert_eq!(o.status.code(), Some(2), "0 attempts is a usage error: {}", stderr(&o));
}

/// `wecom export customers --quiet <flags>` against `s`, and how long it took.
fn export_with(s: &StandinProcess, flags: &[&str]) -> (Output, std::time::Duration) {
    let mut args = vec!["export", "customers", "--quiet"];
    args.extend_from_slice(flags);
    let started = std::time::Instant::now();
    let o = s.wecom(&args, None);
    (o, started.elapsed())
}

#[test]
fn export_takes_the_budget_options_share_wait_and_fail_fast() {
    // 8 members, 400 customers: one get_follow_user_list, then one batch/get_by_user stream of 5 pages.
    let dir = temp_dir("budgets");
    let s = StandinProcess::start(Some(&dataset_config(&dir, 8, 400)));

    // 0.0002 of WeCom's 10,000 a minute: 2 calls a minute per endpoint, a burst of one. Fail-fast: the
    // second page is not sent, and the export fails with the typed error (exit 4).
    let (o, _) = export_with(&s, &["--budget-share", "0.0002", "--budget-fail-fast"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("externalcontact/batch/get_by_user is over its rate budget; not sent"),
        "{}",
        stderr(&o)
    );
    // The whole budget, fail-fast: nothing waits, the export completes.
    let (o, _) = export_with(&s, &["--budget-fail-fast"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read_export(&String::from_utf8(o.stdout).unwrap()), expected(8, 400));
    // 0.0098: 98 calls a minute (97 usable: a burst of one, the other 96 one every 0.625 s). Waiting (the
    // default), the export completes, every page after the first having waited for its permit (4 × 0.625 s
    // at least).
    let (o, took) = export_with(&s, &["--budget-share", "0.0098"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read_export(&String::from_utf8(o.stdout).unwrap()), expected(8, 400));
    assert!(
        took.as_secs_f64() >= 2.3,
        "the pages waited for their permits: {took:?}"
    );
    // ... but no longer than --budget-max-wait (the second page waits about 0.6 s).
    let (o, _) = export_with(&s, &["--budget-share", "0.0098", "--budget-max-wait", "0.2"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("over its rate budget"), "{}", stderr(&o));

    // Bad values and contradictions are usage errors; --help documents every option.
    for bad in [
        &["--budget-share", "0"][..],
        &["--budget-share", "1.5"],
        &["--budget-share", "NaN"],
        &["--budget-max-wait", "-1"],
        &["--budget-fail-fast", "--budget-max-wait", "3"],
        &["--no-budgets", "--budget-fail-fast"],
        &["--budget-fallback-share", "0.5"],
    ] {
        let (o, _) = export_with(&s, bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", stderr(&o));
    }
    let (o, _) = export_with(&s, &["--budget-redis", "not a url"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        !stderr(&o).contains("not a url"),
        "the URL is not echoed: {}",
        stderr(&o)
    );
    let help = wecom_alone(&["export", "customers", "--help"], &[]);
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--budget-share",
        "--budget-max-wait",
        "--budget-fail-fast",
        "--no-budgets",
        "--budget-redis",
        "--budget-fallback-share",
        "WECOM_BUDGET_REDIS_URL",
    ] {
        assert!(help.contains(flag), "{flag} in --help: {help}");
    }
}

#[test]
fn export_shares_a_45009_block_through_budget_redis_and_no_budgets_holds_nothing() {
    let Some(redis) = RedisServer::start() else { return };
    let dir = temp_dir("budget-redis");
    // Stand-ins that allow 2 batch/get_by_user calls a minute: the third page gets 45009, and WeCom's
    // block of the endpoint lasts the minute.
    let standin = |corp: &str| {
        let path = dir.join(format!("{corp}.json"));
        let config = serde_json::json!({
            "corp_id": corp,
            "customers": { "members": 8, "customers": 400 },
            "limits": { "endpoints": { "externalcontact/batch/get_by_user": { "per_minute": 2, "per_hour": 100 } } },
        });
        std::fs::write(&path, config.to_string()).unwrap();
        StandinProcess::start(Some(&path))
    };
    let url = redis.url();
    let fleet = ["--budget-redis", url.as_str(), "--budget-fail-fast"];

    // The export that gets the 45009 (at once, fail-fast) holds the endpoint for the corp in Redis ...
    let a = standin("corp-a");
    let (o, _) = export_with(&a, &fleet);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("45009"), "{}", stderr(&o));
    // ... so the next export sharing the Redis does not call it: the typed error, exit 4.
    let (o, _) = export_with(&a, &fleet);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("batch/get_by_user is held after WeCom's 45009"),
        "{}",
        stderr(&o)
    );

    // Budgets off: the 45009 comes back and nothing is held, so the next export sharing the Redis calls
    // the endpoint again (and WeCom, still blocking it, answers 45009 again).
    let b = standin("corp-b");
    let (o, _) = export_with(&b, &["--no-budgets"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("45009"), "{}", stderr(&o));
    let (o, _) = export_with(&b, &fleet);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("45009") && !stderr(&o).contains("held after"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn export_resumes_from_the_finished_chunks_of_an_interrupted_run() {
    let dir = temp_dir("resume");
    let s = StandinProcess::start(Some(&dataset_config(&dir, 150, 300)));
    let out = dir.join("c.jsonl");
    let members: Vec<String> = (1..=150).map(|i| format!("member{i:03}")).collect();
    let header = serde_json::json!({ "wecom_export": "customers", "members": members });
    // Chunk 0 (members 1–100) finished in the "previous run" with a record only it knows; chunk 1 was
    // half-written when it stopped (no done marker, a torn last line).
    let reused = serde_json::json!({ "external_contact": { "external_userid": "wmFromPreviousRun", "name": "x", "type": 1 },
                                     "follow_info": { "userid": "member001" } });
    let lost = serde_json::json!({ "external_contact": { "external_userid": "wmHalfWritten", "name": "y", "type": 1 },
                                   "follow_info": { "userid": "member101" } });
    let partial = format!(
        "{header}\n{}\n{}\n{}\n{{\"chunk\":1,\"it",
        serde_json::json!({ "chunk": 0, "item": reused }),
        serde_json::json!({ "chunk": 0, "done": true }),
        serde_json::json!({ "chunk": 1, "item": lost }),
    );
    std::fs::write(dir.join("c.jsonl.partial"), partial).unwrap();
    let o = s.wecom(&["export", "customers", "--out", out.to_str().unwrap()], None);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("(from the previous run)"), "{}", stderr(&o));
    let got = read_export(&std::fs::read_to_string(&out).unwrap());
    assert!(
        got.contains_key("wmFromPreviousRun"),
        "chunk 0 came from the partial file, not the server"
    );
    assert!(
        !got.contains_key("wmHalfWritten"),
        "an unfinished chunk is fetched again"
    );
    // Chunk 1 (members 101–150) was fetched: its customers are all there, each once.
    let want = expected(150, 300);
    for (id, follows) in &want {
        if follows.iter().any(|m| m.as_str() > "member100") {
            assert!(got.contains_key(id), "{id} of chunk 1 is missing");
        }
    }

    // A partial file of another member list is not reused.
    let other = serde_json::json!({ "wecom_export": "customers", "members": ["someone"] });
    std::fs::write(
        dir.join("c.jsonl.partial"),
        format!(
            "{other}\n{}\n{}\n",
            serde_json::json!({ "chunk": 0, "item": reused }),
            serde_json::json!({ "chunk": 0, "done": true })
        ),
    )
    .unwrap();
    let o = s.wecom(&["export", "customers", "--out", out.to_str().unwrap()], None);
    assert!(o.status.success());
    assert_eq!(read_export(&std::fs::read_to_string(&out).unwrap()), want);
}

#[test]
fn standin_world_config_chooses_sizes_seed_and_licence_gaps() {
    let dir = temp_dir("world");
    let config = WorldConfig {
        seed: 9,
        members: 5,
        customers: 40,
        tag_groups: 2,
        group_chats: 3,
        unlicensed: 2,
        ..WorldConfig::default()
    };
    let path = dir.join("world.json");
    let json = serde_json::json!({ "world": {
        "seed": 9, "members": 5, "customers": 40, "tag_groups": 2, "group_chats": 3, "unlicensed": 2
    } });
    std::fs::write(&path, json.to_string()).unwrap();
    let s = StandinProcess::start(Some(&path));
    // The standalone stand-in answers from the world the library generates from the same configuration.
    let world = World::generate(&config);
    let members: Vec<&str> = world.members().iter().map(|m| m.userid.as_str()).collect();
    let request = serde_json::json!({ "userid_list": members, "limit": 100 }).to_string();
    let v = stdout_json(&s.wecom(&["call", "externalcontact/batch/get_by_user", &request], None));
    let gaps: Vec<&str> = world
        .members()
        .iter()
        .filter(|m| !m.licensed)
        .map(|m| m.userid.as_str())
        .collect();
    assert_eq!(v["fail_info"]["unlicensed_userid_list"], serde_json::json!(gaps));
    let licensed = world.follows().filter(|(_, f)| world.is_licensed(&f.userid)).count();
    assert_eq!(v["external_contact_list"].as_array().unwrap().len(), licensed);
    let v = stdout_json(&s.wecom(&["call", "externalcontact/get_corp_tag_list", "{}"], None));
    assert_eq!(v["tag_group"].as_array().unwrap().len(), 2);
    let v = stdout_json(&s.wecom(&["call", "externalcontact/groupchat/list", r#"{"limit": 10}"#], None));
    assert_eq!(v["group_chat_list"].as_array().unwrap().len(), 3);

    // `world` and its short form together, or more unlicensed members than members, are refused.
    for bad in [
        r#"{"world": {}, "customers": {"members": 1, "customers": 1}}"#,
        r#"{"world": {"members": 2, "unlicensed": 3}}"#,
        r#"{"world": {"sead": 1}}"#,
    ] {
        std::fs::write(&path, bad).unwrap();
        let o = wecom_alone(&["standin", "--config", path.to_str().unwrap()], &[]);
        assert_eq!(o.status.code(), Some(3), "{bad}: {}", stderr(&o));
    }
}

#[test]
fn standin_config_errors_and_sigterm() {
    let dir = temp_dir("standin");
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"customerz": 1}"#).unwrap();
    let o = wecom_alone(&["standin", "--config", bad.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("customerz"), "{}", stderr(&o));
    let o = wecom_alone(
        &["standin", "--config", dir.join("missing.json").to_str().unwrap()],
        &[],
    );
    assert_eq!(o.status.code(), Some(3));

    // Its own credentials come from the config; SIGTERM stops it with exit code 0.
    let good = dir.join("good.json");
    std::fs::write(&good, r#"{"corp_id": "ww-test", "secret": "test-secret"}"#).unwrap();
    let mut s = StandinProcess::start(Some(&good));
    assert_eq!(s.info["corp_id"], "ww-test");
    assert_eq!(s.info["secret"], "test-secret");
    let v = stdout_json(&s.wecom(&["call", "externalcontact/get_follow_user_list"], None));
    assert!(v["follow_user"].is_array());
    let status = Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(s.child.wait().unwrap().code(), Some(0));
}

#[test]
fn callback_verify_and_decrypt() {
    let token = "QDG6eK";
    let key = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
    let corp = "wx5823bf96d3bd56c7";
    let crypto = CallbackCrypto::new(token, key, corp).unwrap();
    let env = [
        ("WECOM_CALLBACK_TOKEN", token),
        ("WECOM_CALLBACK_AES_KEY", key),
        ("WECOM_CALLBACK_RECEIVE_ID", corp),
    ];

    // URL verification: the echostr decrypted.
    let echostr = crypto.encrypt("echo-4711").unwrap();
    let sig = crypto.signature("1409659589", "263014780", &echostr);
    let query: String = url_query(&[
        ("msg_signature", &sig),
        ("timestamp", "1409659589"),
        ("nonce", "263014780"),
        ("echostr", &echostr),
    ]);
    let o = wecom_alone(&["callback", "verify", "--query", &format!("/callback?{query}")], &env);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "echo-4711");
    // Signed in 2014: outside the router's replay window, which the command says (and still verifies).
    assert!(
        stderr(&o).contains("outside the default replay window"),
        "{}",
        stderr(&o)
    );
    // A request signed now is inside it: no note.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let sig_now = crypto.signature(&now, "263014780", &echostr);
    let fresh = url_query(&[
        ("msg_signature", &sig_now),
        ("timestamp", &now),
        ("nonce", "263014780"),
        ("echostr", &echostr),
    ]);
    let o = wecom_alone(&["callback", "verify", "--query", &fresh], &env);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("replay window"), "{}", stderr(&o));
    // From flags instead of the environment, with a wrong token: the signature fails, exit 1, no key shown.
    let o = wecom_alone(
        &[
            "callback",
            "verify",
            "--query",
            &query,
            "--token",
            "wrong",
            "--aes-key",
            key,
            "--receive-id",
            corp,
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        !stderr(&o).contains(key) && !stderr(&o).contains("wrong"),
        "{}",
        stderr(&o)
    );
    // Missing key: 3.
    let o = wecom_alone(&["callback", "verify", "--query", &query, "--token", token], &[]);
    assert_eq!(o.status.code(), Some(3));

    // A message POST: the decrypted XML, or the typed event.
    let xml = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>\
<CreateTime>1403610513</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_contact]]></Event>\
<ChangeType><![CDATA[add_external_contact]]></ChangeType><UserID><![CDATA[zhangsan]]></UserID>\
<ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mACAAAA]]></ExternalUserID><State><![CDATA[teststate]]></State>\
<WelcomeCode><![CDATA[WELCOMECODE]]></WelcomeCode></xml>";
    let reply = crypto.seal_reply(xml, "1409659813", "1372623149").unwrap();
    let body = format!(
        "<xml><ToUserName><![CDATA[{corp}]]></ToUserName><Encrypt><![CDATA[{}]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>",
        reply.encrypt()
    );
    let q = url_query(&[
        ("msg_signature", reply.msg_signature()),
        ("timestamp", "1409659813"),
        ("nonce", "1372623149"),
    ]);
    let mut cmd = Command::new(BIN);
    cmd.args(["callback", "decrypt", "--query", &q]).envs(env);
    let o = run(cmd, Some(&body));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8(o.stdout).unwrap().trim(), xml);
    let file = temp_dir("callback").join("body.xml");
    std::fs::write(&file, &body).unwrap();
    let o = wecom_alone(
        &["callback", "decrypt", "--event", "--query", &q, file.to_str().unwrap()],
        &env,
    );
    let event = stdout_json(&o);
    assert!(event.to_string().contains("WELCOMECODE"), "{event}");
    assert!(event.to_string().contains("add_external_contact"), "{event}");
    // Another receive id than the one the message was sealed for: 1.
    let o = wecom_alone(
        &[
            "callback",
            "decrypt",
            "--query",
            &q,
            file.to_str().unwrap(),
            "--receive-id",
            "other",
        ],
        &env,
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

fn url_query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            let enc: String = v
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!("{k}={enc}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Copies `from` (a directory of files) to `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn drift_prints_yaml_that_makes_the_spec_cover_the_new_field() {
    let dir = temp_dir("drift");
    let ep = catalog::endpoint("externalcontact/get").unwrap();
    let mut body: Value = serde_json::from_str(ep.example_response.unwrap()).unwrap();
    let c = &mut body["external_contact"];
    c["external_profile"]["brand_new_field"] = serde_json::json!({ "inner": "DRIFT-value-31c" });
    c["position"] = serde_json::json!(918_273_645);
    c["type"] = serde_json::json!(77);
    let file = dir.join("captured.jsonl");
    let line = serde_json::json!({ "path": "externalcontact/get", "body": body }).to_string();
    std::fs::write(&file, format!("{line}\n{line}\n")).unwrap();

    let o = wecom_alone(&["drift", file.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains("externalcontact/get: 3 drift(s)"), "{out}");
    assert!(
        out.contains("external_contact.external_profile.brand_new_field: unknown_field (object)"),
        "{out}"
    );
    assert!(
        out.contains("external_contact.position: kind_mismatch (spec: string, found: integer)"),
        "{out}"
    );
    assert!(
        out.contains("external_contact.type: unknown_enum_value (integer)"),
        "{out}"
    );
    for value in ["DRIFT-value-31c", "918273645", "77", "woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA"] {
        assert!(!out.contains(value), "the output shows {value}: {out}");
    }
    let yaml: Vec<&str> = out.lines().filter(|l| l.trim_start().starts_with("- {")).collect();
    assert_eq!(yaml.len(), 1, "{out}");
    assert!(out.contains("the `fields:` of type ExternalContactProfile"), "{out}");

    // Pasted into a copy of spec/ under ExternalContactProfile's fields, the spec is valid (the whole
    // generator pipeline, speccheck's checks included) and the field no longer drifts.
    let spec = dir.join("spec");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    copy_dir(&repo.join("spec"), &spec);
    let customer = std::fs::read_to_string(spec.join("customer.yaml")).unwrap();
    let anchor = "  ExternalContactProfile:\n";
    let at = customer.find(anchor).unwrap();
    let fields_at = at + customer[at..].find("    fields:\n").unwrap() + "    fields:\n".len();
    let pasted = format!(
        "{}      {}\n{}",
        &customer[..fields_at],
        yaml[0].trim(),
        &customer[fields_at..]
    );
    std::fs::write(spec.join("customer.yaml"), pasted).unwrap();
    wecom_externalcontact_codegen::generate_dir(&spec).unwrap_or_else(|e| panic!("{e}"));
    let o = wecom_alone(
        &["drift", file.to_str().unwrap(), "--spec", spec.to_str().unwrap()],
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains("externalcontact/get: 2 drift(s)"), "{out}");
    assert!(!out.contains("brand_new_field"), "{out}");

    // Nothing drifted: exit 0. A broken copy of the spec: exit 3 with the mistake at its line.
    let clean = serde_json::json!({ "path": "externalcontact/get", "body": serde_json::from_str::<Value>(ep.example_response.unwrap()).unwrap() });
    std::fs::write(&file, format!("{clean}\n")).unwrap();
    let o = wecom_alone(&["drift", file.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    std::fs::write(spec.join("customer.yaml"), "group: customer\nendpoints:\n  - path: x\n").unwrap();
    let o = wecom_alone(
        &["drift", file.to_str().unwrap(), "--spec", spec.to_str().unwrap()],
        &[],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("customer.yaml:3"), "{}", stderr(&o));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn callback_queue_stats_dead_and_replay() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;
    use wecom_externalcontact::callback::{message_key, Delivery, Event, RedisQueue, Worker};

    let Some(redis) = RedisServer::start() else { return };
    let url = redis.url();
    let env = [
        ("WECOM_REDIS_URL", url.as_str()),
        ("WECOM_CALLBACK_QUEUE_PREFIX", "cli:"),
    ];
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _inside = runtime.enter();
    let queue = RedisQueue::open(&redis.url()).unwrap().prefix("cli:").shards(4);
    let xml = "<xml><ToUserName>ww1</ToUserName><FromUserName>sys</FromUserName><CreateTime>1</CreateTime>\
               <MsgType>event</MsgType><Event>change_external_contact</Event>\
               <ChangeType>del_follow_user</ChangeType><UserID>u</UserID><ExternalUserID>wm-cli</ExternalUserID></xml>";
    let event = Event::from_xml(xml).unwrap();
    let handled = Arc::new(AtomicUsize::new(0));
    let run_worker = |fail: bool| {
        let handled = handled.clone();
        Worker::new(queue.clone())
            .max_attempts(2)
            .backoff(Duration::from_millis(10), Duration::from_millis(10))
            .poll_interval(Duration::from_millis(10))
            .handler(move |_event: Event, _delivery: Delivery| {
                let handled = handled.clone();
                async move {
                    if fail {
                        return Err("the CRM is down");
                    }
                    handled.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
            })
            .start()
    };
    let wait = |what: &str, done: &dyn Fn() -> bool| {
        let start = std::time::Instant::now();
        while !done() {
            assert!(start.elapsed() < Duration::from_secs(20), "timed out: {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    // An event whose handler always fails: dead-lettered after 2 attempts.
    runtime.block_on(async {
        queue.push(xml, &message_key("ww1", xml), &event).await.unwrap();
    });
    let failing = runtime.block_on(async { run_worker(true) });
    wait("the dead letter", &|| {
        runtime.block_on(queue.dead_letters(10)).unwrap().len() == 1
    });
    assert!(runtime.block_on(failing.shutdown(Duration::from_secs(5))));

    let o = wecom_alone(&["callback", "queue", "dead"], &env);
    assert!(o.status.success(), "{}", stderr(&o));
    let listing = String::from_utf8_lossy(&o.stdout).to_string();
    let id = runtime.block_on(queue.dead_letters(10)).unwrap()[0].id.clone();
    assert!(listing.contains(&id) && listing.contains("handler error"), "{listing}");
    assert!(listing.contains("change_external_contact/del_follow_user") && listing.contains("the CRM is down"));
    assert!(listing.contains("ww1/ExternalUserID/wm-cli"), "{listing}");
    let o = wecom_alone(&["callback", "queue", "dead", "--json"], &env);
    let line: Value = serde_json::from_str(String::from_utf8_lossy(&o.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(
        (line["id"].as_str(), line["attempts"].as_u64()),
        (Some(id.as_str()), Some(2))
    );
    let o = wecom_alone(&["callback", "queue", "stats", "--json"], &env);
    let stats = stdout_json(&o);
    assert_eq!((stats["dead"].as_u64(), stats["pending"].as_u64()), (Some(1), Some(0)));
    assert_eq!(
        stats["shards"].as_array().unwrap().len(),
        4,
        "the shard count recorded by the fleet"
    );

    // Replayed, with the handler fixed: handled once.
    let o = wecom_alone(&["callback", "queue", "replay", &id], &env);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = wecom_alone(&["callback", "queue", "replay", &id], &env);
    assert_eq!(o.status.code(), Some(2), "replayed already: {}", stderr(&o));
    let fixed = runtime.block_on(async { run_worker(false) });
    wait("the replayed event handled", &|| handled.load(Ordering::SeqCst) == 1);
    wait("nothing pending", &|| {
        runtime.block_on(queue.stats()).unwrap().pending() == 0
    });
    assert!(runtime.block_on(fixed.shutdown(Duration::from_secs(5))));
    assert_eq!(handled.load(Ordering::SeqCst), 1);
    let o = wecom_alone(&["callback", "queue", "stats"], &env);
    let table = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        table.contains("pending 0") && table.contains("dead letters 0"),
        "{table}"
    );

    // Without WECOM_REDIS_URL: a configuration error; Redis unreachable: exit 4, no address printed.
    let o = wecom_alone(&["callback", "queue", "stats"], &[]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    drop(redis);
    let o = wecom_alone(&["callback", "queue", "stats"], &env);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
}

//! The maintainer's promise, guarded: an endpoint (with a nested object and a field marked secret) and a
//! callback event (with a new `event_values` enum) added to a copy of `spec/` by YAML alone compile, and
//! behave — the typed method against the stand-in, its catalog entry, the secret kept out of `Debug`,
//! `Client::call` by path, the event decoding.
//!
//! How: the copy goes under `CARGO_TARGET_TMPDIR`; a small probe package there depends on this crate (only
//! the `tag` group and `standin`), and `cargo run --offline` builds it with `WECOM_SPEC_DIR` pointing this
//! crate's build script at the copy. Its own target dir (`target/tmp/spec-only-addition-target`, kept as a
//! build cache like the rest of `target/`) avoids waiting on the lock the outer cargo holds. Nothing outside
//! the repository is read; the copy and the probe are removed afterwards, pass or fail.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const ENDPOINT: &str = r#"
  - path: externalcontact/probe_widget/get
    method: POST
    doc_id: 92117
    name_zh: 获取探针部件
    summary: A spec-only endpoint added by the test, with a nested object.
    request:
      - { name: widget_id, type: string, required: true, doc: The widget. }
      - { name: probe_ticket, type: string, secret: true, doc: A credential the spec marks secret. }
    response:
      - name: widget
        type: object
        required: true
        doc: The widget.
        fields:
          - { name: name, type: string, required: true, doc: Its name. }
          - { name: tags, type: "[string]", doc: Its tags. }
          - name: size
            type: object
            doc: Its size.
            fields:
              - { name: w, type: u32, required: true, doc: Width. }
              - { name: h, type: u32, required: true, doc: Height. }
    example:
      request: |
        { "widget_id": "w1" }
      response: |
        { "errcode": 0, "errmsg": "ok", "widget": { "name": "示例", "tags": ["a"], "size": { "w": 3, "h": 4 } } }
"#;

const EVENT_VALUES: &str = r#"
  ProbeMood:
    doc: "A spec-only event value added by the test."
    repr: string
    values:
      - { value: happy, name: happy, doc: "happy." }
      - { value: grumpy, name: grumpy, doc: "grumpy." }
"#;

const EVENT: &str = r#"
  - name: ProbeMoodChanged
    event: change_external_contact
    change_type: probe_mood
    doc_id: 92130
    doc: "A spec-only event added by the test."
    fields:
      - { name: UserID, type: string, required: true, doc: "The member." }
      - { name: Mood, type: ProbeMood, doc: "The mood." }
"#;

const PROBE: &str = r#"
use serde_json::json;
use wecom_externalcontact::callback::{Event, EventKind, ProbeMood};
use wecom_externalcontact::models::{ProbeWidgetGetRequest, ProbeWidgetGetWidgetSize};
use wecom_externalcontact::{catalog, standin::StandIn, HttpMethod};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let standin = StandIn::start().await.expect("the stand-in starts");
    let client = standin.client();

    let request = ProbeWidgetGetRequest::new("w1").probe_ticket("pt-SECRET-1");
    let response = client.probe_widget_get(&request).await.expect("the typed call");
    assert_eq!(response.widget.name, "示例");
    assert_eq!(response.widget.size, Some(ProbeWidgetGetWidgetSize::new(3u32, 4u32)));
    let sent = standin.requests().into_iter().find(|r| r.path == "externalcontact/probe_widget/get");
    let sent = sent.expect("the stand-in saw the request");
    assert_eq!(sent.json.as_ref().expect("a JSON body")["probe_ticket"], "pt-SECRET-1");
    // A field marked secret in the spec stays out of Debug: the request's and the stand-in's record of it.
    assert!(catalog::secret_fields().contains(&"probe_ticket"));
    let shown = format!("{request:?} {sent:?}");
    assert!(!shown.contains("pt-SECRET-1") && shown.contains("probe_ticket"), "{shown}");

    let ep = catalog::endpoint("externalcontact/probe_widget/get").expect("the catalog entry");
    assert_eq!((ep.method, ep.name, ep.group), (HttpMethod::Post, "probe_widget_get", "tag"));
    assert!(ep.doc_url.ends_with("/92117"));

    let by_path = client.call("externalcontact/probe_widget/get", json!({ "widget_id": "w1" })).await;
    assert_eq!(by_path.expect("Client::call")["widget"]["size"], json!({ "w": 3, "h": 4 }));
    let typo = client.call("externalcontact/probe_widget/get", json!({ "widget_idd": "w1" })).await;
    assert!(typo.is_err(), "a misspelled field is refused before sending");

    let xml = "<xml><ToUserName>ww1</ToUserName><FromUserName>sys</FromUserName><CreateTime>1</CreateTime>\
               <MsgType>event</MsgType><Event>change_external_contact</Event><ChangeType>probe_mood</ChangeType>\
               <UserID>zhangsan</UserID><Mood>grumpy</Mood></xml>";
    match Event::from_xml(xml).expect("the event decodes").kind {
        EventKind::ProbeMoodChanged { user_id, mood } => {
            assert_eq!(user_id, "zhangsan");
            assert_eq!(mood, Some(ProbeMood::Grumpy));
        }
        other => panic!("unexpected {other:?}"),
    }
    let unknown = xml.replace("grumpy", "sleepy");
    match Event::from_xml(&unknown).expect("an unknown value decodes").kind {
        EventKind::ProbeMoodChanged { mood: Some(mood), .. } => assert_eq!(mood.as_str(), "sleepy"),
        other => panic!("unexpected {other:?}"),
    }
    println!("spec-only addition: ok");
}
"#;

/// Removes the copy and the probe when the test ends, pass or fail.
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `text` with `addition` inserted right after the line `after` (which must be there).
fn insert_after(text: &str, after: &str, addition: &str) -> String {
    let at = text
        .find(after)
        .unwrap_or_else(|| panic!("the spec has no line `{after}`"))
        + after.len();
    format!("{}{}{}", &text[..at], addition.trim_start_matches('\n'), &text[at..])
}

#[test]
fn a_spec_only_endpoint_and_event_compile_and_behave() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let work = tmp.join("spec-only-addition");
    let _ = std::fs::remove_dir_all(&work);
    let _cleanup = Cleanup(work.clone());
    let spec = work.join("spec");
    std::fs::create_dir_all(&spec).unwrap();
    for entry in std::fs::read_dir(root.join("spec")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            std::fs::copy(&path, spec.join(path.file_name().unwrap())).unwrap();
        }
    }
    let tag = std::fs::read_to_string(spec.join("tag.yaml")).unwrap();
    assert!(
        tag.trim_end().lines().last().is_some_and(|l| l.starts_with(' ')),
        "endpoints end tag.yaml"
    );
    std::fs::write(spec.join("tag.yaml"), format!("{}\n{}", tag.trim_end(), ENDPOINT)).unwrap();
    let events = std::fs::read_to_string(spec.join("events.yaml")).unwrap();
    let events = insert_after(&events, "\nevent_values:\n", EVENT_VALUES);
    std::fs::write(spec.join("events.yaml"), format!("{}\n{}", events.trim_end(), EVENT)).unwrap();

    let probe = work.join("probe");
    std::fs::create_dir_all(probe.join("src")).unwrap();
    let manifest = format!(
        "[package]\nname = \"spec-only-addition-probe\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\nwecom-externalcontact = {{ path = {root:?}, default-features = false, features = [\"tag\", \"standin\"] }}\n\
         tokio = {{ version = \"1\", features = [\"macros\", \"rt\"] }}\nserde_json = \"1\"\n\n[workspace]\n",
        root = root.display().to_string()
    );
    std::fs::write(probe.join("Cargo.toml"), manifest).unwrap();
    std::fs::copy(root.join("Cargo.lock"), probe.join("Cargo.lock")).unwrap();
    std::fs::write(probe.join("src/main.rs"), PROBE).unwrap();

    let started = Instant::now();
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["run", "--offline", "--quiet", "--manifest-path"])
        .arg(probe.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(tmp.join("spec-only-addition-target"))
        .env("WECOM_SPEC_DIR", &spec)
        // no debug info: the probe checks behaviour, and a cold build (a fresh clone in CI) is much faster
        .env("CARGO_PROFILE_DEV_DEBUG", "0")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!(
        "spec-only addition: build and run took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        out.status.success() && stdout.contains("spec-only addition: ok"),
        "the probe failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
}

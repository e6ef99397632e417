//! Drift reports (a test binary of its own: the report and the tracing subscriber are per process).
//!
//! A loopback server answers `externalcontact/get` with WeCom's official example changed three ways: one
//! extra nested field, one field retyped (a number where the spec has a string) and one enum code outside
//! the spec's list. After 100 calls with every answer sampled, exactly those three drifts are reported, once
//! each, in the log and by `Client::drift_report`, and neither holds a value of the answer. With drift off
//! nothing is checked. A callback event with an element events.yaml lacks is reported the same way.
use axum::routing::get;
use serde_json::{json, Value};
use wecom_externalcontact::drift::{self, Drift, DriftKind, JsonKind};
use wecom_externalcontact::models::GetRequest;
use wecom_externalcontact::{catalog, Client};

// Values the answers carry that no report may show.
const NESTED_VALUE: &str = "DRIFT-nested-value-7f3a";
const RETYPED_VALUE: i64 = 918_273_645;
// Long enough that no timestamp or port in a log line can contain it by chance (77 once did: "14:32:14.077137Z").
const ENUM_VALUE: i64 = 736_451_928;

#[path = "capture/mod.rs"]
mod capture;
use capture::capture;

/// The official example of externalcontact/get with the three changes.
fn drifted_answer() -> Value {
    let ep = catalog::endpoint("externalcontact/get").unwrap();
    let mut v: Value = serde_json::from_str(ep.example_response.unwrap()).unwrap();
    let c = &mut v["external_contact"];
    c["external_profile"]["brand_new_field"] = json!({ "inner": NESTED_VALUE });
    c["position"] = json!(RETYPED_VALUE);
    c["type"] = json!(ENUM_VALUE);
    v
}

/// A loopback server: gettoken, and externalcontact/get answering `answer`. Returns its base URL.
async fn server(answer: Value) -> String {
    let app = axum::Router::new()
        .route(
            "/cgi-bin/gettoken",
            get(|| async {
                axum::Json(json!({ "errcode": 0, "errmsg": "ok", "access_token": "drift-token", "expires_in": 7200 }))
            }),
        )
        .route(
            "/cgi-bin/externalcontact/get",
            get(move || {
                let a = answer.clone();
                async move { axum::Json(a) }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    format!("http://{addr}")
}

fn client(base: &str, share: f64) -> Client {
    Client::builder()
        .corp_id("wwdrift")
        .secret("drift-secret")
        .base_url(base)
        .drift_sampling(share)
        .build()
        .unwrap()
}

fn for_get(report: &[Drift]) -> Vec<Drift> {
    report
        .iter()
        .filter(|d| d.endpoint == "externalcontact/get")
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_changes_give_three_reports_once_each_without_values() {
    let log = capture();
    let base = server(drifted_answer()).await;

    // Off (the default): 100 answers, nothing checked.
    let off = client(&base, 0.0);
    for _ in 0..100 {
        let _ = off.get(&GetRequest::new("wmX")).await;
    }
    assert!(for_get(&drift::report()).is_empty(), "{:?}", drift::report());

    // Every answer sampled: the retyped string makes the typed decode fail, which is checked too.
    let on = client(&base, 1.0);
    for _ in 0..100 {
        let r = on.get(&GetRequest::new("wmX")).await;
        assert!(r.is_err(), "a number where a string is required does not decode");
    }
    let mut expected = vec![
        Drift::new(
            "externalcontact/get",
            "external_contact.external_profile.brand_new_field",
            DriftKind::UnknownField {
                found: JsonKind::Object,
            },
        ),
        Drift::new(
            "externalcontact/get",
            "external_contact.position",
            DriftKind::KindMismatch {
                expected: "string",
                found: JsonKind::Integer,
            },
        ),
        Drift::new(
            "externalcontact/get",
            "external_contact.type",
            DriftKind::UnknownEnumValue {
                found: JsonKind::Integer,
            },
        ),
    ];
    expected.sort();
    assert_eq!(for_get(&on.drift_report()), expected);

    // Logged once each under the drift target, with paths and kinds but no value of the answer.
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(drift::TARGET) && l.contains("endpoint=externalcontact/get"))
        .collect();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    for d in &expected {
        assert_eq!(
            lines.iter().filter(|l| l.contains(&format!("path={}", d.path))).count(),
            1,
            "{d}"
        );
    }
    // (The client's own decode error quotes the body's start, as it always did; drift lines and reports don't.)
    let shown = format!(
        "{}{:?}{}",
        lines.concat(),
        on.drift_report(),
        expected.iter().map(|d| d.to_string()).collect::<String>()
    );
    for value in [
        NESTED_VALUE.to_string(),
        RETYPED_VALUE.to_string(),
        ENUM_VALUE.to_string(),
    ] {
        assert!(!shown.contains(&value), "a report shows the value {value}: {shown}");
    }
    // Nor the names and ids of the official example.
    for value in ["woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA", "李四"] {
        assert!(!lines.concat().contains(value), "{value}");
    }
}

#[test]
fn the_official_examples_do_not_drift_and_a_callback_element_does() {
    // The generator checks every example against its fields, so only the undocumented enum codes some
    // official examples carry (e.g. get_groupmsg_task's status) remain.
    let mut enums = 0;
    for ep in catalog::endpoints() {
        if let Some(ex) = ep.example_response {
            let v: Value = serde_json::from_str(ex).unwrap();
            for d in drift::compare(ep.path, &v).unwrap() {
                assert!(matches!(d.kind, DriftKind::UnknownEnumValue { .. }), "{d}");
                enums += 1;
            }
        }
    }
    assert!(enums < 10, "{enums} undocumented enum codes in the official examples");
    let xml = "<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>\
               <CreateTime>1403610513</CreateTime><MsgType><![CDATA[event]]></MsgType>\
               <Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[del_follow_user]]></ChangeType>\
               <UserID><![CDATA[zhangsan]]></UserID><ExternalUserID><![CDATA[woEXT]]></ExternalUserID>\
               <NewThing><![CDATA[DRIFT-callback-value]]></NewThing></xml>";
    let event = wecom_externalcontact::callback::Event::from_xml(xml).unwrap();
    let found = drift::check_event(&event);
    assert_eq!(
        found,
        [Drift::new(
            "callback:change_external_contact/del_follow_user",
            "NewThing",
            DriftKind::UnknownField {
                found: JsonKind::String
            },
        )]
    );
    assert!(!format!("{found:?}").contains("DRIFT-callback-value"));
    assert!(drift::report().contains(&found[0]));
}

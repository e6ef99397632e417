//! Typed decoding vs `serde_json::Value`, against the embedded stand-in (no credentials, no network).
//!
//! ```sh
//! cargo run --release -p wecom-externalcontact --example bench_decode
//! ```
//!
//! `-p` builds the crate as a user's project would: serde_json with its default features, so `Value` objects
//! are `BTreeMap`s. (Without it, cargo builds the whole workspace's features together, and the CLI turns on
//! serde_json's `preserve_order`, whose `IndexMap` objects are slower to build.) The first line printed says
//! which `Value` was measured.
//!
//! Prints, for `externalcontact/get` and a 1,000-customer `batch/get_by_user` page:
//! - decoding alone: the client's one-pass typed decode (`decode_answer`) vs parsing into `Value`;
//! - whole calls over loopback HTTP: the typed client method vs raw reqwest + `Value`.
use serde_json::{json, Value};
use std::hint::black_box;
use std::time::Instant;
use wecom_externalcontact::models::{BatchGetByUserRequest, BatchGetByUserResponse, GetRequest, GetResponse};
use wecom_externalcontact::standin::StandIn;
use wecom_externalcontact::{catalog, decode_answer};

/// Median of `v` (sorted in place).
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Times `a` and `b` in alternating batches, `rounds` batches of `batch` operations each after one warm-up
/// batch, and returns the median time per operation of each, in µs. Alternating puts both sides under the
/// same machine conditions; the median drops the batches a busy neighbour slowed down. (Synchronous work is
/// passed as `|| async { … }`: one poll, nanoseconds against the microseconds measured.)
async fn pair<A, FA, B, FB>(rounds: usize, batch: u32, mut a: A, mut b: B) -> (f64, f64)
where
    A: FnMut() -> FA,
    FA: std::future::Future<Output = ()>,
    B: FnMut() -> FB,
    FB: std::future::Future<Output = ()>,
{
    let (mut ta, mut tb) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for round in 0..=rounds {
        let t = Instant::now();
        for _ in 0..batch {
            a().await;
        }
        let da = t.elapsed().as_secs_f64() * 1e6 / f64::from(batch);
        let t = Instant::now();
        for _ in 0..batch {
            b().await;
        }
        let db = t.elapsed().as_secs_f64() * 1e6 / f64::from(batch);
        if round > 0 {
            ta.push(da);
            tb.push(db);
        }
    }
    (median(&mut ta), median(&mut tb))
}

/// A body parsed into `Value` (`serde_json::from_slice`, what reqwest's `.json()` does), checked to be a success.
fn parse_value(body: &[u8]) -> Value {
    let v: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(v["errcode"], 0);
    v
}

/// The raw way: send with reqwest, read the bytes, parse them into `Value`.
async fn raw_value(request: reqwest::RequestBuilder) -> Value {
    parse_value(&request.send().await.unwrap().bytes().await.unwrap())
}

/// The official example page of `batch/get_by_user`, grown to `n` customers.
fn big_page(n: usize) -> Value {
    let ep = catalog::endpoint("externalcontact/batch/get_by_user").expect("in the catalog");
    let mut page: Value = serde_json::from_str(ep.example_response.expect("has an example")).unwrap();
    let items = page["external_contact_list"].as_array().cloned().unwrap_or_default();
    let grown: Vec<Value> = (0..n)
        .map(|i| {
            let mut item = items[i % items.len()].clone();
            item["external_contact"]["external_userid"] = json!(format!("wmBENCH{i:06}"));
            item["external_contact"]["name"] = json!(format!("客户{i}"));
            item
        })
        .collect();
    page["external_contact_list"] = Value::Array(grown);
    page
}

/// Batches per measurement; each side's figure is the median of its batches.
const ROUNDS: usize = 15;

fn row(name: &str, typed: f64, raw: f64) {
    println!("{name:<48} {typed:>10.1} µs {raw:>10.1} µs {:>7.2}×", raw / typed);
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let standin = StandIn::start().await.expect("stand-in starts");
    let base = standin.base_url();
    let client = standin.client();
    let http = reqwest::Client::new();
    let page = big_page(1000);
    standin.set_response("externalcontact/batch/get_by_user", page.clone());

    // A token for the raw calls, fetched the raw way.
    let tok: Value = http
        .get(format!("{base}/cgi-bin/gettoken"))
        .query(&[("corpid", standin.corp_id()), ("corpsecret", standin.secret())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = tok["access_token"].as_str().unwrap().to_string();

    let get_ep = catalog::endpoint("externalcontact/get").unwrap();
    let get_body = get_ep.example_response.unwrap().as_bytes().to_vec();
    let page_body = serde_json::to_vec(&page).unwrap();
    let probe: Value = serde_json::from_str(r#"{"b":0,"a":0}"#).unwrap();
    let ordered = probe.as_object().and_then(|o| o.keys().next()).map(String::as_str) == Some("b");
    println!(
        "Value objects in this build: {}",
        if ordered {
            "IndexMap (serde_json's preserve_order is on: not a user's default build; see the doc comment)"
        } else {
            "BTreeMap (serde_json's default, as in a user's build)"
        }
    );
    println!(
        "bodies: externalcontact/get {} bytes; batch/get_by_user page {} bytes ({} customers)\n",
        get_body.len(),
        page_body.len(),
        page["external_contact_list"].as_array().map_or(0, Vec::len)
    );
    println!("{:<48} {:>13} {:>13} {:>8}", "", "typed", "Value", "speed-up");

    let (typed, raw) = pair(
        ROUNDS,
        2_000,
        || async {
            black_box(decode_answer::<GetResponse>("externalcontact/get", black_box(&get_body)).unwrap());
        },
        || async {
            black_box(parse_value(black_box(&get_body)));
        },
    )
    .await;
    row("decode externalcontact/get", typed, raw);

    let (typed, raw) = pair(
        ROUNDS,
        20,
        || async {
            black_box(
                decode_answer::<BatchGetByUserResponse>("externalcontact/batch/get_by_user", black_box(&page_body))
                    .unwrap(),
            );
        },
        || async {
            black_box(parse_value(black_box(&page_body)));
        },
    )
    .await;
    row("decode batch/get_by_user, 1,000 customers", typed, raw);
    let (skim, _) = pair(
        ROUNDS,
        20,
        || async {
            black_box(serde_json::from_slice::<serde::de::IgnoredAny>(black_box(&page_body)).unwrap());
        },
        || async {},
    )
    .await;
    println!(
        "{:<48} {skim:>10.1} µs (the floor: parsing without building anything)",
        "  skim the page (IgnoredAny)"
    );

    let get_req = GetRequest::new("woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA");
    let (typed, raw) = pair(
        ROUNDS,
        200,
        || async {
            black_box(client.get(&get_req).await.unwrap());
        },
        || async {
            let request = http.get(format!("{base}/cgi-bin/externalcontact/get")).query(&[
                ("access_token", token.as_str()),
                ("external_userid", "woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA"),
            ]);
            black_box(raw_value(request).await);
        },
    )
    .await;
    row("call externalcontact/get (client vs reqwest)", typed, raw);

    let page_req = BatchGetByUserRequest::new(vec!["rocky".to_string()]);
    let (typed, raw) = pair(
        ROUNDS,
        5,
        || async {
            black_box(client.batch_get_by_user(&page_req).await.unwrap());
        },
        || async {
            let request = http
                .post(format!("{base}/cgi-bin/externalcontact/batch/get_by_user"))
                .query(&[("access_token", token.as_str())])
                .json(&json!({ "userid_list": ["rocky"] }));
            black_box(raw_value(request).await);
        },
    )
    .await;
    row("call batch/get_by_user page (client vs reqwest)", typed, raw);

    // Drift reports (ClientBuilder::drift_sampling): the typed get with drift off against 1 % and every answer.
    let with_drift = |share: f64| {
        wecom_externalcontact::Client::builder()
            .corp_id(standin.corp_id())
            .secret(standin.secret())
            .base_url(base.clone())
            .drift_sampling(share)
            .build()
            .unwrap()
    };
    for (label, share) in [
        ("call externalcontact/get: drift off vs 1 %", 0.01),
        ("call externalcontact/get: drift off vs every", 1.0),
    ] {
        let (off, on) = (with_drift(0.0), with_drift(share));
        off.get(&get_req).await.unwrap();
        on.get(&get_req).await.unwrap();
        let (t_off, t_on) = pair(
            ROUNDS,
            200,
            || async {
                black_box(off.get(&get_req).await.unwrap());
            },
            || async {
                black_box(on.get(&get_req).await.unwrap());
            },
        )
        .await;
        println!(
            "{label:<48} {t_off:>10.1} µs {t_on:>10.1} µs {:>+7.1}%",
            (t_on / t_off - 1.0) * 100.0
        );
    }
    let (check, _) = pair(
        ROUNDS,
        2_000,
        || async {
            let v: Value = serde_json::from_slice(black_box(&get_body)).unwrap();
            black_box(wecom_externalcontact::drift::compare("externalcontact/get", &v));
        },
        || async {},
    )
    .await;
    println!(
        "{:<48} {check:>10.1} µs (parse + compare one answer: the cost of a sampled answer)",
        "  drift check of externalcontact/get"
    );
    println!("\n(median per operation over {ROUNDS} alternating batches; speed-up = Value time / typed time; the stand-in's\n own work is in both call rows)");
}

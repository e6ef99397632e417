//! Typed decoding vs `serde_json::Value`, against the embedded stand-in (no credentials, no network).
//!
//! ```sh
//! cargo run --release --example bench_decode
//! ```
//!
//! Prints, for `externalcontact/get` and a 1,000-customer `batch/get_by_user` page:
//! - decoding alone: the client's one-pass typed decode (`decode_answer`) vs parsing into `Value`;
//! - whole calls over loopback HTTP: the typed client method vs raw reqwest + `Value`.
use serde_json::{json, Value};
use std::hint::black_box;
use std::time::{Duration, Instant};
use wecom_externalcontact::models::{BatchGetByUserRequest, BatchGetByUserResponse, GetRequest, GetResponse};
use wecom_externalcontact::standin::StandIn;
use wecom_externalcontact::{catalog, decode_answer};

fn per_op(total: Duration, n: u32) -> f64 {
    total.as_secs_f64() * 1e6 / f64::from(n)
}

fn time<F: FnMut()>(n: u32, mut f: F) -> f64 {
    for _ in 0..n.div_ceil(10) {
        f();
    }
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    per_op(t.elapsed(), n)
}

async fn time_async<F, Fut>(n: u32, mut f: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..n.div_ceil(10) {
        f().await;
    }
    let t = Instant::now();
    for _ in 0..n {
        f().await;
    }
    per_op(t.elapsed(), n)
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
    println!(
        "bodies: externalcontact/get {} bytes; batch/get_by_user page {} bytes ({} customers)\n",
        get_body.len(),
        page_body.len(),
        page["external_contact_list"].as_array().map_or(0, Vec::len)
    );
    println!("{:<48} {:>13} {:>13} {:>8}", "", "typed", "Value", "speed-up");

    let typed = time(20_000, || {
        black_box(decode_answer::<GetResponse>("externalcontact/get", black_box(&get_body)).unwrap());
    });
    let raw = time(20_000, || {
        let v: Value = serde_json::from_slice(black_box(&get_body)).unwrap();
        assert_eq!(v["errcode"], 0);
        black_box(v);
    });
    row("decode externalcontact/get", typed, raw);

    let typed = time(300, || {
        black_box(
            decode_answer::<BatchGetByUserResponse>("externalcontact/batch/get_by_user", black_box(&page_body))
                .unwrap(),
        );
    });
    let raw = time(300, || {
        let v: Value = serde_json::from_slice(black_box(&page_body)).unwrap();
        assert_eq!(v["errcode"], 0);
        black_box(v);
    });
    row("decode batch/get_by_user, 1,000 customers", typed, raw);
    let skim = time(300, || {
        black_box(serde_json::from_slice::<serde::de::IgnoredAny>(black_box(&page_body)).unwrap());
    });
    println!(
        "{:<48} {skim:>10.1} µs (the floor: parsing without building anything)",
        "  skim the page (IgnoredAny)"
    );

    let get_req = GetRequest::new("woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA");
    let typed = time_async(2_000, || async {
        black_box(client.get(&get_req).await.unwrap());
    })
    .await;
    let raw = time_async(2_000, || async {
        let bytes = http
            .get(format!("{base}/cgi-bin/externalcontact/get"))
            .query(&[
                ("access_token", token.as_str()),
                ("external_userid", "woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA"),
            ])
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["errcode"], 0);
        black_box(v);
    })
    .await;
    row("call externalcontact/get (client vs reqwest)", typed, raw);

    let page_req = BatchGetByUserRequest::new(vec!["rocky".to_string()]);
    let typed = time_async(100, || async {
        black_box(client.batch_get_by_user(&page_req).await.unwrap());
    })
    .await;
    let raw = time_async(100, || async {
        let bytes = http
            .post(format!("{base}/cgi-bin/externalcontact/batch/get_by_user"))
            .query(&[("access_token", token.as_str())])
            .json(&json!({ "userid_list": ["rocky"] }))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["errcode"], 0);
        black_box(v);
    })
    .await;
    row("call batch/get_by_user page (client vs reqwest)", typed, raw);
    println!("\n(per operation; speed-up = Value time / typed time; the stand-in's own work is in both call rows)");
}

//! The callback router on loopback: verification, immediate acknowledgement, exactly-once handling, the
//! bounded queue, graceful shutdown, the replay window and body limit, the Redis dedupe store shared by two routers,
//! and what reaches the logs.
//!
//! Tests that wait for handlers, deadlines or windows run on tokio's paused clock (`start_paused`, see
//! `wecom_externalcontact::clock`): a handler's sleep, a drain deadline and the replay window's edges are
//! virtual, and a check that nothing happened follows a virtual wait, which ends only once every task of the
//! test has run as far as it can. The Redis test keeps real time and waits for observable events (a drain).

use crate::support;
use crate::support::callbacks::{deliver, deliver_at, serve, Delivery};

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

use futures_util::StreamExt as _;
use reqwest::StatusCode;
use tokio::sync::Semaphore;
use wecom_externalcontact::callback::{self, CallbackCrypto, CallbackError, Endpoint, Event, EventKind, ReplayWindow};
use wecom_externalcontact::models::{SendWelcomeMsgRequest, Text};
use wecom_externalcontact::standin::StandIn;

const TOKEN: &str = "QDG6eK";
const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const CORP: &str = "ww-router-test";

fn crypto() -> CallbackCrypto {
    CallbackCrypto::new(TOKEN, KEY, CORP).unwrap()
}

/// An `add_external_contact` event as WeCom sends it: `FromUserName` `sys`, one fixed `CreateTime`, so
/// only the external user id tells two of them apart.
fn add_contact(external: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>\
         <CreateTime>1403610513</CreateTime><MsgType><![CDATA[event]]></MsgType>\
         <Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[add_external_contact]]></ChangeType>\
         <UserID><![CDATA[zhangsan]]></UserID><ExternalUserID><![CDATA[{external}]]></ExternalUserID>\
         <WelcomeCode><![CDATA[WELCOME-{external}]]></WelcomeCode></xml>"
    )
}

async fn post(http: &reqwest::Client, url: &str, delivery: &Delivery) -> (StatusCode, String) {
    let response = http
        .post(url)
        .query(&delivery.query)
        .body(delivery.body.clone())
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

/// External user ids the handler saw, with how often.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<HashMap<String, usize>>>);

impl Seen {
    fn record(&self, event: &Event) {
        let id = match &event.kind {
            EventKind::AddExternalContact { external_user_id, .. } => external_user_id.clone(),
            other => format!("{other:?}"),
        };
        *self.0.lock().unwrap().entry(id).or_default() += 1;
    }
    fn count(&self, id: &str) -> usize {
        self.0.lock().unwrap().get(id).copied().unwrap_or(0)
    }
    fn total(&self) -> usize {
        self.0.lock().unwrap().values().sum()
    }
    fn distinct(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// A handler that records each event.
fn recorder(seen: &Seen) -> impl Fn(Event) -> std::future::Ready<()> + Clone + use<> {
    let seen = seen.clone();
    move |event| {
        seen.record(&event);
        std::future::ready(())
    }
}

/// Waits (on the runtime's clock) until `done`, failing after `deadline`.
async fn wait_until(what: &str, deadline: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn url_verification_answers_the_echostr_and_refuses_forgeries() {
    let seen = Seen::default();
    let server = serve(callback::router(crypto(), recorder(&seen))).await;
    let http = reqwest::Client::new();
    let wecom = crypto();
    let timestamp = unix_now().to_string();
    let echostr = wecom.encrypt("1616140317555161061").unwrap();
    let signature = wecom.signature(&timestamp, "263014780", &echostr);
    let get = |query: Vec<(&'static str, String)>| {
        let http = http.clone();
        let url = server.url.clone();
        async move {
            let response = http.get(url).query(&query).send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };

    let ok = get(vec![
        ("msg_signature", signature.clone()),
        ("timestamp", timestamp.clone()),
        ("nonce", "263014780".into()),
        ("echostr", echostr.clone()),
    ])
    .await;
    assert_eq!(ok, (StatusCode::OK, "1616140317555161061".to_string()));

    // The official sample's request, signed with another token: a forgery.
    let forged_signature = callback::signature("not-the-token", &timestamp, "263014780", &echostr);
    let forged = get(vec![
        ("msg_signature", forged_signature),
        ("timestamp", timestamp.clone()),
        ("nonce", "263014780".into()),
        ("echostr", echostr.clone()),
    ])
    .await;
    assert_eq!(forged.0, StatusCode::FORBIDDEN);
    assert!(!forged.1.contains("1616140317555161061") && !forged.1.contains(KEY) && !forged.1.contains(TOKEN));

    let missing = get(vec![("timestamp", timestamp.clone()), ("nonce", "263014780".into())]).await;
    assert_eq!(missing.0, StatusCode::BAD_REQUEST);
    let no_echostr = get(vec![
        ("msg_signature", signature.clone()),
        ("timestamp", timestamp.clone()),
        ("nonce", "263014780".into()),
    ])
    .await;
    assert_eq!(no_echostr.0, StatusCode::BAD_REQUEST);
    let garbage = get(vec![
        (
            "msg_signature",
            callback::signature(TOKEN, &timestamp, "n", "%%%not base64"),
        ),
        ("timestamp", timestamp.clone()),
        ("nonce", "n".into()),
        ("echostr", "%%%not base64".into()),
    ])
    .await;
    assert_eq!(garbage.0, StatusCode::BAD_REQUEST);
    assert_eq!(seen.total(), 0);
}

#[tokio::test(start_paused = true)]
async fn an_event_is_acknowledged_while_its_handler_still_sleeps() {
    let finished = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let handler = {
        let (started, finished) = (started.clone(), finished.clone());
        move |_event: Event| {
            let (started, finished) = (started.clone(), finished.clone());
            async move {
                started.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(1500)).await;
                finished.fetch_add(1, Ordering::SeqCst);
            }
        }
    };
    let server = serve(callback::router(crypto(), handler)).await;
    let http = reqwest::Client::new();
    let delivery = deliver(&crypto(), &add_contact("wm-slow"));
    post(&http, &server.url, &deliver(&crypto(), &add_contact("wm-warmup"))).await;

    // On the paused clock the answer takes no time at all unless it waits for a handler's 1.5 s sleep.
    let start = Instant::now();
    let (status, body) = post(&http, &server.url, &delivery).await;
    let elapsed = start.elapsed();
    assert_eq!((status, body.as_str()), (StatusCode::OK, "success"));
    assert!(elapsed < Duration::from_millis(1500), "acknowledged after {elapsed:?}");
    assert_eq!(
        finished.load(Ordering::SeqCst),
        0,
        "the answer did not wait for a handler"
    );
    wait_until("both handlers", Duration::from_secs(10), || {
        finished.load(Ordering::SeqCst) == 2
    })
    .await;
    assert_eq!(started.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_same_message_posted_three_times_is_handled_once() {
    let seen = Seen::default();
    let gate = Arc::new(Semaphore::new(0));
    let handler = {
        let (seen, gate) = (seen.clone(), gate.clone());
        move |event: Event| {
            let (seen, gate) = (seen.clone(), gate.clone());
            async move {
                // Held in flight until the test opens the gate: the copies arrive while it runs.
                let _ = gate.acquire().await;
                seen.record(&event);
            }
        }
    };
    let (router, shutdown) = Endpoint::new(crypto()).handler(handler).into_parts().unwrap();
    let server = serve(router).await;
    let http = reqwest::Client::new();
    let delivery = deliver(&crypto(), &add_contact("wm-once"));
    // WeCom re-encrypts each delivery (new random prefix, new signature); the message is the same.
    let redelivery = deliver(&crypto(), &add_contact("wm-once"));
    assert_ne!(delivery.body, redelivery.body);

    for copy in [&delivery, &redelivery, &delivery] {
        assert_eq!(
            post(&http, &server.url, copy).await,
            (StatusCode::OK, "success".to_string())
        );
    }
    gate.add_permits(10);
    wait_until("the handler", Duration::from_secs(10), || seen.total() == 1).await;
    // After it finished: still done.
    assert_eq!(post(&http, &server.url, &redelivery).await.0, StatusCode::OK);
    assert!(shutdown.drain(Duration::from_secs(10)).await.is_complete());
    assert_eq!(seen.count("wm-once"), 1);
    assert_eq!(seen.total(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_events_with_the_same_sender_and_second_are_each_handled_once() {
    let seen = Seen::default();
    let (router, shutdown) = Endpoint::new(crypto()).handler(recorder(&seen)).into_parts().unwrap();
    let server = serve(router).await;
    let http = reqwest::Client::new();
    let wecom = crypto();
    let deliveries: Vec<Delivery> = (0..300)
        .map(|i| deliver(&wecom, &add_contact(&format!("wm-{i:03}"))))
        .collect();
    let deliveries = Arc::new(Mutex::new(deliveries));
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for _ in 0..16 {
        let (http, url, deliveries, acknowledged) = (
            http.clone(),
            server.url.clone(),
            deliveries.clone(),
            acknowledged.clone(),
        );
        senders.push(tokio::spawn(async move {
            loop {
                let Some(next) = deliveries.lock().unwrap().pop() else {
                    break;
                };
                let (status, body) = post(&http, &url, &next).await;
                assert_eq!((status, body.as_str()), (StatusCode::OK, "success"));
                acknowledged.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    for sender in senders {
        sender.await.unwrap();
    }
    assert_eq!(acknowledged.load(Ordering::SeqCst), 300);
    assert!(shutdown.drain(Duration::from_secs(20)).await.is_complete());
    assert_eq!(seen.distinct(), 300, "no event was taken for a duplicate of another");
    assert_eq!(seen.total(), 300);
    assert!((0..300).all(|i| seen.count(&format!("wm-{i:03}")) == 1));
}

#[tokio::test(start_paused = true)]
async fn tampered_bodies_and_bad_signatures_are_refused_and_never_handled() {
    let seen = Seen::default();
    let server = serve(callback::router(crypto(), recorder(&seen))).await;
    let http = reqwest::Client::new();
    let good = deliver(&crypto(), &add_contact("wm-tamper"));

    // A ciphertext changed in transit, still carrying the original signature.
    let mut tampered = good.clone();
    let at = tampered.body.find("<Encrypt><![CDATA[").unwrap() + 30;
    let flipped = if &tampered.body[at..=at] == "A" { "B" } else { "A" };
    tampered.body.replace_range(at..=at, flipped);
    let (status, body) = post(&http, &server.url, &tampered).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // Signed with the wrong token.
    let mut forged = good.clone();
    let encrypted = forged
        .body
        .split("CDATA[")
        .nth(2)
        .unwrap()
        .split("]]>")
        .next()
        .unwrap()
        .to_string();
    forged.query[0].1 = callback::signature("stolen-token?", &forged.query[1].1, &forged.query[2].1, &encrypted);
    assert_eq!(post(&http, &server.url, &forged).await.0, StatusCode::FORBIDDEN);

    // A correctly signed ciphertext that is not WeCom's: base64 of garbage, signed with the real token.
    let garbage = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let mut junk = good.clone();
    junk.body = format!("<xml><Encrypt><![CDATA[{garbage}]]></Encrypt></xml>");
    junk.query[0].1 = callback::signature(TOKEN, &junk.query[1].1, &junk.query[2].1, garbage);
    assert_eq!(post(&http, &server.url, &junk).await.0, StatusCode::BAD_REQUEST);

    // Sent to the wrong receiver (encrypted for another corp with the same token and key).
    let other = CallbackCrypto::new(TOKEN, KEY, "ww-somebody-else").unwrap();
    let wrong_receiver = deliver(&other, &add_contact("wm-tamper"));
    assert_eq!(post(&http, &server.url, &wrong_receiver).await.0, StatusCode::FORBIDDEN);

    // Not XML, not JSON, not UTF-8, no query.
    for body in [&b"<xml><Encrypt>"[..], b"{\"encrypt\": 7}", b"\xff\xfe\x00garbage"] {
        let response = http
            .post(&server.url)
            .query(&good.query)
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
    let response = http.post(&server.url).body(good.body.clone()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // An authentic message that is not an event envelope.
    let not_an_event = deliver(&crypto(), "<xml><Hello>world</Hello></xml>");
    assert_eq!(post(&http, &server.url, &not_an_event).await.0, StatusCode::BAD_REQUEST);

    // A virtual wait: it ends only when every task has run as far as it can.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(seen.total(), 0, "no refused callback reached the handler");
    // The untouched original still works.
    assert_eq!(post(&http, &server.url, &good).await.0, StatusCode::OK);
    wait_until("the handler", Duration::from_secs(10), || seen.total() == 1).await;
}

#[tokio::test]
async fn the_json_body_form_is_accepted() {
    let seen = Seen::default();
    let server = serve(callback::router(crypto(), recorder(&seen))).await;
    let http = reqwest::Client::new();
    let wecom = crypto();
    let signed = wecom.sign_xml(&add_contact("wm-json")).unwrap();
    let response = http
        .post(&server.url)
        .query(&signed.query_pairs())
        .header("content-type", "application/json")
        .body(signed.json_body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "success");
    // JSON-mode receivers get the event itself as JSON.
    let event = Event::from_xml(&add_contact("wm-json-2")).unwrap();
    let delivery = deliver(&wecom, &serde_json::to_string(&event).unwrap());
    assert_eq!(post(&http, &server.url, &delivery).await.0, StatusCode::OK);
    wait_until("both events", Duration::from_secs(10), || seen.total() == 2).await;
    assert_eq!((seen.count("wm-json"), seen.count("wm-json-2")), (1, 1));
}

#[tokio::test]
async fn a_full_queue_answers_503_and_the_redelivery_is_handled() {
    let seen = Seen::default();
    let gate = Arc::new(Semaphore::new(0));
    let handler = {
        let (seen, gate) = (seen.clone(), gate.clone());
        move |event: Event| {
            let (seen, gate) = (seen.clone(), gate.clone());
            async move {
                let _ = gate.acquire().await;
                seen.record(&event);
            }
        }
    };
    let (router, shutdown) = Endpoint::new(crypto())
        .concurrency(1)
        .queue(1)
        .handler(handler)
        .into_parts()
        .unwrap();
    let server = serve(router).await;
    let http = reqwest::Client::new();
    let wecom = crypto();
    let [a, b, c] = ["wm-a", "wm-b", "wm-c"].map(|id| deliver(&wecom, &add_contact(id)));

    assert_eq!(post(&http, &server.url, &a).await.0, StatusCode::OK, "running");
    assert_eq!(post(&http, &server.url, &b).await.0, StatusCode::OK, "queued");
    let (status, _) = post(&http, &server.url, &c).await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "no room: WeCom must deliver again"
    );
    assert_eq!(shutdown.pending(), 2);

    gate.add_permits(100);
    wait_until("a and b", Duration::from_secs(10), || seen.total() == 2).await;
    // WeCom's redelivery of c (re-encrypted) is handled, not mistaken for a duplicate.
    let c_again = deliver(&wecom, &add_contact("wm-c"));
    assert_eq!(post(&http, &server.url, &c_again).await.0, StatusCode::OK);
    assert!(shutdown.drain(Duration::from_secs(10)).await.is_complete());
    assert_eq!([seen.count("wm-a"), seen.count("wm-b"), seen.count("wm-c")], [1, 1, 1]);
}

#[tokio::test(start_paused = true)]
async fn shutdown_drains_queued_handlers_and_refuses_new_events() {
    let seen = Seen::default();
    let handler = {
        let seen = seen.clone();
        move |event: Event| {
            let seen = seen.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                seen.record(&event);
            }
        }
    };
    let (router, shutdown) = Endpoint::new(crypto())
        .concurrency(2)
        .handler(handler)
        .into_parts()
        .unwrap();
    let server = serve(router).await;
    let http = reqwest::Client::new();
    let wecom = crypto();
    for i in 0..6 {
        let delivery = deliver(&wecom, &add_contact(&format!("wm-drain-{i}")));
        assert_eq!(post(&http, &server.url, &delivery).await.0, StatusCode::OK);
    }
    // Posting takes no virtual time; each handler sleeps 200 ms of it, two at a time.
    assert_eq!(seen.total(), 0, "handlers were still queued when shutdown began");
    let started = Instant::now();
    let drained = shutdown.drain(Duration::from_secs(10)).await;
    assert_eq!(
        started.elapsed(),
        Duration::from_millis(600),
        "three rounds of two handlers"
    );
    assert!(drained.is_complete(), "{drained:?}");
    assert_eq!(
        seen.total(),
        6,
        "every accepted event was handled before drain returned"
    );
    assert_eq!(shutdown.pending(), 0);

    let late = deliver(&wecom, &add_contact("wm-late"));
    assert_eq!(post(&http, &server.url, &late).await.0, StatusCode::SERVICE_UNAVAILABLE);
    // Longer than a handler takes, on the virtual clock: had it been accepted, it would have been handled.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(seen.count("wm-late"), 0);
}

#[tokio::test(start_paused = true)]
async fn drain_reports_what_its_deadline_left_unfinished() {
    let handler = |_event: Event| async { tokio::time::sleep(Duration::from_secs(3)).await };
    let (router, shutdown) = Endpoint::new(crypto())
        .concurrency(1)
        .handler(handler)
        .into_parts()
        .unwrap();
    let server = serve(router).await;
    let http = reqwest::Client::new();
    for i in 0..3 {
        let delivery = deliver(&crypto(), &add_contact(&format!("wm-slow-{i}")));
        assert_eq!(post(&http, &server.url, &delivery).await.0, StatusCode::OK);
    }
    let start = Instant::now();
    let drained = shutdown.drain(Duration::from_millis(200)).await;
    assert_eq!(start.elapsed(), Duration::from_millis(200), "drain kept its deadline");
    assert_eq!(drained.unfinished, 3);
    assert!(!drained.is_complete());
}

#[tokio::test]
async fn a_panicking_handler_is_contained_and_its_message_handled_on_redelivery() {
    let calls = Arc::new(AtomicUsize::new(0));
    let handler = {
        let calls = calls.clone();
        move |_event: Event| {
            let attempt = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                assert!(attempt > 0, "the first attempt fails");
            }
        }
    };
    let (router, shutdown) = Endpoint::new(crypto()).handler(handler).into_parts().unwrap();
    let server = serve(router).await;
    let http = reqwest::Client::new();
    let message = add_contact("wm-panic");
    assert_eq!(
        post(&http, &server.url, &deliver(&crypto(), &message)).await.0,
        StatusCode::OK
    );
    wait_until("the first attempt", Duration::from_secs(10), || {
        shutdown.pending() == 0 && calls.load(Ordering::SeqCst) == 1
    })
    .await;
    assert_eq!(
        post(&http, &server.url, &deliver(&crypto(), &message)).await.0,
        StatusCode::OK
    );
    wait_until("the second attempt", Duration::from_secs(10), || {
        shutdown.pending() == 0 && calls.load(Ordering::SeqCst) == 2
    })
    .await;
    // Handled now: a third delivery is a duplicate.
    assert_eq!(
        post(&http, &server.url, &deliver(&crypto(), &message)).await.0,
        StatusCode::OK
    );
    assert!(shutdown.drain(Duration::from_secs(10)).await.is_complete());
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "released after the panic, handled on redelivery, then done"
    );
}

/// Unix seconds on the runtime's clock (virtual in paused tests).
fn unix_now() -> u64 {
    wecom_externalcontact::clock::unix_secs()
}

/// The one-line default refuses a signed event captured an hour ago, one signed 10 minutes ahead, and a URL
/// verification with an old timestamp; a fresh event is handled.
#[tokio::test(start_paused = true)]
async fn the_default_router_refuses_replays_outside_the_window() {
    let seen = Seen::default();
    let server = serve(callback::router(crypto(), recorder(&seen))).await;
    let http = reqwest::Client::new();
    let wecom = crypto();
    let hour_ago = deliver_at(&wecom, &add_contact("wm-replayed"), &(unix_now() - 3600).to_string());
    let (status, body) = post(&http, &server.url, &hour_ago).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::FORBIDDEN, "outside the replay window")
    );
    let ahead = deliver_at(&wecom, &add_contact("wm-future"), &(unix_now() + 600).to_string());
    assert_eq!(post(&http, &server.url, &ahead).await.0, StatusCode::FORBIDDEN);
    let not_a_number = deliver_at(&wecom, &add_contact("wm-replayed"), "yesterday");
    assert_eq!(post(&http, &server.url, &not_a_number).await.0, StatusCode::BAD_REQUEST);
    let skewed = deliver_at(&wecom, &add_contact("wm-skewed"), &(unix_now() + 30).to_string());
    assert_eq!(
        post(&http, &server.url, &skewed).await.0,
        StatusCode::OK,
        "inside the skew allowance"
    );
    let fresh = deliver(&wecom, &add_contact("wm-fresh"));
    assert_eq!(post(&http, &server.url, &fresh).await.0, StatusCode::OK);
    wait_until("the fresh events", Duration::from_secs(10), || seen.total() == 2).await;
    assert_eq!((seen.count("wm-replayed"), seen.count("wm-future")), (0, 0));

    let old = (unix_now() - 3600).to_string();
    let echostr = wecom.encrypt("1616140317555161061").unwrap();
    let signature = wecom.signature(&old, "263014780", &echostr);
    let response = http
        .get(&server.url)
        .query(&[
            ("msg_signature", signature.as_str()),
            ("timestamp", &old),
            ("nonce", "263014780"),
            ("echostr", &echostr),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(!response.text().await.unwrap().contains("1616140317555161061"));

    let long = format!(
        "{}?msg_signature=a&timestamp=1&nonce=1&pad={}",
        server.url,
        "x".repeat(5000)
    );
    assert_eq!(
        http.post(long).body("x").send().await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
}

/// An explicit window is honoured, and `ReplayWindow::Off` is the explicit way to accept old timestamps.
#[tokio::test]
async fn the_replay_window_is_configurable_and_can_be_turned_off() {
    let seen = Seen::default();
    let narrow = serve(
        Endpoint::new(crypto())
            .replay_window(ReplayWindow::within(Duration::from_secs(30), Duration::ZERO))
            .handler(recorder(&seen))
            .router()
            .unwrap(),
    )
    .await;
    let off = serve(
        Endpoint::new(crypto())
            .replay_window(ReplayWindow::Off)
            .handler(recorder(&seen))
            .router()
            .unwrap(),
    )
    .await;
    let http = reqwest::Client::new();
    let wecom = crypto();
    let minute_ago = deliver_at(&wecom, &add_contact("wm-old"), &(unix_now() - 60).to_string());
    assert_eq!(post(&http, &narrow.url, &minute_ago).await.0, StatusCode::FORBIDDEN);
    assert_eq!(post(&http, &off.url, &minute_ago).await.0, StatusCode::OK);
    wait_until("the accepted event", Duration::from_secs(10), || seen.total() == 1).await;
}

/// The default window's edges, on the paused clock: a delivery signed now is good for 300 s and refused a second
/// later; one signed 60 s ahead is good, 61 s ahead refused.
#[tokio::test(start_paused = true)]
async fn the_replay_window_edges_are_exact_on_the_clock() {
    let seen = Seen::default();
    let server = serve(callback::router(crypto(), recorder(&seen))).await;
    let http = reqwest::Client::new();
    let wecom = crypto();
    let ahead = |secs: u64, id: &str| deliver_at(&wecom, &add_contact(id), &(unix_now() + secs).to_string());
    assert_eq!(
        post(&http, &server.url, &ahead(60, "wm-60-ahead")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        post(&http, &server.url, &ahead(61, "wm-61-ahead")).await.0,
        StatusCode::FORBIDDEN
    );
    let (edge, late) = (ahead(0, "wm-edge"), ahead(0, "wm-late"));
    tokio::time::advance(Duration::from_secs(300)).await;
    assert_eq!(post(&http, &server.url, &edge).await.0, StatusCode::OK);
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(post(&http, &server.url, &late).await.0, StatusCode::FORBIDDEN);
    wait_until("the accepted events", Duration::from_secs(10), || seen.total() == 2).await;
    assert_eq!((seen.count("wm-60-ahead"), seen.count("wm-edge")), (1, 1));
}

/// A dedupe window shorter than the replay window's span would let a replay through the gap: building fails.
#[test]
fn a_dedupe_window_shorter_than_the_replay_window_is_a_configuration_error() {
    let err = Endpoint::new(crypto())
        .dedupe_window(Duration::from_secs(120))
        .handler(recorder(&Seen::default()))
        .into_parts()
        .unwrap_err();
    assert!(matches!(
        err,
        wecom_externalcontact::Error::Callback(CallbackError::DedupeShorterThanReplayWindow {
            dedupe_secs: 120,
            replay_secs: 360
        })
    ));
    assert!(err.to_string().contains("dedupe_window"), "{err}");
    let err = Endpoint::new(crypto())
        .replay_window(ReplayWindow::within(Duration::from_secs(3600), Duration::from_secs(60)))
        .handler(recorder(&Seen::default()))
        .router()
        .unwrap_err();
    assert!(matches!(
        err,
        wecom_externalcontact::Error::Callback(CallbackError::DedupeShorterThanReplayWindow { .. })
    ));
    // Equal is enough, and turning the window off needs no dedupe window.
    assert!(Endpoint::new(crypto())
        .dedupe_window(Duration::from_secs(360))
        .handler(recorder(&Seen::default()))
        .router()
        .is_ok());
    assert!(Endpoint::new(crypto())
        .dedupe_window(Duration::ZERO)
        .replay_window(ReplayWindow::Off)
        .handler(recorder(&Seen::default()))
        .router()
        .is_ok());
}

/// A 1 MB body is answered 413 after reading little more than the 64 KB limit, and never handled.
#[tokio::test]
async fn a_one_megabyte_body_is_refused_before_it_is_read_in_full() {
    use tower::ServiceExt as _;
    let seen = Seen::default();
    let router = callback::router(crypto(), recorder(&seen));
    let uri = crypto().sign_xml(&add_contact("wm-big")).unwrap().uri("/");
    let pulled = Arc::new(AtomicUsize::new(0));
    const CHUNK: usize = 16 * 1024;
    let chunks = {
        let pulled = pulled.clone();
        futures_util::stream::iter(0..64).map(move |_| {
            pulled.fetch_add(CHUNK, Ordering::SeqCst);
            Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![b' '; CHUNK]))
        })
    };
    let request = axum::http::Request::post(&uri)
        .body(axum::body::Body::from_stream(chunks))
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    assert_eq!(response.status(), axum::http::StatusCode::PAYLOAD_TOO_LARGE);
    let read = pulled.load(Ordering::SeqCst);
    assert!(read <= 128 * 1024, "{read} bytes were pulled from a 1 MB body");
    assert_eq!(seen.total(), 0);

    // The limit is configurable: 2 KB over a 1 KB limit is refused too.
    let router = Endpoint::new(crypto())
        .body_limit(1024)
        .handler(recorder(&seen))
        .router()
        .unwrap();
    let request = axum::http::Request::post(&uri)
        .body(axum::body::Body::from(vec![b' '; 2048]))
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    assert_eq!(response.status(), axum::http::StatusCode::PAYLOAD_TOO_LARGE);
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_dedupe_store_shared_by_two_routers_dedupes_across_them() {
    use wecom_externalcontact::callback::RedisDedupe;
    let err = RedisDedupe::open("rediss://:pa55word@[not-a-host/0")
        .unwrap_err()
        .to_string();
    assert!(err.contains("dedupe store") && !err.contains("pa55word"), "{err}");
    let Some(mut redis) = support::redis_server::RedisServer::start() else {
        return;
    };
    let seen = Seen::default();
    let endpoint = || {
        Endpoint::new(crypto())
            .dedupe(RedisDedupe::open(&redis.url()).unwrap().prefix("test:router:"))
            .handler(recorder(&seen))
            .into_parts()
            .unwrap()
    };
    let ((router_a, shutdown_a), (router_b, shutdown_b)) = (endpoint(), endpoint());
    let (a, b) = (serve(router_a).await, serve(router_b).await);
    let http = reqwest::Client::new();
    let wecom = crypto();
    for i in 0..20 {
        // Each message reaches both processes (WeCom's retry landed on the other one), at the same time.
        let message = add_contact(&format!("wm-fleet-{i}"));
        let (first, second) = (deliver(&wecom, &message), deliver(&wecom, &message));
        let (at_a, at_b) = tokio::join!(post(&http, &a.url, &first), post(&http, &b.url, &second));
        assert_eq!((at_a.0, at_b.0), (StatusCode::OK, StatusCode::OK));
        // And once more to each, later.
        assert_eq!(post(&http, &a.url, &second).await.0, StatusCode::OK);
        assert_eq!(post(&http, &b.url, &first).await.0, StatusCode::OK);
    }
    assert!(shutdown_a.drain(Duration::from_secs(10)).await.is_complete());
    assert!(shutdown_b.drain(Duration::from_secs(10)).await.is_complete());
    assert_eq!(seen.distinct(), 20);
    assert_eq!(seen.total(), 20, "each message handled once across both routers");

    // Redis goes away: the endpoint answers 503 (WeCom delivers again later) quickly, handles nothing.
    let (router_c, shutdown_c) = endpoint();
    let c = serve(router_c).await;
    redis.stop();
    let start = Instant::now();
    let (status, body) = post(&http, &c.url, &deliver(&wecom, &add_contact("wm-no-redis"))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!body.contains("127.0.0.1"), "{body}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "refused within WeCom's 5 s ({:?})",
        start.elapsed()
    );
    // Drained: every event this endpoint accepted has been handled, so the count is final.
    assert!(shutdown_c.drain(Duration::from_secs(10)).await.is_complete());
    assert_eq!(seen.count("wm-no-redis"), 0);
}

/// Collects every span, span record and event as text.
struct Capture {
    lines: Arc<Mutex<Vec<String>>>,
    next_id: std::sync::atomic::AtomicU64,
}

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={:?}", field.name(), value));
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut fields = Fields(String::new());
        span.record(&mut fields);
        self.lines
            .lock()
            .unwrap()
            .push(format!("span {}{}", span.metadata().name(), fields.0));
        tracing::span::Id::from_u64(self.next_id.fetch_add(1, Ordering::SeqCst) + 1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut fields = Fields(String::new());
        values.record(&mut fields);
        self.lines.lock().unwrap().push(format!("record{}", fields.0));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        self.lines
            .lock()
            .unwrap()
            .push(format!("{}{}", event.metadata().level(), fields.0));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test]
async fn logs_carry_the_event_kind_and_refusals_but_no_secret_or_content() {
    let lines = Arc::new(Mutex::new(Vec::new()));
    support::logs_reach_scoped_subscribers();
    let _guard = tracing::subscriber::set_default(Capture {
        lines: lines.clone(),
        next_id: std::sync::atomic::AtomicU64::new(0),
    });
    let seen = Seen::default();
    let server = serve(callback::router(crypto(), recorder(&seen))).await;
    let http = reqwest::Client::new();
    let wecom = crypto();
    let good = deliver(&wecom, &add_contact("wm-private-id"));
    let mut forged = good.clone();
    forged.query[0].1 = "0123456789abcdef0123456789abcdef01234567".into();
    assert_eq!(post(&http, &server.url, &forged).await.0, StatusCode::FORBIDDEN);
    let echostr = wecom.encrypt("echo-private").unwrap();
    let response = http
        .get(&server.url)
        .query(&[
            ("msg_signature", "feedfacefeedfacefeedfacefeedfacefeedface"),
            ("timestamp", "1"),
            ("nonce", "nonce-7"),
            ("echostr", &echostr),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(post(&http, &server.url, &good).await.0, StatusCode::OK);
    wait_until("the handler", Duration::from_secs(10), || seen.total() == 1).await;

    let lines = lines.lock().unwrap().clone();
    let text = lines.join("\n");
    assert!(
        lines.iter().any(|l| l.starts_with("WARN") && l.contains("signature")),
        "a refusal is logged at warn:\n{text}"
    );
    assert!(lines.iter().any(|l| l.starts_with("span wecom_callback")), "{text}");
    assert!(
        text.contains("event=\"change_external_contact\"") && text.contains("change_type=\"add_external_contact\""),
        "the span names the event kind:\n{text}"
    );
    let encrypted = good.body.split("CDATA[").nth(2).unwrap().split("]]>").next().unwrap();
    for secret in [
        TOKEN,
        KEY,
        "wm-private-id",
        "WELCOME-",
        "zhangsan",
        "echo-private",
        encrypted,
        &echostr,
        &good.query[0].1,
        &forged.query[0].1,
        "feedface",
        "nonce-7",
        "1372623149",
    ] {
        assert!(!text.contains(secret), "{secret:?} reached the logs:\n{text}");
    }
}

#[tokio::test]
async fn extreme_options_build_a_working_router() {
    let seen = Seen::default();
    let (router, shutdown) = Endpoint::new(crypto())
        .concurrency(usize::MAX)
        .queue(usize::MAX)
        .dedupe_window(Duration::MAX)
        .in_flight_lease(Duration::ZERO)
        .replay_window(ReplayWindow::within(Duration::MAX, Duration::MAX))
        .handler(recorder(&seen))
        .into_parts()
        .unwrap();
    let server = serve(router).await;
    let http = reqwest::Client::new();
    let delivery = deliver(&crypto(), &add_contact("wm-extreme"));
    assert_eq!(post(&http, &server.url, &delivery).await.0, StatusCode::OK);
    assert!(shutdown.drain(Duration::from_secs(10)).await.is_complete());
    assert_eq!(seen.total(), 1);
    let (router, _) = Endpoint::new(crypto())
        .concurrency(0)
        .queue(0)
        .handler(recorder(&seen))
        .into_parts()
        .unwrap();
    let server = serve(router).await;
    let delivery = deliver(&crypto(), &add_contact("wm-zero"));
    assert_eq!(
        post(&http, &server.url, &delivery).await.0,
        StatusCode::OK,
        "at least one handler runs"
    );
    wait_until("the handler", Duration::from_secs(10), || seen.total() == 2).await;
}

/// A third-party suite's 指令回调 through the router: the crypto's receive id is the suite id, and the
/// handler gets the suite envelope with the ticket (for a token provider's `set_ticket`), which `Debug`
/// never shows.
#[tokio::test]
async fn a_suite_ticket_reaches_the_handler_and_stays_out_of_debug_output() {
    let suite_id = "wwsuite0123456789";
    let suite = CallbackCrypto::new(TOKEN, KEY, suite_id).unwrap();
    let tickets = Arc::new(Mutex::new(Vec::new()));
    let handler = {
        let tickets = tickets.clone();
        move |event: Event| {
            let tickets = tickets.clone();
            async move {
                let debug = format!("{event:?}");
                if let (callback::Envelope::Suite { suite_id, .. }, EventKind::SuiteTicket { suite_ticket }) =
                    (&event.envelope, &event.kind)
                {
                    let ticket = suite_ticket.expose().to_string();
                    tickets.lock().unwrap().push((suite_id.clone(), ticket, debug));
                }
            }
        }
    };
    let server = serve(callback::router(suite.clone(), handler)).await;
    let http = reqwest::Client::new();
    let xml = format!(
        "<xml><SuiteId><![CDATA[{suite_id}]]></SuiteId><InfoType><![CDATA[suite_ticket]]></InfoType>\
         <TimeStamp>1403610513</TimeStamp><SuiteTicket><![CDATA[ticket-s3cr3t-value]]></SuiteTicket></xml>"
    );
    assert_eq!(post(&http, &server.url, &deliver(&suite, &xml)).await.0, StatusCode::OK);
    // The same message encrypted for the corp instead of the suite is refused.
    assert_eq!(
        post(&http, &server.url, &deliver(&crypto(), &xml)).await.0,
        StatusCode::FORBIDDEN
    );
    wait_until("the ticket", Duration::from_secs(10), || {
        tickets.lock().unwrap().len() == 1
    })
    .await;
    let (got_suite, ticket, debug) = tickets.lock().unwrap()[0].clone();
    assert_eq!((got_suite.as_str(), ticket.as_str()), (suite_id, "ticket-s3cr3t-value"));
    assert!(debug.contains("SuiteTicket") && debug.contains("redacted"), "{debug}");
    assert!(!debug.contains("s3cr3t"), "{debug}");
}

/// The welcome flow of a user's test: one helper call builds the signed, encrypted `add_external_contact`
/// callback WeCom would send, the router (driven with `oneshot`, no socket) answers `success`, and the
/// handler sends the welcome message with the event's `WelcomeCode` to the stand-in.
#[tokio::test]
async fn the_welcome_test_drives_the_router_with_one_helper_call() {
    use tower::ServiceExt as _;
    let standin = StandIn::start().await.unwrap();
    let client = standin.client();
    let (router, shutdown) = Endpoint::new(crypto())
        .handler(move |event: Event| {
            let client = client.clone();
            async move {
                if let EventKind::AddExternalContact {
                    welcome_code: Some(code),
                    ..
                } = event.kind
                {
                    let text = Text::new().content("欢迎光临");
                    client
                        .send_welcome_msg(&SendWelcomeMsgRequest::new(code).text(text))
                        .await
                        .unwrap();
                }
            }
        })
        .into_parts()
        .unwrap();
    let event = Event::app(
        CORP,
        EventKind::AddExternalContact {
            user_id: "zhangsan".into(),
            external_user_id: "wm-welcome".into(),
            state: None,
            welcome_code: Some("WELCOME-wm-welcome".into()),
        },
    );

    let request = crypto().sign_event(&event).unwrap().to_request("/").unwrap();
    let response = router.oneshot(request).await.unwrap();

    assert_eq!(response.status(), axum::http::StatusCode::OK);
    let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
    assert_eq!(&body[..], b"success");
    assert!(shutdown.drain(Duration::from_secs(10)).await.is_complete());
    let sent = support::requests_to(&standin, "externalcontact/send_welcome_msg");
    assert_eq!(sent.len(), 1, "one welcome message: {sent:?}");
    let json = sent[0].json.as_ref().unwrap();
    assert_eq!(json["welcome_code"], "WELCOME-wm-welcome");
    assert_eq!(json["text"]["content"], "欢迎光临");
}

/// Both envelopes survive the helper: an app event and a suite 指令回调 are written to XML, signed for
/// their receiver (the corp id, the suite id), and decrypt and decode to the same event; a tampered
/// signature or another receiver is refused.
#[test]
fn signed_callbacks_of_both_envelopes_decrypt_to_the_event() {
    let app = Event::app(
        CORP,
        EventKind::DelFollowUser {
            user_id: "zhangsan".into(),
            external_user_id: "wm-1".into(),
        },
    );
    let suite = Event::suite(
        "ww-suite",
        Some("ww-corp".into()),
        EventKind::ExternalChatDismiss {
            chat_id: "CHAT_ID".into(),
        },
    );
    for (event, receiver) in [(app, CORP), (suite, "ww-suite")] {
        let crypto = CallbackCrypto::new(TOKEN, KEY, receiver).unwrap();
        let signed = crypto.sign_event(&event).unwrap();
        let query = callback::CallbackQuery::parse(&signed.query()).unwrap();
        let xml = crypto.decrypt_message_query(&query, &signed.body()).unwrap();
        assert_eq!(xml, event.to_xml());
        assert_eq!(Event::from_xml(&xml).unwrap(), event);
        let json = crypto
            .decrypt_json_message(
                signed.msg_signature(),
                signed.timestamp(),
                signed.nonce(),
                &signed.json_body(),
            )
            .unwrap();
        assert_eq!(json, xml);
        let other = CallbackCrypto::new(TOKEN, KEY, "someone-else").unwrap();
        assert!(other.decrypt_message_query(&query, &signed.body()).is_err());
        let forged = crypto.sign_xml_at(&xml, "1", "n").unwrap();
        assert!(crypto
            .decrypt_message(forged.msg_signature(), "2", "n", &forged.body())
            .is_err());
    }
    assert!(crypto().sign_xml_at("<xml/>", "1\n", "n").is_err());
}

//! Benchmark of the callback router: acknowledged events per second at 16 concurrent senders on loopback.
//!
//! Serves `callback::router` on a free loopback port, encrypts and signs N distinct `add_external_contact`
//! events up front (all with `FromUserName` `sys` and the same `CreateTime`), then 16 tasks POST them over
//! keep-alive connections as fast as the router answers. Every answer must be `200 success`, and after a
//! drain the handler must have seen each event exactly once; then it prints the rate.
//!
//! ```text
//! cargo run --release --example callback_bench [events, default 20000]
//! ```
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wecom_externalcontact::callback::{CallbackCrypto, Endpoint, Event};

const SENDERS: usize = 16;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let events: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 20_000,
    };
    let (token, key, corp) = ("bench-token", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "ww-bench");
    let crypto = CallbackCrypto::new(token, key, corp)?;
    let handled = Arc::new(AtomicUsize::new(0));
    // The defaults: in-memory dedupe, 16 handlers at once, 1024 queued.
    let (router, shutdown) = Endpoint::new(crypto.clone())
        .handler({
            let handled = handled.clone();
            move |_event: Event| {
                handled.fetch_add(1, Ordering::Relaxed);
                std::future::ready(())
            }
        })
        .into_parts()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router).await });

    let mut deliveries = Vec::with_capacity(events);
    for i in 0..events {
        let xml = format!(
            "<xml><ToUserName><![CDATA[{corp}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>\
             <CreateTime>1403610513</CreateTime><MsgType><![CDATA[event]]></MsgType>\
             <Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[add_external_contact]]></ChangeType>\
             <UserID><![CDATA[zhangsan]]></UserID><ExternalUserID><![CDATA[wm-bench-{i}]]></ExternalUserID></xml>"
        );
        let signed = crypto.sign_xml(&xml)?;
        deliveries.push((signed.uri(&url), signed.body()));
    }
    let deliveries = Arc::new(Mutex::new(deliveries));
    let http = reqwest::Client::builder().pool_max_idle_per_host(SENDERS).build()?;

    let start = Instant::now();
    let mut senders = Vec::new();
    for _ in 0..SENDERS {
        let (http, deliveries) = (http.clone(), deliveries.clone());
        senders.push(tokio::spawn(async move {
            let mut acknowledged = 0usize;
            loop {
                let next = deliveries.lock().map_err(|_| "poisoned")?.pop();
                let Some((url, body)) = next else { break };
                let response = http.post(url).body(body).send().await.map_err(|e| e.to_string())?;
                let status = response.status();
                let text = response.text().await.map_err(|e| e.to_string())?;
                if status != reqwest::StatusCode::OK || text != "success" {
                    return Err(format!("answered {status} {text}"));
                }
                acknowledged += 1;
            }
            Ok::<usize, String>(acknowledged)
        }));
    }
    let mut acknowledged = 0;
    for sender in senders {
        acknowledged += sender.await??;
    }
    let elapsed = start.elapsed();
    let drained = shutdown.drain(Duration::from_secs(30)).await;
    let handled = handled.load(Ordering::Relaxed);
    if acknowledged != events || !drained.is_complete() || handled != events {
        return Err(format!("acknowledged {acknowledged}, handled {handled} of {events}").into());
    }
    println!(
        "{events} events acknowledged by {SENDERS} concurrent senders in {:.2} s: {:.0} acknowledged events/s \
         (each handled once)",
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

//! Callbacks that survive crashes: a receiver that answers `success` only once the event is in Redis, and
//! workers that handle it — in order per customer, once, with retries and dead letters (features `axum` and
//! `redis`).
//!
//! Runs without credentials: it makes its own callback keys, and uses the Redis at `WECOM_REDIS_URL`, or
//! starts a throwaway `redis-server` on a free loopback port (and says so and exits if there is none). It
//! serves the receiver on loopback, starts two workers (in a real deployment: other processes), sends
//! itself 20 encrypted events of 4 customers, and prints what the workers handled and the queue's stats.
//!
//! With `--bench N` it measures instead: events/s acknowledged by one receiver with the Redis queue and with
//! the in-memory queue (16 concurrent senders on loopback), and events/s handled by 3 workers with a no-op
//! handler.
//!
//! ```text
//! cargo run --example callback_queue
//! cargo run --release --example callback_queue -- --bench 5000
//! ```
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wecom_externalcontact::callback::{CallbackCrypto, Delivery, Endpoint, Event, RedisQueue, Worker};

const CORP: &str = "ww-example";

#[path = "../tests/it/support/redis_server.rs"]
mod redis_server;
use redis_server::RedisServer;

/// The Redis to use: `WECOM_REDIS_URL`, or a throwaway local one (`None` if redis-server is not installed).
fn redis() -> Option<(String, Option<RedisServer>)> {
    if let Ok(url) = std::env::var("WECOM_REDIS_URL") {
        return Some((url, None));
    }
    let own = RedisServer::start()?;
    Some((own.url(), Some(own)))
}

fn event(customer: usize, seq: usize) -> String {
    let change = [
        "add_external_contact",
        "edit_external_contact",
        "edit_external_contact",
        "del_follow_user",
    ][seq.min(3)];
    format!(
        "<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>\
         <CreateTime>1403610513</CreateTime><MsgType><![CDATA[event]]></MsgType>\
         <Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[{change}]]></ChangeType>\
         <UserID><![CDATA[zhangsan]]></UserID><ExternalUserID><![CDATA[wm-{customer}]]></ExternalUserID>\
         <Seq>{seq}</Seq></xml>"
    )
}

/// (URL with the signed query, body) of one encrypted delivery, as WeCom sends it.
fn seal(crypto: &CallbackCrypto, url: &str, plaintext: &str) -> Result<(String, String), Box<dyn std::error::Error>> {
    let signed = crypto.sign_xml(plaintext)?;
    Ok((signed.uri(url), signed.body()))
}

async fn serve(router: axum::Router) -> Result<String, Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(url)
}

/// POSTs every delivery with 16 concurrent senders; every answer must be 200. Returns events/s.
async fn send_all(deliveries: Vec<(String, String)>) -> Result<f64, Box<dyn std::error::Error>> {
    let total = deliveries.len();
    let deliveries = Arc::new(Mutex::new(deliveries));
    let http = reqwest::Client::builder().pool_max_idle_per_host(16).build()?;
    let start = Instant::now();
    let senders: Vec<_> = (0..16)
        .map(|_| {
            let (deliveries, http) = (deliveries.clone(), http.clone());
            tokio::spawn(async move {
                loop {
                    let Some((url, body)) = deliveries.lock().unwrap().pop() else {
                        return Ok(());
                    };
                    let status = http
                        .post(url)
                        .body(body)
                        .send()
                        .await
                        .map_err(|e| e.to_string())?
                        .status();
                    if status != 200 {
                        return Err(format!("answered {status}"));
                    }
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await?.map_err(|e| e.to_string())?;
    }
    Ok(total as f64 / start.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bench: Option<usize> = match std::env::args().nth(1).as_deref() {
        Some("--bench") => Some(std::env::args().nth(2).map_or(Ok(5000), |n| n.parse())?),
        _ => None,
    };
    let Some((redis_url, _own)) = redis() else {
        println!("SKIPPED: set WECOM_REDIS_URL or install redis-server (apt-get install -y redis-server) to run this example");
        return Ok(());
    };
    let crypto = CallbackCrypto::new("example-token", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", CORP)?;
    let prefix = format!("wecom:example:{}:", std::process::id());
    let queue = RedisQueue::open(&redis_url)?.prefix(prefix);
    if let Some(n) = bench {
        return benchmark(crypto, queue, n).await;
    }

    // Receiver: `success` only once the event is stored (503 if Redis fails).
    let url = serve(Endpoint::new(crypto.clone()).durable(queue.clone()).router()?).await?;
    // Workers: any number, in any process; here two in this one.
    let handled = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let handled = handled.clone();
            Worker::new(queue.clone())
                .poll_interval(Duration::from_millis(10))
                .handler(move |event: Event, delivery: Delivery| {
                    let handled = handled.clone();
                    async move {
                        let line = format!(
                            "shard {:>2} attempt {} lag {:>4} ms: {}",
                            delivery.shard,
                            delivery.attempt,
                            delivery.lag().as_millis(),
                            event.change_type().unwrap_or("")
                        );
                        handled.lock().unwrap().push(line);
                        Ok::<(), std::convert::Infallible>(())
                    }
                })
                .start()
        })
        .collect();
    let mut deliveries = Vec::new();
    for customer in 0..4 {
        for seq in 0..5 {
            deliveries.push(seal(&crypto, &url, &event(customer, seq))?);
        }
    }
    let http = reqwest::Client::new();
    for (url, body) in deliveries {
        let status = http.post(url).body(body).send().await?.status();
        assert_eq!(status, 200, "acknowledged only once stored");
    }
    let start = Instant::now();
    while handled.lock().unwrap().len() < 20 {
        if start.elapsed() > Duration::from_secs(30) {
            return Err("the workers did not handle the 20 events within 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for line in handled.lock().unwrap().iter() {
        println!("{line}");
    }
    let stats = queue.stats().await?;
    println!(
        "handled 20 events; pending {}, dead letters {} (wecom callback queue stats shows the same)",
        stats.pending(),
        stats.dead
    );
    for worker in workers {
        worker.shutdown(Duration::from_secs(5)).await;
    }
    Ok(())
}

async fn benchmark(crypto: CallbackCrypto, queue: RedisQueue, n: usize) -> Result<(), Box<dyn std::error::Error>> {
    // 1. Acknowledged by one receiver: in-memory queue (no-op handler) vs the Redis queue.
    let memory = Endpoint::new(crypto.clone())
        .queue(n)
        .handler(|_event: Event| std::future::ready(()))
        .router()?;
    let url = serve(memory).await?;
    let deliveries = (0..n)
        .map(|i| seal(&crypto, &url, &event(i, i % 4)))
        .collect::<Result<Vec<_>, _>>()?;
    let in_memory = send_all(deliveries).await?;
    let url = serve(Endpoint::new(crypto.clone()).durable(queue.clone()).router()?).await?;
    let deliveries = (0..n)
        .map(|i| seal(&crypto, &url, &event(i, i % 4)))
        .collect::<Result<Vec<_>, _>>()?;
    let durable = send_all(deliveries).await?;
    println!(
        "acknowledged by one receiver: in-memory queue {in_memory:.0} events/s, Redis queue {durable:.0} events/s"
    );

    // 2. Handled by 3 workers (no-op handler), from the n events now stored.
    let handled = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let handled = handled.clone();
            Worker::new(queue.clone())
                .poll_interval(Duration::from_millis(5))
                .handler(move |_event: Event, _delivery: Delivery| {
                    handled.fetch_add(1, Ordering::Relaxed);
                    std::future::ready(Ok::<(), std::convert::Infallible>(()))
                })
                .start()
        })
        .collect();
    while handled.load(Ordering::Relaxed) < n {
        if start.elapsed() > Duration::from_secs(600) {
            return Err("the workers did not finish within 10 minutes".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    println!("handled by 3 workers (no-op handler, 16 shards, 4 each at once): {rate:.0} events/s");
    for worker in workers {
        worker.shutdown(Duration::from_secs(5)).await;
    }
    Ok(())
}

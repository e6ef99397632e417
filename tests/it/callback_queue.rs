//! The durable callback queue (Redis Streams) in one process, against a real `redis-server`: the router
//! answers `success` only after the event is stored and `503` without Redis; workers handle each message
//! once, in order per customer, retry with backoff, dead-letter after N attempts, take over what a dead
//! worker held after the visibility timeout, and trimming never removes an unhandled event.
//!
//! The multi-process tests (receivers and workers as OS processes, SIGKILL) are in `callback_queue_fleet`.

use crate::support::callbacks::{contact_event, crypto, customer_and_seq, deliver, post, serve, CORP};
use crate::support::redis_connection;
use crate::support::redis_server::RedisServer;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use wecom_externalcontact::callback::{message_key, Delivery, Endpoint, Event, RedisQueue, Worker};
use wecom_externalcontact::Error;

/// A queue on its own prefix with 4 shards.
fn queue(redis: &RedisServer, prefix: &str) -> RedisQueue {
    RedisQueue::open(&redis.url()).unwrap().prefix(prefix).shards(4)
}

/// A worker with test timings: 300 ms visibility, 10 ms polls, 20 ms first backoff.
fn fast_worker(queue: &RedisQueue) -> Worker {
    Worker::new(queue.clone())
        .visibility_timeout(Duration::from_millis(300))
        .poll_interval(Duration::from_millis(10))
        .backoff(Duration::from_millis(20), Duration::from_millis(100))
}

/// Waits (polling, up to 20 s) until `done` holds.
async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// What is still pending once the queue has nothing pending, or after 5 s.
async fn pending_after_draining(queue: &RedisQueue) -> usize {
    let mut pending = usize::MAX;
    for _ in 0..500 {
        pending = queue.stats().await.unwrap().pending();
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    pending
}

/// What the handler saw: (customer, seq, attempt) in handling order.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<(usize, usize, u32)>>>);

impl Log {
    fn push(&self, event: &Event, delivery: &Delivery) {
        let (customer, seq) = customer_and_seq(event);
        self.0.lock().unwrap().push((customer, seq, delivery.attempt));
    }
    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
    /// Per customer, the seqs in handling order.
    fn per_customer(&self) -> BTreeMap<usize, Vec<usize>> {
        let mut out: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (customer, seq, _) in self.0.lock().unwrap().iter() {
            out.entry(*customer).or_default().push(*seq);
        }
        out
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_durable_router_answers_success_only_once_the_event_is_stored() {
    let Some(mut redis) = RedisServer::start() else { return };
    let queue = queue(&redis, "q1:");
    let server = serve(Endpoint::new(crypto()).durable(queue.clone()).router().unwrap()).await;
    let http = reqwest::Client::new();
    let message = contact_event(7, 0);
    assert_eq!(
        post(&http, &server.url, &deliver(&crypto(), &message)).await,
        Some(StatusCode::OK)
    );

    // The stored entry: the decrypted message, its dedupe key, when it was received, the customer.
    let mut conn = redis_connection(&redis).await;
    let mut found = Vec::new();
    for shard in 0..4 {
        let entries: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
            .arg(format!("q1:shard:{shard}"))
            .arg("-")
            .arg("+")
            .query_async(&mut conn)
            .await
            .unwrap();
        found.extend(entries.ids.into_iter().map(|e| (shard, e)));
    }
    assert_eq!(found.len(), 1, "one entry in one shard");
    let (shard, entry) = &found[0];
    assert_eq!(entry.get::<String>("xml").as_deref(), Some(message.as_str()));
    assert_eq!(entry.get::<String>("key"), Some(message_key(CORP, &message)));
    assert_eq!(
        entry.get::<String>("entity").as_deref(),
        Some(&*format!("{CORP}/ExternalUserID/wm-7"))
    );
    assert!(entry.get::<String>("received").unwrap().parse::<u64>().unwrap() > 1_700_000_000_000);
    let event = Event::from_xml(&message).unwrap();
    assert_eq!(queue.shard_of(&event, "ignored") as usize, *shard);
    let stats = queue.stats().await.unwrap();
    assert_eq!((stats.pending(), stats.dead), (1, 0));
    assert_eq!(stats.shards[*shard].waiting, 1);
    assert!(stats.oldest_age().is_some());

    // Redis gone: 503, and never a 200 for an event that is not stored.
    redis.stop();
    for seq in 1..4 {
        let status = post(&http, &server.url, &deliver(&crypto(), &contact_event(7, seq))).await;
        assert_eq!(status, Some(StatusCode::SERVICE_UNAVAILABLE));
    }
    let err = queue.stats().await.unwrap_err().to_string();
    assert!(err.contains("callback queue") && !err.contains("127.0.0.1"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_configured_with_another_number_of_shards_are_refused() {
    let Some(redis) = RedisServer::start() else { return };
    let four = queue(&redis, "q2:");
    let event = Event::from_xml(&contact_event(1, 0)).unwrap();
    four.push(&contact_event(1, 0), "k", &event).await.unwrap();
    let eight = queue(&redis, "q2:").shards(8);
    let err = eight.push(&contact_event(1, 1), "k2", &event).await.unwrap_err();
    assert!(matches!(&err, Error::Config(m) if m.contains("4 shards")), "{err}");
    let server = serve(Endpoint::new(crypto()).durable(eight).router().unwrap()).await;
    let status = post(
        &reqwest::Client::new(),
        &server.url,
        &deliver(&crypto(), &contact_event(1, 2)),
    )
    .await;
    assert_eq!(status, Some(StatusCode::SERVICE_UNAVAILABLE));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_handle_each_message_once_in_order_per_customer() {
    let Some(redis) = RedisServer::start() else { return };
    let queue = queue(&redis, "q3:");
    let server = serve(Endpoint::new(crypto()).durable(queue.clone()).router().unwrap()).await;
    let log = Log::default();
    // Two workers (as two processes would run them), 3 shards each at once, a handler that takes a while.
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let log = log.clone();
            fast_worker(&queue)
                .parallel(3)
                .handler(move |event: Event, delivery: Delivery| {
                    let log = log.clone();
                    async move {
                        tokio::time::sleep(Duration::from_millis(u64::from(rand_ms()))).await;
                        log.push(&event, &delivery);
                        Ok::<(), String>(())
                    }
                })
                .start()
        })
        .collect();
    let http = reqwest::Client::new();
    let wecom = crypto();
    for seq in 0..5 {
        for customer in 0..20 {
            let delivery = deliver(&wecom, &contact_event(customer, seq));
            assert_eq!(post(&http, &server.url, &delivery).await, Some(StatusCode::OK));
            if customer % 4 == 0 {
                // WeCom's redelivery of the same message (a new ciphertext of the same plaintext).
                let again = deliver(&wecom, &contact_event(customer, seq));
                assert_eq!(post(&http, &server.url, &again).await, Some(StatusCode::OK));
            }
        }
    }
    wait_until("100 events handled", || log.len() >= 100).await;
    let pending = pending_after_draining(&queue).await;
    assert_eq!(pending, 0, "every entry acknowledged, the redeliveries too");
    assert_eq!(log.len(), 100, "each message handled once, redeliveries included");
    for (customer, seqs) in log.per_customer() {
        assert_eq!(seqs, vec![0, 1, 2, 3, 4], "customer {customer} in arrival order");
    }
    for worker in workers {
        assert!(worker.shutdown(Duration::from_secs(5)).await);
    }
}

/// 0..5 ms, different per call.
fn rand_ms() -> u8 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    (h.finish() % 5) as u8
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_event_is_retried_dead_lettered_and_replayed_once() {
    let Some(redis) = RedisServer::start() else { return };
    let queue = queue(&redis, "q4:");
    let server = serve(Endpoint::new(crypto()).durable(queue.clone()).router().unwrap()).await;
    let log = Log::default();
    let broken = Arc::new(AtomicBool::new(true));
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let worker = {
        let (log, broken, attempts) = (log.clone(), broken.clone(), attempts.clone());
        fast_worker(&queue)
            .max_attempts(3)
            .handler(move |event: Event, delivery: Delivery| {
                let (log, broken, attempts) = (log.clone(), broken.clone(), attempts.clone());
                async move {
                    let (customer, seq) = customer_and_seq(&event);
                    if (customer, seq) == (3, 1) {
                        attempts.lock().unwrap().push(delivery.attempt);
                        if broken.load(Ordering::SeqCst) {
                            return Err("the CRM refused customer 3".to_string());
                        }
                    }
                    if (customer, seq) == (4, 2) && delivery.attempt == 1 {
                        panic!("a bug on the first attempt");
                    }
                    log.push(&event, &delivery);
                    Ok(())
                }
            })
            .start()
    };
    let http = reqwest::Client::new();
    for seq in 0..3 {
        for customer in 0..6 {
            let delivery = deliver(&crypto(), &contact_event(customer, seq));
            assert_eq!(post(&http, &server.url, &delivery).await, Some(StatusCode::OK));
        }
    }
    // Everything else flows on, the events after the poison one in its shard included.
    wait_until("17 events handled", || log.len() >= 17).await;
    let dead = loop {
        let dead = queue.dead_letters(10).await.unwrap();
        if !dead.is_empty() {
            break dead;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(dead.len(), 1);
    assert_eq!(*attempts.lock().unwrap(), vec![1, 2, 3], "three attempts, numbered");
    let letter = &dead[0];
    assert_eq!((letter.attempts, letter.error.as_str()), (3, "handler error"));
    assert_eq!(letter.detail, "the CRM refused customer 3");
    assert_eq!(letter.entity.as_deref(), Some(&*format!("{CORP}/ExternalUserID/wm-3")));
    assert_eq!(customer_and_seq(&letter.event().unwrap()), (3, 1));
    assert!(
        !format!("{letter:?}").contains("zhangsan"),
        "Debug leaves the message out"
    );
    let per_customer = log.per_customer();
    assert_eq!(
        per_customer[&3],
        vec![0, 2],
        "customer 3's later event was not held up for ever"
    );
    assert_eq!(per_customer[&4], vec![0, 1, 2], "the panic was retried");
    assert_eq!(queue.stats().await.unwrap().dead, 1);

    // Fixed, replayed: handled once, at attempt 1 again.
    broken.store(false, Ordering::SeqCst);
    queue.replay(&letter.id).await.unwrap();
    let again = queue.replay(&letter.id).await.unwrap_err().to_string();
    assert!(again.contains("no dead letter"), "{again}");
    wait_until("the replayed event handled", || log.len() >= 18).await;
    assert_eq!(log.per_customer()[&3], vec![0, 2, 1]);
    assert_eq!(*attempts.lock().unwrap(), vec![1, 2, 3, 1]);
    let stats = queue.stats().await.unwrap();
    assert_eq!((stats.dead, stats.pending()), (0, 0));
    assert!(worker.shutdown(Duration::from_secs(5)).await);
    assert_eq!(log.len(), 18);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_of_a_dead_worker_are_claimed_after_the_visibility_timeout_and_done_ones_not_rerun() {
    let Some(redis) = RedisServer::start() else { return };
    let queue = queue(&redis, "q5:");
    let server = serve(Endpoint::new(crypto()).durable(queue.clone()).router().unwrap()).await;
    let http = reqwest::Client::new();
    for seq in 0..3 {
        let delivery = deliver(&crypto(), &contact_event(9, seq));
        assert_eq!(post(&http, &server.url, &delivery).await, Some(StatusCode::OK));
    }
    // A worker that died: it read all three, finished the handler of the first (marked done) but died
    // before acknowledging it, and died in the second's handler (claimed, attempt 1 counted).
    let event = Event::from_xml(&contact_event(9, 0)).unwrap();
    let stream = format!("q5:shard:{}", queue.shard_of(&event, ""));
    let mut conn = redis_connection(&redis).await;
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&stream)
        .arg("wecom-workers")
        .arg("0")
        .query_async(&mut conn)
        .await
        .unwrap();
    let read: redis::streams::StreamReadReply = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("wecom-workers")
        .arg("ghost")
        .arg("STREAMS")
        .arg(&stream)
        .arg(">")
        .query_async(&mut conn)
        .await
        .unwrap();
    let ids: Vec<String> = read.keys[0].ids.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids.len(), 3);
    let key = |seq| format!("q5:dedupe:{}", message_key(CORP, &contact_event(9, seq)));
    let _: () = redis::cmd("SET")
        .arg(key(0))
        .arg("done")
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg(key(1))
        .arg("inflight")
        .arg("PX")
        .arg(300)
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: () = redis::cmd("HSET")
        .arg("q5:attempts")
        .arg(format!("{}:{}", queue.shard_of(&event, ""), ids[1]))
        .arg(1)
        .query_async(&mut conn)
        .await
        .unwrap();

    let log = Log::default();
    let worker = {
        let log = log.clone();
        fast_worker(&queue)
            .handler(move |event: Event, delivery: Delivery| {
                let log = log.clone();
                async move {
                    log.push(&event, &delivery);
                    Ok::<(), String>(())
                }
            })
            .start()
    };
    wait_until("the dead worker's entries handled", || log.len() >= 2).await;
    let pending = pending_after_draining(&queue).await;
    assert_eq!(pending, 0, "all three acknowledged");
    assert!(worker.shutdown(Duration::from_secs(5)).await);
    assert_eq!(
        *log.0.lock().unwrap(),
        vec![(9, 1, 2), (9, 2, 1)],
        "the done one not run again; the interrupted one at attempt 2, before the next"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trimming_removes_handled_entries_only() {
    let Some(redis) = RedisServer::start() else { return };
    // Keep nothing that is handled: the strictest trimming.
    let queue = queue(&redis, "q6:").keep_for(Duration::ZERO).keep_at_most(0);
    let server = serve(Endpoint::new(crypto()).durable(queue.clone()).router().unwrap()).await;
    let http = reqwest::Client::new();
    for seq in 0..10 {
        let delivery = deliver(&crypto(), &contact_event(5, seq));
        assert_eq!(post(&http, &server.url, &delivery).await, Some(StatusCode::OK));
    }
    assert_eq!(
        queue.trim().await.unwrap(),
        0,
        "nothing was delivered: nothing is trimmed"
    );
    let log = Log::default();
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let worker = {
        let (log, gate) = (log.clone(), gate.clone());
        fast_worker(&queue)
            .trim_every(Duration::from_secs(3600))
            .handler(move |event: Event, delivery: Delivery| {
                let (log, gate) = (log.clone(), gate.clone());
                async move {
                    if customer_and_seq(&event).1 == 5 {
                        gate.acquire().await.unwrap().forget();
                    }
                    log.push(&event, &delivery);
                    Ok::<(), String>(())
                }
            })
            .start()
    };
    wait_until("five handled", || log.len() >= 5).await;
    // Seq 5 is running (pending), 6..9 not delivered yet or pending: only 0..4 may go.
    let stats = queue.stats().await.unwrap();
    assert_eq!(stats.pending(), 5);
    assert!(stats.oldest_age().is_some());
    queue.trim().await.unwrap();
    let shard = queue.shard_of(&Event::from_xml(&contact_event(5, 0)).unwrap(), "");
    let mut conn = redis_connection(&redis).await;
    let len: usize = redis::cmd("XLEN")
        .arg(format!("q6:shard:{shard}"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(len, 5, "the five handled entries trimmed, the five unhandled kept");
    gate.add_permits(1);
    wait_until("all ten handled", || log.len() >= 10).await;
    assert!(worker.shutdown(Duration::from_secs(5)).await);
    queue.trim().await.unwrap();
    let len: usize = redis::cmd("XLEN")
        .arg(format!("q6:shard:{shard}"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(len, 0);
    assert_eq!(log.per_customer()[&5], (0..10).collect::<Vec<_>>());
}

/// A `MakeWriter` collecting everything written into one buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn each_delivery_runs_in_a_span_with_its_shard_attempt_and_lag_and_no_content() {
    let Some(redis) = RedisServer::start() else { return };
    crate::support::logs_reach_scoped_subscribers();
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer({
            let captured = captured.clone();
            move || captured.clone()
        })
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .finish();
    // This runtime has one thread: the router, the worker and the handler all log here.
    let _guard = tracing::subscriber::set_default(subscriber);
    let queue = queue(&redis, "q7:");
    let server = serve(Endpoint::new(crypto()).durable(queue.clone()).router().unwrap()).await;
    let log = Log::default();
    let worker = {
        let log = log.clone();
        fast_worker(&queue)
            .handler(move |event: Event, delivery: Delivery| {
                let log = log.clone();
                async move {
                    if delivery.attempt == 1 {
                        return Err("first attempt fails");
                    }
                    log.push(&event, &delivery);
                    Ok(())
                }
            })
            .start()
    };
    let status = post(
        &reqwest::Client::new(),
        &server.url,
        &deliver(&crypto(), &contact_event(2, 0)),
    )
    .await;
    assert_eq!(status, Some(StatusCode::OK));
    wait_until("handled at the second attempt", || log.len() == 1).await;
    assert!(worker.shutdown(Duration::from_secs(5)).await);
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let shard = queue.shard_of(&Event::from_xml(&contact_event(2, 0)).unwrap(), "");
    let spans: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("wecom_callback_delivery{"))
        .collect();
    assert!(
        spans
            .iter()
            .any(|l| l.contains(&format!("shard={shard}")) && l.contains("attempt=1")),
        "{text}"
    );
    assert!(
        spans.iter().any(|l| l.contains("attempt=2") && l.contains("lag_ms=")),
        "{text}"
    );
    assert!(
        spans.iter().all(|l| l.contains("change_type=\"add_external_contact\"")),
        "{text}"
    );
    assert!(text.contains("the callback handler failed"), "{text}");
    assert!(
        !text.contains("wm-2") && !text.contains("zhangsan"),
        "no message content in logs: {text}"
    );
    assert!(
        !text.contains("first attempt fails"),
        "the handler's error text is not logged"
    );
}

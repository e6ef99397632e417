//! The durable callback queue across OS processes: receivers and workers are this test binary re-executed
//! (`std::env::current_exe()`, as in `fleet`) running only the ignored test `queue_child`, with
//! `WECOM_QUEUE_CHILD` set to `receiver` or `worker`. Processes are killed with SIGKILL (`Child::kill`).
//!
//! The worker children record each handled event in Redis (`RPUSH <prefix>test:log:<customer> <seq>` and
//! `INCR <prefix>test:count`, once per message by its delivery key, every run counted in `test:runs`), so the
//! test reads exactly what was handled, in which order, how often. A
//! worker asked to hold an event (`WECOM_QUEUE_HOLD=customer:seq,…`) prints `HOLDING` from inside the
//! handler and waits there: the test kills it at that moment, mid-handler, holding the event and its shard.

use crate::support::callbacks::{contact_event, crypto, customer_and_seq, deliver, post, Delivery as Signed};
use crate::support::child::Proc;
use crate::support::redis_connection;
use crate::support::redis_server::RedisServer;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use wecom_externalcontact::callback::{Delivery, Endpoint, Event, RedisQueue, Worker};

const SHARDS: u16 = 8;

/// A worker child's record of one handled event: every run counted, the effect applied once per message.
const RECORD: &str = r"
redis.call('INCR', KEYS[3])
if redis.call('SET', KEYS[1], 1, 'NX') then
  redis.call('RPUSH', KEYS[2], ARGV[1])
  redis.call('INCR', KEYS[4])
end
return 0";

/// A `receiver` or `worker` child (see `queue_child`).
fn spawn(role: &str, redis_url: &str, prefix: &str, env: &[(&str, &str)]) -> Proc {
    let mut all = vec![
        ("WECOM_QUEUE_CHILD", role),
        ("WECOM_QUEUE_REDIS_URL", redis_url),
        ("WECOM_QUEUE_PREFIX", prefix),
    ];
    all.extend_from_slice(env);
    Proc::spawn("callback_queue_fleet::queue_child", &all)
}

fn receiver(redis: &RedisServer, prefix: &str) -> (Proc, String) {
    let proc = spawn("receiver", &redis.url(), prefix, &[]);
    let url = proc.wait_for("LISTENING ");
    (proc, url)
}

fn worker(redis: &RedisServer, prefix: &str, hold: &str) -> Proc {
    let proc = spawn("worker", &redis.url(), prefix, &[("WECOM_QUEUE_HOLD", hold)]);
    proc.wait_for("WORKER READY");
    proc
}

async fn handled_count(conn: &mut redis::aio::MultiplexedConnection, prefix: &str) -> usize {
    let count: Option<usize> = redis::cmd("GET")
        .arg(format!("{prefix}test:count"))
        .query_async(conn)
        .await
        .unwrap();
    count.unwrap_or(0)
}

/// Waits until the workers have handled `n` events and the queue has nothing pending, then checks that
/// each of `customers` was handled exactly at `seqs`, in order, and that at most `reruns` handler runs
/// beyond `n` were made (runs cut off by a SIGKILL of their process, run again).
async fn assert_handled_once_in_order(redis: &RedisServer, prefix: &str, customers: usize, seqs: usize, reruns: usize) {
    let n = customers * seqs;
    let queue = RedisQueue::open(&redis.url()).unwrap().prefix(prefix).shards(SHARDS);
    let mut conn = redis_connection(redis).await;
    let start = Instant::now();
    loop {
        let handled = handled_count(&mut conn, prefix).await;
        let pending = queue.stats().await.unwrap().pending();
        if handled >= n && pending == 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "after 120 s: {handled} of {n} handled, {pending} pending"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut wrong = Vec::new();
    for customer in 0..customers {
        let log: Vec<usize> = redis::cmd("LRANGE")
            .arg(format!("{prefix}test:log:{customer}"))
            .arg(0)
            .arg(-1)
            .query_async(&mut conn)
            .await
            .unwrap();
        if log != (0..seqs).collect::<Vec<_>>() {
            wrong.push(format!("customer {customer}: {log:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} customers wrong: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(10)]
    );
    assert_eq!(
        handled_count(&mut conn, prefix).await,
        n,
        "each event handled exactly once"
    );
    let runs: usize = redis::cmd("GET")
        .arg(format!("{prefix}test:runs"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        runs >= n && runs <= n + reruns,
        "{runs} handler runs for {n} events (at most {reruns} re-runs)"
    );
    assert_eq!(queue.stats().await.unwrap().dead, 0);
}

/// Posts `delivery` until it is answered 200, as WeCom would redeliver (up to 60 s).
async fn deliver_until_ok(http: &reqwest::Client, urls: &[String], delivery: &Signed, first: usize) {
    let start = Instant::now();
    for attempt in first.. {
        if post(http, &urls[attempt % urls.len()], delivery).await == Some(StatusCode::OK) {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "never accepted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_events_through_two_receivers_and_three_workers_two_of_them_killed() {
    let Some(redis) = RedisServer::start() else { return };
    let prefix = "fleet1:";
    let (r0, url0) = receiver(&redis, prefix);
    let (r1, url1) = receiver(&redis, prefix);
    let urls = vec![url0, url1];
    // Two events are held mid-handler, by whichever worker gets them first; each time, that worker is
    // killed with SIGKILL and a new one started.
    let hold = "17:2,123:3";
    let mut workers: Vec<Proc> = (0..3).map(|_| worker(&redis, prefix, hold)).collect();

    let senders: Vec<_> = (0..4)
        .map(|task| {
            let urls = urls.clone();
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let wecom = crypto();
                for customer in (task..200).step_by(4) {
                    for seq in 0..5 {
                        let delivery = deliver(&wecom, &contact_event(customer, seq));
                        let url = &urls[(customer * 5 + seq) % 2];
                        assert_eq!(post(&http, url, &delivery).await, Some(StatusCode::OK));
                    }
                }
            })
        })
        .collect();
    let mut kills = 0;
    let start = Instant::now();
    while kills < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "only {kills} held events seen"
        );
        for held in workers.iter_mut() {
            if held.poll("HOLDING ").is_some() {
                held.kill9();
                *held = worker(&redis, prefix, hold);
                kills += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for sender in senders {
        sender.await.unwrap();
    }
    // Each SIGKILL can cut off the other 3 tasks of its worker after their side effect, before `complete`.
    assert_handled_once_in_order(&redis, prefix, 200, 5, 2 * 3).await;
    drop((r0, r1, workers));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_acknowledged_by_a_receiver_killed_right_after_is_handled() {
    let Some(redis) = RedisServer::start() else { return };
    let prefix = "fleet2:";
    let http = reqwest::Client::new();
    for seq in 0..5 {
        let (mut receiver, url) = receiver(&redis, prefix);
        let delivery = deliver(&crypto(), &contact_event(0, seq));
        assert_eq!(post(&http, &url, &delivery).await, Some(StatusCode::OK));
        receiver.kill9();
    }
    let _worker = worker(&redis, prefix, "");
    assert_handled_once_in_order(&redis, prefix, 1, 5, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_no_event_gets_a_200_and_resent_events_are_handled_once() {
    let Some(mut redis) = RedisServer::start_persistent() else {
        return;
    };
    let prefix = "fleet3:";
    let (r0, url0) = receiver(&redis, prefix);
    let (r1, url1) = receiver(&redis, prefix);
    let urls = vec![url0, url1];
    let workers: Vec<Proc> = (0..2).map(|_| worker(&redis, prefix, "")).collect();
    let http = reqwest::Client::new();
    let wecom = crypto();
    for seq in 0..2 {
        for customer in 0..40 {
            let delivery = deliver(&wecom, &contact_event(customer, seq));
            assert_eq!(post(&http, &urls[customer % 2], &delivery).await, Some(StatusCode::OK));
        }
    }
    // Redis stops once these are handled and acknowledged. (Stopped between a handler's end and its
    // acknowledgement, an event is handled again after the restart: the documented at-least-once gap.)
    assert_handled_once_in_order(&redis, prefix, 40, 2, 0).await;

    redis.stop();
    let mut refused = Vec::new();
    let mut answers = std::collections::BTreeMap::new();
    // The customers' events of one round at once (as WeCom sends them), the rounds one after another.
    for seq in 2..5 {
        let round: Vec<_> = (0..40)
            .map(|customer| deliver(&wecom, &contact_event(customer, seq)))
            .collect();
        let statuses = futures_util::future::join_all(
            round
                .iter()
                .enumerate()
                .map(|(customer, delivery)| post(&http, &urls[customer % 2], delivery)),
        )
        .await;
        for status in statuses {
            *answers.entry(format!("{status:?}")).or_insert(0) += 1;
        }
        refused.extend(round);
    }
    assert_eq!(
        answers,
        std::collections::BTreeMap::from([(format!("{:?}", Some(StatusCode::SERVICE_UNAVAILABLE)), 120)]),
        "while Redis is down every event is answered 503, none 200"
    );

    redis.restart();
    // WeCom resends what it got no 200 for; per customer in the order it sent them (round by round, the
    // customers of a round at once).
    for (round, deliveries) in refused.chunks(40).enumerate() {
        futures_util::future::join_all(
            deliveries
                .iter()
                .enumerate()
                .map(|(customer, delivery)| deliver_until_ok(&http, &urls, delivery, round * 40 + customer)),
        )
        .await;
    }
    assert_handled_once_in_order(&redis, prefix, 40, 5, 0).await;
    drop((r0, r1, workers));
}

/// The child process of the multi-process tests (run only by them: see the module doc).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a child process of the multi-process tests"]
async fn queue_child() {
    let Ok(role) = std::env::var("WECOM_QUEUE_CHILD") else {
        panic!("run by the multi-process tests");
    };
    let env = |k: &str| std::env::var(k).unwrap_or_default();
    let (url, prefix) = (env("WECOM_QUEUE_REDIS_URL"), env("WECOM_QUEUE_PREFIX"));
    let queue = RedisQueue::open(&url).unwrap().prefix(prefix.clone()).shards(SHARDS);
    match role.as_str() {
        "receiver" => {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            println!("LISTENING http://{}/", listener.local_addr().unwrap());
            let router = Endpoint::new(crypto()).durable(queue).router().unwrap();
            axum::serve(listener, router).await.unwrap();
        }
        "worker" => {
            let hold: Vec<(usize, usize)> = env("WECOM_QUEUE_HOLD")
                .split(',')
                .filter_map(|pair| {
                    let (c, s) = pair.split_once(':')?;
                    Some((c.parse().ok()?, s.parse().ok()?))
                })
                .collect();
            // No response timeout: a record that reached Redis is never reported failed (and retried)
            // because the answer was slow on a loaded machine.
            let config = redis::aio::ConnectionManagerConfig::new().set_response_timeout(None);
            let record = redis::Client::open(url.as_str())
                .unwrap()
                .get_connection_manager_with_config(config)
                .await
                .unwrap();
            let _handle = Worker::new(queue)
                .parallel(4)
                // Well above any pause of a loaded 2-core machine, so no live worker loses its shard.
                .visibility_timeout(Duration::from_secs(3))
                .poll_interval(Duration::from_millis(20))
                .backoff(Duration::from_millis(50), Duration::from_millis(500))
                .handler(move |event: Event, delivery: Delivery| {
                    let (mut record, prefix, hold) = (record.clone(), prefix.clone(), hold.clone());
                    async move {
                        let (customer, seq) = customer_and_seq(&event);
                        if hold.contains(&(customer, seq)) {
                            let first: bool = redis::cmd("SET")
                                .arg(format!("{prefix}test:held:{customer}:{seq}"))
                                .arg(1)
                                .arg("NX")
                                .query_async::<Option<String>>(&mut record)
                                .await
                                .map_err(|e| e.to_string())?
                                .is_some();
                            if first {
                                println!("HOLDING {customer}:{seq}");
                                std::future::pending::<()>().await;
                            }
                        }
                        // A handler that takes a few milliseconds, so parallel handling would show.
                        let jitter = (customer * 7 + seq * 3) % 5;
                        tokio::time::sleep(Duration::from_millis(jitter as u64)).await;
                        // The side effect, idempotent by the delivery's key (as the module docs advise):
                        // a run cut off by SIGKILL between it and the worker's `complete` is run again.
                        redis::Script::new(RECORD)
                            .key(format!("{prefix}test:done:{}", delivery.key))
                            .key(format!("{prefix}test:log:{customer}"))
                            .key(format!("{prefix}test:runs"))
                            .key(format!("{prefix}test:count"))
                            .arg(seq)
                            .invoke_async::<()>(&mut record)
                            .await
                            .map_err(|e| e.to_string())
                    }
                })
                .start();
            println!("WORKER READY");
            std::future::pending::<()>().await;
        }
        other => panic!("unknown role {other}"),
    }
}

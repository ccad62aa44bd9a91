//! End-to-end WebSocket fan-out: latency (p50, p99) and throughput with one
//! instance and with two. A measurement, not a check, so it is ignored by
//! `cargo test`; run it in release:
//!
//! ```text
//! cargo test --release -p examples --example chat -- --ignored fan_out --nocapture
//! ```
//!
//! Senders say their messages through the first instance, one after the
//! other each (the next once the last was acked); every receiver is in the
//! room, spread over the instances. A delivery's latency is from just
//! before its sender wrote the frame to when a receiver read the event;
//! throughput is deliveries per second from the first send to the last
//! delivery.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Barrier;

use super::Deployment;
use super::client::{Client, login, text};

const RECEIVERS: usize = 50;
const SENDERS: usize = 10;
/// Each sender's messages: its rate limit's burst, so none is refused.
const PER_SENDER: usize = 20;

struct Run {
    latencies: Vec<Duration>,
    took: Duration,
}

async fn fan_out(deployment: &Deployment, instances: usize) -> Run {
    let room = format!("bench{instances}");
    let mut receivers = Vec::new();
    for n in 0..RECEIVERS {
        let base = deployment.url(n % instances);
        let mut client = Client::login(&base, &format!("r{n}-{instances}")).await;
        client.join(&room, None).await;
        receivers.push(client);
    }
    let sent_at = Arc::new(Mutex::new(HashMap::<String, Instant>::new()));
    let expected = SENDERS * PER_SENDER;
    let listening: Vec<_> = receivers
        .into_iter()
        .map(|mut client| {
            let sent_at = Arc::clone(&sent_at);
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(expected);
                while latencies.len() < expected {
                    let (_, _, event) = client.next_event().await;
                    let now = Instant::now();
                    if let Some(text) = text(&event) {
                        let at = sent_at.lock().unwrap()[text];
                        latencies.push(now - at);
                    }
                }
                (latencies, Instant::now())
            })
        })
        .collect();
    // Senders log in and join first; the clock starts when all are ready.
    let ready = Arc::new(Barrier::new(SENDERS + 1));
    let sending: Vec<_> = (0..SENDERS)
        .map(|n| {
            let base = deployment.url(0);
            let sent_at = Arc::clone(&sent_at);
            let room = room.clone();
            let ready = Arc::clone(&ready);
            tokio::spawn(async move {
                let token = login(&base, &format!("s{n}-{instances}")).await;
                let mut sender = Client::connect(&base, &token).await;
                sender.join(&room, None).await;
                ready.wait().await;
                for i in 0..PER_SENDER {
                    let text = format!("s{n}-{i}");
                    sent_at.lock().unwrap().insert(text.clone(), Instant::now());
                    sender.say(&room, &text).await.expect("within the burst");
                }
            })
        })
        .collect();
    ready.wait().await;
    let started = Instant::now();
    for sender in sending {
        sender.await.unwrap();
    }
    let mut latencies = Vec::new();
    let mut last = started;
    for receiver in listening {
        let (mine, done) = receiver.await.unwrap();
        latencies.extend(mine);
        last = last.max(done);
    }
    latencies.sort();
    Run {
        latencies,
        took: last - started,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run it in release with --ignored"]
async fn fan_out_latency_and_throughput() {
    let deployment = Deployment::start(false).await;
    println!(
        "{SENDERS} senders x {PER_SENDER} messages through instance a, {RECEIVERS} receivers \
         spread over the instances ({} deliveries)",
        SENDERS * PER_SENDER * RECEIVERS
    );
    println!("| instances | p50 | p99 | max | deliveries/s |");
    println!("|---|---|---|---|---|");
    for instances in [1, 2] {
        let run = fan_out(&deployment, instances).await;
        let deliveries = run.latencies.len();
        assert_eq!(deliveries, SENDERS * PER_SENDER * RECEIVERS);
        println!(
            "| {instances} | {:.2} ms | {:.2} ms | {:.2} ms | {:.0} |",
            percentile(&run.latencies, 0.50).as_secs_f64() * 1e3,
            percentile(&run.latencies, 0.99).as_secs_f64() * 1e3,
            run.latencies.last().unwrap().as_secs_f64() * 1e3,
            deliveries as f64 / run.took.as_secs_f64(),
        );
    }
}

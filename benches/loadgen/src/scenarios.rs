//! The scenarios, named like ASP.NET Core's benchmark scenarios. Each returns what it
//! measured for one server.

use crate::client::{Conn, Incoming};
use crate::server::Server;
use crate::Options;
use hdrhistogram::Histogram;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What one scenario measured on one server.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Round trips (echo), deliveries (broadcast, group), connections (idle, churn).
    pub(crate) operations: u64,
    /// Deliveries that should have happened, where it is known.
    pub(crate) expected: Option<u64>,
    pub(crate) elapsed: Duration,
    /// Server CPU seconds over the measured window.
    pub(crate) server_cpu: f64,
    /// Round-trip or delivery latency, microseconds.
    pub(crate) latency: Option<Histogram<u64>>,
    /// Server memory per connection, bytes (idle).
    pub(crate) bytes_per_connection: Vec<(usize, f64)>,
    /// Server memory before and after (churn), KiB.
    pub(crate) memory_kib: Option<(u64, u64)>,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).unwrap_or_else(|e| panic!("{e}"))
}

async fn connect_all(server: &Server, options: &Options, count: usize, offset: usize) -> Vec<Conn> {
    let mut connections = Vec::with_capacity(count);
    for i in 0..count {
        connections.push(
            Conn::connect(&server.address, server.target, options.protocol, offset + i).await,
        );
    }
    connections
}

/// C connections in closed loop: each sends `Echo(payload)` and waits for the answer.
pub(crate) async fn echo(server: &Server, options: &Options) -> Outcome {
    let connections = connect_all(server, options, options.connections, 0).await;
    let payload: String = "x".repeat(options.payload);
    let latency = Arc::new(Mutex::new(histogram()));
    let done = Arc::new(AtomicU64::new(0));
    let cpu = server.cpu_seconds();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(options.seconds);
    let mut tasks = Vec::new();
    for mut conn in connections {
        let (payload, latency, done) = (payload.clone(), latency.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut local = histogram();
            while Instant::now() < deadline {
                let sent = Instant::now();
                conn.echo(&payload).await;
                loop {
                    if conn
                        .next()
                        .await
                        .iter()
                        .any(|i| matches!(i, Incoming::Echoed))
                    {
                        break;
                    }
                }
                let _ = local.record(sent.elapsed().as_micros().max(1) as u64);
                done.fetch_add(1, Ordering::Relaxed);
            }
            let _ = latency
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .add(&local);
            conn
        }));
    }
    let mut kept = Vec::new();
    for task in tasks {
        if let Ok(conn) = task.await {
            kept.push(conn);
        }
    }
    let elapsed = started.elapsed();
    let server_cpu = server.cpu_seconds() - cpu;
    drop(kept);
    let latency = latency.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Outcome {
        operations: done.load(Ordering::Relaxed),
        elapsed,
        server_cpu,
        latency: Some(latency),
        ..Outcome::default()
    }
}

/// Receivers read; the payload carries its send time (microseconds since `epoch`).
fn spawn_receivers(
    connections: Vec<Conn>,
    epoch: Instant,
    stop: Arc<AtomicBool>,
    delivered: Arc<AtomicU64>,
    latency: Arc<Mutex<Histogram<u64>>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    connections
        .into_iter()
        .map(|mut conn| {
            let (stop, delivered, latency) = (stop.clone(), delivered.clone(), latency.clone());
            tokio::spawn(async move {
                let mut local = histogram();
                while !stop.load(Ordering::Relaxed) {
                    let Ok(incoming) =
                        tokio::time::timeout(Duration::from_millis(200), conn.next()).await
                    else {
                        continue;
                    };
                    let now = epoch.elapsed().as_micros() as u64;
                    for item in incoming {
                        if let Incoming::Received(text) = item {
                            delivered.fetch_add(1, Ordering::Relaxed);
                            let sent = text
                                .trim_start_matches('t')
                                .split(':')
                                .next()
                                .and_then(|t| t.parse::<u64>().ok());
                            if let Some(sent) = sent {
                                let _ = local.record(now.saturating_sub(sent).max(1));
                            }
                        }
                    }
                }
                let _ = latency
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .add(&local);
            })
        })
        .collect()
}

fn stamped(epoch: Instant, sequence: u64, size: usize) -> String {
    let mut text = format!("t{}:{sequence}:", epoch.elapsed().as_micros());
    while text.len() < size {
        text.push('x');
    }
    text
}

/// N receivers; K senders at a total rate; every message goes to every connection.
pub(crate) async fn broadcast(server: &Server, options: &Options) -> Outcome {
    let receivers = connect_all(server, options, options.connections, 0).await;
    // Senders are connections too: they get every broadcast (read and not counted).
    let senders = connect_all(server, options, options.senders, options.connections).await;
    let recipients = options.connections as u64;
    fanout(server, options, receivers, senders, recipients, false).await
}

/// Groups of `group_size` (connections rounded down to whole groups); each group has one
/// sender, not a member; messages go to its group only.
pub(crate) async fn group(server: &Server, options: &Options) -> Outcome {
    let groups = (options.connections / options.group_size).max(1);
    let members = groups * options.group_size;
    let mut receivers = connect_all(server, options, members, 0).await;
    for (i, conn) in receivers.iter_mut().enumerate() {
        conn.join(&format!("g{}", i / options.group_size)).await;
    }
    let senders = connect_all(server, options, groups, members).await;
    fanout(
        server,
        options,
        receivers,
        senders,
        options.group_size as u64,
        true,
    )
    .await
}

/// Senders send at the configured total rate; `recipients_per_message` receivers get
/// each message; by group (sender `i` to group `g{i}`) or to everyone.
async fn fanout(
    server: &Server,
    options: &Options,
    receivers: Vec<Conn>,
    senders: Vec<Conn>,
    recipients_per_message: u64,
    by_group: bool,
) -> Outcome {
    let epoch = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let delivered = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let latency = Arc::new(Mutex::new(histogram()));
    let reading = spawn_receivers(
        receivers,
        epoch,
        stop.clone(),
        delivered.clone(),
        latency.clone(),
    );
    let sender_count = senders.len().max(1) as u64;
    let per_sender = Duration::from_secs_f64(sender_count as f64 / options.rate as f64);
    let cpu = server.cpu_seconds();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(options.seconds);
    let mut sending = Vec::new();
    for (index, mut conn) in senders.into_iter().enumerate() {
        let (sent, stop) = (sent.clone(), stop.clone());
        let payload_size = options.payload;
        let group = by_group.then(|| format!("g{index}"));
        sending.push(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(per_sender);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut sequence = 0;
            // The sender's own copies (broadcast) are read and dropped alongside.
            while Instant::now() < deadline {
                tokio::select! {
                    _ = ticks.tick() => {
                        sequence += 1;
                        let text = stamped(epoch, sequence, payload_size);
                        match &group {
                            Some(group) => conn.send_to_group(group, &text).await,
                            None => conn.broadcast(&text).await,
                        }
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                    incoming = conn.next() => {
                        drop(incoming);
                    }
                }
            }
            while !stop.load(Ordering::Relaxed) {
                if tokio::time::timeout(Duration::from_millis(200), conn.next())
                    .await
                    .is_err()
                {
                    continue;
                }
            }
        }));
    }
    tokio::time::sleep_until(deadline.into()).await;
    let elapsed = started.elapsed();
    // Let what is in flight arrive, then stop reading.
    let total_sent = sent.load(Ordering::Relaxed);
    let receivers_expected = total_sent * recipients_per_message;
    let settle = Instant::now() + Duration::from_secs(5);
    while delivered.load(Ordering::Relaxed) < receivers_expected && Instant::now() < settle {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let server_cpu = server.cpu_seconds() - cpu;
    stop.store(true, Ordering::Relaxed);
    for task in reading.into_iter().chain(sending) {
        let _ = task.await;
    }
    let latency = latency.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Outcome {
        operations: delivered.load(Ordering::Relaxed),
        expected: Some(receivers_expected),
        elapsed,
        server_cpu,
        latency: Some(latency),
        ..Outcome::default()
    }
}

/// N connections that only connect (SignalR: and complete the handshake) and stay idle:
/// server memory per connection at 1,000 and at N.
pub(crate) async fn idle(server: &Server, options: &Options) -> Outcome {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let baseline = server.rss_kib();
    let mut connections = Vec::with_capacity(options.connections);
    let mut points = Vec::new();
    let cpu = server.cpu_seconds();
    let started = Instant::now();
    for i in 0..options.connections {
        connections.push(Conn::connect(&server.address, server.target, options.protocol, i).await);
        let n = i + 1;
        if n == 1000.min(options.connections) || n == options.connections {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let rss = server.rss_kib();
            points.push((n, rss.saturating_sub(baseline) as f64 * 1024.0 / n as f64));
        }
    }
    let elapsed = started.elapsed();
    let server_cpu = server.cpu_seconds() - cpu;
    Outcome {
        operations: connections.len() as u64,
        elapsed,
        server_cpu,
        bytes_per_connection: points,
        ..Outcome::default()
    }
}

/// Connect, echo once, close, in a loop (`connections` at a time); server memory before
/// and after, once everything settled.
pub(crate) async fn churn(server: &Server, options: &Options) -> Outcome {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let baseline = server.rss_kib();
    let done = Arc::new(AtomicU64::new(0));
    let cpu = server.cpu_seconds();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(options.seconds);
    let payload = "x".repeat(options.payload);
    let mut tasks = Vec::new();
    for lane in 0..options.connections.min(200) {
        let (address, target, protocol) = (server.address.clone(), server.target, options.protocol);
        let (done, payload) = (done.clone(), payload.clone());
        tasks.push(tokio::spawn(async move {
            let mut round = 0;
            while Instant::now() < deadline {
                let mut conn = Conn::connect(&address, target, protocol, lane + round * 200).await;
                conn.echo(&payload).await;
                while !conn
                    .next()
                    .await
                    .iter()
                    .any(|i| matches!(i, Incoming::Echoed))
                {}
                drop(conn);
                done.fetch_add(1, Ordering::Relaxed);
                round = (round + 1) % 50;
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = started.elapsed();
    let server_cpu = server.cpu_seconds() - cpu;
    tokio::time::sleep(Duration::from_secs(3)).await;
    Outcome {
        operations: done.load(Ordering::Relaxed),
        elapsed,
        server_cpu,
        memory_kib: Some((baseline, server.rss_kib())),
        ..Outcome::default()
    }
}

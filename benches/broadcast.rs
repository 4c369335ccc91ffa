//! Broadcast throughput: starts `examples/chat` (release build), connects N WebSocket
//! clients (JSON), then one of them sends `SendMessage` K times; every client receives
//! every `ReceiveMessage`. Reports deliveries per second (N × K / elapsed).
//!
//! ```text
//! cargo build --release --example chat
//! cargo bench --bench broadcast -- 1000 200
//! cargo bench --bench broadcast -- 1000 200 --redis redis://127.0.0.1:6379 --servers 2
//! ```
//!
//! `--senders K` sends from K clients at once (each an equal share of the messages).
//! With `--redis URL --servers N` it starts N chat servers on that Redis backplane and
//! spreads the receivers and senders over them round-robin: deliveries then cross
//! servers through Redis.
//!
//! Loopback only; bounded by the arguments (at most 5000 clients, 10 000 messages).

#[path = "common/mod.rs"]
mod common;

use futures_util::{SinkExt, StreamExt};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// Counts `ReceiveMessage` records in a JSON frame.
fn count_messages(frame: &[u8]) -> usize {
    frame
        .split(|b| *b == 0x1e)
        .filter(|record| {
            record
                .windows(b"\"ReceiveMessage\"".len())
                .any(|w| w == b"\"ReceiveMessage\"")
        })
        .count()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let option = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let redis = option("--redis");
    let sender_count = option("--senders")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1usize)
        .clamp(1, 100);
    let server_count = option("--servers")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1usize)
        .clamp(1, 4);
    let takes_value = |flag: &str| matches!(flag, "--redis" | "--servers" | "--senders");
    let numbers: Vec<usize> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| {
            let is_value = *i > 0 && takes_value(&args[i - 1]);
            !a.starts_with('-') && !is_value
        })
        .filter_map(|(_, a)| a.parse().ok())
        .collect();
    let clients = numbers.first().copied().unwrap_or(1000).clamp(1, 5000);
    let messages = numbers.get(1).copied().unwrap_or(200).clamp(1, 10_000);
    // Every sender sends an equal share; the total is rounded down to a multiple.
    let messages = (messages / sender_count).max(1) * sender_count;
    let mut servers = Vec::new();
    for _ in 0..server_count {
        servers.push(match &redis {
            Some(url) => common::ChatServer::start_with(&["--redis", url]).await,
            None => common::ChatServer::start().await,
        });
    }
    let mut receivers = Vec::with_capacity(clients);
    for i in 0..clients {
        receivers.push(servers[i % server_count].client().await);
    }
    let mut senders = Vec::with_capacity(sender_count);
    for j in 0..sender_count {
        senders.push(servers[j % server_count].client().await);
    }
    // Every server has subscribed its connections' channels once their handshakes are
    // done; a moment lets the last subscriptions settle before timing starts.
    if redis.is_some() {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let cpu_before: f64 = servers.iter().map(|s| s.cpu_seconds()).sum();
    let redis_before = match &redis {
        Some(url) => redis_cpu_seconds(url).await,
        None => 0.0,
    };
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut tasks = Vec::new();
    for mut ws in receivers {
        tasks.push(tokio::spawn(async move {
            let mut received = 0;
            while received < messages {
                match tokio::time::timeout_at(deadline, ws.next()).await {
                    Ok(Some(Ok(frame))) => received += count_messages(&frame.into_data()),
                    _ => break,
                }
            }
            received
        }));
    }
    // Senders read what they are sent too (they are among "all"): a client that never
    // reads is disconnected once its queue is full.
    let share = messages / sender_count;
    let mut sending = Vec::new();
    let mut draining = Vec::new();
    for (j, sender) in senders.into_iter().enumerate() {
        let (mut write, mut read) = sender.split();
        draining.push(tokio::spawn(async move {
            while let Some(Ok(_)) = read.next().await {}
        }));
        sending.push(tokio::spawn(async move {
            for i in 0..share {
                let record = format!(
                    "{{\"type\":1,\"target\":\"SendMessage\",\"arguments\":[\"bench {j}\",\"message {i}\"]}}\u{1e}"
                );
                if write.send(Message::text(record)).await.is_err() {
                    break;
                }
            }
            write
        }));
    }
    let mut delivered = 0;
    for task in tasks {
        delivered += task.await.unwrap_or(0);
    }
    let elapsed = started.elapsed();
    let server_cpu = servers.iter().map(|s| s.cpu_seconds()).sum::<f64>() - cpu_before;
    let redis_cpu = match &redis {
        Some(url) => redis_cpu_seconds(url).await - redis_before,
        None => 0.0,
    };
    for task in sending {
        drop(task.await);
    }
    for task in draining {
        task.abort();
    }
    drop(servers);
    println!(
        "servers:                {server_count}{}",
        if redis.is_some() { " on Redis" } else { "" }
    );
    println!("clients:                {clients} receivers, {sender_count} senders");
    println!("messages broadcast:     {messages}");
    println!(
        "deliveries:             {delivered} of {}",
        clients * messages
    );
    println!("elapsed:                {:.3} s", elapsed.as_secs_f64());
    println!(
        "deliveries per second:  {:.0}",
        delivered as f64 / elapsed.as_secs_f64()
    );
    println!("server CPU:             {server_cpu:.2} s (all servers)");
    println!(
        "deliveries per server CPU second: {:.0}",
        delivered as f64 / server_cpu.max(0.01)
    );
    if redis.is_some() {
        println!("Redis CPU:              {redis_cpu:.2} s");
    }
}

/// CPU seconds Redis used so far (`INFO cpu`: used_cpu_user + used_cpu_sys).
async fn redis_cpu_seconds(url: &str) -> f64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap_or("127.0.0.1:6379")
        .to_owned();
    let Ok(mut stream) = tokio::net::TcpStream::connect(&address).await else {
        return 0.0;
    };
    if stream.write_all(b"INFO cpu\r\n").await.is_err() {
        return 0.0;
    }
    let mut reply = vec![0u8; 4096];
    let n = stream.read(&mut reply).await.unwrap_or(0);
    let text = String::from_utf8_lossy(&reply[..n]);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    field("used_cpu_user:") + field("used_cpu_sys:")
}

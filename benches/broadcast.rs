//! Broadcast throughput: starts `examples/chat` (release build), connects N WebSocket
//! clients (JSON), then one of them sends `SendMessage` K times; every client receives
//! every `ReceiveMessage`. Reports deliveries per second (N × K / elapsed).
//!
//! ```text
//! cargo build --release --example chat
//! cargo bench --bench broadcast -- 1000 200
//! ```
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
    let numbers: Vec<usize> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .filter_map(|a| a.parse().ok())
        .collect();
    let clients = numbers.first().copied().unwrap_or(1000).clamp(1, 5000);
    let messages = numbers.get(1).copied().unwrap_or(200).clamp(1, 10_000);
    let server = common::ChatServer::start().await;
    let mut receivers = Vec::with_capacity(clients);
    for _ in 0..clients {
        receivers.push(server.client().await);
    }
    let sender = server.client().await;
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
    // The sender reads what it is sent too (it is one of "all"): a client that never
    // reads is disconnected once its queue is full.
    let (mut write, mut read) = sender.split();
    let draining = tokio::spawn(async move { while let Some(Ok(_)) = read.next().await {} });
    let sending = tokio::spawn(async move {
        for i in 0..messages {
            let record = format!(
                "{{\"type\":1,\"target\":\"SendMessage\",\"arguments\":[\"bench\",\"message {i}\"]}}\u{1e}"
            );
            if write.send(Message::text(record)).await.is_err() {
                break;
            }
        }
        write
    });
    let mut delivered = 0;
    for task in tasks {
        delivered += task.await.unwrap_or(0);
    }
    let elapsed = started.elapsed();
    drop(sending.await);
    draining.abort();
    drop(server);
    println!("clients:                {clients}");
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
}

//! Server memory per idle connection: starts `examples/chat` (release build), opens N
//! WebSocket connections that complete the JSON handshake and then stay idle, and reads
//! the server's resident memory before and after.
//!
//! ```text
//! cargo build --release --example chat
//! cargo bench --bench idle_connections -- 5000
//! ```
//!
//! Loopback only; the connection count is bounded by the argument (default 5000).

#[path = "common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let count: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(5000)
        .min(15_000);
    let server = common::ChatServer::start().await;
    let pid = server.pid();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = rss_kib(pid);
    let started = Instant::now();
    let mut sockets = Vec::with_capacity(count);
    for _ in 0..count {
        let ws = server.client().await;
        sockets.push(ws);
    }
    let connect_time = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(pid);
    let per_connection = (after.saturating_sub(before) as f64 * 1024.0) / count as f64;
    println!("connections:            {count}");
    println!(
        "connect + handshake:    {:.2} s ({:.0}/s)",
        connect_time.as_secs_f64(),
        count as f64 / connect_time.as_secs_f64()
    );
    println!("server RSS before:      {before} KiB");
    println!("server RSS after:       {after} KiB");
    println!("per idle connection:    {per_connection:.0} bytes");
    drop(sockets);
    drop(server);
}

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

use futures_util::{SinkExt, StreamExt};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::main]
async fn main() {
    let count: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(5000)
        .min(15_000);
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let binary = format!("{target}/release/examples/chat");
    let mut child = Command::new(&binary)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start {binary} (cargo build --release --example chat): {e}")
        });
    let stdout = child.stdout.take().expect("piped stdout");
    let server = Server(child);
    let pid = server.0.id();
    let mut lines =
        BufReader::new(tokio::process::ChildStdout::from_std(stdout).expect("stdout")).lines();
    let url = loop {
        let line = lines
            .next_line()
            .await
            .expect("read")
            .expect("server exited");
        if let Some(url) = line.strip_prefix("listening on http://") {
            break url.to_owned();
        }
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = rss_kib(pid);
    let started = Instant::now();
    let mut sockets = Vec::with_capacity(count);
    for _ in 0..count {
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{url}/chat"))
            .await
            .expect("connect");
        ws.send(Message::text("{\"protocol\":\"json\",\"version\":1}\u{1e}"))
            .await
            .expect("handshake");
        let reply = ws.next().await.expect("reply").expect("reply");
        assert_eq!(reply.into_data().as_ref(), b"{}\x1e");
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

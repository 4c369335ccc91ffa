//! What the load benchmarks share: the release build of `examples/chat` as a child
//! process on a free loopback port, and WebSocket clients that complete the handshake.

use futures_util::{SinkExt, StreamExt};
use std::process::{Child, Command, Stdio};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

/// A WebSocket client connection.
pub(crate) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The chat server; killed when dropped.
pub(crate) struct ChatServer {
    child: Child,
    /// `host:port` it listens on.
    pub(crate) address: String,
}

impl ChatServer {
    /// Starts `{CARGO_TARGET_DIR or target}/release/examples/chat --listen 127.0.0.1:0`.
    pub(crate) async fn start() -> ChatServer {
        Self::start_with(&[]).await
    }

    /// [`start`](Self::start) with more arguments (`--redis URL`).
    pub(crate) async fn start_with(args: &[&str]) -> ChatServer {
        let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
        let binary = format!("{target}/release/examples/chat");
        let mut child = Command::new(&binary)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {binary} (cargo build --release --example chat): {e}")
            });
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines =
            BufReader::new(tokio::process::ChildStdout::from_std(stdout).expect("stdout")).lines();
        let address = loop {
            let line = lines
                .next_line()
                .await
                .expect("read")
                .expect("server exited");
            if let Some(address) = line.strip_prefix("listening on http://") {
                break address.to_owned();
            }
        };
        ChatServer { child, address }
    }

    /// CPU seconds (user + system) the server used so far, from `/proc`.
    #[allow(dead_code)] // used by broadcast only
    pub(crate) fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
        let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        // utime and stime are fields 14 and 15, i.e. 11 and 12 after the name.
        (ticks(11) + ticks(12)) / 100.0
    }

    /// The server's process id.
    #[allow(dead_code)] // used by idle_connections only
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A client on `/chat` that completed the JSON handshake.
    pub(crate) async fn client(&self) -> Ws {
        let url = format!("ws://{}/chat", self.address);
        let (mut ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect");
        ws.send(Message::text("{\"protocol\":\"json\",\"version\":1}\u{1e}"))
            .await
            .expect("handshake");
        let reply = ws.next().await.expect("reply").expect("reply");
        assert!(
            reply.into_data().starts_with(b"{}\x1e"),
            "handshake accepted"
        );
        ws
    }
}

impl Drop for ChatServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

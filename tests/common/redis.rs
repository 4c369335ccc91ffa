//! The real Redis the backplane tests use: `SIGNALR_TEST_REDIS_URL` if set, else a server
//! answering on 127.0.0.1:6379, else a `redis-server` from `PATH` started on a free port
//! (stopped when the handle drops); otherwise the test fails saying how to get one.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A Redis for one test.
pub(crate) struct TestRedis {
    /// `redis://host:port`.
    pub(crate) url: String,
    child: Option<Child>,
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn answers_ping(address: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(address) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    matches!(stream.read(&mut reply), Ok(n) if reply[..n].starts_with(b"+PONG"))
}

/// Finds or starts a Redis.
pub(crate) fn redis() -> TestRedis {
    if let Ok(url) = std::env::var("SIGNALR_TEST_REDIS_URL") {
        return TestRedis { url, child: None };
    }
    if answers_ping("127.0.0.1:6379") {
        return TestRedis {
            url: "redis://127.0.0.1:6379".to_owned(),
            child: None,
        };
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "no Redis on 127.0.0.1:6379 and cannot start redis-server ({e}): install Redis \
                 (Debian: apt-get install redis-server) or set SIGNALR_TEST_REDIS_URL"
            )
        });
    let address = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !answers_ping(&address) {
        assert!(
            Instant::now() < deadline,
            "redis-server on {address} did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    TestRedis {
        url: format!("redis://{address}"),
        child: Some(child),
    }
}

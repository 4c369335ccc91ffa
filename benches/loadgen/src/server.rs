//! The server under test as a child process: `examples/bench` or the bare axum baseline
//! (`loadgen raw-server`), pinned to one core, with its CPU time and memory from `/proc`.

use std::process::{Child, Command, Stdio};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// The bare axum WebSocket server: the limit.
    Raw,
    /// `examples/bench`.
    SignalR,
}

impl Target {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Target::Raw => "raw axum",
            Target::SignalR => "signalr",
        }
    }
}

/// A running server; killed when dropped (unless attached to).
pub(crate) struct Server {
    pub(crate) target: Target,
    child: Option<Child>,
    pid: u32,
    /// `host:port`.
    pub(crate) address: String,
}

fn target_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(Into::into)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target")
        })
}

impl Server {
    /// Starts `target` (the baseline with `TCP_NODELAY` if `raw_nodelay`).
    pub(crate) async fn start(target: Target, core: Option<&str>, raw_nodelay: bool) -> Server {
        let (program, mut args): (std::path::PathBuf, Vec<&str>) = match target {
            Target::SignalR => (
                target_dir().join("release/examples/bench"),
                vec!["--listen", "127.0.0.1:0"],
            ),
            Target::Raw => (
                std::env::current_exe().unwrap_or_else(|e| panic!("own path: {e}")),
                vec!["raw-server", "--listen", "127.0.0.1:0"],
            ),
        };
        if target == Target::Raw && raw_nodelay {
            args.push("--nodelay");
        }
        let pinned = core.filter(|_| Command::new("taskset").arg("-V").output().is_ok());
        let mut command = match pinned {
            Some(core) => {
                let mut c = Command::new("taskset");
                c.args(["-c", core]).arg(&program);
                c
            }
            None => Command::new(&program),
        };
        let mut child = command
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} ({e}); build it: cargo build --release --example bench -p signalr",
                    program.display()
                )
            });
        let stdout = child
            .stdout
            .take()
            .unwrap_or_else(|| panic!("piped stdout"));
        let stdout =
            tokio::process::ChildStdout::from_std(stdout).unwrap_or_else(|e| panic!("{e}"));
        let mut lines = BufReader::new(stdout).lines();
        let address = loop {
            match lines.next_line().await {
                Ok(Some(line)) => {
                    if let Some(address) = line.strip_prefix("listening on http://") {
                        break address.trim().to_owned();
                    }
                }
                _ => panic!("{} exited before listening", program.display()),
            }
        };
        Server {
            target,
            pid: child.id(),
            child: Some(child),
            address,
        }
    }

    /// A server started by someone else (under a profiler, say): `pid` is read for CPU
    /// time and memory; `target` says which kind it is.
    pub(crate) fn attach(target: Target, address: &str, pid: u32) -> Server {
        Server {
            target,
            child: None,
            pid,
            address: address.to_owned(),
        }
    }

    fn stat_fields(&self) -> Vec<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap_or_default();
        let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
        after
            .split_whitespace()
            .map(|f| f.parse().unwrap_or(0))
            .collect()
    }

    /// CPU seconds (user + system) so far.
    pub(crate) fn cpu_seconds(&self) -> f64 {
        let fields = self.stat_fields();
        // utime and stime: fields 14 and 15 of /proc/PID/stat, 11 and 12 after the name.
        let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
        ticks as f64 / 100.0
    }

    /// Resident memory, KiB.
    pub(crate) fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

//! Load generator for `examples/bench` (SignalR over WebSockets, JSON or MessagePack) and,
//! in the same invocation, for a bare axum WebSocket server doing the same work without
//! SignalR (the limit this stack allows). For each it reports throughput, latency, and the
//! server's CPU time per operation read from `/proc`, and the ratio between the two.
//!
//! ```text
//! cargo build --release --example bench -p signalr && cargo build --release -p loadgen
//! taskset -c 1 target/release/loadgen echo --connections 50 --seconds 10
//! taskset -c 1 target/release/loadgen echo --connections 50 --seconds 3 --rounds 16
//! taskset -c 1 target/release/loadgen broadcast --connections 200 --senders 4 --rate 2000
//! taskset -c 1 target/release/loadgen idle --connections 5000
//! ```
//!
//! Servers are started pinned to core 0 (`taskset -c 0`, when available); run the load
//! generator on the other core. Loopback only; every scenario is bounded in time and count.
//! `--rounds N` runs both servers N times in alternating order and ends with the median
//! of the rounds' ratios: one run's ratio varies by about ±10% on a shared machine.

mod client;
mod raw_server;
mod report;
mod scenarios;
mod server;

use std::time::Duration;

/// What to run, from the command line.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) scenario: String,
    pub(crate) targets: Vec<server::Target>,
    pub(crate) connections: usize,
    pub(crate) seconds: u64,
    pub(crate) payload: usize,
    pub(crate) protocol: client::Protocol,
    pub(crate) senders: usize,
    pub(crate) rate: u64,
    pub(crate) group_size: usize,
    pub(crate) server_core: Option<String>,
    /// A server already running (`ADDR` and its `PID`), instead of starting one.
    pub(crate) attach: Option<(String, u32)>,
    /// Whether the baseline sets `TCP_NODELAY` as the SignalR server (and Kestrel) does,
    /// instead of leaving Nagle's algorithm on (axum's default).
    pub(crate) raw_nodelay: bool,
    /// How many times the targets are run, in alternating order (raw then SignalR, then
    /// SignalR then raw, ...): one run of each differs from the next by more than the
    /// difference being measured, so the summary gives the median of the rounds' ratios.
    pub(crate) rounds: usize,
}

fn usage() -> ! {
    eprintln!(
        "usage: loadgen echo|broadcast|group|idle|churn [--target signalr|raw|both] \
         [--connections N] [--seconds S] [--payload BYTES] [--protocol json|messagepack] \
         [--senders K] [--rate MSGS_PER_S] [--group-size N] [--server-core CPU|none] \
         [--attach ADDR,PID (with --target raw: the baseline)] [--raw-nodelay on|off] [--rounds N]\n       \
         loadgen raw-server --listen ADDR [--nodelay]"
    );
    std::process::exit(2)
}

fn parse() -> Options {
    let mut args = std::env::args().skip(1);
    let scenario = args.next().unwrap_or_else(|| usage());
    let mut options = Options {
        scenario,
        targets: vec![server::Target::Raw, server::Target::SignalR],
        connections: 50,
        seconds: 10,
        payload: 32,
        protocol: client::Protocol::Json,
        senders: 4,
        rate: 2000,
        group_size: 10,
        server_core: Some("0".to_owned()),
        attach: None,
        raw_nodelay: false,
        rounds: 1,
    };
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        let number = || value.parse::<u64>().unwrap_or_else(|_| usage());
        match flag.as_str() {
            "--target" => {
                options.targets = match value.as_str() {
                    "signalr" => vec![server::Target::SignalR],
                    "raw" => vec![server::Target::Raw],
                    "both" => vec![server::Target::Raw, server::Target::SignalR],
                    _ => usage(),
                }
            }
            "--connections" => options.connections = (number() as usize).clamp(1, 100_000),
            "--seconds" => options.seconds = number().clamp(1, 600),
            "--payload" => options.payload = (number() as usize).clamp(1, 64 * 1024),
            "--protocol" => {
                options.protocol = match value.as_str() {
                    "json" => client::Protocol::Json,
                    "messagepack" => client::Protocol::MessagePack,
                    _ => usage(),
                }
            }
            "--senders" => options.senders = (number() as usize).clamp(1, 1000),
            "--rate" => options.rate = number().clamp(1, 1_000_000),
            "--rounds" => options.rounds = (number() as usize).clamp(1, 50),
            "--group-size" => options.group_size = (number() as usize).clamp(1, 10_000),
            "--attach" => {
                let (address, pid) = value.split_once(',').unwrap_or_else(|| usage());
                let pid = pid.parse().unwrap_or_else(|_| usage());
                options.attach = Some((address.to_owned(), pid));
            }
            "--raw-nodelay" => {
                options.raw_nodelay = match value.as_str() {
                    "on" => true,
                    "off" => false,
                    _ => usage(),
                }
            }
            "--server-core" => {
                options.server_core = if value == "none" { None } else { Some(value) }
            }
            _ => usage(),
        }
    }
    // An attached server is one server: SignalR unless `--target raw` (anywhere on the
    // line) says it is the baseline.
    if options.attach.is_some() && options.targets.len() != 1 {
        options.targets = vec![server::Target::SignalR];
    }
    options
}

fn main() {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("raw-server") {
        let listen = match (args.next().as_deref(), args.next()) {
            (Some("--listen"), Some(address)) => address,
            _ => usage(),
        };
        let nodelay = match args.next().as_deref() {
            None => false,
            Some("--nodelay") => true,
            Some(_) => usage(),
        };
        return raw_server::run(&listen, nodelay);
    }
    let options = parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("cannot start the runtime: {e}"));
    runtime.block_on(async move {
        let mut rounds = Vec::new();
        for round in 0..options.rounds {
            let mut order = options.targets.clone();
            if round % 2 == 1 {
                order.reverse();
            }
            let mut results = Vec::new();
            for target in order {
                results.push((target, run(target, &options).await));
            }
            if options.rounds > 1 {
                println!("round {} of {}", round + 1, options.rounds);
            }
            report::print(&options, &results);
            rounds.push(results);
        }
        if options.rounds > 1 {
            report::summary(&rounds);
        }
    });
}

/// One scenario against one server, started for it (or attached to).
async fn run(target: server::Target, options: &Options) -> scenarios::Outcome {
    let server = match &options.attach {
        Some((address, pid)) => server::Server::attach(target, address, *pid),
        None => {
            server::Server::start(target, options.server_core.as_deref(), options.raw_nodelay).await
        }
    };
    let result = match options.scenario.as_str() {
        "echo" => scenarios::echo(&server, options).await,
        "broadcast" => scenarios::broadcast(&server, options).await,
        "group" => scenarios::group(&server, options).await,
        "idle" => scenarios::idle(&server, options).await,
        "churn" => scenarios::churn(&server, options).await,
        _ => usage(),
    };
    drop(server);
    tokio::time::sleep(Duration::from_millis(300)).await;
    result
}

//! No input can panic the server: many connections feed it random and mangled bytes in
//! both protocols, every one gets an orderly end, and a fresh connection still works.
#![allow(clippy::unwrap_used, missing_docs)]

use futures_util::{SinkExt, StreamExt};
use signalr::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

#[signalr::hub]
pub trait Sturdy {
    async fn echo(&self, text: String) -> String;
    async fn add(&self, a: i64, b: i64) -> i64;
}

struct Hub;

impl Sturdy for Hub {
    async fn echo(&self, text: String) -> String {
        text
    }
    async fn add(&self, a: i64, b: i64) -> i64 {
        a.wrapping_add(b)
    }
}

/// A small deterministic generator (no dependency, same bytes every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Valid records of each protocol, to mangle.
fn seeds(messagepack: bool) -> Vec<Vec<u8>> {
    if messagepack {
        vec![
            vec![
                0x0d, 0x95, 0x01, 0x80, 0xa1, 0x31, 0xa4, b'E', b'c', b'h', b'o', 0x91, 0xa1, b'x',
            ],
            vec![0x02, 0x91, 0x06],
            vec![0x04, 0x93, 0x03, 0x80, 0xa1],
            vec![0x03, 0x92, 0x08, 0x05],
        ]
    } else {
        [
            "{\"type\":1,\"invocationId\":\"1\",\"target\":\"Echo\",\"arguments\":[\"x\"]}\u{1e}",
            "{\"type\":1,\"target\":\"Add\",\"arguments\":[1,2]}\u{1e}",
            "{\"type\":4,\"invocationId\":\"2\",\"target\":\"Add\",\"arguments\":[]}\u{1e}",
            "{\"type\":2,\"invocationId\":\"3\",\"item\":{}}\u{1e}",
            "{\"type\":6}\u{1e}",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect()
    }
}

/// Mostly valid records (alone, batched, or split mid-record) so that connections live
/// long enough to meet the mangled ones; one frame in eight is mangled.
fn frame(rng: &mut Lcg, seeds: &[Vec<u8>], pending: &mut Vec<u8>) -> Vec<u8> {
    let pick = |rng: &mut Lcg| seeds[rng.below(seeds.len() as u64) as usize].clone();
    let mut data = std::mem::take(pending);
    match rng.below(8) {
        0 => data.extend(mangle(rng, seeds)),
        1 => {
            let record = pick(rng);
            let cut = rng.below(record.len() as u64) as usize;
            data.extend_from_slice(&record[..cut]);
            pending.extend_from_slice(&record[cut..]);
        }
        2 => {
            for _ in 0..2 + rng.below(4) {
                data.extend(pick(rng));
            }
        }
        _ => data.extend(pick(rng)),
    }
    data
}

fn mangle(rng: &mut Lcg, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut data = seeds[rng.below(seeds.len() as u64) as usize].clone();
    match rng.below(4) {
        0 => (0..1 + rng.below(64)).map(|_| rng.next() as u8).collect(),
        1 => {
            let cut = rng.below(data.len() as u64) as usize;
            data.truncate(cut);
            data
        }
        2 => {
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(data.len() as u64) as usize;
                data[at] = rng.next() as u8;
            }
            data
        }
        _ => {
            let at = rng.below(data.len() as u64) as usize;
            let extra: Vec<u8> = (0..rng.below(16)).map(|_| rng.next() as u8).collect();
            data.splice(at..at, extra);
            data
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_and_mangled_input_never_panics_the_server() {
    let panics = Arc::new(AtomicUsize::new(0));
    let seen = panics.clone();
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        seen.fetch_add(1, Ordering::SeqCst);
        default_hook(info);
    }));

    let app = axum::Router::new().route_hub(
        "/hub",
        Hub.into_server()
            .enable_detailed_errors(true)
            .maximum_receive_message_size(Some(256)),
    );
    let listener = signalr::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let frames_sent = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for connection in 0..60u64 {
        let frames_sent = frames_sent.clone();
        tasks.push(tokio::spawn(async move {
            let messagepack = connection % 2 == 1;
            let mut rng = Lcg(connection * 7919 + 17);
            let seeds = seeds(messagepack);
            let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/hub"))
                .await
                .unwrap();
            let protocol = if messagepack { "messagepack" } else { "json" };
            let handshake = format!("{{\"protocol\":\"{protocol}\",\"version\":1}}\u{1e}");
            ws.send(Message::text(handshake)).await.unwrap();
            let mut pending = Vec::new();
            for _ in 0..40 {
                let frame = frame(&mut rng, &seeds, &mut pending);
                let sent = if rng.below(2) == 0 {
                    ws.send(Message::binary(frame)).await
                } else {
                    ws.send(Message::text(String::from_utf8_lossy(&frame).into_owned()))
                        .await
                };
                if sent.is_err() {
                    break; // the server closed the connection: an orderly end
                }
                frames_sent.fetch_add(1, Ordering::Relaxed);
            }
            // Drain until the server closes or goes quiet: every connection ends in order.
            let _ = tokio::time::timeout(Duration::from_millis(500), async {
                while let Some(Ok(_)) = ws.next().await {}
            })
            .await;
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert!(
        frames_sent.load(Ordering::Relaxed) > 300,
        "connections lived long enough to exercise the server ({} frames)",
        frames_sent.load(Ordering::Relaxed)
    );

    // The server still serves a well-behaved client.
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/hub"))
        .await
        .unwrap();
    ws.send(Message::text(
        "{\"protocol\":\"json\",\"version\":1}\u{1e}{\"type\":1,\"invocationId\":\"9\",\"target\":\"Add\",\"arguments\":[40,2]}\u{1e}",
    ))
    .await
    .unwrap();
    let mut received = String::new();
    while !received.contains("\"result\":42") {
        let message = tokio::time::timeout(Duration::from_secs(3), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        received.push_str(&message.into_text().unwrap());
    }
    assert_eq!(panics.load(Ordering::SeqCst), 0, "the server panicked");
}

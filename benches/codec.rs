//! The per-message hot paths of the hub protocols: splitting records out of a stream,
//! parsing every message type a server reads (arguments stay undecoded), decoding
//! arguments into their types, and writing every message type the server sends, in both
//! protocols.
//!
//! ```text
//! cargo bench --bench codec
//! ```

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde::{Deserialize, Serialize};
use signalr::protocol::{
    parse_message, CompletionBody, HubMessage, HubProtocol, OutboundMessage, RecordReader,
};
use std::hint::black_box;

#[derive(Serialize, Deserialize, Clone)]
struct Package {
    id: u64,
    section: String,
    refrigerated: bool,
}

fn package() -> Package {
    Package {
        id: 42,
        section: "cold-storage".into(),
        refrigerated: true,
    }
}

/// The client's `invoke("ReportArrival", package)` as one record of each protocol.
fn invocation_record(protocol: HubProtocol) -> Bytes {
    let message: OutboundMessage<'_, (Package,)> = OutboundMessage::Invocation {
        invocation_id: Some("17"),
        target: "ReportArrival",
        arguments: &(package(),),
        stream_ids: &[],
    };
    let framed = message.encode(protocol).expect("encodes");
    let mut reader = RecordReader::new(protocol, None);
    reader.push(&framed);
    reader.next_record().expect("frames").expect("one record")
}

/// The message types the server writes, in the order [`write_message`] numbers them.
const WRITTEN: [&str; 11] = [
    "invocation",
    "invocation awaiting a result",
    "stream item",
    "completion with a result",
    "completion with an error",
    "completion void",
    "cancel invocation",
    "ping",
    "close",
    "ack",
    "sequence",
];

/// Every message type the server writes, encoded in `protocol`.
fn write_each(protocol: HubProtocol, package: &Package) -> Vec<(&'static str, Bytes)> {
    WRITTEN
        .iter()
        .enumerate()
        .map(|(index, name)| (*name, write_message(protocol, package, index)))
        .collect()
}

/// A client's StreamInvocation (type 4), which the server never writes: the blocking
/// invocation's record with its type changed (both protocols put the type first).
fn stream_invocation_record(protocol: HubProtocol) -> Bytes {
    let invocation = invocation_record(protocol);
    let mut bytes = invocation.to_vec();
    match protocol {
        HubProtocol::Json => {
            let text = String::from_utf8(bytes).expect("JSON is UTF-8");
            bytes = text.replacen("\"type\":1", "\"type\":4", 1).into_bytes();
        }
        HubProtocol::MessagePack => {
            // Body: fixarray header, then the type as a positive fixint.
            let body = bytes
                .iter()
                .position(|b| b & 0xf0 == 0x90)
                .expect("an array");
            bytes[body + 1] = 4;
        }
    }
    Bytes::from(bytes)
}

/// One record of every message type a server reads, unframed as the reader hands them
/// to the parser.
fn records_to_parse(protocol: HubProtocol) -> Vec<(&'static str, Bytes)> {
    let package = package();
    let mut records = vec![
        ("invocation", invocation_record(protocol)),
        ("stream invocation", stream_invocation_record(protocol)),
    ];
    for (name, framed) in write_each(protocol, &package) {
        if name == "invocation" || name == "invocation awaiting a result" {
            continue;
        }
        let mut reader = RecordReader::new(protocol, None);
        reader.push(&framed);
        let record = reader.next_record().expect("frames").expect("one record");
        records.push((name, record));
    }
    records
}

fn parsing(c: &mut Criterion) {
    for protocol in HubProtocol::ALL {
        let mut group = c.benchmark_group(format!("parse {}", protocol.name()));
        group.throughput(Throughput::Elements(1));
        for (name, record) in records_to_parse(protocol) {
            assert!(
                matches!(parse_message(protocol, record.clone()), Ok(Some(_))),
                "{name} parses"
            );
            group.bench_function(name, |b| {
                b.iter(|| parse_message(protocol, black_box(record.clone())))
            });
        }
        group.finish();
    }

    let mut group = c.benchmark_group("parse and decode arguments");
    group.throughput(Throughput::Elements(1));
    for protocol in HubProtocol::ALL {
        let record = invocation_record(protocol);
        group.bench_function(protocol.name(), |b| {
            b.iter(|| {
                let Ok(Some(HubMessage::Invocation(invocation))) =
                    parse_message(protocol, black_box(record.clone()))
                else {
                    panic!("an invocation");
                };
                invocation.arguments[0]
                    .decode::<Package>()
                    .expect("decodes")
            })
        });
    }
    group.finish();
}

fn framing(c: &mut Criterion) {
    let mut group = c.benchmark_group("split 100 records from one chunk");
    group.throughput(Throughput::Elements(100));
    for protocol in HubProtocol::ALL {
        let message: OutboundMessage<'_, (Package,)> = OutboundMessage::Invocation {
            invocation_id: None,
            target: "ReportArrival",
            arguments: &(package(),),
            stream_ids: &[],
        };
        let one = message.encode(protocol).expect("encodes");
        let chunk: Vec<u8> = one.iter().copied().cycle().take(one.len() * 100).collect();
        group.bench_function(protocol.name(), |b| {
            b.iter(|| {
                let mut reader = RecordReader::new(protocol, Some(32 * 1024));
                reader.push(black_box(&chunk));
                let mut count = 0;
                while let Ok(Some(_)) = reader.next_record() {
                    count += 1;
                }
                count
            })
        });
    }
    group.finish();
}

fn encoding(c: &mut Criterion) {
    let package = package();
    for protocol in HubProtocol::ALL {
        let mut group = c.benchmark_group(format!("write {}", protocol.name()));
        group.throughput(Throughput::Elements(1));
        for (index, name) in WRITTEN.iter().enumerate() {
            group.bench_function(*name, |b| {
                b.iter(|| write_message(protocol, black_box(&package), index))
            });
        }
        group.finish();
    }
}

/// A message without a payload.
type Control<'a> = OutboundMessage<'a, ()>;

/// Writes message number `index` of [`WRITTEN`].
fn write_message(protocol: HubProtocol, package: &Package, index: usize) -> Bytes {
    let encode = |result: Result<Bytes, _>| result.expect("encodes");
    match index {
        0 => encode(
            OutboundMessage::Invocation {
                invocation_id: None,
                target: "PackageArrived",
                arguments: &(package, "dock-3"),
                stream_ids: &[],
            }
            .encode(protocol),
        ),
        1 => encode(
            OutboundMessage::Invocation {
                invocation_id: Some("7"),
                target: "OfferTask",
                arguments: &(package,),
                stream_ids: &[],
            }
            .encode(protocol),
        ),
        2 => encode(
            OutboundMessage::StreamItem {
                invocation_id: "17",
                item: package,
            }
            .encode(protocol),
        ),
        3 => encode(
            OutboundMessage::Completion {
                invocation_id: "17",
                body: CompletionBody::Result(&42u64),
            }
            .encode(protocol),
        ),
        4 => encode(
            Control::Completion {
                invocation_id: "17",
                body: CompletionBody::Error(
                    "An unexpected error occurred invoking 'Ship' on the server.",
                ),
            }
            .encode(protocol),
        ),
        5 => encode(
            Control::Completion {
                invocation_id: "17",
                body: CompletionBody::Void,
            }
            .encode(protocol),
        ),
        6 => encode(
            Control::CancelInvocation {
                invocation_id: "17",
            }
            .encode(protocol),
        ),
        7 => OutboundMessage::ping(protocol),
        8 => encode(
            Control::Close {
                error: Some("Server shutting down."),
                allow_reconnect: true,
            }
            .encode(protocol),
        ),
        9 => encode(Control::Ack { sequence_id: 1042 }.encode(protocol)),
        _ => encode(Control::Sequence { sequence_id: 1042 }.encode(protocol)),
    }
}

criterion_group!(benches, parsing, framing, encoding);
criterion_main!(benches);

//! The per-message hot paths of the hub protocols: splitting records out of a stream,
//! parsing them (arguments stay undecoded), decoding arguments into their types, and
//! encoding the messages the server sends.
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

fn parsing(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse invocation");
    group.throughput(Throughput::Elements(1));
    for protocol in HubProtocol::ALL {
        let record = invocation_record(protocol);
        group.bench_function(protocol.name(), |b| {
            b.iter(|| parse_message(protocol, black_box(record.clone())))
        });
    }
    group.finish();

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
    let mut group = c.benchmark_group("encode client invocation");
    group.throughput(Throughput::Elements(1));
    for protocol in HubProtocol::ALL {
        let package = package();
        group.bench_function(protocol.name(), |b| {
            b.iter(|| {
                let message: OutboundMessage<'_, (&Package, &str)> = OutboundMessage::Invocation {
                    invocation_id: None,
                    target: "PackageArrived",
                    arguments: &(black_box(&package), "dock-3"),
                    stream_ids: &[],
                };
                message.encode(protocol).expect("encodes")
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("encode completion");
    group.throughput(Throughput::Elements(1));
    for protocol in HubProtocol::ALL {
        group.bench_function(protocol.name(), |b| {
            b.iter(|| {
                let message = OutboundMessage::Completion {
                    invocation_id: "17",
                    body: CompletionBody::Result(black_box(&42u64)),
                };
                message.encode(protocol).expect("encodes")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, parsing, framing, encoding);
criterion_main!(benches);

//! The hub runtime without a network, over in-memory connections
//! (`HttpConnectionDispatcher::connect_in_memory`): an invocation dispatched through
//! `#[hub]`-generated code and answered, a broadcast to 1,000 connections and a send to a
//! group of 100, in both protocols. Everything the server does per message runs (record
//! framing, parsing, dispatch, argument decoding, the lifetime manager, serialization
//! once per protocol, the outgoing queues); only the socket is missing.
//!
//! ```text
//! cargo bench --bench hub
//! ```

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde::{Deserialize, Serialize};
use signalr::endpoint::InMemoryConnection;
use signalr::prelude::*;
use signalr::protocol::{HubProtocol, OutboundMessage};
use std::hint::black_box;

/// What the server calls on clients.
#[signalr::hub_client]
pub trait WarehouseClient {
    /// A broadcast or group message.
    async fn package_arrived(&self, package: Package);
}

/// What clients call.
#[signalr::hub]
pub trait Warehouse {
    /// Returns `text`.
    async fn echo(&self, text: String) -> String;
    /// Stores nothing; returns the package's id (a struct argument decoded).
    async fn report_arrival(&self, package: Package) -> u64;
    /// No result (a non-blocking send when called without an invocation id).
    async fn touch(&self, section: String, count: i32, urgent: bool);
    /// Adds the caller to `group`.
    async fn join(&self, cx: &Ctx, group: String) -> Result<(), HubError>;
}

/// A package, as the warehouse sends it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Package {
    id: u64,
    section: String,
    refrigerated: bool,
}

struct WarehouseHub;

impl Warehouse for WarehouseHub {
    async fn echo(&self, text: String) -> String {
        text
    }

    async fn report_arrival(&self, package: Package) -> u64 {
        package.id
    }

    async fn touch(&self, section: String, count: i32, urgent: bool) {
        black_box((section, count, urgent));
    }

    async fn join(&self, cx: &Ctx, group: String) -> Result<(), HubError> {
        cx.groups().add_to_group(cx.connection_id(), &group).await?;
        Ok(())
    }
}

fn package() -> Package {
    Package {
        id: 42,
        section: "cold-storage".into(),
        refrigerated: true,
    }
}

/// The hub's server with the keep-alive timers out of the way: these clients send no
/// pings, and a ping from the server would be counted as a delivery.
fn server() -> signalr::hub::HubServer<impl signalr::hub::HubDispatcher> {
    WarehouseHub
        .into_server()
        .keep_alive_interval(std::time::Duration::from_secs(3600))
        .client_timeout_interval(std::time::Duration::from_secs(7200))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

fn handshake(protocol: HubProtocol) -> Bytes {
    Bytes::from(format!(
        "{{\"protocol\":\"{}\",\"version\":1}}\u{1e}",
        protocol.name()
    ))
}

fn request() -> axum::http::request::Parts {
    axum::http::Request::new(()).into_parts().0
}

/// A handshaken client of `endpoint` speaking `protocol`.
async fn connect<H: signalr::connection::ConnectionHandler>(
    endpoint: &signalr::endpoint::HttpConnectionDispatcher<H>,
    protocol: HubProtocol,
) -> InMemoryConnection {
    let mut client = endpoint.connect_in_memory(request()).expect("connects");
    client.send(handshake(protocol)).await.expect("sent");
    let answer = client.recv().await.expect("a handshake response");
    assert_eq!(&answer[..], b"{}\x1e", "handshake accepted");
    client
}

fn invocation<A: Serialize>(
    protocol: HubProtocol,
    id: Option<&str>,
    target: &str,
    arguments: &A,
) -> Bytes {
    OutboundMessage::Invocation {
        invocation_id: id,
        target,
        arguments,
        stream_ids: &[],
    }
    .encode(protocol)
    .expect("encodes")
}

/// Invocations answered through the generated dispatch: the client sends one record and
/// waits for its Completion.
fn dispatch(c: &mut Criterion) {
    let rt = runtime();
    let endpoint = server().into_dispatcher();
    for protocol in HubProtocol::ALL {
        let mut client = rt.block_on(connect(&endpoint, protocol));
        let mut group = c.benchmark_group(format!("dispatch {}", protocol.name()));
        group.throughput(Throughput::Elements(1));
        let calls = [
            (
                "Echo(string) -> string",
                invocation(protocol, Some("1"), "Echo", &("hello, warehouse",)),
            ),
            (
                "ReportArrival(Package) -> u64",
                invocation(protocol, Some("2"), "ReportArrival", &(package(),)),
            ),
            (
                "Touch(string, i32, bool)",
                invocation(protocol, Some("3"), "Touch", &("dock-3", 7, true)),
            ),
        ];
        for (name, record) in calls {
            group.bench_function(name, |b| {
                b.iter(|| {
                    rt.block_on(async {
                        client.send(record.clone()).await.expect("sent");
                        client.recv().await.expect("a completion")
                    })
                })
            });
        }
        group.finish();
    }
}

/// Connections that all joined their share of `groups` groups (connection `i` joins
/// group `i % groups`), half of them JSON and half MessagePack.
fn clients(
    rt: &tokio::runtime::Runtime,
    endpoint: &signalr::endpoint::HttpConnectionDispatcher<
        impl signalr::connection::ConnectionHandler,
    >,
    count: usize,
    groups: usize,
) -> Vec<InMemoryConnection> {
    rt.block_on(async {
        let mut clients = Vec::with_capacity(count);
        for i in 0..count {
            let protocol = HubProtocol::ALL[i % 2];
            let mut client = connect(endpoint, protocol).await;
            let group = format!("section-{}", i % groups);
            client
                .send(invocation(protocol, Some("0"), "Join", &(group,)))
                .await
                .expect("sent");
            client.recv().await.expect("joined");
            clients.push(client);
        }
        clients
    })
}

/// Reads what every client was sent; returns how many chunks arrived.
fn drain(clients: &mut [InMemoryConnection]) -> usize {
    clients
        .iter_mut()
        .map(|client| std::iter::from_fn(|| client.try_recv()).count())
        .sum()
}

/// `Clients.All` and `Clients.Group` from a `HubContext`: serialized once per protocol,
/// queued to every recipient, then read by every recipient.
fn fan_out(c: &mut Criterion) {
    let rt = runtime();
    let server = server();
    let context = server.context();
    let endpoint = server.into_dispatcher();
    let mut clients = clients(&rt, &endpoint, 1000, 10);
    let package = package();

    let mut group = c.benchmark_group("fan-out");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("broadcast to 1,000 connections (half JSON)", |b| {
        b.iter(|| {
            rt.block_on(context.clients().all().send("PackageArrived", &(&package,)))
                .expect("sent");
            assert_eq!(drain(&mut clients), 1000);
        })
    });
    group.throughput(Throughput::Elements(100));
    group.bench_function("group of 100 among 1,000 connections", |b| {
        b.iter(|| {
            rt.block_on(
                context
                    .clients()
                    .group("section-3")
                    .send("PackageArrived", &(&package,)),
            )
            .expect("sent");
            assert_eq!(drain(&mut clients), 100);
        })
    });
    group.finish();
}

criterion_group!(benches, dispatch, fan_out);
criterion_main!(benches);

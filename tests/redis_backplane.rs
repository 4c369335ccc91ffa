//! The Redis backplane against a real Redis, byte for byte with ASP.NET Core's format
//! (`shared/protocol.md` §8): what a .NET server publishes (written here by hand, with a
//! raw Redis client standing in for it) reaches this server's clients, and what this
//! server publishes is what a .NET server reads. Also: group commands and their acks,
//! client results in both directions, an ack that never comes, malformed payloads, and
//! an unreachable Redis.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
use common::http::serve;
use common::invocation;
use common::redis::redis;
use common::ws::Client;

use bytes::Bytes;
use fred::prelude::{
    Builder, Client as RedisClient, ClientLike, Config, EventInterface, PubsubInterface, Value,
};
use signalr::prelude::*;
use signalr_redis::{RedisBackplane, RedisOptions};
use std::time::Duration;

#[signalr::hub_client]
pub trait InteropClient {
    async fn receive(&self, text: String);
}

#[signalr::hub]
pub trait Interop {
    async fn broadcast(&self, cx: &Ctx, text: String) -> Result<(), HubError>;
    async fn who_am_i(&self, cx: &Ctx) -> String;
    async fn add_elsewhere(
        &self,
        cx: &Ctx,
        connection_id: String,
        group: String,
    ) -> Result<(), HubError>;
    async fn join(&self, cx: &Ctx, group: String) -> Result<(), HubError>;
}

struct InteropHub;

impl Interop for InteropHub {
    async fn broadcast(&self, cx: &Ctx, text: String) -> Result<(), HubError> {
        Ok(cx.clients().all().receive(text).await?)
    }
    async fn who_am_i(&self, cx: &Ctx) -> String {
        cx.connection_id().to_owned()
    }
    async fn add_elsewhere(
        &self,
        cx: &Ctx,
        connection_id: String,
        group: String,
    ) -> Result<(), HubError> {
        Ok(cx.groups().add_to_group(&connection_id, &group).await?)
    }
    async fn join(&self, cx: &Ctx, group: String) -> Result<(), HubError> {
        Ok(cx.groups().add_to_group(cx.connection_id(), &group).await?)
    }
}

/// A unique hub name per test, so that tests sharing one Redis do not hear each other.
fn hub_name(test: &str) -> String {
    format!("Interop{}.{test}", std::process::id())
}

async fn backplane(
    url: &str,
    options: impl FnOnce(RedisOptions) -> RedisOptions,
) -> RedisBackplane {
    RedisBackplane::connect(options(RedisOptions::new(url)))
        .await
        .unwrap()
}

/// A Redis, a backplane on it and a server of `InteropHub` under a hub name unique to
/// the test.
struct Setup {
    redis: common::redis::TestRedis,
    name: String,
    backplane: RedisBackplane,
    addr: std::net::SocketAddr,
}

async fn setup(test: &str, options: impl FnOnce(RedisOptions) -> RedisOptions) -> Setup {
    let redis = redis();
    let name = hub_name(test);
    let backplane = backplane(&redis.url, options).await;
    let server = InteropHub
        .into_server()
        .lifetime_manager(backplane.hub_named(&name));
    let addr = serve(server).await;
    Setup {
        redis,
        name,
        backplane,
        addr,
    }
}

async fn raw_client(url: &str) -> RedisClient {
    let client = Builder::from_config(Config::from_url(url).unwrap())
        .build()
        .unwrap();
    client.init().await.unwrap();
    client
}

/// Subscribes a raw client to `channel`; returns the receiver of its payloads.
async fn listen(url: &str, channel: &str) -> tokio::sync::mpsc::UnboundedReceiver<Bytes> {
    let client = raw_client(url).await;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut messages = client.message_rx();
    client.subscribe(channel).await.unwrap();
    tokio::spawn(async move {
        let _keep = client;
        while let Ok(message) = messages.recv().await {
            if let Value::Bytes(bytes) = message.value {
                let _ = tx.send(bytes);
            } else if let Value::String(text) = message.value {
                let _ = tx.send(text.into_inner());
            }
        }
    });
    rx
}

async fn publish(url: &str, channel: &str, payload: Vec<u8>) -> i64 {
    let client = raw_client(url).await;
    let receivers: i64 = client
        .publish(channel, Value::Bytes(payload.into()))
        .await
        .unwrap();
    let _ = client.quit().await;
    receivers
}

async fn next(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Bytes>) -> Bytes {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("a message on the channel within 5 s")
        .unwrap()
}

/// The envelope .NET writes for an invocation: `[excluded, {"json": …, "messagepack": …}]`.
fn dotnet_envelope(
    excluded: &[&str],
    json: &[u8],
    msgpack: &[u8],
    result: Option<(&str, &str)>,
) -> Vec<u8> {
    let mut out = vec![
        if result.is_some() { 0x94 } else { 0x92 },
        0x90 | excluded.len() as u8,
    ];
    for id in excluded {
        out.push(0xa0 | id.len() as u8);
        out.extend_from_slice(id.as_bytes());
    }
    out.extend_from_slice(&[0x82, 0xa4]);
    out.extend_from_slice(b"json");
    out.extend_from_slice(&[0xc4, json.len() as u8]);
    out.extend_from_slice(json);
    out.push(0xab);
    out.extend_from_slice(b"messagepack");
    out.extend_from_slice(&[0xc4, msgpack.len() as u8]);
    out.extend_from_slice(msgpack);
    if let Some((id, channel)) = result {
        out.push(0xa0 | id.len() as u8);
        out.extend_from_slice(id.as_bytes());
        out.push(0xd9);
        out.push(channel.len() as u8);
        out.extend_from_slice(channel.as_bytes());
    }
    out
}

const JSON_RECEIVE: &[u8] = b"{\"type\":1,\"target\":\"Receive\",\"arguments\":[\"hi\"]}\x1e";
/// `[1, {}, nil, "Receive", ["hi"], []]`, length-prefixed.
const MSGPACK_RECEIVE: &[u8] = &[
    0x11, 0x96, 0x01, 0x80, 0xc0, 0xa7, b'R', b'e', b'c', b'e', b'i', b'v', b'e', 0x91, 0xa2, b'h',
    b'i', 0x90,
];

async fn connection_id(client: &mut Client) -> String {
    client
        .send_text(&invocation(Some("w"), "WhoAmI", "[]"))
        .await;
    let reply = client.next_text().await;
    let value: serde_json::Value = serde_json::from_str(reply.trim_end_matches('\x1e')).unwrap();
    value["result"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn what_a_dotnet_server_publishes_reaches_clients_of_both_protocols() {
    let Setup {
        redis,
        name,
        backplane,
        addr,
    } = setup("Publishes", |o| o).await;
    let mut json = Client::json(addr).await;
    let mut packed = Client::msgpack(addr).await;
    let json_id = connection_id(&mut json).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let envelope = dotnet_envelope(&[], JSON_RECEIVE, MSGPACK_RECEIVE, None);
    assert_eq!(
        publish(&redis.url, &format!("{name}:all"), envelope).await,
        1
    );
    assert_eq!(json.next_record().await, JSON_RECEIVE);
    assert_eq!(packed.next_record().await, MSGPACK_RECEIVE);

    // Excluded ids are applied on receipt.
    let envelope = dotnet_envelope(&[&json_id], JSON_RECEIVE, MSGPACK_RECEIVE, None);
    publish(&redis.url, &format!("{name}:all"), envelope).await;
    assert_eq!(packed.next_record().await, MSGPACK_RECEIVE);
    json.expect_silence(Duration::from_millis(300)).await;

    // A connection's own channel.
    let envelope = dotnet_envelope(&[], JSON_RECEIVE, MSGPACK_RECEIVE, None);
    assert_eq!(
        publish(
            &redis.url,
            &format!("{name}:connection:{json_id}"),
            envelope
        )
        .await,
        1
    );
    assert_eq!(json.next_record().await, JSON_RECEIVE);
    backplane.close().await;
}

#[tokio::test]
async fn what_this_server_publishes_is_the_dotnet_envelope_byte_for_byte() {
    let Setup {
        redis,
        name,
        backplane,
        addr,
    } = setup("Format", |o| o).await;
    let mut all = listen(&redis.url, &format!("{name}:all")).await;
    let mut client = Client::json(addr).await;
    client
        .send_text(&invocation(Some("1"), "Broadcast", "[\"hi\"]"))
        .await;
    let published = next(&mut all).await;
    assert_eq!(
        &published[..],
        &dotnet_envelope(&[], JSON_RECEIVE, MSGPACK_RECEIVE, None)[..]
    );
    backplane.close().await;
}

#[tokio::test]
async fn a_group_command_from_another_server_is_applied_and_acknowledged() {
    let Setup {
        redis,
        name,
        backplane,
        addr,
    } = setup("Groups", |o| o).await;
    let mut client = Client::json(addr).await;
    let id = connection_id(&mut client).await;
    let mut acks = listen(&redis.url, &format!("{name}:internal:ack:dotnet_1")).await;

    // [5, "dotnet_1", 1 (add), "g", id]
    let mut command = vec![0x95, 0x05, 0xa8];
    command.extend_from_slice(b"dotnet_1");
    command.extend_from_slice(&[0x01, 0xa1, b'g', 0xa0 | id.len() as u8]);
    command.extend_from_slice(id.as_bytes());
    publish(&redis.url, &format!("{name}:internal:groups"), command).await;
    assert_eq!(&next(&mut acks).await[..], &[0x91, 0x05]);

    // The ack comes once the group channel is subscribed: a send to it arrives.
    let envelope = dotnet_envelope(&[], JSON_RECEIVE, MSGPACK_RECEIVE, None);
    assert_eq!(
        publish(&redis.url, &format!("{name}:group:g"), envelope).await,
        1
    );
    assert_eq!(client.next_record().await, JSON_RECEIVE);
    backplane.close().await;
}

#[tokio::test]
async fn a_group_change_for_a_connection_on_no_server_fails_after_the_ack_timeout() {
    // `_redis` keeps a Redis the test started alive until the end.
    let Setup {
        redis: _redis,
        backplane,
        addr,
        ..
    } = setup("NoAck", |o| o.group_ack_timeout(Duration::from_millis(300))).await;
    let mut client = Client::json(addr).await;
    let started = std::time::Instant::now();
    client
        .send_text(&invocation(Some("1"), "AddElsewhere", "[\"nobody\",\"g\"]"))
        .await;
    let reply = client.next_text().await;
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "waited for the ack"
    );
    assert!(reply.contains("\"error\""), "{reply}");
    backplane.close().await;
}

#[tokio::test]
async fn a_client_result_asked_by_another_server_goes_back_on_its_return_channel() {
    let Setup {
        redis,
        name,
        backplane,
        addr,
    } = setup("Results", |o| o).await;
    let mut client = Client::json(addr).await;
    let id = connection_id(&mut client).await;
    let return_channel = format!("{name}:internal:return:dotnet_2");
    let mut returned = listen(&redis.url, &return_channel).await;

    let json = b"{\"type\":1,\"invocationId\":\"abc\",\"target\":\"Pick\",\"arguments\":[]}\x1e";
    let packed = [
        0x0e, 0x96, 0x01, 0x80, 0xa3, b'a', b'b', b'c', 0xa4, b'P', b'i', b'c', b'k', 0x90, 0x90,
    ];
    let envelope = dotnet_envelope(&[], json, &packed, Some(("abc", &return_channel)));
    assert_eq!(
        publish(&redis.url, &format!("{name}:connection:{id}"), envelope).await,
        1
    );
    assert_eq!(client.next_record().await, json);
    client
        .send_text("{\"type\":3,\"invocationId\":\"abc\",\"result\":7}\x1e")
        .await;
    let back = next(&mut returned).await;
    let record = b"{\"type\":3,\"invocationId\":\"abc\",\"result\":7}\x1e";
    let mut expected = vec![0x92, 0xa4];
    expected.extend_from_slice(b"json");
    expected.extend_from_slice(&[0xc4, record.len() as u8]);
    expected.extend_from_slice(record);
    assert_eq!(&back[..], &expected[..]);
    backplane.close().await;
}

#[tokio::test]
async fn malformed_payloads_are_counted_and_ignored() {
    let Setup {
        redis,
        name,
        backplane,
        addr,
    } = setup("Malformed", |o| o).await;
    let mut client = Client::json(addr).await;
    let _ = connection_id(&mut client).await;
    for garbage in [
        vec![],
        vec![0xc1],
        vec![0x92, 0x90, 0x81, 0xa4, b'j', b's', b'o', b'n', 0xc4, 0xff],
    ] {
        publish(&redis.url, &format!("{name}:all"), garbage).await;
    }
    publish(&redis.url, &format!("{name}:internal:groups"), vec![0x95]).await;
    let envelope = dotnet_envelope(&[], JSON_RECEIVE, MSGPACK_RECEIVE, None);
    publish(&redis.url, &format!("{name}:all"), envelope).await;
    assert_eq!(client.next_record().await, JSON_RECEIVE);
    assert_eq!(backplane.health().malformed_received, 4);
    assert!(backplane.health().is_healthy(), "{:?}", backplane.health());
    backplane.close().await;
}

#[tokio::test]
async fn an_unreachable_redis_is_a_clear_error_at_start() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let error = RedisBackplane::connect(
        RedisOptions::new(format!("redis://127.0.0.1:{port}"))
            .connect_timeout(Duration::from_secs(2)),
    )
    .await
    .unwrap_err();
    let text = error.to_string();
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(text.contains("redis-server"), "{text}");
}

/// A TCP proxy to `upstream` that holds every chunk a client sends for `delay` before
/// passing it on (answers come back at once): a slow link between a server and Redis.
async fn slow_link(upstream: &str, delay: Duration) -> String {
    let authority = upstream.rsplit(['@', '/']).find(|s| !s.is_empty()).unwrap();
    let target = authority.to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let local = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let Ok(outbound) = tokio::net::TcpStream::connect(&target).await else {
                continue;
            };
            let (mut from_client, mut to_client) = inbound.into_split();
            let (mut from_redis, mut to_redis) = outbound.into_split();
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut chunk = vec![0u8; 16 * 1024];
                while let Ok(n @ 1..) = from_client.read(&mut chunk).await {
                    tokio::time::sleep(delay).await;
                    if to_redis.write_all(&chunk[..n]).await.is_err() {
                        break;
                    }
                }
            });
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut from_redis, &mut to_client).await;
            });
        }
    });
    upstream.replacen(authority, &local.to_string(), 1)
}

#[tokio::test]
async fn joining_a_group_returns_only_once_redis_holds_the_subscription() {
    // The server's link to Redis is slow; another server's is not. A send to the group
    // published right after the join returned must still reach the new member: the
    // join waits for Redis to have processed the SUBSCRIBE, not for it to be written.
    let redis = redis();
    let name = hub_name("JoinWaits");
    let slow = slow_link(&redis.url, Duration::from_millis(300)).await;
    let backplane = backplane(&slow, |o| o).await;
    let server = InteropHub
        .into_server()
        .lifetime_manager(backplane.hub_named(&name));
    let addr = serve(server).await;
    let mut client = Client::json(addr).await;
    client
        .send_text(&invocation(Some("j"), "Join", "[\"slow\"]"))
        .await;
    let reply = client.next_text().await;
    assert!(reply.contains("\"invocationId\":\"j\""), "{reply}");

    let envelope = dotnet_envelope(&[], JSON_RECEIVE, MSGPACK_RECEIVE, None);
    assert_eq!(
        publish(&redis.url, &format!("{name}:group:slow"), envelope).await,
        1,
        "the join returned before Redis subscribed the group's channel"
    );
    assert_eq!(client.next_record().await, JSON_RECEIVE);
    backplane.close().await;
}

//! Nothing a client can grow without bound: open streams and uploads per connection,
//! negotiated connections that never connect, concurrent POST sends, pending client
//! results. Each limit answers with a clear error and keeps everything else working.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
use common::http::{negotiate, request, serve};
use common::invocation;
use common::ws::Client;

use signalr::connection::HttpConnectionOptions;
use signalr::prelude::*;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[signalr::hub_client]
pub trait Asked {
    async fn count(&self) -> u32;
}

#[signalr::hub]
pub trait Limited {
    async fn add(&self, a: i64, b: i64) -> i64;
    async fn endless(&self) -> impl Stream<Item = u32>;
    async fn sum(&self, first: UploadStream<u32>, second: UploadStream<u32>) -> u32;
    async fn who_am_i(&self, cx: &Ctx) -> String;
}

struct Hub;

impl Limited for Hub {
    async fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }

    async fn endless(&self) -> impl Stream<Item = u32> {
        signalr::stream::iter([1]).chain(signalr::stream::pending())
    }

    async fn sum(&self, first: UploadStream<u32>, second: UploadStream<u32>) -> u32 {
        let first: Vec<_> = first.collect().await;
        let second: Vec<_> = second.collect().await;
        first.into_iter().chain(second).filter_map(Result::ok).sum()
    }

    async fn who_am_i(&self, cx: &Ctx) -> String {
        cx.connection_id().to_owned()
    }
}

fn stream_invocation(id: &str, target: &str) -> String {
    format!("{{\"type\":4,\"invocationId\":\"{id}\",\"target\":\"{target}\",\"arguments\":[]}}\x1e")
}

#[tokio::test]
async fn a_streaming_invocation_past_the_stream_limit_gets_an_error_completion() {
    let addr = serve(Hub.into_server().maximum_streams_per_client(2)).await;
    let mut client = Client::json(addr).await;
    for id in ["s1", "s2"] {
        client.send_text(&stream_invocation(id, "Endless")).await;
        assert_eq!(
            client.next_text().await,
            format!("{{\"type\":2,\"invocationId\":\"{id}\",\"item\":1}}\x1e")
        );
    }
    client.send_text(&stream_invocation("s3", "Endless")).await;
    assert_eq!(
        client.next_text().await,
        "{\"type\":3,\"invocationId\":\"s3\",\"error\":\"Failed to invoke 'Endless' because the connection already has 2 streams open (MaximumStreamsPerClient).\"}\x1e"
    );
    // Cancelling one makes room again, and the connection works throughout.
    client
        .send_text("{\"type\":5,\"invocationId\":\"s1\"}\x1e")
        .await;
    assert_eq!(
        client.next_text().await,
        "{\"type\":3,\"invocationId\":\"s1\"}\x1e",
        "the cancelled stream ends"
    );
    client.send_text(&stream_invocation("s4", "Endless")).await;
    assert_eq!(
        client.next_text().await,
        "{\"type\":2,\"invocationId\":\"s4\",\"item\":1}\x1e"
    );
    client.add_json("a", 1, 2).await;
}

#[tokio::test]
async fn an_invocation_opening_more_uploads_than_allowed_gets_an_error_completion() {
    let addr = serve(Hub.into_server().maximum_uploads_per_client(1)).await;
    let mut client = Client::json(addr).await;
    client
        .send_text(
            "{\"type\":1,\"invocationId\":\"u\",\"target\":\"Sum\",\"arguments\":[],\"streamIds\":[\"a\",\"b\"]}\x1e",
        )
        .await;
    assert_eq!(
        client.next_text().await,
        "{\"type\":3,\"invocationId\":\"u\",\"error\":\"Failed to invoke 'Sum' because the connection already has 0 upload streams open (MaximumUploadsPerClient).\"}\x1e"
    );
    client.add_json("a", 1, 2).await;
}

#[tokio::test]
async fn negotiate_past_the_unclaimed_limit_is_503_until_one_connects() {
    let options = HttpConnectionOptions {
        maximum_unclaimed_connections: 2,
        ..HttpConnectionOptions::default()
    };
    let addr = serve(Hub.into_server().transport_options(options)).await;
    let first = negotiate(addr).await;
    let _second = negotiate(addr).await;
    let refused = request(addr, "POST", "/hub/negotiate?negotiateVersion=1", &[], b"").await;
    refused.assert_text(
        503,
        "Too many connections are waiting for their transport; try again later.",
    );
    // A WebSocket claims the first: there is room for one more negotiation.
    let mut claimed = Client::open(addr, &format!("?id={first}"), false).await;
    claimed
        .handshake("{\"protocol\":\"json\",\"version\":1}\x1e")
        .await;
    negotiate(addr).await;
}

#[tokio::test]
async fn a_second_concurrent_post_send_is_refused_with_409_and_the_first_goes_through() {
    let addr = serve(Hub.into_server()).await;
    let token = negotiate(addr).await;
    let first_poll = request(addr, "GET", &format!("/hub?id={token}"), &[], b"").await;
    assert_eq!(first_poll.status, 200);
    // A POST whose body is still arriving.
    let body = "{\"protocol\":\"json\",\"version\":1}\x1e";
    let mut slow = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /hub?id={token} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(&body.as_bytes()[..5]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = request(addr, "POST", &format!("/hub?id={token}"), &[], b"").await;
    second.assert_text(
        409,
        "Another send is already in progress for this connection.",
    );
    slow.write_all(&body.as_bytes()[5..]).await.unwrap();
    let handshake = request(addr, "GET", &format!("/hub?id={token}"), &[], b"").await;
    assert_eq!(handshake.text(), "{}\x1e", "the first send went through");
}

#[tokio::test]
async fn client_results_past_the_pending_limit_fail_at_once() {
    let server = Hub
        .into_server()
        .maximum_pending_client_results_per_client(1);
    let context = server.context();
    let addr = serve(server).await;
    let mut client = Client::json(addr).await;
    client
        .send_text(&invocation(Some("me"), "WhoAmI", "[]"))
        .await;
    let answer = client.next_text().await;
    let id = answer
        .split("\"result\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let first = {
        let (context, id) = (context.clone(), id.clone());
        tokio::spawn(async move { context.clients().client(&id).count().await })
    };
    let asked = client.next_text().await;
    assert!(asked.contains("\"target\":\"Count\""), "{asked:?}");
    let second = context.clients().client(&id).count().await;
    assert!(
        matches!(second, Err(ClientResultError::TooManyPending { limit: 1 })),
        "{second:?}"
    );
    let invocation_id = asked
        .split("\"invocationId\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    client
        .send_text(&format!(
            "{{\"type\":3,\"invocationId\":\"{invocation_id}\",\"result\":7}}\x1e"
        ))
        .await;
    assert_eq!(first.await.unwrap().unwrap(), 7);
    // Answered: there is room for the next one.
    let third = {
        let (context, id) = (context.clone(), id.clone());
        tokio::spawn(async move { context.clients().client(&id).count().await })
    };
    assert!(client.next_text().await.contains("\"target\":\"Count\""));
    third.abort();
}

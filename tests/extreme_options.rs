//! Options at the extremes of their types (`Duration::MAX`, `Duration::ZERO`, sizes of 0 and
//! `usize::MAX`) are bounded when the server is built: connections over every transport
//! still work, and nothing panics later (a panic in a connection's task would end it).
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
use common::http::{negotiate, post, serve};
use common::invocation;
use common::ws::Client;

use signalr::connection::HttpConnectionOptions;
use signalr::hub::HubOptions;
use signalr::prelude::*;
use std::time::Duration;

#[signalr::hub]
pub trait Calc {
    async fn add(&self, a: i64, b: i64) -> i64;
}

struct Hub;

impl Calc for Hub {
    async fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }
}

fn with_durations(duration: Duration) -> HubServer<CalcDispatcher<Hub>> {
    Hub.into_server()
        .hub_options(HubOptions {
            keep_alive_interval: duration,
            client_timeout_interval: duration,
            handshake_timeout: duration,
            shutdown_timeout: duration,
            client_result_timeout: Some(duration),
            ..Default::default()
        })
        .transport_options(HttpConnectionOptions {
            disconnect_timeout: duration,
            websocket_close_timeout: duration,
            transport_send_timeout: duration,
            long_poll_timeout: duration,
            allow_stateful_reconnects: true,
            ..Default::default()
        })
}

async fn exercise(addr: std::net::SocketAddr) {
    // WebSockets: a call, some idle time (keep-alive and timeouts armed), another call.
    let mut client = Client::json(addr).await;
    client.add_json("1", 1, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    client.send_text("{\"type\":6}\x1e").await;
    client
        .send_text(&invocation(Some("2"), "Add", "[2,3]"))
        .await;
    loop {
        let record = client.next_text().await;
        if record.contains("\"invocationId\":\"2\"") {
            assert_eq!(
                record,
                "{\"type\":3,\"invocationId\":\"2\",\"result\":5}\x1e"
            );
            break;
        }
        assert_eq!(record, "{\"type\":6}\x1e", "only pings in between");
    }
    // Long Polling: negotiate, handshake through a send, then a poll.
    let token = negotiate(addr).await;
    let first = common::http::http(addr, "GET", &format!("/hub?id={token}")).await;
    assert_eq!(first.status, 200);
    let sent = post(
        addr,
        &token,
        b"{\"protocol\":\"json\",\"version\":1}\x1e{\"type\":1,\"invocationId\":\"1\",\"target\":\"Add\",\"arguments\":[4,5]}\x1e",
    )
    .await;
    assert_eq!(sent.status, 200);
    let mut answers = String::new();
    while !answers.contains("\"result\":9") {
        let poll = tokio::time::timeout(
            Duration::from_secs(5),
            common::http::http(addr, "GET", &format!("/hub?id={token}")),
        )
        .await
        .expect("the poll answered");
        assert_eq!(poll.status, 200, "{poll:?}");
        answers.push_str(poll.text());
    }
}

#[tokio::test]
async fn the_longest_durations_are_bounded_and_connections_work() {
    exercise(serve(with_durations(Duration::MAX)).await).await;
}

#[tokio::test]
async fn zero_durations_are_bounded_and_connections_work() {
    // Zero timeouts would close every connection at once; the floors keep them usable
    // long enough to prove that nothing spins or panics.
    let addr = serve(with_durations(Duration::ZERO)).await;
    let mut client = Client::open(addr, "", false).await;
    client.send_text(common::records::JSON_HANDSHAKE).await;
    let answer = client.handshake_response().await;
    if answer != "{}\x1e" {
        // A zero handshake timeout can expire before the handshake has arrived: then the
        // handshake is refused as .NET refuses it, with its error, on a live socket.
        assert_eq!(answer, "{\"error\":\"Handshake was canceled.\"}\x1e");
        return;
    }
    client
        .send_text(&invocation(Some("1"), "Add", "[1,2]"))
        .await;
    // Either the answer or a Close for the (immediately due) client timeout; never a
    // dead socket.
    let record = client.next_text().await;
    assert!(
        record.starts_with("{\"type\":3")
            || record.starts_with("{\"type\":7")
            || record == "{\"type\":6}\x1e",
        "{record}"
    );
}

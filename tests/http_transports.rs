//! The HTTP transports, driven over raw HTTP/1.1 against a real in-process server: Server-Sent
//! Events, Long Polling, the POST send and DELETE endpoints, transport pinning, every status
//! code, header and framing rule, and keep-alive over both transports.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
use common::http::{
    find, negotiate, post, request, send_request, serve, start, websocket_upgrade, HttpResponse,
    HttpStream,
};
use common::{invocation, msgpack_invocation, JSON_HANDSHAKE, MSGPACK_HANDSHAKE};

use signalr::connection::HttpConnectionOptions;
use signalr::hub::HubDispatcher;
use signalr::prelude::*;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Upper bound for anything we expect to arrive: a failure never hangs a test.
const WAIT: Duration = Duration::from_secs(3);
/// How long a request is given to reach the server before the next one is sent.
const SETTLE: Duration = Duration::from_millis(200);

const ERROR_CLOSE: &str =
    "{\"type\":7,\"error\":\"Connection closed with an error.\",\"allowReconnect\":true}\x1e";
const PING: &str = "{\"type\":6}\x1e";

// ---------------------------------------------------------------------------------------
// The hub under test.
// ---------------------------------------------------------------------------------------

#[signalr::hub_client]
pub trait TestClient {
    async fn receive(&self, text: String, n: i64);
}

#[signalr::hub]
pub trait TestHub {
    async fn add(&self, a: i64, b: i64) -> i64;
    async fn abort(&self, cx: &Ctx);
}

struct Hub;

impl TestHub for Hub {
    async fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }

    async fn abort(&self, cx: &Ctx) {
        cx.abort();
    }
}

fn hub() -> HubServer<impl HubDispatcher> {
    Hub.into_server()
}

/// Default transport options with `change` applied.
fn transport(change: impl FnOnce(&mut HttpConnectionOptions)) -> HttpConnectionOptions {
    let mut options = HttpConnectionOptions::default();
    change(&mut options);
    options
}

/// POSTs `body` and asserts the 200.
async fn send(addr: SocketAddr, token: &str, body: impl AsRef<[u8]>) {
    let response = post(addr, token, body.as_ref()).await;
    assert_eq!(response.status, 200, "{response:?}");
}

/// One long poll: `GET /hub?id={token}` without `Accept: text/event-stream`.
async fn poll(addr: SocketAddr, token: &str) -> HttpResponse {
    request(addr, "GET", &format!("/hub?id={token}"), &[], b"").await
}

/// Starts a long poll in the background.
fn poll_in_background(addr: SocketAddr, token: &str) -> tokio::task::JoinHandle<HttpResponse> {
    let token = token.to_owned();
    tokio::spawn(async move { poll(addr, &token).await })
}

async fn join(poll: tokio::task::JoinHandle<HttpResponse>) -> HttpResponse {
    tokio::time::timeout(WAIT, poll)
        .await
        .expect("the poll did not complete in time")
        .unwrap()
}

/// Asserts a poll answered 200 with these bytes as `application/octet-stream`.
fn assert_data(response: &HttpResponse, body: &[u8]) {
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(
        response.header("content-type"),
        Some("application/octet-stream"),
        "{response:?}"
    );
    assert_eq!(
        response.body,
        body,
        "got {:?}",
        String::from_utf8_lossy(&response.body)
    );
}

/// A negotiated Long Polling connection after its first poll and a JSON handshake.
async fn long_polling_json(addr: SocketAddr) -> String {
    let token = negotiate(addr).await;
    assert_eq!(poll(addr, &token).await.status, 200);
    send(addr, &token, JSON_HANDSHAKE).await;
    assert_data(&poll(addr, &token).await, b"{}\x1e");
    token
}

/// Waits (up to 2.5 s) until the connection is gone, probing with empty POSTs (which never
/// count as transport activity); returns how long that took.
async fn wait_until_disposed(addr: SocketAddr, token: &str) -> Duration {
    let started = Instant::now();
    loop {
        let response = post(addr, token, b"").await;
        match response.status {
            200 => {}
            404 => return started.elapsed(),
            _ => panic!("unexpected answer to an empty POST: {response:?}"),
        }
        assert!(
            started.elapsed() < Duration::from_millis(2500),
            "the connection was not disposed in time"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------------
// Server-Sent Events client.
// ---------------------------------------------------------------------------------------

/// An open event stream: decoded body bytes not yet split into events.
struct Sse {
    http: HttpStream,
    data: Vec<u8>,
}

/// `GET /hub{query}` with `Accept: text/event-stream`.
async fn sse_request(addr: SocketAddr, query: &str) -> HttpStream {
    start(
        addr,
        "GET",
        &format!("/hub{query}"),
        &[("Accept", "text/event-stream")],
        b"",
    )
    .await
}

impl Sse {
    /// Opens the event stream of `token`, asserting the 200 and consuming the `:` comment.
    async fn open(addr: SocketAddr, token: &str) -> Sse {
        let http = sse_request(addr, &format!("?id={token}")).await;
        assert_eq!(http.status, 200, "{:?}", http.headers);
        let mut sse = Sse {
            http,
            data: Vec::new(),
        };
        sse.expect_prefix(b":\r\n").await;
        sse
    }

    /// An SSE connection after a successful JSON handshake.
    async fn json(addr: SocketAddr) -> (Sse, String) {
        let token = negotiate(addr).await;
        let mut sse = Sse::open(addr, &token).await;
        send(addr, &token, JSON_HANDSHAKE).await;
        assert_eq!(sse.next_event().await, "data: {}\x1e\r\n\r\n");
        (sse, token)
    }

    async fn more(&mut self) {
        match self.http.next_piece().await {
            Some(piece) => self.data.extend(piece),
            None => panic!(
                "the event stream ended (buffered {:?})",
                String::from_utf8_lossy(&self.data)
            ),
        }
    }

    /// Asserts the stream continues with exactly `prefix`, and consumes it.
    async fn expect_prefix(&mut self, prefix: &[u8]) {
        while self.data.len() < prefix.len() {
            self.more().await;
        }
        assert_eq!(
            &self.data[..prefix.len()],
            prefix,
            "the stream continued with {:?}",
            String::from_utf8_lossy(&self.data)
        );
        self.data.drain(..prefix.len());
    }

    /// The next whole event, with its terminating empty line.
    async fn next_event(&mut self) -> String {
        loop {
            if let Some(end) = find(&self.data, b"\r\n\r\n") {
                let event: Vec<u8> = self.data.drain(..end + 4).collect();
                return String::from_utf8(event).unwrap();
            }
            self.more().await;
        }
    }

    /// Asserts that the response ends (terminating chunk) with nothing more in it.
    async fn expect_end(&mut self) {
        if let Some(piece) = self.http.next_piece().await {
            self.data.extend(piece);
        }
        assert!(
            self.data.is_empty(),
            "expected the end of the event stream, got {:?}",
            String::from_utf8_lossy(&self.data)
        );
        assert!(
            self.http.next_piece().await.is_none(),
            "the event stream went on"
        );
    }
}

// ---------------------------------------------------------------------------------------
// 1. Server-Sent Events.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn sse_answers_200_with_the_event_stream_headers_and_a_comment_first() {
    let addr = serve(hub()).await;
    let token = negotiate(addr).await;
    let mut http = sse_request(addr, &format!("?id={token}")).await;
    assert_eq!(http.status, 200);
    assert_eq!(http.header("content-type"), Some("text/event-stream"));
    assert_eq!(http.header("cache-control"), Some("no-cache,no-store"));
    assert_eq!(http.header("pragma"), Some("no-cache"));
    assert_eq!(http.header("content-encoding"), Some("identity"));
    assert_eq!(http.next_piece().await.unwrap(), b":\r\n");
}

#[tokio::test]
async fn sse_is_chosen_when_the_accept_header_lists_event_stream_among_others() {
    let addr = serve(hub()).await;
    let token = negotiate(addr).await;
    let mut http = start(
        addr,
        "GET",
        &format!("/hub?id={token}"),
        &[("Accept", "application/json, text/event-stream;q=0.9")],
        b"",
    )
    .await;
    assert_eq!(http.status, 200);
    assert_eq!(http.header("content-type"), Some("text/event-stream"));
    assert_eq!(http.next_piece().await.unwrap(), b":\r\n");
}

#[tokio::test]
async fn sse_delivers_the_handshake_response_as_a_data_event() {
    let addr = serve(hub()).await;
    let token = negotiate(addr).await;
    let mut sse = Sse::open(addr, &token).await;
    send(addr, &token, JSON_HANDSHAKE).await;
    assert_eq!(sse.next_event().await, "data: {}\x1e\r\n\r\n");
}

#[tokio::test]
async fn sse_delivers_an_invocation_completion_as_an_event() {
    let addr = serve(hub()).await;
    let (mut sse, token) = Sse::json(addr).await;
    send(addr, &token, invocation(Some("1"), "Add", "[40,2]")).await;
    assert_eq!(
        sse.next_event().await,
        "data: {\"type\":3,\"invocationId\":\"1\",\"result\":42}\x1e\r\n\r\n"
    );
}

#[tokio::test]
async fn sse_refuses_a_messagepack_handshake_then_ends_the_stream() {
    let addr = serve(hub()).await;
    let token = negotiate(addr).await;
    let mut sse = Sse::open(addr, &token).await;
    send(addr, &token, MSGPACK_HANDSHAKE).await;
    assert_eq!(
        sse.next_event().await,
        "data: {\"error\":\"Cannot use the 'messagepack' protocol on the current transport. \
         The transport does not support 'Binary' transfer format.\"}\x1e\r\n\r\n"
    );
    sse.expect_end().await;
}

#[tokio::test]
async fn sse_a_second_event_stream_for_the_same_id_is_409() {
    let addr = serve(hub()).await;
    let token = negotiate(addr).await;
    let mut first = Sse::open(addr, &token).await;
    let second = sse_request(addr, &format!("?id={token}"))
        .await
        .into_response()
        .await;
    assert_eq!(second.status, 409, "{second:?}");
    // The first stream is unaffected.
    send(addr, &token, JSON_HANDSHAKE).await;
    assert_eq!(first.next_event().await, "data: {}\x1e\r\n\r\n");
}

#[tokio::test]
async fn sse_without_an_id_is_400_connection_id_required() {
    let addr = serve(hub()).await;
    let response = sse_request(addr, "").await.into_response().await;
    response.assert_text(400, "Connection ID required");
}

#[tokio::test]
async fn sse_with_an_empty_id_is_400_connection_id_required() {
    let addr = serve(hub()).await;
    let response = sse_request(addr, "?id=").await.into_response().await;
    response.assert_text(400, "Connection ID required");
}

#[tokio::test]
async fn sse_with_an_unknown_id_is_404_no_connection_with_that_id() {
    let addr = serve(hub()).await;
    let response = sse_request(addr, "?id=unknown").await.into_response().await;
    response.assert_text(404, "No Connection with that ID");
}

#[tokio::test]
async fn sse_is_404_when_the_transport_is_disabled() {
    let addr = serve(hub().transports(Transports::WEB_SOCKETS | Transports::LONG_POLLING)).await;
    let token = negotiate(addr).await;
    let response = sse_request(addr, &format!("?id={token}"))
        .await
        .into_response()
        .await;
    response.assert_text(
        404,
        "ServerSentEvents transport not supported by this end point type",
    );
}

#[tokio::test]
async fn sse_closing_the_response_ends_the_connection() {
    let addr = serve(hub()).await;
    let (sse, token) = Sse::json(addr).await;
    drop(sse);
    wait_until_disposed(addr, &token).await;
    let response = post(addr, &token, JSON_HANDSHAKE.as_bytes()).await;
    response.assert_text(404, "No Connection with that ID");
}

#[tokio::test]
async fn sse_hub_abort_sends_the_close_as_a_last_event_then_ends_the_response() {
    let addr = serve(hub()).await;
    let (mut sse, token) = Sse::json(addr).await;
    send(addr, &token, invocation(None, "Abort", "[]")).await;
    assert_eq!(sse.next_event().await, "data: {\"type\":7}\x1e\r\n\r\n");
    sse.expect_end().await;
    assert_eq!(post(addr, &token, b"").await.status, 404);
}

#[tokio::test]
async fn sse_idle_connection_receives_keep_alive_ping_events() {
    let addr = serve(hub().keep_alive_interval(Duration::from_millis(100))).await;
    let (mut sse, _token) = Sse::json(addr).await;
    assert_eq!(sse.next_event().await, "data: {\"type\":6}\x1e\r\n\r\n");
    assert_eq!(sse.next_event().await, "data: {\"type\":6}\x1e\r\n\r\n");
}

#[tokio::test]
async fn sse_client_silent_after_its_first_ping_gets_the_error_close_then_the_end() {
    let addr = serve(hub().client_timeout_interval(Duration::from_millis(300))).await;
    let (mut sse, token) = Sse::json(addr).await;
    send(addr, &token, PING).await;
    let started = Instant::now();
    assert_eq!(
        sse.next_event().await,
        format!("data: {ERROR_CLOSE}\r\n\r\n")
    );
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "closed after {:?}",
        started.elapsed()
    );
    sse.expect_end().await;
}

// ---------------------------------------------------------------------------------------
// 2. Long Polling.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn long_poll_first_poll_answers_at_once_200_empty_octet_stream_with_no_cache_headers() {
    let addr = serve(hub()).await;
    let token = negotiate(addr).await;
    let response = poll(addr, &token).await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(response.header("content-length"), Some("0"));
    assert!(response.body.is_empty());
    assert_eq!(response.header("cache-control"), Some("no-cache, no-store"));
    assert_eq!(response.header("pragma"), Some("no-cache"));
    assert_eq!(
        response.header("expires"),
        Some("Thu, 01 Jan 1970 00:00:00 GMT")
    );
}

#[tokio::test]
async fn long_poll_returns_the_handshake_response_with_no_cache_headers() {
    let addr = serve(hub()).await;
    let token = negotiate(addr).await;
    assert_eq!(poll(addr, &token).await.status, 200);
    send(addr, &token, JSON_HANDSHAKE).await;
    let response = poll(addr, &token).await;
    assert_data(&response, b"{}\x1e");
    assert_eq!(response.header("content-length"), Some("3"));
    assert_eq!(response.header("cache-control"), Some("no-cache, no-store"));
    assert_eq!(response.header("pragma"), Some("no-cache"));
    assert_eq!(
        response.header("expires"),
        Some("Thu, 01 Jan 1970 00:00:00 GMT")
    );
}

#[tokio::test]
async fn long_poll_returns_an_invocation_completion() {
    let addr = serve(hub()).await;
    let token = long_polling_json(addr).await;
    send(addr, &token, invocation(Some("1"), "Add", "[40,2]")).await;
    assert_data(
        &poll(addr, &token).await,
        b"{\"type\":3,\"invocationId\":\"1\",\"result\":42}\x1e",
    );
}

#[tokio::test]
async fn long_poll_with_nothing_to_send_returns_200_empty_text_plain_after_the_poll_timeout() {
    let options = transport(|o| o.long_poll_timeout = Duration::from_millis(300));
    let addr = serve(hub().transport_options(options)).await;
    let token = long_polling_json(addr).await;
    let started = Instant::now();
    let response = poll(addr, &token).await;
    let elapsed = started.elapsed();
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.header("content-type"), Some("text/plain"));
    assert_eq!(response.header("content-length"), Some("0"));
    assert!(response.body.is_empty());
    assert_eq!(response.header("cache-control"), Some("no-cache, no-store"));
    assert_eq!(response.header("pragma"), Some("no-cache"));
    assert_eq!(
        response.header("expires"),
        Some("Thu, 01 Jan 1970 00:00:00 GMT")
    );
    assert!(
        elapsed >= Duration::from_millis(280) && elapsed < Duration::from_secs(2),
        "answered after {elapsed:?}"
    );
}

#[tokio::test]
async fn long_poll_a_second_concurrent_poll_makes_the_first_answer_204() {
    let addr = serve(hub()).await;
    let token = long_polling_json(addr).await;
    let first = poll_in_background(addr, &token);
    tokio::time::sleep(SETTLE).await;
    let second = poll_in_background(addr, &token);
    let first = join(first).await;
    assert_eq!(first.status, 204, "{first:?}");
    assert!(first.body.is_empty());
    assert_eq!(first.header("cache-control"), Some("no-cache, no-store"));
    // The newer poll is the live one.
    send(addr, &token, invocation(Some("1"), "Add", "[1,2]")).await;
    assert_data(
        &join(second).await,
        b"{\"type\":3,\"invocationId\":\"1\",\"result\":3}\x1e",
    );
}

#[tokio::test]
async fn long_poll_delete_answers_202_and_the_pending_poll_answers_204() {
    let addr = serve(hub()).await;
    let token = long_polling_json(addr).await;
    let pending = poll_in_background(addr, &token);
    tokio::time::sleep(SETTLE).await;
    let response = request(addr, "DELETE", &format!("/hub?id={token}"), &[], b"").await;
    response.assert_text(202, "");
    let pending = join(pending).await;
    assert_eq!(pending.status, 204, "{pending:?}");
    assert!(pending.body.is_empty());
}

#[tokio::test]
async fn long_poll_returns_404_after_delete() {
    let addr = serve(hub()).await;
    let token = long_polling_json(addr).await;
    let response = request(addr, "DELETE", &format!("/hub?id={token}"), &[], b"").await;
    assert_eq!(response.status, 202);
    poll(addr, &token)
        .await
        .assert_text(404, "No Connection with that ID");
}

#[tokio::test]
async fn long_poll_returns_the_hub_close_queued_between_polls() {
    let addr = serve(hub()).await;
    let token = long_polling_json(addr).await;
    send(addr, &token, invocation(None, "Abort", "[]")).await;
    // No poll is pending while the hub aborts and queues its Close.
    tokio::time::sleep(SETTLE).await;
    assert_data(&poll(addr, &token).await, b"{\"type\":7}\x1e");
}

#[tokio::test]
async fn long_poll_pending_poll_receives_the_hub_close() {
    let addr = serve(hub()).await;
    let token = long_polling_json(addr).await;
    let pending = poll_in_background(addr, &token);
    tokio::time::sleep(SETTLE).await;
    send(addr, &token, invocation(None, "Abort", "[]")).await;
    assert_data(&join(pending).await, b"{\"type\":7}\x1e");
}

#[tokio::test]
async fn long_poll_after_the_hub_close_was_delivered_is_no_longer_served() {
    let addr = serve(hub()).await;
    let token = long_polling_json(addr).await;
    let pending = poll_in_background(addr, &token);
    tokio::time::sleep(SETTLE).await;
    send(addr, &token, invocation(None, "Abort", "[]")).await;
    assert_data(&join(pending).await, b"{\"type\":7}\x1e");
    // ASP.NET Core answers 204 once (the poll that observes the end), then 404.
    let response = poll(addr, &token).await;
    assert!(
        response.status == 204 || response.status == 404,
        "{response:?}"
    );
}

#[tokio::test]
async fn long_poll_carries_messagepack_records_in_a_binary_body() {
    let addr = serve(hub()).await;
    let token = negotiate(addr).await;
    assert_eq!(poll(addr, &token).await.status, 200);
    send(addr, &token, MSGPACK_HANDSHAKE).await;
    assert_data(&poll(addr, &token).await, b"{}\x1e");
    send(addr, &token, msgpack_invocation(Some("1"), "Add", (40, 2))).await;
    // [3, {}, "1", 3 (non-void), 42]
    assert_data(
        &poll(addr, &token).await,
        &[0x07, 0x95, 0x03, 0x80, 0xa1, b'1', 0x03, 0x2a],
    );
}

#[tokio::test]
async fn long_poll_returns_every_queued_record_in_one_body() {
    let server = hub();
    let context = server.context();
    let addr = serve(server).await;
    let token = long_polling_json(addr).await;
    // A round trip guarantees the connection is registered with the hub.
    send(addr, &token, invocation(Some("1"), "Add", "[1,1]")).await;
    assert_data(
        &poll(addr, &token).await,
        b"{\"type\":3,\"invocationId\":\"1\",\"result\":2}\x1e",
    );
    // Both records are in the connection's queue once the sends return.
    let clients = context.clients();
    clients.all().receive("a".to_owned(), 1).await.unwrap();
    clients.all().receive("b".to_owned(), 2).await.unwrap();
    assert_data(
        &poll(addr, &token).await,
        b"{\"type\":1,\"target\":\"Receive\",\"arguments\":[\"a\",1]}\x1e\
          {\"type\":1,\"target\":\"Receive\",\"arguments\":[\"b\",2]}\x1e",
    );
}

#[tokio::test]
async fn long_poll_never_carries_keep_alive_pings() {
    let options = transport(|o| o.long_poll_timeout = Duration::from_millis(250));
    let addr = serve(
        hub()
            .keep_alive_interval(Duration::from_millis(100))
            .transport_options(options),
    )
    .await;
    let token = long_polling_json(addr).await;
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(500) {
        let response = poll(addr, &token).await;
        assert_eq!(response.status, 200, "{response:?}");
        assert!(
            response.body.is_empty(),
            "a poll carried {:?}",
            String::from_utf8_lossy(&response.body)
        );
    }
    // Idle time between polls queued no ping either.
    tokio::time::sleep(Duration::from_millis(250)).await;
    let response = poll(addr, &token).await;
    assert!(
        !String::from_utf8_lossy(&response.body).contains("{\"type\":6}"),
        "{response:?}"
    );
    assert!(response.body.is_empty(), "{response:?}");
}

#[tokio::test]
async fn long_poll_connection_without_a_poll_for_the_disconnect_timeout_is_disposed() {
    let options = transport(|o| o.disconnect_timeout = Duration::from_millis(500));
    let addr = serve(hub().transport_options(options)).await;
    let token = long_polling_json(addr).await;
    let waited = wait_until_disposed(addr, &token).await;
    assert!(
        waited >= Duration::from_millis(450),
        "disposed after {waited:?}"
    );
    poll(addr, &token)
        .await
        .assert_text(404, "No Connection with that ID");
}

#[tokio::test]
async fn long_poll_a_pending_poll_keeps_the_connection_past_the_disconnect_timeout() {
    let options = transport(|o| {
        o.disconnect_timeout = Duration::from_millis(300);
        o.long_poll_timeout = Duration::from_millis(1300);
    });
    let addr = serve(hub().transport_options(options)).await;
    let token = long_polling_json(addr).await;
    // At least one sweep (every second) runs while this poll waits.
    let response = poll(addr, &token).await;
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.header("content-type"), Some("text/plain"));
    send(addr, &token, invocation(Some("1"), "Add", "[2,2]")).await;
    assert_data(
        &poll(addr, &token).await,
        b"{\"type\":3,\"invocationId\":\"1\",\"result\":4}\x1e",
    );
}

#[tokio::test]
async fn long_poll_whose_client_went_away_mid_poll_is_disposed_after_the_disconnect_timeout() {
    let options = transport(|o| {
        o.disconnect_timeout = Duration::from_millis(300);
        o.long_poll_timeout = Duration::from_secs(60);
    });
    let addr = serve(hub().transport_options(options)).await;
    let token = long_polling_json(addr).await;
    // A poll is pending when its client closes the TCP connection (a closed browser tab).
    let abandoned = send_request(addr, "GET", &format!("/hub?id={token}"), &[], b"").await;
    tokio::time::sleep(SETTLE).await;
    drop(abandoned);
    let waited = wait_until_disposed(addr, &token).await;
    assert!(
        waited >= Duration::from_millis(250),
        "disposed after {waited:?}"
    );
}

#[tokio::test]
async fn negotiated_connection_never_connected_is_disposed_after_the_disconnect_timeout() {
    let options = transport(|o| o.disconnect_timeout = Duration::from_millis(500));
    let addr = serve(hub().transport_options(options)).await;
    let token = negotiate(addr).await;
    let waited = wait_until_disposed(addr, &token).await;
    assert!(
        waited >= Duration::from_millis(450),
        "disposed after {waited:?}"
    );
    poll(addr, &token)
        .await
        .assert_text(404, "No Connection with that ID");
}

#[tokio::test]
async fn long_poll_is_404_when_the_transport_is_disabled() {
    let addr =
        serve(hub().transports(Transports::WEB_SOCKETS | Transports::SERVER_SENT_EVENTS)).await;
    let token = negotiate(addr).await;
    poll(addr, &token).await.assert_text(
        404,
        "LongPolling transport not supported by this end point type",
    );
}

#[tokio::test]
async fn long_poll_without_an_id_is_400_connection_id_required() {
    let addr = serve(hub()).await;
    request(addr, "GET", "/hub", &[], b"")
        .await
        .assert_text(400, "Connection ID required");
}

#[tokio::test]
async fn long_poll_with_an_unknown_id_is_404() {
    let addr = serve(hub()).await;
    poll(addr, "unknown")
        .await
        .assert_text(404, "No Connection with that ID");
}

// ---------------------------------------------------------------------------------------
// 3. POST sends.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn post_answers_200_with_an_empty_text_plain_body() {
    let addr = serve(hub()).await;
    let token = negotiate(addr).await;
    assert_eq!(poll(addr, &token).await.status, 200);
    post(addr, &token, JSON_HANDSHAKE.as_bytes())
        .await
        .assert_text(200, "");
}

#[tokio::test]
async fn post_without_an_id_is_400_connection_id_required() {
    let addr = serve(hub()).await;
    request(addr, "POST", "/hub", &[], JSON_HANDSHAKE.as_bytes())
        .await
        .assert_text(400, "Connection ID required");
}

#[tokio::test]
async fn post_with_an_unknown_id_is_404() {
    let addr = serve(hub()).await;
    post(addr, "unknown", JSON_HANDSHAKE.as_bytes())
        .await
        .assert_text(404, "No Connection with that ID");
}

#[tokio::test]
async fn post_to_a_websocket_connection_is_405() {
    let addr = serve(hub()).await;
    let token = negotiate(addr).await;
    let ws = websocket_upgrade(addr, &format!("?id={token}")).await;
    assert_eq!(ws.status, 101, "{:?}", ws.headers);
    post(addr, &token, JSON_HANDSHAKE.as_bytes())
        .await
        .assert_text(
            405,
            "POST requests are not allowed for WebSocket connections.",
        );
    drop(ws);
}

#[tokio::test]
async fn post_larger_than_the_maximum_send_body_size_is_413() {
    let options = transport(|o| o.maximum_send_body_size = 1024);
    let addr = serve(hub().transport_options(options)).await;
    let token = negotiate(addr).await;
    assert_eq!(poll(addr, &token).await.status, 200);
    let response = post(addr, &token, &[b' '; 2000]).await;
    assert_eq!(response.status, 413, "{response:?}");
}

#[tokio::test]
async fn post_of_exactly_the_maximum_send_body_size_is_accepted() {
    let options = transport(|o| o.maximum_send_body_size = 1024);
    let addr = serve(hub().transport_options(options)).await;
    let token = negotiate(addr).await;
    assert_eq!(poll(addr, &token).await.status, 200);
    let mut body = JSON_HANDSHAKE.as_bytes().to_vec();
    body.resize(1024, b' ');
    // Whitespace after the handshake is not a record; the handshake still succeeds.
    let response = post(addr, &token, &body).await;
    assert_eq!(response.status, 200, "{response:?}");
}

#[tokio::test]
async fn post_of_garbage_after_the_handshake_gets_the_error_close_on_the_next_poll() {
    let addr = serve(hub()).await;
    let token = long_polling_json(addr).await;
    send(addr, &token, "not json\x1e").await;
    // No poll is pending while the hub fails and queues its Close.
    tokio::time::sleep(SETTLE).await;
    assert_data(&poll(addr, &token).await, ERROR_CLOSE.as_bytes());
}

#[tokio::test]
async fn post_of_garbage_after_the_handshake_gets_the_error_close_on_the_pending_poll() {
    let addr = serve(hub()).await;
    let token = long_polling_json(addr).await;
    let pending = poll_in_background(addr, &token);
    tokio::time::sleep(SETTLE).await;
    send(addr, &token, "not json\x1e").await;
    assert_data(&join(pending).await, ERROR_CLOSE.as_bytes());
}

#[tokio::test]
async fn post_of_garbage_over_sse_gets_the_error_close_event_then_the_end() {
    let addr = serve(hub()).await;
    let (mut sse, token) = Sse::json(addr).await;
    send(addr, &token, "not json\x1e").await;
    assert_eq!(
        sse.next_event().await,
        format!("data: {ERROR_CLOSE}\r\n\r\n")
    );
    sse.expect_end().await;
}

// ---------------------------------------------------------------------------------------
// 4. DELETE.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn delete_without_an_id_is_400_connection_id_required() {
    let addr = serve(hub()).await;
    request(addr, "DELETE", "/hub", &[], b"")
        .await
        .assert_text(400, "Connection ID required");
}

#[tokio::test]
async fn delete_with_an_unknown_id_is_404() {
    let addr = serve(hub()).await;
    request(addr, "DELETE", "/hub?id=unknown", &[], b"")
        .await
        .assert_text(404, "No Connection with that ID");
}

#[tokio::test]
async fn delete_on_an_sse_connection_is_400_and_keeps_it() {
    let addr = serve(hub()).await;
    let token = negotiate(addr).await;
    let mut sse = Sse::open(addr, &token).await;
    request(addr, "DELETE", &format!("/hub?id={token}"), &[], b"")
        .await
        .assert_text(
            400,
            "Cannot terminate this connection using the DELETE endpoint.",
        );
    send(addr, &token, JSON_HANDSHAKE).await;
    assert_eq!(sse.next_event().await, "data: {}\x1e\r\n\r\n");
}

// ---------------------------------------------------------------------------------------
// 5. Transport pinning.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn websocket_on_a_long_polling_connection_is_400_cannot_change_transports() {
    let addr = serve(hub()).await;
    let token = negotiate(addr).await;
    assert_eq!(poll(addr, &token).await.status, 200);
    websocket_upgrade(addr, &format!("?id={token}"))
        .await
        .into_response()
        .await
        .assert_text(400, "Cannot change transports mid-connection");
}

#[tokio::test]
async fn sse_on_a_long_polling_connection_is_400_cannot_change_transports() {
    let addr = serve(hub()).await;
    let token = negotiate(addr).await;
    assert_eq!(poll(addr, &token).await.status, 200);
    sse_request(addr, &format!("?id={token}"))
        .await
        .into_response()
        .await
        .assert_text(400, "Cannot change transports mid-connection");
}

#[tokio::test]
async fn long_poll_on_an_sse_connection_is_400_cannot_change_transports() {
    let addr = serve(hub()).await;
    let token = negotiate(addr).await;
    let _sse = Sse::open(addr, &token).await;
    poll(addr, &token)
        .await
        .assert_text(400, "Cannot change transports mid-connection");
}

#[tokio::test]
async fn sse_on_a_websocket_connection_is_400_cannot_change_transports() {
    let addr = serve(hub()).await;
    let token = negotiate(addr).await;
    let ws = websocket_upgrade(addr, &format!("?id={token}")).await;
    assert_eq!(ws.status, 101, "{:?}", ws.headers);
    sse_request(addr, &format!("?id={token}"))
        .await
        .into_response()
        .await
        .assert_text(400, "Cannot change transports mid-connection");
    drop(ws);
}

// ---------------------------------------------------------------------------------------
// 6. Other methods.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn put_on_the_hub_path_is_405() {
    let addr = serve(hub()).await;
    let token = negotiate(addr).await;
    let response = request(addr, "PUT", &format!("/hub?id={token}"), &[], b"").await;
    assert_eq!(response.status, 405, "{response:?}");
    assert_eq!(response.header("content-type"), Some("text/plain"));
}

#[tokio::test]
async fn patch_on_the_hub_path_is_405() {
    let addr = serve(hub()).await;
    let response = request(addr, "PATCH", "/hub?id=unknown", &[], b"").await;
    assert_eq!(response.status, 405, "{response:?}");
    assert_eq!(response.header("content-type"), Some("text/plain"));
}

#[tokio::test]
async fn get_on_negotiate_is_405() {
    let addr = serve(hub()).await;
    let response = request(addr, "GET", "/hub/negotiate?negotiateVersion=1", &[], b"").await;
    assert_eq!(response.status, 405, "{response:?}");
    assert_eq!(response.header("content-type"), Some("text/plain"));
}

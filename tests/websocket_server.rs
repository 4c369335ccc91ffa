//! A real server, in process, driven over raw HTTP/1.1 and raw WebSockets: negotiate, the
//! WebSocket transport, the handshake, invocations, keep-alive and server-to-client calls,
//! checked byte for byte against the wire protocol.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;
use common::http::{http, negotiate, serve};
use common::ws::{refused_status, Client};
use common::{invocation, msgpack_frame, msgpack_invocation, JSON_HANDSHAKE, MSGPACK_HANDSHAKE};
use tokio_tungstenite::tungstenite::Message;

use signalr::hub::HubDispatcher;
use signalr::prelude::*;
use std::time::{Duration, Instant};

/// How long "nothing arrives" is watched for.
const QUIET: Duration = Duration::from_millis(100);

const ERROR_CLOSE: &str =
    "{\"type\":7,\"error\":\"Connection closed with an error.\",\"allowReconnect\":true}\x1e";

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
    async fn fail(&self, reason: String) -> Result<(), HubError>;
    async fn parse(&self, text: String) -> Result<i32, HubError>;
    async fn noop(&self);
    async fn try_noop(&self) -> Result<(), HubError>;
    async fn to_others(&self, cx: &Ctx, text: String, n: i64) -> Result<(), HubError>;
    async fn to_caller(&self, cx: &Ctx, text: String, n: i64) -> Result<(), HubError>;
    async fn abort(&self, cx: &Ctx);
    /// `Receive` of `length` characters to the caller, numbered `n`.
    async fn flood(&self, cx: &Ctx, length: usize, n: i64) -> Result<(), HubError>;
    /// Returns after `millis` milliseconds.
    async fn hold(&self, millis: u64);
}

struct Hub;

impl TestHub for Hub {
    async fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }

    async fn fail(&self, reason: String) -> Result<(), HubError> {
        Err(HubError::new(reason))
    }

    async fn parse(&self, text: String) -> Result<i32, HubError> {
        Ok(text.parse::<i32>()?)
    }

    async fn noop(&self) {}

    async fn try_noop(&self) -> Result<(), HubError> {
        Ok(())
    }

    async fn to_others(&self, cx: &Ctx, text: String, n: i64) -> Result<(), HubError> {
        cx.clients().others().receive(text, n).await?;
        Ok(())
    }

    async fn to_caller(&self, cx: &Ctx, text: String, n: i64) -> Result<(), HubError> {
        cx.clients().caller().receive(text, n).await?;
        Ok(())
    }

    async fn abort(&self, cx: &Ctx) {
        cx.abort();
    }

    async fn flood(&self, cx: &Ctx, length: usize, n: i64) -> Result<(), HubError> {
        cx.clients().caller().receive("x".repeat(length), n).await?;
        Ok(())
    }

    async fn hold(&self, millis: u64) {
        tokio::time::sleep(Duration::from_millis(millis)).await;
    }
}

fn hub() -> HubServer<impl HubDispatcher> {
    Hub.into_server()
}

/// Asserts that `record` is a Completion of `id` without error (void or with a result).
fn assert_success(record: &str, id: &str) {
    let value: serde_json::Value = serde_json::from_str(
        record
            .strip_suffix('\x1e')
            .unwrap_or_else(|| panic!("not a record: {record:?}")),
    )
    .unwrap();
    assert_eq!(value["type"], 3, "{record:?}");
    assert_eq!(value["invocationId"], id, "{record:?}");
    assert!(value.get("error").is_none(), "{record:?}");
}

/// A JSON error Completion record.
fn error_completion(id: &str, error: &str) -> String {
    format!(
        "{{\"type\":3,\"invocationId\":\"{id}\",\"error\":{}}}\x1e",
        serde_json::to_string(error).unwrap()
    )
}

// ---------------------------------------------------------------------------------------
// 1. Negotiate.
// ---------------------------------------------------------------------------------------

fn assert_id(value: &serde_json::Value) {
    let id = value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"));
    assert_eq!(id.len(), 22, "{id:?}");
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{id:?} is not base64url"
    );
}

#[tokio::test]
async fn negotiate_version_1_returns_an_id_a_token_and_the_websocket_transport() {
    let addr = serve(hub().transports(Transports::WEB_SOCKETS)).await;
    let response = http(addr, "POST", "/hub/negotiate?negotiateVersion=1").await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let body = response.json();
    assert_eq!(body["negotiateVersion"], 1);
    assert_id(&body["connectionId"]);
    assert_id(&body["connectionToken"]);
    assert_ne!(body["connectionId"], body["connectionToken"]);
    assert_eq!(
        body["availableTransports"],
        serde_json::json!([{"transport":"WebSockets","transferFormats":["Text","Binary"]}])
    );
    assert!(body.get("useStatefulReconnect").is_none(), "{body}");
    assert!(body.get("ProtocolVersion").is_none(), "{body}");
}

#[tokio::test]
async fn negotiate_lists_every_enabled_transport_in_preference_order() {
    let addr = serve(hub()).await;
    let body = http(addr, "POST", "/hub/negotiate?negotiateVersion=1")
        .await
        .json();
    assert_eq!(
        body["availableTransports"],
        serde_json::json!([
            {"transport":"WebSockets","transferFormats":["Text","Binary"]},
            {"transport":"ServerSentEvents","transferFormats":["Text"]},
            {"transport":"LongPolling","transferFormats":["Text","Binary"]}
        ])
    );
}

#[tokio::test]
async fn negotiate_without_a_version_is_version_0_without_a_token() {
    let addr = serve(hub()).await;
    let response = http(addr, "POST", "/hub/negotiate").await;
    assert_eq!(response.status, 200);
    let body = response.json();
    assert_eq!(body["negotiateVersion"], 0);
    assert_id(&body["connectionId"]);
    assert!(body.get("connectionToken").is_none(), "{body}");
}

#[tokio::test]
async fn negotiate_with_a_non_integer_version_is_a_200_json_error() {
    let addr = serve(hub()).await;
    let response = http(addr, "POST", "/hub/negotiate?negotiateVersion=abc").await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(
        response.text(),
        "{\"error\":\"The client requested a non-integer protocol version.\"}"
    );
}

#[tokio::test]
async fn negotiate_version_above_1_is_answered_with_version_1() {
    let addr = serve(hub()).await;
    let body = http(addr, "POST", "/hub/negotiate?negotiateVersion=7")
        .await
        .json();
    assert_eq!(body["negotiateVersion"], 1);
    assert_id(&body["connectionToken"]);
}

#[tokio::test]
async fn negotiate_reads_the_version_key_case_insensitively() {
    let addr = serve(hub()).await;
    let body = http(addr, "POST", "/hub/negotiate?NEGOTIATEVERSION=1")
        .await
        .json();
    assert_eq!(body["negotiateVersion"], 1);
    assert_id(&body["connectionToken"]);
}

#[tokio::test]
async fn negotiate_refuses_get_with_405() {
    let addr = serve(hub()).await;
    let response = http(addr, "GET", "/hub/negotiate?negotiateVersion=1").await;
    assert_eq!(response.status, 405);
}

// ---------------------------------------------------------------------------------------
// 2. The WebSocket transport and the other HTTP requests on the endpoint.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn websocket_with_the_negotiated_token_connects_and_works() {
    let addr = serve(hub()).await;
    let token = negotiate(addr).await;
    let mut client = Client::open(addr, &format!("?id={token}"), false).await;
    client.handshake(JSON_HANDSHAKE).await;
    client.add_json("1", 40, 2).await;
}

#[tokio::test]
async fn websocket_with_a_version_0_connection_id_connects_and_works() {
    let addr = serve(hub()).await;
    let body = http(addr, "POST", "/hub/negotiate").await.json();
    let id = body["connectionId"].as_str().unwrap();
    let mut client = Client::open(addr, &format!("?id={id}"), false).await;
    client.handshake(JSON_HANDSHAKE).await;
    client.add_json("1", 1, 2).await;
}

#[tokio::test]
async fn websocket_with_an_unknown_id_is_refused_with_404() {
    let addr = serve(hub()).await;
    assert_eq!(refused_status(addr, "?id=unknown").await, 404);
}

#[tokio::test]
async fn websocket_with_the_public_connection_id_instead_of_the_token_is_refused_with_404() {
    let addr = serve(hub()).await;
    let body = http(addr, "POST", "/hub/negotiate?negotiateVersion=1")
        .await
        .json();
    let id = body["connectionId"].as_str().unwrap();
    assert_eq!(refused_status(addr, &format!("?id={id}")).await, 404);
}

#[tokio::test]
async fn websocket_is_refused_with_404_when_the_transport_is_disabled() {
    let addr = serve(hub().transports(Transports::LONG_POLLING)).await;
    assert_eq!(refused_status(addr, "").await, 404);
    let token = negotiate(addr).await;
    assert_eq!(refused_status(addr, &format!("?id={token}")).await, 404);
}

#[tokio::test]
async fn a_second_websocket_with_the_same_id_is_refused_with_409() {
    let addr = serve(hub()).await;
    let token = negotiate(addr).await;
    let mut first = Client::open(addr, &format!("?id={token}"), false).await;
    assert_eq!(refused_status(addr, &format!("?id={token}")).await, 409);
    // The first connection is unaffected.
    first.handshake(JSON_HANDSHAKE).await;
    first.add_json("1", 2, 3).await;
}

#[tokio::test]
async fn websocket_without_an_id_skips_negotiation_and_works() {
    let addr = serve(hub()).await;
    let mut client = Client::open(addr, "", false).await;
    client.handshake(JSON_HANDSHAKE).await;
    client.add_json("1", 20, 22).await;
}

#[tokio::test]
async fn post_without_an_id_is_400_connection_id_required() {
    let addr = serve(hub()).await;
    let response = http(addr, "POST", "/hub").await;
    assert_eq!(response.status, 400);
    assert_eq!(response.text(), "Connection ID required");
}

#[tokio::test]
async fn post_with_an_unknown_id_is_404_no_connection_with_that_id() {
    let addr = serve(hub()).await;
    let response = http(addr, "POST", "/hub?id=unknown").await;
    assert_eq!(response.status, 404);
    assert_eq!(response.text(), "No Connection with that ID");
}

#[tokio::test]
async fn post_for_a_websocket_connection_is_405() {
    let addr = serve(hub()).await;
    let token = negotiate(addr).await;
    let _client = Client::open(addr, &format!("?id={token}"), false).await;
    let response = http(addr, "POST", &format!("/hub?id={token}")).await;
    assert_eq!(response.status, 405);
    assert_eq!(
        response.text(),
        "POST requests are not allowed for WebSocket connections."
    );
}

#[tokio::test]
async fn delete_for_a_websocket_connection_is_400() {
    let addr = serve(hub()).await;
    let token = negotiate(addr).await;
    let mut client = Client::open(addr, &format!("?id={token}"), false).await;
    let response = http(addr, "DELETE", &format!("/hub?id={token}")).await;
    assert_eq!(response.status, 400);
    assert_eq!(
        response.text(),
        "Cannot terminate this connection using the DELETE endpoint."
    );
    // DELETE did not end the connection.
    client.handshake(JSON_HANDSHAKE).await;
    client.add_json("1", 1, 1).await;
}

#[tokio::test]
async fn a_closed_connection_token_is_forgotten() {
    let addr = serve(hub()).await;
    let token = negotiate(addr).await;
    let mut client = Client::open(addr, &format!("?id={token}"), false).await;
    client.handshake(JSON_HANDSHAKE).await;
    client.send_text("{\"type\":7}\x1e").await;
    client.expect_close().await;
    let response = http(addr, "POST", &format!("/hub?id={token}")).await;
    assert_eq!(response.status, 404);
    assert_eq!(refused_status(addr, &format!("?id={token}")).await, 404);
}

// ---------------------------------------------------------------------------------------
// 3. The handshake.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn json_handshake_is_answered_with_an_empty_object_in_a_text_frame() {
    let addr = serve(hub()).await;
    let mut client = Client::open(addr, "", false).await;
    client.send_text(JSON_HANDSHAKE).await;
    match client.next_message().await {
        Message::Text(text) => assert_eq!(text.as_str(), "{}\x1e"),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

#[tokio::test]
async fn messagepack_handshake_response_arrives_in_a_binary_frame() {
    let addr = serve(hub()).await;
    let mut client = Client::open(addr, "", true).await;
    client.send_text(MSGPACK_HANDSHAKE).await;
    match client.next_message().await {
        Message::Binary(data) => assert_eq!(&data[..], b"{}\x1e"),
        other => panic!("expected a binary frame, got {other:?}"),
    }
}

#[tokio::test]
async fn handshake_split_across_frames_is_accepted() {
    let addr = serve(hub()).await;
    let mut client = Client::open(addr, "", false).await;
    client.send_text("{\"protocol\":").await;
    client.send_text("\"json\",\"version\":1}\x1e").await;
    assert_eq!(client.handshake_response().await, "{}\x1e");
    client.add_json("1", 3, 4).await;
}

#[tokio::test]
async fn json_invocation_in_the_handshake_frame_is_processed() {
    let addr = serve(hub()).await;
    let mut client = Client::open(addr, "", false).await;
    let frame = format!("{JSON_HANDSHAKE}{}", invocation(Some("1"), "Add", "[40,2]"));
    client.send_text(&frame).await;
    assert_eq!(client.handshake_response().await, "{}\x1e");
    assert_eq!(
        client.next_text().await,
        "{\"type\":3,\"invocationId\":\"1\",\"result\":42}\x1e"
    );
}

#[tokio::test]
async fn messagepack_invocation_in_the_handshake_frame_is_processed() {
    let addr = serve(hub()).await;
    let mut client = Client::open(addr, "", true).await;
    let mut frame = MSGPACK_HANDSHAKE.as_bytes().to_vec();
    frame.extend(msgpack_invocation(Some("1"), "Add", (40, 2)));
    client.send_binary(frame).await;
    assert_eq!(client.handshake_response().await, "{}\x1e");
    assert_eq!(
        client.next_record().await,
        [0x07, 0x95, 0x03, 0x80, 0xa1, b'1', 0x03, 0x2a]
    );
}

#[tokio::test]
async fn an_unknown_protocol_is_refused_then_the_socket_closes() {
    let addr = serve(hub()).await;
    let mut client = Client::open(addr, "", false).await;
    client
        .send_text("{\"protocol\":\"xml\",\"version\":1}\x1e")
        .await;
    assert_eq!(
        client.handshake_response().await,
        "{\"error\":\"The protocol 'xml' is not supported.\"}\x1e"
    );
    client.expect_close().await;
}

#[tokio::test]
async fn a_protocol_disabled_on_the_hub_is_refused() {
    let addr = serve(hub().protocols([HubProtocol::Json])).await;
    let mut client = Client::open(addr, "", false).await;
    client.send_text(MSGPACK_HANDSHAKE).await;
    assert_eq!(
        client.handshake_response().await,
        "{\"error\":\"The protocol 'messagepack' is not supported.\"}\x1e"
    );
    client.expect_close().await;
}

#[tokio::test]
async fn an_unsupported_version_is_refused_then_the_socket_closes() {
    let addr = serve(hub()).await;
    let mut client = Client::open(addr, "", false).await;
    client
        .send_text("{\"protocol\":\"json\",\"version\":3}\x1e")
        .await;
    assert_eq!(
        client.handshake_response().await,
        "{\"error\":\"The server does not support version 3 of the 'json' protocol.\"}\x1e"
    );
    client.expect_close().await;
}

#[tokio::test]
async fn a_malformed_handshake_gets_the_generic_handshake_error() {
    let addr = serve(hub()).await;
    let mut client = Client::open(addr, "", false).await;
    client.send_text("{\"protocol\":}\x1e").await;
    assert_eq!(
        client.handshake_response().await,
        "{\"error\":\"An unexpected error occurred during connection handshake.\"}\x1e"
    );
    client.expect_close().await;
}

#[tokio::test]
async fn a_handshake_missing_its_version_gets_the_generic_handshake_error() {
    let addr = serve(hub()).await;
    let mut client = Client::open(addr, "", false).await;
    client.send_text("{\"protocol\":\"json\"}\x1e").await;
    assert_eq!(
        client.handshake_response().await,
        "{\"error\":\"An unexpected error occurred during connection handshake.\"}\x1e"
    );
    client.expect_close().await;
}

#[tokio::test]
async fn a_malformed_handshake_with_detailed_errors_names_the_parse_error() {
    let addr = serve(hub().enable_detailed_errors(true)).await;
    let mut client = Client::open(addr, "", false).await;
    client.send_text("{\"protocol\":\"json\"}\x1e").await;
    let response = client.handshake_response().await;
    let error: serde_json::Value = serde_json::from_str(response.trim_end_matches('\x1e')).unwrap();
    let text = error["error"].as_str().unwrap();
    assert!(
        text.starts_with("An unexpected error occurred during connection handshake. ")
            && text.len() > "An unexpected error occurred during connection handshake. ".len(),
        "{text:?}"
    );
}

#[tokio::test]
async fn no_handshake_within_the_handshake_timeout_is_canceled_then_closed() {
    let addr = serve(hub().handshake_timeout(Duration::from_millis(200))).await;
    let mut client = Client::open(addr, "", false).await;
    let started = Instant::now();
    assert_eq!(
        client.handshake_response().await,
        "{\"error\":\"Handshake was canceled.\"}\x1e"
    );
    assert!(started.elapsed() >= Duration::from_millis(150));
    client.expect_close().await;
}

#[tokio::test]
async fn a_handshake_larger_than_the_maximum_message_size_is_canceled() {
    let addr = serve(hub().maximum_receive_message_size(Some(64))).await;
    let mut client = Client::open(addr, "", false).await;
    let padding = "x".repeat(100);
    client
        .send_text(&format!(
            "{{\"protocol\":\"json\",\"version\":1,\"pad\":\"{padding}\""
        ))
        .await;
    assert_eq!(
        client.handshake_response().await,
        "{\"error\":\"Handshake was canceled.\"}\x1e"
    );
    client.expect_close().await;
}

// ---------------------------------------------------------------------------------------
// 4. Protocol errors after the handshake.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn garbage_after_the_handshake_gets_the_error_close_then_a_1000_close_frame() {
    let addr = serve(hub()).await;
    let mut client = Client::json(addr).await;
    client.send_text("not json\x1e").await;
    assert_eq!(client.next_text().await, ERROR_CLOSE);
    client.expect_close().await;
}

#[tokio::test]
async fn garbage_after_a_messagepack_handshake_gets_the_messagepack_error_close() {
    let addr = serve(hub()).await;
    let mut client = Client::msgpack(addr).await;
    client.send_binary(vec![0x02, 0xc1, 0xc1]).await;
    let mut expected = vec![0x93, 0x07, 0xd9, 32];
    expected.extend_from_slice(b"Connection closed with an error.");
    expected.push(0xc3);
    assert_eq!(client.next_record().await, msgpack_frame(expected));
    client.expect_close().await;
}

#[tokio::test]
async fn a_record_over_the_maximum_message_size_gets_the_error_close() {
    let addr = serve(hub().maximum_receive_message_size(Some(64))).await;
    let mut client = Client::json(addr).await;
    client.add_json("1", 1, 2).await;
    let long_id = "9".repeat(60);
    client
        .send_text(&invocation(Some(&long_id), "Add", "[1,2]"))
        .await;
    assert_eq!(client.next_text().await, ERROR_CLOSE);
    client.expect_close().await;
}

#[tokio::test]
async fn an_unterminated_record_over_the_maximum_message_size_gets_the_error_close() {
    let addr = serve(hub().maximum_receive_message_size(Some(64))).await;
    let mut client = Client::json(addr).await;
    client.send_text(&"x".repeat(100)).await;
    assert_eq!(client.next_text().await, ERROR_CLOSE);
    client.expect_close().await;
}

#[tokio::test]
async fn detailed_errors_explain_a_protocol_error_in_the_close() {
    let addr = serve(hub().enable_detailed_errors(true)).await;
    let mut client = Client::json(addr).await;
    client.send_text("not json\x1e").await;
    let close: serde_json::Value =
        serde_json::from_str(client.next_text().await.trim_end_matches('\x1e')).unwrap();
    assert_eq!(close["type"], 7);
    assert_eq!(close["allowReconnect"], true);
    let error = close["error"].as_str().unwrap();
    assert!(
        error.starts_with("Connection closed with an error. InvalidDataException:"),
        "{error:?}"
    );
    client.expect_close().await;
}

#[tokio::test]
async fn detailed_errors_give_the_maximum_message_size_in_the_close() {
    let addr = serve(
        hub()
            .maximum_receive_message_size(Some(64))
            .enable_detailed_errors(true),
    )
    .await;
    let mut client = Client::json(addr).await;
    client.send_text(&"x".repeat(100)).await;
    assert_eq!(
        client.next_text().await,
        "{\"type\":7,\"error\":\"Connection closed with an error. InvalidDataException: \
         The maximum message size of 64B was exceeded. The message size can be configured \
         in AddHubOptions.\",\"allowReconnect\":true}\x1e"
    );
    client.expect_close().await;
}

#[tokio::test]
async fn garbage_on_one_connection_never_disturbs_another() {
    let addr = serve(hub()).await;
    let mut good = Client::json(addr).await;
    let mut bad = Client::json(addr).await;
    good.add_json("1", 1, 1).await;
    bad.send_text("not json\x1e").await;
    assert_eq!(bad.next_text().await, ERROR_CLOSE);
    bad.expect_close().await;
    good.add_json("2", 2, 2).await;
    good.expect_silence(QUIET).await;
}

#[tokio::test]
async fn records_are_framed_independently_of_websocket_frames() {
    let addr = serve(hub()).await;
    let mut client = Client::json(addr).await;
    // Two records in one frame, then one record split over two frames.
    let both = format!(
        "{}{}",
        invocation(Some("1"), "Add", "[1,2]"),
        invocation(Some("2"), "Add", "[3,4]")
    );
    client.send_text(&both).await;
    let third = invocation(Some("3"), "Add", "[5,6]");
    let (head, tail) = third.split_at(10);
    client.send_text(head).await;
    client.send_text(tail).await;
    for (id, sum) in [("1", 3), ("2", 7), ("3", 11)] {
        assert_eq!(
            client.next_text().await,
            format!("{{\"type\":3,\"invocationId\":\"{id}\",\"result\":{sum}}}\x1e")
        );
    }
}

// ---------------------------------------------------------------------------------------
// 5. Invocations.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn an_invocation_without_arguments_is_a_protocol_error() {
    let addr = serve(hub()).await;
    let mut client = Client::json(addr).await;
    client
        .send_text("{\"type\":1,\"invocationId\":\"1\",\"target\":\"Add\"}\x1e")
        .await;
    assert_eq!(client.next_text().await, ERROR_CLOSE);
    client.expect_close().await;
}

#[tokio::test]
async fn a_completion_with_both_result_and_error_is_a_protocol_error() {
    let addr = serve(hub()).await;
    let mut client = Client::json(addr).await;
    client
        .send_text("{\"type\":3,\"invocationId\":\"1\",\"result\":1,\"error\":\"e\"}\x1e")
        .await;
    assert_eq!(client.next_text().await, ERROR_CLOSE);
    client.expect_close().await;
}

#[tokio::test]
async fn an_unknown_message_type_is_ignored() {
    let addr = serve(hub()).await;
    let mut client = Client::json(addr).await;
    client.send_text("{\"type\":99,\"whatever\":[1]}\x1e").await;
    client.add_json("1", 1, 2).await;
    client.expect_silence(QUIET).await;
}

#[tokio::test]
async fn a_json_result_completion_has_the_exact_bytes() {
    let addr = serve(hub()).await;
    let mut client = Client::json(addr).await;
    client
        .send_text(&invocation(Some("1"), "Add", "[40,2]"))
        .await;
    assert_eq!(
        client.next_text().await,
        "{\"type\":3,\"invocationId\":\"1\",\"result\":42}\x1e"
    );
}

#[tokio::test]
async fn a_json_invocation_with_type_last_headers_and_unknown_fields_is_processed() {
    let addr = serve(hub()).await;
    let mut client = Client::json(addr).await;
    client
        .send_text(
            "{\"target\":\"Add\",\"arguments\":[1,2],\"invocationId\":\"0\",\
             \"headers\":{\"traceparent\":\"00-x\"},\"extra\":true,\"type\":1}\x1e",
        )
        .await;
    assert_eq!(
        client.next_text().await,
        "{\"type\":3,\"invocationId\":\"0\",\"result\":3}\x1e"
    );
}

#[tokio::test]
async fn a_messagepack_result_completion_has_the_exact_bytes() {
    let addr = serve(hub()).await;
    let mut client = Client::msgpack(addr).await;
    client
        .send_binary(msgpack_invocation(Some("1"), "Add", (40, 2)))
        .await;
    // [3, {}, "1", 3 (non-void), 42]
    assert_eq!(
        client.next_record().await,
        [0x07, 0x95, 0x03, 0x80, 0xa1, b'1', 0x03, 0x2a]
    );
}

#[tokio::test]
async fn a_unit_method_gets_a_void_completion() {
    let addr = serve(hub()).await;
    let mut client = Client::json(addr).await;
    client.send_text(&invocation(Some("1"), "Noop", "[]")).await;
    assert_eq!(
        client.next_text().await,
        "{\"type\":3,\"invocationId\":\"1\"}\x1e"
    );
}

#[tokio::test]
async fn a_unit_method_gets_a_void_messagepack_completion() {
    let addr = serve(hub()).await;
    let mut client = Client::msgpack(addr).await;
    client
        .send_binary(msgpack_invocation(Some("1"), "Noop", Vec::<i32>::new()))
        .await;
    // [3, {}, "1", 2 (void)]
    assert_eq!(
        client.next_record().await,
        [0x06, 0x94, 0x03, 0x80, 0xa1, b'1', 0x02]
    );
}

#[tokio::test]
async fn a_method_returning_ok_unit_gets_a_void_completion() {
    let addr = serve(hub()).await;
    let mut client = Client::json(addr).await;
    client
        .send_text(&invocation(Some("1"), "TryNoop", "[]"))
        .await;
    assert_eq!(
        client.next_text().await,
        "{\"type\":3,\"invocationId\":\"1\"}\x1e"
    );
}

#[tokio::test]
async fn an_unknown_method_with_an_id_gets_method_does_not_exist() {
    let addr = serve(hub()).await;
    let mut client = Client::json(addr).await;
    client.send_text(&invocation(Some("1"), "Nope", "[]")).await;
    assert_eq!(
        client.next_text().await,
        error_completion(
            "1",
            "Failed to invoke 'Nope' due to an error on the server. HubException: Method does not exist."
        )
    );
}

#[tokio::test]
async fn an_unknown_method_without_an_id_gets_no_response_at_all() {
    let addr = serve(hub()).await;
    let mut client = Client::json(addr).await;
    client.send_text(&invocation(None, "Nope", "[]")).await;
    client.add_json("2", 1, 2).await;
    client.expect_silence(QUIET).await;
}

#[tokio::test]
async fn an_empty_or_null_invocation_id_is_non_blocking() {
    let addr = serve(hub()).await;
    let mut client = Client::json(addr).await;
    client
        .send_text("{\"type\":1,\"invocationId\":\"\",\"target\":\"Add\",\"arguments\":[1,2]}\x1e")
        .await;
    client
        .send_text("{\"type\":1,\"invocationId\":null,\"target\":\"Nope\",\"arguments\":[]}\x1e")
        .await;
    client.add_json("3", 1, 2).await;
    client.expect_silence(QUIET).await;
}

#[tokio::test]
async fn a_failing_method_without_an_id_gets_no_response_at_all() {
    let addr = serve(hub()).await;
    let mut client = Client::json(addr).await;
    client.send_text(&invocation(None, "Fail", "[\"x\"]")).await;
    client.send_text(&invocation(None, "Add", "[1]")).await;
    client.add_json("3", 1, 2).await;
    client.expect_silence(QUIET).await;
}

#[tokio::test]
async fn a_wrong_argument_count_gets_the_generic_binding_error() {
    let addr = serve(hub()).await;
    let mut client = Client::json(addr).await;
    client.send_text(&invocation(Some("1"), "Add", "[1]")).await;
    assert_eq!(
        client.next_text().await,
        error_completion("1", "Failed to invoke 'Add' due to an error on the server.")
    );
}

#[tokio::test]
async fn a_wrong_argument_count_with_detailed_errors_gives_the_counts() {
    let addr = serve(hub().enable_detailed_errors(true)).await;
    let mut client = Client::json(addr).await;
    client.send_text(&invocation(Some("1"), "Add", "[1]")).await;
    assert_eq!(
        client.next_text().await,
        error_completion(
            "1",
            "Failed to invoke 'Add' due to an error on the server. InvalidDataException: \
             Invocation provides 1 argument(s) but target expects 2."
        )
    );
}

#[tokio::test]
async fn a_wrong_argument_type_gets_the_generic_binding_error_and_the_connection_stays() {
    let addr = serve(hub()).await;
    let mut client = Client::json(addr).await;
    client
        .send_text(&invocation(Some("1"), "Add", "[\"one\",2]"))
        .await;
    assert_eq!(
        client.next_text().await,
        error_completion("1", "Failed to invoke 'Add' due to an error on the server.")
    );
    client.add_json("2", 1, 2).await;
}

#[tokio::test]
async fn a_stream_invocation_of_a_normal_method_is_refused() {
    let addr = serve(hub()).await;
    let mut client = Client::json(addr).await;
    client
        .send_text("{\"type\":4,\"invocationId\":\"1\",\"target\":\"Add\",\"arguments\":[1,2]}\x1e")
        .await;
    assert_eq!(
        client.next_text().await,
        error_completion(
            "1",
            "The client attempted to invoke the non-streaming 'Add' method with a streaming invocation."
        )
    );
    client.add_json("2", 1, 2).await;
}

#[tokio::test]
async fn a_hub_error_always_reaches_the_client() {
    let addr = serve(hub()).await;
    let mut client = Client::json(addr).await;
    client
        .send_text(&invocation(Some("1"), "Fail", "[\"x\"]"))
        .await;
    assert_eq!(
        client.next_text().await,
        error_completion(
            "1",
            "An unexpected error occurred invoking 'Fail' on the server. HubException: x"
        )
    );
}

#[tokio::test]
async fn a_std_error_is_hidden_without_detailed_errors() {
    let addr = serve(hub()).await;
    let mut client = Client::json(addr).await;
    client
        .send_text(&invocation(Some("1"), "Parse", "[\"x\"]"))
        .await;
    assert_eq!(
        client.next_text().await,
        error_completion(
            "1",
            "An unexpected error occurred invoking 'Parse' on the server."
        )
    );
}

#[tokio::test]
async fn a_std_error_is_named_with_detailed_errors() {
    let addr = serve(hub().enable_detailed_errors(true)).await;
    let mut client = Client::json(addr).await;
    client
        .send_text(&invocation(Some("1"), "Parse", "[\"x\"]"))
        .await;
    assert_eq!(
        client.next_text().await,
        error_completion(
            "1",
            "An unexpected error occurred invoking 'Parse' on the server. \
             ParseIntError: invalid digit found in string"
        )
    );
}

#[tokio::test]
async fn a_result_returning_method_gets_its_ok_value() {
    let addr = serve(hub()).await;
    let mut client = Client::json(addr).await;
    client
        .send_text(&invocation(Some("1"), "Parse", "[\"17\"]"))
        .await;
    assert_eq!(
        client.next_text().await,
        "{\"type\":3,\"invocationId\":\"1\",\"result\":17}\x1e"
    );
}

#[tokio::test]
async fn method_names_match_ignoring_case() {
    let addr = serve(hub()).await;
    let mut client = Client::json(addr).await;
    client
        .send_text(&invocation(Some("1"), "aDD", "[2,3]"))
        .await;
    assert_eq!(
        client.next_text().await,
        "{\"type\":3,\"invocationId\":\"1\",\"result\":5}\x1e"
    );
    client
        .send_text(&invocation(Some("2"), "to_others", "[\"a\",1]"))
        .await;
    assert_eq!(
        client.next_text().await,
        error_completion(
            "2",
            "Failed to invoke 'to_others' due to an error on the server. HubException: Method does not exist."
        )
    );
}

#[tokio::test]
async fn error_texts_name_the_target_as_the_client_spelled_it() {
    let addr = serve(hub()).await;
    let mut client = Client::json(addr).await;
    client
        .send_text(&invocation(Some("1"), "fail", "[\"x\"]"))
        .await;
    assert_eq!(
        client.next_text().await,
        error_completion(
            "1",
            "An unexpected error occurred invoking 'fail' on the server. HubException: x"
        )
    );
}

// ---------------------------------------------------------------------------------------
// 6. Keep-alive and client timeout.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn an_idle_connection_receives_keep_alive_pings() {
    let addr = serve(hub().keep_alive_interval(Duration::from_millis(100))).await;
    let mut client = Client::json(addr).await;
    assert_eq!(client.next_text().await, "{\"type\":6}\x1e");
    assert_eq!(client.next_text().await, "{\"type\":6}\x1e");
}

/// Keep-alive interval of the timing tests below: long enough that scheduling noise on a
/// loaded machine stays well inside the bounds, which still tell one interval from two.
const KEEP_ALIVE: Duration = Duration::from_millis(400);

async fn next_ping_after(client: &mut Client, since: Instant) -> Duration {
    assert_eq!(client.next_text().await, "{\"type\":6}\x1e");
    since.elapsed()
}

fn assert_about_one_interval(elapsed: Duration, what: &str) {
    assert!(
        elapsed >= KEEP_ALIVE - Duration::from_millis(20) && elapsed < KEEP_ALIVE * 7 / 4,
        "{what} came after {elapsed:?}, not one keep-alive interval ({KEEP_ALIVE:?})"
    );
}

#[tokio::test]
async fn the_first_ping_comes_one_interval_after_the_handshake_then_one_interval_apart() {
    let addr = serve(hub().keep_alive_interval(KEEP_ALIVE)).await;
    let mut client = Client::json(addr).await;
    let handshake = Instant::now();
    let first = next_ping_after(&mut client, handshake).await;
    assert_about_one_interval(first, "the first ping");
    let pinged = Instant::now();
    let second = next_ping_after(&mut client, pinged).await;
    assert_about_one_interval(second, "the second ping");
}

#[tokio::test]
async fn a_write_pushes_the_next_ping_back_by_one_interval() {
    let addr = serve(hub().keep_alive_interval(KEEP_ALIVE)).await;
    let mut client = Client::json(addr).await;
    tokio::time::sleep(KEEP_ALIVE / 2).await;
    client.add_json("1", 1, 2).await;
    let answered = Instant::now();
    let ping = next_ping_after(&mut client, answered).await;
    assert_about_one_interval(ping, "the ping after a Completion");
}

#[tokio::test]
async fn an_idle_messagepack_connection_receives_messagepack_pings() {
    let addr = serve(hub().keep_alive_interval(Duration::from_millis(100))).await;
    let mut client = Client::msgpack(addr).await;
    assert_eq!(client.next_record().await, [0x02, 0x91, 0x06]);
}

#[tokio::test]
async fn a_client_silent_after_its_first_ping_is_closed_with_an_error() {
    let addr = serve(hub().client_timeout_interval(Duration::from_millis(300))).await;
    let mut client = Client::json(addr).await;
    client.send_text("{\"type\":6}\x1e").await;
    let started = Instant::now();
    assert_eq!(client.next_text().await, ERROR_CLOSE);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "closed after {:?}",
        started.elapsed()
    );
    client.expect_close().await;
}

#[tokio::test]
async fn a_client_that_keeps_pinging_is_not_closed() {
    let addr = serve(hub().client_timeout_interval(Duration::from_millis(500))).await;
    let mut client = Client::json(addr).await;
    for _ in 0..9 {
        client.send_text("{\"type\":6}\x1e").await;
        client.expect_silence(Duration::from_millis(100)).await;
    }
    client.add_json("1", 1, 2).await;
}

#[tokio::test]
async fn a_client_that_never_pinged_is_not_timed_out() {
    let addr = serve(hub().client_timeout_interval(Duration::from_millis(200))).await;
    let mut client = Client::json(addr).await;
    client.expect_silence(Duration::from_millis(700)).await;
    client.add_json("1", 1, 2).await;
}

// ---------------------------------------------------------------------------------------
// 7. Server-to-client calls.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_hub_context_broadcast_reaches_every_connection() {
    let server = hub();
    let context = server.context();
    let addr = serve(server).await;
    let mut a = Client::json(addr).await;
    let mut b = Client::json(addr).await;
    // A round trip guarantees each connection is registered with the hub.
    a.add_json("1", 1, 1).await;
    b.add_json("1", 1, 1).await;
    context
        .clients()
        .all()
        .receive("a".to_owned(), 1)
        .await
        .unwrap();
    let expected = "{\"type\":1,\"target\":\"Receive\",\"arguments\":[\"a\",1]}\x1e";
    assert_eq!(a.next_text().await, expected);
    assert_eq!(b.next_text().await, expected);
}

#[tokio::test]
async fn a_hub_context_broadcast_uses_each_connection_protocol() {
    let server = hub();
    let context = server.context();
    let addr = serve(server).await;
    let mut json = Client::json(addr).await;
    let mut msgpack = Client::msgpack(addr).await;
    json.add_json("1", 1, 1).await;
    msgpack
        .send_binary(msgpack_invocation(Some("1"), "Add", (1, 1)))
        .await;
    assert_eq!(
        msgpack.next_record().await,
        [0x07, 0x95, 0x03, 0x80, 0xa1, b'1', 0x03, 0x02]
    );
    context
        .clients()
        .all()
        .receive("a".to_owned(), 1)
        .await
        .unwrap();
    assert_eq!(
        json.next_text().await,
        "{\"type\":1,\"target\":\"Receive\",\"arguments\":[\"a\",1]}\x1e"
    );
    // [1, {}, nil, "Receive", ["a", 1], []]
    let mut body = vec![0x96, 0x01, 0x80, 0xc0, 0xa7];
    body.extend_from_slice(b"Receive");
    body.extend_from_slice(&[0x92, 0xa1, b'a', 0x01, 0x90]);
    assert_eq!(msgpack.next_record().await, msgpack_frame(body));
}

#[tokio::test]
async fn others_reaches_everyone_but_the_caller() {
    let addr = serve(hub()).await;
    let mut caller = Client::json(addr).await;
    let mut other = Client::json(addr).await;
    caller.add_json("1", 1, 1).await;
    other.add_json("1", 1, 1).await;
    caller
        .send_text(&invocation(Some("2"), "ToOthers", "[\"hi\",2]"))
        .await;
    // The caller's next record is its Completion: no Receive was queued before it.
    assert_success(&caller.next_text().await, "2");
    assert_eq!(
        other.next_text().await,
        "{\"type\":1,\"target\":\"Receive\",\"arguments\":[\"hi\",2]}\x1e"
    );
    caller.expect_silence(QUIET).await;
}

#[tokio::test]
async fn caller_reaches_only_the_caller() {
    let addr = serve(hub()).await;
    let mut caller = Client::json(addr).await;
    let mut other = Client::json(addr).await;
    caller.add_json("1", 1, 1).await;
    other.add_json("1", 1, 1).await;
    caller
        .send_text(&invocation(Some("2"), "ToCaller", "[\"me\",3]"))
        .await;
    assert_eq!(
        caller.next_text().await,
        "{\"type\":1,\"target\":\"Receive\",\"arguments\":[\"me\",3]}\x1e"
    );
    assert_success(&caller.next_text().await, "2");
    // Anything sent to `other` would be queued before this Completion.
    other.add_json("3", 2, 2).await;
    other.expect_silence(QUIET).await;
}

#[tokio::test]
async fn abort_from_a_hub_method_sends_a_close_without_error_then_closes() {
    let addr = serve(hub()).await;
    let mut client = Client::json(addr).await;
    client.send_text(&invocation(None, "Abort", "[]")).await;
    assert_eq!(client.next_text().await, "{\"type\":7}\x1e");
    client.expect_close().await;
}

#[tokio::test]
async fn abort_on_a_messagepack_connection_sends_a_messagepack_close() {
    let addr = serve(hub()).await;
    let mut client = Client::msgpack(addr).await;
    client
        .send_binary(msgpack_invocation(None, "Abort", Vec::<i32>::new()))
        .await;
    // [7, nil, false]
    assert_eq!(client.next_record().await, [0x04, 0x93, 0x07, 0xc0, 0xc2]);
    client.expect_close().await;
}

// ---------------------------------------------------------------------------------------
// 8. Client Close.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_client_close_message_makes_the_server_close_the_socket() {
    let addr = serve(hub()).await;
    let mut client = Client::json(addr).await;
    client.add_json("1", 1, 1).await;
    client.send_text("{\"type\":7}\x1e").await;
    client.expect_close().await;
}

#[tokio::test]
async fn a_client_messagepack_close_makes_the_server_close_the_socket() {
    let addr = serve(hub()).await;
    let mut client = Client::msgpack(addr).await;
    // [7, nil] as the JS client writes it.
    client.send_binary(vec![0x03, 0x92, 0x07, 0xc0]).await;
    client.expect_close().await;
}

/// A client that floods invocations whose answers (8 MB) outgrow the socket buffers, and
/// reads only a second later: the server's writes stall and its calls wait for room. Once
/// the client reads, every call is answered, in order, and nothing is lost. (It stalled
/// for good after about 2 MB before the connection's task kept the wakes of its last
/// round.)
#[tokio::test]
async fn a_client_that_stops_reading_while_it_invokes_loses_nothing() {
    use futures_util::{SinkExt, StreamExt};
    const CALLS: i64 = 2000;
    const LENGTH: usize = 4096;
    let addr = serve(hub()).await;
    let ws = common::ws::try_open(addr, "").await.unwrap();
    let (mut sink, mut stream) = ws.split();
    sink.send(Message::text(JSON_HANDSHAKE)).await.unwrap();
    let writer = tokio::spawn(async move {
        for n in 0..CALLS {
            let call = invocation(Some(&n.to_string()), "Flood", &format!("[{LENGTH},{n}]"));
            sink.send(Message::text(call)).await.unwrap();
        }
        sink
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let text = "x".repeat(LENGTH);
    let mut expected = String::from("{}\x1e");
    for n in 0..CALLS {
        expected.push_str(&format!(
            "{{\"type\":1,\"target\":\"Receive\",\"arguments\":[\"{text}\",{n}]}}\x1e{{\"type\":3,\"invocationId\":\"{n}\"}}\x1e"
        ));
    }
    expect_text(&mut stream, &expected).await;
    drop(writer.await.unwrap());
}

/// Asserts that the frames `stream` receives carry `expected`, whole and in order (each
/// frame within 5 s of the last).
async fn expect_text(
    stream: &mut (impl futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>>
              + Unpin),
    expected: &str,
) {
    use futures_util::StreamExt;
    let mut received = String::new();
    while received.len() < expected.len() {
        match tokio::time::timeout(Duration::from_secs(5), stream.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => received.push_str(&t),
            Ok(Some(Ok(_))) => {}
            other => panic!("after {} bytes: {other:?}", received.len()),
        }
    }
    assert!(
        received == expected,
        "{} bytes, not as expected",
        received.len()
    );
}

/// A client sends far more invocations than the server will hold while a call occupies
/// the only slot: the session stops reading, the connection's incoming pipe fills, and
/// the socket's reader waits for room with the message it holds (then stops reading the
/// socket). Once the call returns, every invocation is answered, in order.
#[tokio::test]
async fn invocations_sent_while_the_incoming_pipe_is_full_are_all_answered_in_order() {
    use futures_util::{SinkExt, StreamExt};
    const CALLS: i64 = 5000;
    let addr = serve(hub()).await;
    let ws = common::ws::try_open(addr, "").await.unwrap();
    let (mut sink, mut stream) = ws.split();
    sink.send(Message::text(JSON_HANDSHAKE)).await.unwrap();
    sink.send(Message::text(invocation(Some("hold"), "Hold", "[1000]")))
        .await
        .unwrap();
    let writer = tokio::spawn(async move {
        for n in 0..CALLS {
            let call = invocation(Some(&n.to_string()), "Add", &format!("[{n},1]"));
            sink.send(Message::text(call)).await.unwrap();
        }
        sink
    });
    let mut expected = String::from("{}\x1e{\"type\":3,\"invocationId\":\"hold\"}\x1e");
    for n in 0..CALLS {
        expected.push_str(&format!(
            "{{\"type\":3,\"invocationId\":\"{n}\",\"result\":{}}}\x1e",
            n + 1
        ));
    }
    expect_text(&mut stream, &expected).await;
    drop(writer.await.unwrap());
}

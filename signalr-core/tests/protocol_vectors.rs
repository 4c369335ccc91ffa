//! Byte-exact protocol vectors for the JSON and MessagePack hub protocols.
//!
//! Every message type 1-9 is checked in both protocols and both directions: parsing records
//! (with `parse_message` and through `RecordReader` framing) and writing them with
//! `OutboundMessage::encode`. The MessagePack vectors of protocol.md §4.3 and the JSON wire
//! examples of §3.3 are used verbatim. The last section feeds truncated, mutated and random
//! input to the parsers: they must return `Ok` or `Err`, never panic.
#![allow(clippy::unwrap_used, missing_docs)]

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use signalr_core::protocol::{
    parse_message, ByteString, CloseMessage, CompletionBody, CompletionMessage, CompletionOutcome,
    FrameError, HubMessage, HubProtocol, InvocationMessage, OutboundMessage, ProtocolError,
    RawValue, RecordReader, StreamItemMessage,
};
use std::collections::BTreeMap;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// An outbound message without payload (Ping, Close, Ack, void Completion, ...).
type NoPayload<'a> = OutboundMessage<'a, ()>;

/// Builds MessagePack bytes from a compact spec: whitespace-separated hex byte pairs, and
/// `"quoted"` strings written as the shortest MessagePack str (fixstr, str8, ...).
fn mp(spec: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chars = spec.chars();
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        if c == '"' {
            let s: String = chars.by_ref().take_while(|c| *c != '"').collect();
            rmp::encode::write_str(&mut out, &s).unwrap();
        } else {
            let d = chars.next().expect("hex digits come in pairs");
            out.push(u8::from_str_radix(&format!("{c}{d}"), 16).expect("hex digit"));
        }
    }
    out
}

/// Lower-case hex with spaces, the notation of protocol.md §4.3.
fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn parse_json(text: &str) -> Result<Option<HubMessage>, ProtocolError> {
    parse_message(HubProtocol::Json, Bytes::copy_from_slice(text.as_bytes()))
}

fn parse_mp(spec: &str) -> Result<Option<HubMessage>, ProtocolError> {
    parse_message(HubProtocol::MessagePack, Bytes::from(mp(spec)))
}

fn json_ok(text: &str) -> HubMessage {
    match parse_json(text) {
        Ok(Some(message)) => message,
        Ok(None) => panic!("{text}: parsed as an unknown message type"),
        Err(e) => panic!("{text}: {e}"),
    }
}

fn mp_ok(spec: &str) -> HubMessage {
    match parse_mp(spec) {
        Ok(Some(message)) => message,
        Ok(None) => panic!("{spec}: parsed as an unknown message type"),
        Err(e) => panic!("{spec}: {e}"),
    }
}

/// Asserts a protocol error of the right protocol and returns its reason.
fn json_err(text: &str) -> String {
    match parse_json(text) {
        Err(ProtocolError::Malformed { protocol, reason }) => {
            assert_eq!(protocol, HubProtocol::Json, "{text}");
            reason
        }
        other => panic!("{text:?}: expected a malformed-message error, got {other:?}"),
    }
}

fn mp_err(spec: &str) -> String {
    match parse_mp(spec) {
        Err(ProtocolError::Malformed { protocol, reason }) => {
            assert_eq!(protocol, HubProtocol::MessagePack, "{spec}");
            reason
        }
        other => panic!("{spec}: expected a malformed-message error, got {other:?}"),
    }
}

/// A JSON payload value with exactly these bytes.
fn jv(text: &str) -> RawValue {
    RawValue::new(HubProtocol::Json, Bytes::copy_from_slice(text.as_bytes()))
}

/// A MessagePack payload value with exactly these bytes.
fn mv(spec: &str) -> RawValue {
    RawValue::new(HubProtocol::MessagePack, Bytes::from(mp(spec)))
}

fn invocation(id: Option<&str>, target: &str, arguments: Vec<RawValue>) -> InvocationMessage {
    InvocationMessage {
        invocation_id: id.map(ByteString::from),
        target: ByteString::from(target),
        arguments,
        stream_ids: Vec::new(),
        headers: BTreeMap::new(),
    }
}

fn completion(id: &str, outcome: CompletionOutcome) -> HubMessage {
    HubMessage::Completion(CompletionMessage {
        invocation_id: id.to_owned(),
        outcome,
    })
}

fn stream_item(id: &str, item: RawValue) -> HubMessage {
    HubMessage::StreamItem(StreamItemMessage {
        invocation_id: id.to_owned(),
        item,
    })
}

fn close(error: Option<&str>, allow_reconnect: bool) -> HubMessage {
    HubMessage::Close(CloseMessage {
        error: error.map(str::to_owned),
        allow_reconnect,
    })
}

fn encode<P: Serialize + ?Sized>(
    message: &OutboundMessage<'_, P>,
    protocol: HubProtocol,
) -> Vec<u8> {
    message.encode(protocol).unwrap().to_vec()
}

fn json_text<P: Serialize + ?Sized>(message: &OutboundMessage<'_, P>) -> String {
    String::from_utf8(encode(message, HubProtocol::Json)).unwrap()
}

fn mp_hex<P: Serialize + ?Sized>(message: &OutboundMessage<'_, P>) -> String {
    hex(&encode(message, HubProtocol::MessagePack))
}

/// Takes every complete record out of `reader` and parses it.
fn drain(reader: &mut RecordReader, protocol: HubProtocol) -> Vec<HubMessage> {
    let mut out = Vec::new();
    while let Some(record) = reader.next_record().unwrap() {
        out.push(
            parse_message(protocol, record)
                .unwrap()
                .expect("known message type"),
        );
    }
    out
}

/// The deterministic generator of the robustness tests (Knuth's MMIX LCG).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        (self.next() & 0xff) as u8
    }
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChatMessage {
    user_name: String,
    text: String,
    likes: u32,
}

/// The .NET server's MessagePack naming: member names as declared (PascalCase).
#[derive(Debug, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DotNetChatMessage {
    user_name: String,
    likes: u32,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Point {
    x: i32,
}

// ---------------------------------------------------------------------------------------------
// JSON parsing: Invocation (type 1)
// ---------------------------------------------------------------------------------------------

#[test]
fn json_invocation_without_invocation_id_is_non_blocking() {
    assert_eq!(
        json_ok(r#"{"type":1,"target":"ReceiveMessage","arguments":["bob","hi"]}"#),
        HubMessage::Invocation(invocation(
            None,
            "ReceiveMessage",
            vec![jv(r#""bob""#), jv(r#""hi""#)]
        ))
    );
}

#[test]
fn json_invocation_as_written_by_the_js_client_with_type_last_is_blocking() {
    assert_eq!(
        json_ok(r#"{"target":"SendMessage","arguments":["bob","hi"],"invocationId":"3","type":1}"#),
        HubMessage::Invocation(invocation(
            Some("3"),
            "SendMessage",
            vec![jv(r#""bob""#), jv(r#""hi""#)]
        ))
    );
}

#[test]
fn json_invocation_with_empty_string_invocation_id_is_non_blocking() {
    assert_eq!(
        json_ok(r#"{"type":1,"invocationId":"","target":"Send","arguments":[]}"#),
        HubMessage::Invocation(invocation(None, "Send", vec![]))
    );
}

#[test]
fn json_invocation_with_null_invocation_id_is_non_blocking() {
    assert_eq!(
        json_ok(r#"{"type":1,"invocationId":null,"target":"Send","arguments":[]}"#),
        HubMessage::Invocation(invocation(None, "Send", vec![]))
    );
}

#[test]
fn json_invocation_fields_may_come_in_any_order_with_arguments_before_target() {
    let expected = HubMessage::Invocation(invocation(Some("9"), "Add", vec![jv("40"), jv("2")]));
    for text in [
        r#"{"arguments":[40,2],"target":"Add","invocationId":"9","type":1}"#,
        r#"{"arguments":[40,2],"invocationId":"9","type":1,"target":"Add"}"#,
        r#"{"invocationId":"9","type":1,"arguments":[40,2],"target":"Add"}"#,
        r#"{"type":1,"target":"Add","invocationId":"9","arguments":[40,2]}"#,
    ] {
        assert_eq!(json_ok(text), expected, "{text}");
    }
}

#[test]
fn json_invocation_with_stream_ids_lists_the_upload_streams() {
    let mut expected = invocation(Some("4"), "Upload", vec![]);
    expected.stream_ids = vec!["5".to_owned(), "6".to_owned()];
    assert_eq!(
        json_ok(
            r#"{"target":"Upload","arguments":[],"invocationId":"4","streamIds":["5","6"],"type":1}"#
        ),
        HubMessage::Invocation(expected)
    );
}

#[test]
fn json_invocation_with_empty_stream_ids_has_no_streams() {
    assert_eq!(
        json_ok(r#"{"type":1,"target":"Send","arguments":[],"streamIds":[]}"#),
        HubMessage::Invocation(invocation(None, "Send", vec![]))
    );
}

#[test]
fn json_invocation_headers_are_kept_as_a_string_map() {
    let mut expected = invocation(Some("1"), "Send", vec![jv("1")]);
    expected.headers = BTreeMap::from([
        (
            "traceparent".to_owned(),
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_owned(),
        ),
        ("tracestate".to_owned(), "congo=t61rcWkgMzE".to_owned()),
    ]);
    assert_eq!(
        json_ok(
            r#"{"type":1,"headers":{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","tracestate":"congo=t61rcWkgMzE"},"invocationId":"1","target":"Send","arguments":[1]}"#
        ),
        HubMessage::Invocation(expected)
    );
}

#[test]
fn json_unknown_fields_are_ignored_wherever_they_appear() {
    assert_eq!(
        json_ok(
            r#"{"future":{"nested":[1,{"x":null}],"s":"\u001e"},"type":1,"extra":null,"target":"Send","arguments":[true],"more":[[],{}],"last":-1.5e3}"#
        ),
        HubMessage::Invocation(invocation(None, "Send", vec![jv("true")]))
    );
}

#[test]
fn json_argument_values_keep_their_exact_bytes() {
    let message = json_ok(
        r#"{"type":1,"target":"T","arguments":[{"a" : [1, 2]}, 1.50 ,"\u00e9\n",null,-0]}"#,
    );
    let HubMessage::Invocation(message) = message else {
        panic!("not an invocation: {message:?}")
    };
    let raw: Vec<&[u8]> = message.arguments.iter().map(RawValue::as_bytes).collect();
    assert_eq!(
        raw,
        [
            &br#"{"a" : [1, 2]}"#[..],
            b"1.50",
            br#""\u00e9\n""#,
            b"null",
            b"-0"
        ]
    );
    assert!(message
        .arguments
        .iter()
        .all(|a| a.protocol() == HubProtocol::Json));
}

#[test]
fn json_escaped_strings_in_target_and_invocation_id_are_unescaped() {
    assert_eq!(
        json_ok(r#"{"type":1,"invocationId":"a\"b","target":"Send\u0041\u00e9","arguments":[]}"#),
        HubMessage::Invocation(invocation(Some("a\"b"), "SendAé", vec![]))
    );
}

#[test]
fn json_invocation_without_arguments_or_target_is_a_protocol_error() {
    assert_eq!(
        json_err(r#"{"type":1,"target":"Send"}"#),
        "Missing required property 'arguments'."
    );
    assert_eq!(
        json_err(r#"{"type":1,"arguments":[]}"#),
        "Missing required property 'target'."
    );
    json_err(r#"{"type":1,"target":"Send","arguments":null}"#);
}

#[test]
fn json_invocation_arguments_that_are_not_an_array_are_a_protocol_error() {
    json_err(r#"{"type":1,"target":"Send","arguments":{"a":1}}"#);
    json_err(r#"{"type":1,"target":"Send","arguments":"x"}"#);
    json_err(r#"{"type":1,"target":5,"arguments":[]}"#);
}

#[test]
fn json_headers_and_stream_ids_must_hold_strings() {
    json_err(r#"{"type":1,"target":"Send","arguments":[],"headers":{"k":1}}"#);
    json_err(r#"{"type":1,"target":"Send","arguments":[],"streamIds":[null]}"#);
    json_err(r#"{"type":1,"target":"Send","arguments":[],"streamIds":[1]}"#);
}

#[test]
fn json_record_must_be_an_object_not_an_array() {
    // The .NET parser requires a JSON object ("Expected a JSON Object."); a positional array
    // must not be bound to the fields of the record.
    json_err("[6]");
    json_err(r#"[1,"0","Send",[]]"#);
}

// ---------------------------------------------------------------------------------------------
// JSON parsing: StreamItem (2), Completion (3), StreamInvocation (4), CancelInvocation (5)
// ---------------------------------------------------------------------------------------------

#[test]
fn json_stream_item_carries_its_item_undecoded() {
    assert_eq!(
        json_ok(r#"{"type":2,"invocationId":"7","item":{"x":1}}"#),
        stream_item("7", jv(r#"{"x":1}"#))
    );
}

#[test]
fn json_stream_item_with_null_item_is_valid() {
    assert_eq!(
        json_ok(r#"{"item":null,"invocationId":"7","type":2}"#),
        stream_item("7", jv("null"))
    );
}

#[test]
fn json_stream_item_without_item_is_a_protocol_error() {
    assert_eq!(
        json_err(r#"{"type":2,"invocationId":"7"}"#),
        "Missing required property 'item'."
    );
}

#[test]
fn json_stream_item_without_invocation_id_is_a_protocol_error() {
    json_err(r#"{"type":2,"item":1}"#);
}

#[test]
fn json_stream_item_headers_are_accepted() {
    assert_eq!(
        json_ok(r#"{"type":2,"invocationId":"7","headers":{"a":"b"},"item":[1]}"#),
        stream_item("7", jv("[1]"))
    );
}

#[test]
fn json_void_completion_has_neither_result_nor_error() {
    assert_eq!(
        json_ok(r#"{"type":3,"invocationId":"3"}"#),
        completion("3", CompletionOutcome::Void)
    );
}

#[test]
fn json_completion_with_result_carries_the_value() {
    assert_eq!(
        json_ok(r#"{"type":3,"invocationId":"3","result":42}"#),
        completion("3", CompletionOutcome::Result(jv("42")))
    );
    assert_eq!(
        json_ok(r#"{"result":"hello","invocationId":"17","type":3}"#),
        completion("17", CompletionOutcome::Result(jv(r#""hello""#)))
    );
}

#[test]
fn json_completion_with_null_result_is_non_void() {
    assert_eq!(
        json_ok(r#"{"type":3,"invocationId":"3","result":null}"#),
        completion("3", CompletionOutcome::Result(jv("null")))
    );
}

#[test]
fn json_completion_with_error_carries_the_text() {
    assert_eq!(
        json_ok(
            r#"{"type":3,"invocationId":"3","error":"An unexpected error occurred invoking 'X' on the server."}"#
        ),
        completion(
            "3",
            CompletionOutcome::Error(
                "An unexpected error occurred invoking 'X' on the server.".to_owned()
            )
        )
    );
    assert_eq!(
        json_ok(r#"{"error":"Client didn't provide a result.","invocationId":"17","type":3}"#),
        completion(
            "17",
            CompletionOutcome::Error("Client didn't provide a result.".to_owned())
        )
    );
}

#[test]
fn json_completion_with_both_result_and_error_is_a_protocol_error() {
    let expected = "The 'error' and 'result' properties are mutually exclusive.";
    assert_eq!(
        json_err(r#"{"type":3,"invocationId":"3","result":1,"error":"x"}"#),
        expected
    );
    assert_eq!(
        json_err(r#"{"error":"x","result":null,"type":3,"invocationId":"3"}"#),
        expected
    );
}

#[test]
fn json_completion_with_null_error_is_void_or_result() {
    assert_eq!(
        json_ok(r#"{"type":3,"invocationId":"3","error":null}"#),
        completion("3", CompletionOutcome::Void)
    );
    assert_eq!(
        json_ok(r#"{"type":3,"invocationId":"3","error":null,"result":5}"#),
        completion("3", CompletionOutcome::Result(jv("5")))
    );
}

#[test]
fn json_completion_with_result_and_empty_error_is_a_result() {
    // An empty error counts as "no error", as in the JS client.
    assert_eq!(
        json_ok(r#"{"type":3,"invocationId":"3","result":1,"error":""}"#),
        completion("3", CompletionOutcome::Result(jv("1")))
    );
    assert_eq!(
        json_ok(r#"{"type":3,"invocationId":"3","error":""}"#),
        completion("3", CompletionOutcome::Void)
    );
}

#[test]
fn json_completion_without_invocation_id_is_a_protocol_error() {
    json_err(r#"{"type":3,"result":1}"#);
    json_err(r#"{"type":3}"#);
}

#[test]
fn json_stream_invocation_requires_an_invocation_id() {
    assert_eq!(
        json_ok(r#"{"target":"Counter","arguments":[10],"invocationId":"8","type":4}"#),
        HubMessage::StreamInvocation(invocation(Some("8"), "Counter", vec![jv("10")]))
    );
    json_err(r#"{"target":"Counter","arguments":[10],"type":4}"#);
    json_err(r#"{"target":"Counter","arguments":[10],"invocationId":"","type":4}"#);
    json_err(r#"{"target":"Counter","arguments":[10],"invocationId":null,"type":4}"#);
}

#[test]
fn json_stream_invocation_may_carry_stream_ids_and_headers() {
    let mut expected = invocation(Some("8"), "Transform", vec![]);
    expected.stream_ids = vec!["9".to_owned()];
    expected.headers = BTreeMap::from([("k".to_owned(), "v".to_owned())]);
    assert_eq!(
        json_ok(
            r#"{"type":4,"invocationId":"8","target":"Transform","arguments":[],"streamIds":["9"],"headers":{"k":"v"}}"#
        ),
        HubMessage::StreamInvocation(expected)
    );
}

#[test]
fn json_cancel_invocation_names_the_invocation() {
    assert_eq!(
        json_ok(r#"{"invocationId":"8","type":5}"#),
        HubMessage::CancelInvocation {
            invocation_id: "8".to_owned()
        }
    );
    json_err(r#"{"type":5}"#);
}

// ---------------------------------------------------------------------------------------------
// JSON parsing: Ping (6), Close (7), Ack (8), Sequence (9), unknown and malformed records
// ---------------------------------------------------------------------------------------------

#[test]
fn json_ping_parses() {
    assert_eq!(json_ok(r#"{"type":6}"#), HubMessage::Ping);
}

#[test]
fn json_close_without_fields_has_no_error_and_no_reconnect() {
    assert_eq!(json_ok(r#"{"type":7}"#), close(None, false));
}

#[test]
fn json_close_with_error_and_allow_reconnect() {
    assert_eq!(
        json_ok(r#"{"type":7,"error":"Connection closed with an error.","allowReconnect":true}"#),
        close(Some("Connection closed with an error."), true)
    );
    assert_eq!(
        json_ok(r#"{"allowReconnect":false,"type":7,"error":"boom"}"#),
        close(Some("boom"), false)
    );
    assert_eq!(
        json_ok(r#"{"type":7,"allowReconnect":true}"#),
        close(None, true)
    );
}

#[test]
fn json_ack_and_sequence_carry_the_sequence_id() {
    assert_eq!(
        json_ok(r#"{"type":8,"sequenceId":1394}"#),
        HubMessage::Ack { sequence_id: 1394 }
    );
    assert_eq!(
        json_ok(r#"{"sequenceId":1234,"type":9}"#),
        HubMessage::Sequence { sequence_id: 1234 }
    );
    assert_eq!(
        json_ok(r#"{"type":9,"sequenceId":9007199254740993}"#),
        HubMessage::Sequence {
            sequence_id: 9_007_199_254_740_993
        }
    );
}

#[test]
fn json_ack_and_sequence_need_a_non_negative_integer_sequence_id() {
    assert_eq!(
        json_err(r#"{"type":8}"#),
        "Missing required property 'sequenceId'."
    );
    json_err(r#"{"type":9}"#);
    json_err(r#"{"type":8,"sequenceId":-1}"#);
    json_err(r#"{"type":8,"sequenceId":"5"}"#);
    json_err(r#"{"type":9,"sequenceId":1.5}"#);
}

#[test]
fn json_unknown_message_type_is_ignored() {
    for text in [
        r#"{"type":10}"#,
        r#"{"type":0}"#,
        r#"{"type":-1}"#,
        r#"{"type":99,"future":{"x":[1,2]},"payload":"y"}"#,
    ] {
        assert_eq!(parse_json(text), Ok(None), "{text}");
    }
}

#[test]
fn json_missing_type_is_a_protocol_error() {
    assert_eq!(
        json_err(r#"{"target":"Send","arguments":[]}"#),
        "Missing required property 'type'."
    );
    assert_eq!(json_err("{}"), "Missing required property 'type'.");
    assert_eq!(
        json_err(r#"{"type":null}"#),
        "Missing required property 'type'."
    );
}

#[test]
fn json_type_that_is_not_an_integer_is_a_protocol_error() {
    json_err(r#"{"type":"1","target":"Send","arguments":[]}"#);
    json_err(r#"{"type":true}"#);
    json_err(r#"{"type":6.5}"#);
}

#[test]
fn json_garbage_is_a_protocol_error() {
    for text in [
        "",
        "   ",
        "{",
        "}",
        "not json",
        "null",
        "42",
        r#""str""#,
        r#"{"type":1,}"#,
        r#"{"type":6}{"type":6}"#,
        r#"{"type":6}x"#,
        "{\"type\":6\x1e}",
        "{'type':6}",
    ] {
        json_err(text);
    }
    let invalid_utf8 = parse_message(
        HubProtocol::Json,
        Bytes::from_static(b"{\"type\":6,\"x\":\"\xff\xfe\"}"),
    );
    assert!(invalid_utf8.is_err(), "{invalid_utf8:?}");
}

#[test]
fn json_deeply_nested_argument_is_an_error_not_a_stack_overflow() {
    let deep = format!(
        r#"{{"type":1,"target":"T","arguments":[{}{}]}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    if let Ok(Some(HubMessage::Invocation(message))) = parse_json(&deep) {
        assert!(message.arguments[0].decode::<serde_json::Value>().is_err());
    }
    let shallow = format!(
        r#"{{"type":1,"target":"T","arguments":[{}{}]}}"#,
        "[".repeat(10),
        "]".repeat(10)
    );
    assert!(matches!(json_ok(&shallow), HubMessage::Invocation(_)));
}

// ---------------------------------------------------------------------------------------------
// JSON payload decoding through RawValue
// ---------------------------------------------------------------------------------------------

#[test]
fn json_arguments_decode_into_typed_values() {
    let HubMessage::Invocation(message) = json_ok(
        r#"{"type":1,"target":"Post","arguments":[{"userName":"bob","text":"hi","likes":3},[1,2,3],{"a":{"b":1}},null,"x"]}"#,
    ) else {
        panic!("not an invocation")
    };
    let [chat, list, nested, nothing, text] = &message.arguments[..] else {
        panic!("five arguments expected: {:?}", message.arguments)
    };
    assert_eq!(
        chat.decode::<ChatMessage>().unwrap(),
        ChatMessage {
            user_name: "bob".to_owned(),
            text: "hi".to_owned(),
            likes: 3
        }
    );
    assert_eq!(list.decode::<Vec<i32>>().unwrap(), [1, 2, 3]);
    assert_eq!(
        nested
            .decode::<BTreeMap<String, BTreeMap<String, i64>>>()
            .unwrap(),
        BTreeMap::from([("a".to_owned(), BTreeMap::from([("b".to_owned(), 1)]))])
    );
    assert_eq!(nothing.decode::<Option<i32>>().unwrap(), None);
    assert_eq!(text.decode::<String>().unwrap(), "x");
}

#[test]
fn json_argument_of_the_wrong_type_is_a_binding_error() {
    let err = jv(r#""abc""#).decode::<i32>().unwrap_err();
    assert!(
        err.to_string().starts_with("Error binding arguments."),
        "{err}"
    );
    assert!(!err.detail().is_empty());
    assert!(jv(r#"{"userName":"bob"}"#).decode::<ChatMessage>().is_err());
}

// ---------------------------------------------------------------------------------------------
// MessagePack parsing: Invocation (1) and StreamInvocation (4)
// ---------------------------------------------------------------------------------------------

#[test]
fn msgpack_spec_receive_message_invocation_parses() {
    // protocol.md §4.3, without the length prefix 0x18.
    assert_eq!(
        mp_ok("96 01 80 c0 ae 52 65 63 65 69 76 65 4d 65 73 73 61 67 65 91 a2 68 69 90"),
        HubMessage::Invocation(invocation(None, "ReceiveMessage", vec![mv("a2 68 69")]))
    );
}

#[test]
fn msgpack_invocation_with_five_elements_as_written_by_the_js_client() {
    assert_eq!(
        mp_ok(r#"95 01 80 "3" "SendMessage" 92 "bob" "hi""#),
        HubMessage::Invocation(invocation(
            Some("3"),
            "SendMessage",
            vec![mv(r#""bob""#), mv(r#""hi""#)]
        ))
    );
}

#[test]
fn msgpack_invocation_with_six_elements_carries_stream_ids() {
    let mut expected = invocation(Some("4"), "Upload", vec![]);
    expected.stream_ids = vec!["5".to_owned(), "6".to_owned()];
    assert_eq!(
        mp_ok(r#"96 01 80 "4" "Upload" 90 92 "5" "6""#),
        HubMessage::Invocation(expected)
    );
}

#[test]
fn msgpack_invocation_with_nil_or_empty_id_is_non_blocking() {
    let expected = HubMessage::Invocation(invocation(None, "Send", vec![mv("01")]));
    assert_eq!(mp_ok(r#"95 01 80 c0 "Send" 91 01"#), expected);
    assert_eq!(mp_ok(r#"95 01 80 a0 "Send" 91 01"#), expected);
    assert_eq!(mp_ok(r#"96 01 80 c0 "Send" 91 01 90"#), expected);
}

#[test]
fn msgpack_invocation_headers_are_kept_as_a_string_map() {
    let mut expected = invocation(Some("1"), "Send", vec![]);
    expected.headers = BTreeMap::from([
        ("traceparent".to_owned(), "00-ab-01".to_owned()),
        ("tracestate".to_owned(), "x=1".to_owned()),
    ]);
    assert_eq!(
        mp_ok(r#"96 01 82 "traceparent" "00-ab-01" "tracestate" "x=1" "1" "Send" 90 90"#),
        HubMessage::Invocation(expected)
    );
}

#[test]
fn msgpack_invocation_extra_trailing_elements_are_tolerated() {
    let mut expected = invocation(Some("1"), "Send", vec![mv("2a")]);
    expected.stream_ids = vec!["2".to_owned()];
    assert_eq!(
        mp_ok(r#"98 01 80 "1" "Send" 91 2a 91 "2" c0 81 "future" 93 01 02 03"#),
        HubMessage::Invocation(expected)
    );
}

#[test]
fn msgpack_invocation_with_fewer_than_five_elements_is_a_protocol_error() {
    mp_err(r#"94 01 80 "1" "Send""#);
    mp_err("91 01");
}

#[test]
fn msgpack_invocation_with_wrongly_typed_elements_is_a_protocol_error() {
    mp_err(r#"95 01 c0 "1" "Send" 90"#); // headers nil
    mp_err(r#"95 01 81 "k" 01 "1" "Send" 90"#); // header value not a string
    mp_err(r#"95 01 80 01 "Send" 90"#); // id an integer
    mp_err(r#"95 01 80 "1" c0 90"#); // target nil
    mp_err(r#"95 01 80 "1" "Send" 80"#); // arguments a map
    mp_err(r#"96 01 80 "1" "Send" 90 91 01"#); // stream id an integer
}

#[test]
fn msgpack_stream_invocation_requires_an_invocation_id() {
    assert_eq!(
        mp_ok(r#"95 04 80 "8" "Counter" 91 0a"#),
        HubMessage::StreamInvocation(invocation(Some("8"), "Counter", vec![mv("0a")]))
    );
    let mut expected = invocation(Some("8"), "Transform", vec![]);
    expected.stream_ids = vec!["9".to_owned()];
    assert_eq!(
        mp_ok(r#"96 04 80 "8" "Transform" 90 91 "9""#),
        HubMessage::StreamInvocation(expected)
    );
    mp_err(r#"95 04 80 c0 "Counter" 91 0a"#);
    mp_err(r#"95 04 80 a0 "Counter" 91 0a"#);
}

#[test]
fn msgpack_long_target_uses_str8() {
    let target = "A".repeat(40);
    let HubMessage::Invocation(message) = mp_ok(&format!(r#"95 01 80 c0 "{target}" 90"#)) else {
        panic!("not an invocation")
    };
    assert_eq!(message.target, target);
    assert_eq!(&mp(&format!(r#""{target}""#))[..2], [0xd9, 40]);
}

#[test]
fn msgpack_argument_values_of_every_kind_are_sliced_exactly() {
    let arguments = [
        "c0",
        "c2",
        "c3",
        "7f",
        "e0",
        "cc ff",
        "cd 01 00",
        "ce 00 01 00 00",
        "cf 00 00 00 01 00 00 00 00",
        "d0 80",
        "d1 ff 00",
        "d2 ff ff ff 00",
        "d3 ff ff ff ff ff ff ff 00",
        "ca 3f 80 00 00",
        "cb 3f f0 00 00 00 00 00 00",
        "a3 61 62 63",
        "d9 03 61 62 63",
        "da 00 03 61 62 63",
        "db 00 00 00 03 61 62 63",
        "c4 02 01 02",
        "c5 00 02 01 02",
        "c6 00 00 00 02 01 02",
        "d4 01 aa",
        "d5 01 aa bb",
        "d6 ff 5f 00 00 00",
        "d7 ff 00 00 00 00 5f 00 00 00",
        "d8 01 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f",
        "c7 0c ff 00 00 00 01 00 00 00 00 5f 00 00 00",
        "c8 00 01 05 aa",
        "c9 00 00 00 01 05 aa",
        "90",
        "92 01 92 02 93 03 c0 a1 78",
        "dc 00 02 01 02",
        "dd 00 00 00 01 01",
        "80",
        "82 a1 61 01 a1 62 92 01 81 a1 63 c3",
        "de 00 01 a1 61 c0",
        "df 00 00 00 01 a1 61 c0",
    ];
    let spec = format!(
        r#"96 01 80 "1" "Everything" dc 00 {:02x} {} 91 "s""#,
        arguments.len(),
        arguments.join(" ")
    );
    let HubMessage::Invocation(message) = mp_ok(&spec) else {
        panic!("not an invocation")
    };
    let got: Vec<String> = message
        .arguments
        .iter()
        .map(|a| hex(a.as_bytes()))
        .collect();
    assert_eq!(got, arguments);
    assert_eq!(message.stream_ids, ["s"]);
    assert!(message
        .arguments
        .iter()
        .all(|a| a.protocol() == HubProtocol::MessagePack));
}

#[test]
fn msgpack_argument_counts_larger_than_the_record_are_a_protocol_error() {
    mp_err(r#"95 01 80 c0 "T" dd ff ff ff ff"#); // arguments array claims 4G elements
    mp_err(r#"95 01 80 c0 "T" 91 dd ff ff ff ff"#); // nested array claims 4G elements
    mp_err(r#"95 01 80 c0 "T" 91 df ff ff ff ff"#); // nested map claims 4G entries
    mp_err(r#"95 01 80 c0 "T" 91 db ff ff ff ff 61"#); // str32 longer than the record
    mp_err(r#"95 01 80 c0 "T" 91 c9 ff ff ff ff 01"#); // ext32 longer than the record
    mp_err(r#"95 01 80 c0 "T" 91 c1"#); // the never-used marker
}

#[test]
fn msgpack_deeply_nested_argument_is_an_error_not_a_stack_overflow() {
    let shallow = format!(r#"95 01 80 c0 "T" 91 {} 90"#, "91 ".repeat(10));
    assert!(matches!(mp_ok(&shallow), HubMessage::Invocation(_)));
    let deep = format!(r#"95 01 80 c0 "T" 91 {} 90"#, "91 ".repeat(100_000));
    mp_err(&deep);
}

// ---------------------------------------------------------------------------------------------
// MessagePack parsing: StreamItem (2), Completion (3), CancelInvocation (5)
// ---------------------------------------------------------------------------------------------

#[test]
fn msgpack_stream_item_carries_its_item_undecoded() {
    assert_eq!(
        mp_ok(r#"94 02 80 "7" 81 "x" 01"#),
        stream_item("7", mv(r#"81 "x" 01"#))
    );
}

#[test]
fn msgpack_stream_item_with_nil_item_is_valid() {
    assert_eq!(mp_ok(r#"94 02 80 "7" c0"#), stream_item("7", mv("c0")));
}

#[test]
fn msgpack_stream_item_without_item_is_a_protocol_error() {
    mp_err(r#"93 02 80 "7""#);
    mp_err(r#"94 02 80 c0 01"#); // id nil
}

#[test]
fn msgpack_stream_item_headers_are_accepted() {
    assert_eq!(
        mp_ok(r#"94 02 81 "a" "b" "7" 93 01 02 03"#),
        stream_item("7", mv("93 01 02 03"))
    );
}

#[test]
fn msgpack_spec_void_completion_parses() {
    // `06 94 03 80 a1 30 02` without its prefix: [3, {}, "0", 2]
    assert_eq!(
        mp_ok("94 03 80 a1 30 02"),
        completion("0", CompletionOutcome::Void)
    );
}

#[test]
fn msgpack_spec_non_void_completion_parses() {
    // `07 95 03 80 a1 30 03 2a`: [3, {}, "0", 3, 42]
    assert_eq!(
        mp_ok("95 03 80 a1 30 03 2a"),
        completion("0", CompletionOutcome::Result(mv("2a")))
    );
}

#[test]
fn msgpack_completion_with_nil_result_is_non_void() {
    assert_eq!(
        mp_ok("95 03 80 a1 30 03 c0"),
        completion("0", CompletionOutcome::Result(mv("c0")))
    );
}

#[test]
fn msgpack_spec_error_completion_parses() {
    // `0c 95 03 80 a1 30 01 a5 45 72 72 6f 72`: [3, {}, "0", 1, "Error"]
    assert_eq!(
        mp_ok("95 03 80 a1 30 01 a5 45 72 72 6f 72"),
        completion("0", CompletionOutcome::Error("Error".to_owned()))
    );
}

#[test]
fn msgpack_completion_result_kind_may_use_any_integer_encoding() {
    assert_eq!(
        mp_ok("94 03 80 a1 30 cc 02"),
        completion("0", CompletionOutcome::Void)
    );
    assert_eq!(
        mp_ok("95 03 80 a1 30 d0 03 2a"),
        completion("0", CompletionOutcome::Result(mv("2a")))
    );
}

#[test]
fn msgpack_completion_with_invalid_result_kind_is_a_protocol_error() {
    for kind in ["00", "04", "7f", "ff", "cd 01 00"] {
        assert_eq!(
            mp_err(&format!("95 03 80 a1 30 {kind} 2a")),
            "Invalid invocation result kind.",
            "kind {kind}"
        );
    }
    mp_err(r#"95 03 80 a1 30 "3" 2a"#); // kind is a string
}

#[test]
fn msgpack_completion_missing_its_result_or_error_is_a_protocol_error() {
    mp_err("94 03 80 a1 30 03"); // non-void with four elements
    mp_err("94 03 80 a1 30 01"); // error with four elements
    mp_err("95 03 80 a1 30 01 2a"); // error text not a string
    mp_err("93 03 80 a1 30"); // no result kind
}

#[test]
fn msgpack_completion_extra_trailing_elements_are_tolerated() {
    assert_eq!(
        mp_ok("95 03 80 a1 30 02 c0"),
        completion("0", CompletionOutcome::Void)
    );
    assert_eq!(
        mp_ok("97 03 80 a1 30 03 2a c0 c0"),
        completion("0", CompletionOutcome::Result(mv("2a")))
    );
}

#[test]
fn msgpack_completion_headers_are_accepted() {
    assert_eq!(
        mp_ok(r#"95 03 81 "k" "v" "17" 03 a5 68 65 6c 6c 6f"#),
        completion("17", CompletionOutcome::Result(mv(r#""hello""#)))
    );
}

#[test]
fn msgpack_cancel_invocation_names_the_invocation() {
    assert_eq!(
        mp_ok(r#"93 05 80 "8""#),
        HubMessage::CancelInvocation {
            invocation_id: "8".to_owned()
        }
    );
    assert_eq!(
        mp_ok(r#"93 05 81 "k" "v" "8""#),
        HubMessage::CancelInvocation {
            invocation_id: "8".to_owned()
        }
    );
    mp_err("92 05 80");
    mp_err("93 05 80 c0");
}

// ---------------------------------------------------------------------------------------------
// MessagePack parsing: Ping (6), Close (7), Ack (8), Sequence (9), unknown and malformed records
// ---------------------------------------------------------------------------------------------

#[test]
fn msgpack_ping_parses() {
    assert_eq!(mp_ok("91 06"), HubMessage::Ping);
}

#[test]
fn msgpack_close_with_two_elements_as_written_by_the_js_client() {
    assert_eq!(mp_ok("92 07 c0"), close(None, false));
    assert_eq!(mp_ok(r#"92 07 "boom""#), close(Some("boom"), false));
}

#[test]
fn msgpack_close_with_three_elements_as_written_by_the_dotnet_server() {
    assert_eq!(mp_ok("93 07 c0 c2"), close(None, false));
    assert_eq!(mp_ok("93 07 c0 c3"), close(None, true));
    assert_eq!(
        mp_ok(r#"93 07 "Connection closed with an error." c3"#),
        close(Some("Connection closed with an error."), true)
    );
}

#[test]
fn msgpack_close_with_empty_error_string_counts_as_an_error() {
    assert_eq!(mp_ok("93 07 a0 c2"), close(Some(""), false));
}

#[test]
fn msgpack_malformed_close_is_a_protocol_error() {
    mp_err("91 07");
    mp_err("92 07 01");
    mp_err("93 07 c0 01");
}

#[test]
fn msgpack_ack_and_sequence_accept_any_integer_encoding() {
    // protocol.md §4.3: "Ack 36: `04 92 08 cc 24` (or `03 92 08 24`)".
    assert_eq!(mp_ok("92 08 cc 24"), HubMessage::Ack { sequence_id: 36 });
    assert_eq!(mp_ok("92 08 24"), HubMessage::Ack { sequence_id: 36 });
    assert_eq!(
        mp_ok("92 08 d3 00 00 00 00 00 00 00 24"),
        HubMessage::Ack { sequence_id: 36 }
    );
    assert_eq!(
        mp_ok("92 09 cd 04 d2"),
        HubMessage::Sequence { sequence_id: 1234 }
    );
    assert_eq!(
        mp_ok("92 09 cf 00 00 01 00 00 00 00 00"),
        HubMessage::Sequence {
            sequence_id: 1 << 40
        }
    );
}

#[test]
fn msgpack_ack_and_sequence_need_a_non_negative_integer() {
    mp_err("91 08");
    mp_err("92 08 ff");
    mp_err("92 09 c0");
    mp_err(r#"92 09 "1""#);
}

#[test]
fn msgpack_message_type_may_use_any_integer_encoding() {
    assert_eq!(mp_ok("91 cc 06"), HubMessage::Ping);
    assert_eq!(mp_ok("91 d2 00 00 00 06"), HubMessage::Ping);
}

#[test]
fn msgpack_unknown_message_type_is_ignored() {
    for spec in [
        "91 0a",
        "91 00",
        "91 ff",
        "93 63 c0 80",
        r#"92 cd 01 00 "x""#,
    ] {
        assert_eq!(parse_mp(spec), Ok(None), "{spec}");
    }
}

#[test]
fn msgpack_garbage_is_a_protocol_error() {
    for spec in [
        "",
        "90",
        "c0",
        "c1",
        "06",
        "80",
        "a1 31",
        "91",
        "91 c0",
        r#"91 "1""#,
        "91 ca 3f 80 00 00",
        "dd ff ff ff ff",
        "dc 00 05 01",
        "95 01",
    ] {
        mp_err(spec);
    }
}

// ---------------------------------------------------------------------------------------------
// MessagePack payload decoding through RawValue
// ---------------------------------------------------------------------------------------------

#[test]
fn msgpack_arguments_decode_into_typed_values() {
    let HubMessage::Invocation(message) = mp_ok(
        r#"96 01 80 "1" "Post" 96
            83 "userName" "bob" "text" "hi" "likes" 03
            93 01 02 03
            81 "a" 82 "b" 01 "c" cd 01 00
            82 "UserName" "alice" "Likes" cc c8
            c0
            93 "bob" 2a 91 c3
           90"#,
    ) else {
        panic!("not an invocation")
    };
    let [chat, list, nested, dotnet, nothing, tuple] = &message.arguments[..] else {
        panic!("six arguments expected: {:?}", message.arguments)
    };
    assert_eq!(
        chat.decode::<ChatMessage>().unwrap(),
        ChatMessage {
            user_name: "bob".to_owned(),
            text: "hi".to_owned(),
            likes: 3
        }
    );
    assert_eq!(list.decode::<Vec<i32>>().unwrap(), [1, 2, 3]);
    assert_eq!(
        nested
            .decode::<BTreeMap<String, BTreeMap<String, i64>>>()
            .unwrap(),
        BTreeMap::from([(
            "a".to_owned(),
            BTreeMap::from([("b".to_owned(), 1), ("c".to_owned(), 256)])
        )])
    );
    assert_eq!(
        dotnet.decode::<DotNetChatMessage>().unwrap(),
        DotNetChatMessage {
            user_name: "alice".to_owned(),
            likes: 200
        }
    );
    assert_eq!(nothing.decode::<Option<String>>().unwrap(), None);
    assert_eq!(
        tuple.decode::<(String, u8, Vec<bool>)>().unwrap(),
        ("bob".to_owned(), 42, vec![true])
    );
}

#[test]
fn msgpack_stream_item_and_result_decode_into_typed_values() {
    let HubMessage::StreamItem(item) = mp_ok(r#"94 02 80 "7" 81 "x" d0 f6"#) else {
        panic!("not a stream item")
    };
    assert_eq!(item.item.decode::<Point>().unwrap(), Point { x: -10 });
    let HubMessage::Completion(done) = mp_ok(r#"95 03 80 "1" 03 cb 40 04 00 00 00 00 00 00"#)
    else {
        panic!("not a completion")
    };
    let CompletionOutcome::Result(result) = done.outcome else {
        panic!("not a result")
    };
    assert_eq!(result.decode::<f64>().unwrap(), 2.5);
}

#[test]
fn msgpack_argument_of_the_wrong_type_is_a_binding_error() {
    let err = mv(r#""abc""#).decode::<i32>().unwrap_err();
    assert!(
        err.to_string().starts_with("Error binding arguments."),
        "{err}"
    );
    assert!(mv("cd 01 00").decode::<u8>().is_err());
    assert!(mv(r#"81 "x" "y""#).decode::<Point>().is_err());
}

// ---------------------------------------------------------------------------------------------
// Framing: RecordReader
// ---------------------------------------------------------------------------------------------

#[test]
fn json_reader_yields_every_record_of_a_batched_chunk() {
    let mut reader = RecordReader::new(HubProtocol::Json, Some(32 * 1024));
    reader.push(
        b"{\"type\":6}\x1e{\"target\":\"Send\",\"arguments\":[1],\"type\":1}\x1e{\"type\":3,\"invocationId\":\"3\",\"result\":42}\x1e{\"type\":8,\"sequenceId\":5}\x1e",
    );
    assert_eq!(
        drain(&mut reader, HubProtocol::Json),
        [
            HubMessage::Ping,
            HubMessage::Invocation(invocation(None, "Send", vec![jv("1")])),
            completion("3", CompletionOutcome::Result(jv("42"))),
            HubMessage::Ack { sequence_id: 5 },
        ]
    );
    assert!(!reader.has_partial());
}

#[test]
fn json_reader_reassembles_a_record_split_across_pushes() {
    let record = b"{\"type\":1,\"invocationId\":\"0\",\"target\":\"GetName\",\"arguments\":[]}\x1e";
    let mut reader = RecordReader::new(HubProtocol::Json, None);
    for (i, byte) in record.iter().enumerate() {
        reader.push(&[*byte]);
        if i + 1 < record.len() {
            assert_eq!(reader.next_record(), Ok(None), "after {} bytes", i + 1);
            assert!(reader.has_partial());
        }
    }
    assert_eq!(
        drain(&mut reader, HubProtocol::Json),
        [HubMessage::Invocation(invocation(
            Some("0"),
            "GetName",
            vec![]
        ))]
    );
    assert!(!reader.has_partial());
}

#[test]
fn json_reader_handles_records_straddling_chunk_boundaries() {
    let mut reader = RecordReader::new(HubProtocol::Json, None);
    reader.push(b"{\"type\":6}\x1e{\"type\":7,\"er");
    assert_eq!(drain(&mut reader, HubProtocol::Json), [HubMessage::Ping]);
    assert!(reader.has_partial());
    reader.push(b"ror\":\"x\"}\x1e{\"type\":9,\"sequenceId\":");
    assert_eq!(
        drain(&mut reader, HubProtocol::Json),
        [close(Some("x"), false)]
    );
    reader.push(b"4}\x1e");
    assert_eq!(
        drain(&mut reader, HubProtocol::Json),
        [HubMessage::Sequence { sequence_id: 4 }]
    );
    assert!(!reader.has_partial());
}

#[test]
fn json_reader_enforces_the_maximum_record_size() {
    let record = br#"{"type":1,"target":"Send","arguments":["0123456789"]}"#;
    let mut exact = RecordReader::new(HubProtocol::Json, Some(record.len()));
    exact.push(record);
    exact.push(b"\x1e");
    assert_eq!(exact.next_record().unwrap().unwrap().as_ref(), &record[..]);

    let mut over = RecordReader::new(HubProtocol::Json, Some(record.len() - 1));
    over.push(record);
    over.push(b"\x1e");
    assert_eq!(
        over.next_record(),
        Err(FrameError::TooLarge {
            limit: record.len() - 1
        })
    );
}

#[test]
fn msgpack_reader_reassembles_the_spec_invocation_pushed_byte_by_byte() {
    let framed = mp("18 96 01 80 c0 ae 52 65 63 65 69 76 65 4d 65 73 73 61 67 65 91 a2 68 69 90");
    let mut reader = RecordReader::new(HubProtocol::MessagePack, Some(32 * 1024));
    for (i, byte) in framed.iter().enumerate() {
        reader.push(&[*byte]);
        if i + 1 < framed.len() {
            assert_eq!(reader.next_record(), Ok(None), "after {} bytes", i + 1);
        }
    }
    assert_eq!(
        drain(&mut reader, HubProtocol::MessagePack),
        [HubMessage::Invocation(invocation(
            None,
            "ReceiveMessage",
            vec![mv("a2 68 69")]
        ))]
    );
    assert!(!reader.has_partial());
}

#[test]
fn msgpack_reader_yields_every_record_of_a_batched_chunk() {
    let mut reader = RecordReader::new(HubProtocol::MessagePack, None);
    reader.push(&mp(
        "06 94 03 80 a1 30 02  07 95 03 80 a1 30 03 2a  02 91 06  0c 95 03 80 a1 30 01 a5 45 72 72 6f 72  04 92 08 cc 24  03 92 07 c0",
    ));
    assert_eq!(
        drain(&mut reader, HubProtocol::MessagePack),
        [
            completion("0", CompletionOutcome::Void),
            completion("0", CompletionOutcome::Result(mv("2a"))),
            HubMessage::Ping,
            completion("0", CompletionOutcome::Error("Error".to_owned())),
            HubMessage::Ack { sequence_id: 36 },
            close(None, false),
        ]
    );
    assert!(!reader.has_partial());
}

#[test]
fn msgpack_reader_handles_a_length_prefix_split_across_pushes() {
    // A 213-byte body: its length prefix is the two bytes `d5 01`.
    let text = "x".repeat(200);
    let body = mp(&format!(r#"96 01 80 c0 "Echo" 91 "{text}" 90"#));
    assert_eq!(body.len(), 213);
    let mut framed = vec![0xd5, 0x01];
    framed.extend_from_slice(&body);
    framed.extend_from_slice(&[0x02, 0x91, 0x06]);

    let mut reader = RecordReader::new(HubProtocol::MessagePack, None);
    reader.push(&framed[..1]);
    assert_eq!(reader.next_record(), Ok(None));
    reader.push(&framed[1..100]);
    assert_eq!(reader.next_record(), Ok(None));
    reader.push(&framed[100..]);
    let messages = drain(&mut reader, HubProtocol::MessagePack);
    assert_eq!(
        messages,
        [
            HubMessage::Invocation(invocation(None, "Echo", vec![mv(&format!(r#""{text}""#))])),
            HubMessage::Ping
        ]
    );
}

#[test]
fn msgpack_reader_rejects_invalid_length_prefixes() {
    for prefix in [
        &[0x00][..],
        &[0xff, 0xff, 0xff, 0xff, 0x08],
        &[0x80, 0x80, 0x80, 0x80, 0x80],
    ] {
        let mut reader = RecordReader::new(HubProtocol::MessagePack, None);
        reader.push(prefix);
        reader.push(&[0x91, 0x06]);
        assert_eq!(
            reader.next_record(),
            Err(FrameError::InvalidLength),
            "{prefix:02x?}"
        );
    }
    // A record after a good one is only rejected once it is reached.
    let mut reader = RecordReader::new(HubProtocol::MessagePack, None);
    reader.push(&[0x02, 0x91, 0x06, 0x00]);
    assert_eq!(
        reader.next_record().unwrap().unwrap().as_ref(),
        &[0x91, 0x06]
    );
    assert_eq!(reader.next_record(), Err(FrameError::InvalidLength));
}

#[test]
fn msgpack_reader_accepts_the_largest_length_prefix_while_waiting_for_the_body() {
    let mut reader = RecordReader::new(HubProtocol::MessagePack, None);
    reader.push(&[0xff, 0xff, 0xff, 0xff, 0x07, 0x91]);
    assert_eq!(reader.next_record(), Ok(None));
    assert!(reader.has_partial());
}

#[test]
fn msgpack_reader_enforces_the_maximum_record_size_before_the_body_arrives() {
    let mut exact = RecordReader::new(HubProtocol::MessagePack, Some(2));
    exact.push(&[0x02, 0x91, 0x06]);
    assert_eq!(
        exact.next_record().unwrap().unwrap().as_ref(),
        &[0x91, 0x06]
    );

    let mut over = RecordReader::new(HubProtocol::MessagePack, Some(32 * 1024));
    over.push(&[0x81, 0x80, 0x02]); // 32 769 bytes announced, none sent
    assert_eq!(
        over.next_record(),
        Err(FrameError::TooLarge { limit: 32 * 1024 })
    );
}

// ---------------------------------------------------------------------------------------------
// Writing: MessagePack vectors of protocol.md §4.3 and more
// ---------------------------------------------------------------------------------------------

#[test]
fn msgpack_receive_message_invocation_matches_spec_vector() {
    let message = OutboundMessage::Invocation {
        invocation_id: None,
        target: "ReceiveMessage",
        arguments: &("hi",),
        stream_ids: &[],
    };
    assert_eq!(
        mp_hex(&message),
        "18 96 01 80 c0 ae 52 65 63 65 69 76 65 4d 65 73 73 61 67 65 91 a2 68 69 90"
    );
}

#[test]
fn msgpack_void_completion_matches_spec_vector() {
    let message = NoPayload::Completion {
        invocation_id: "0",
        body: CompletionBody::Void,
    };
    assert_eq!(mp_hex(&message), "06 94 03 80 a1 30 02");
}

#[test]
fn msgpack_non_void_completion_matches_spec_vector() {
    let message = OutboundMessage::Completion {
        invocation_id: "0",
        body: CompletionBody::Result(&42),
    };
    assert_eq!(mp_hex(&message), "07 95 03 80 a1 30 03 2a");
}

#[test]
fn msgpack_error_completion_matches_spec_vector() {
    let message = NoPayload::Completion {
        invocation_id: "0",
        body: CompletionBody::Error("Error"),
    };
    assert_eq!(mp_hex(&message), "0c 95 03 80 a1 30 01 a5 45 72 72 6f 72");
}

#[test]
fn msgpack_ping_matches_spec_vector() {
    assert_eq!(mp_hex(&NoPayload::Ping), "02 91 06");
    assert_eq!(hex(&NoPayload::ping(HubProtocol::MessagePack)), "02 91 06");
}

#[test]
fn msgpack_ack_matches_spec_vector() {
    assert_eq!(mp_hex(&NoPayload::Ack { sequence_id: 36 }), "03 92 08 24");
    assert_eq!(
        mp_hex(&NoPayload::Ack { sequence_id: 1394 }),
        "05 92 08 cd 05 72"
    );
}

#[test]
fn msgpack_sequence_writes_the_shortest_unsigned_integer() {
    assert_eq!(
        mp_hex(&NoPayload::Sequence { sequence_id: 1234 }),
        "05 92 09 cd 04 d2"
    );
    assert_eq!(
        mp_hex(&NoPayload::Sequence {
            sequence_id: 1 << 40
        }),
        "0b 92 09 cf 00 00 01 00 00 00 00 00"
    );
}

#[test]
fn msgpack_null_result_completion_writes_nil() {
    let message = OutboundMessage::Completion {
        invocation_id: "0",
        body: CompletionBody::Result(&None::<i32>),
    };
    assert_eq!(mp_hex(&message), "07 95 03 80 a1 30 03 c0");
}

#[test]
fn msgpack_invocation_with_id_and_no_arguments_writes_six_elements() {
    let message = OutboundMessage::Invocation {
        invocation_id: Some("0"),
        target: "GetName",
        arguments: &[0u8; 0],
        stream_ids: &[],
    };
    assert_eq!(
        mp_hex(&message),
        "0f 96 01 80 a1 30 a7 47 65 74 4e 61 6d 65 90 90"
    );
}

#[test]
fn msgpack_invocation_writes_stream_ids() {
    let streams = ["5".to_owned()];
    let message = OutboundMessage::Invocation {
        invocation_id: Some("4"),
        target: "Upload",
        arguments: &[0u8; 0],
        stream_ids: &streams,
    };
    assert_eq!(
        mp_hex(&message),
        "10 96 01 80 a1 34 a6 55 70 6c 6f 61 64 90 91 a1 35"
    );
}

#[test]
fn msgpack_stream_item_writes_structs_as_maps_keyed_by_field_name() {
    let message = OutboundMessage::StreamItem {
        invocation_id: "7",
        item: &Point { x: 1 },
    };
    assert_eq!(mp_hex(&message), "09 94 02 80 a1 37 81 a1 78 01");
}

#[test]
fn msgpack_cancel_invocation_matches_layout() {
    assert_eq!(
        mp_hex(&NoPayload::CancelInvocation { invocation_id: "8" }),
        "05 93 05 80 a1 38"
    );
}

#[test]
fn msgpack_close_always_writes_three_elements() {
    assert_eq!(
        mp_hex(&NoPayload::Close {
            error: None,
            allow_reconnect: false
        }),
        "04 93 07 c0 c2"
    );
    assert_eq!(
        mp_hex(&NoPayload::Close {
            error: None,
            allow_reconnect: true
        }),
        "04 93 07 c0 c3"
    );
    // 32 characters: one past fixstr, so str8 (`d9 20`).
    let error = "Connection closed with an error.";
    assert_eq!(error.len(), 32);
    let bytes = encode(
        &NoPayload::Close {
            error: Some(error),
            allow_reconnect: true,
        },
        HubProtocol::MessagePack,
    );
    assert_eq!(hex(&bytes[..5]), "25 93 07 d9 20");
    assert_eq!(&bytes[5..37], error.as_bytes());
    assert_eq!(hex(&bytes[37..]), "c3");
}

#[test]
fn msgpack_record_over_127_bytes_gets_a_two_byte_length_prefix() {
    let text = "x".repeat(200);
    let message = OutboundMessage::Invocation {
        invocation_id: None,
        target: "Echo",
        arguments: &(text.as_str(),),
        stream_ids: &[],
    };
    let bytes = encode(&message, HubProtocol::MessagePack);
    assert_eq!(hex(&bytes[..2]), "d5 01");
    assert_eq!(
        bytes[2..],
        mp(&format!(r#"96 01 80 c0 "Echo" 91 "{text}" 90"#))[..]
    );
}

#[test]
fn msgpack_encode_into_appends_records_back_to_back() {
    let mut buf = bytes::BytesMut::new();
    NoPayload::Ping
        .encode_into(HubProtocol::MessagePack, &mut buf)
        .unwrap();
    NoPayload::Completion {
        invocation_id: "0",
        body: CompletionBody::Void,
    }
    .encode_into(HubProtocol::MessagePack, &mut buf)
    .unwrap();
    assert_eq!(hex(&buf), "02 91 06 06 94 03 80 a1 30 02");
}

// ---------------------------------------------------------------------------------------------
// Writing: JSON exact strings
// ---------------------------------------------------------------------------------------------

#[test]
fn json_invocation_without_id_matches_wire_example() {
    let message = OutboundMessage::Invocation {
        invocation_id: None,
        target: "ReceiveMessage",
        arguments: &("bob", "hi"),
        stream_ids: &[],
    };
    assert_eq!(
        json_text(&message),
        "{\"type\":1,\"target\":\"ReceiveMessage\",\"arguments\":[\"bob\",\"hi\"]}\x1e"
    );
}

#[test]
fn json_invocation_with_id_and_no_arguments_matches_wire_example() {
    let message = OutboundMessage::Invocation {
        invocation_id: Some("0"),
        target: "GetName",
        arguments: &[0u8; 0],
        stream_ids: &[],
    };
    assert_eq!(
        json_text(&message),
        "{\"type\":1,\"invocationId\":\"0\",\"target\":\"GetName\",\"arguments\":[]}\x1e"
    );
}

#[test]
fn json_invocation_with_stream_ids_writes_them_last() {
    let streams = ["5".to_owned(), "6".to_owned()];
    let message = OutboundMessage::Invocation {
        invocation_id: Some("4"),
        target: "Upload",
        arguments: &(1,),
        stream_ids: &streams,
    };
    assert_eq!(
        json_text(&message),
        "{\"type\":1,\"invocationId\":\"4\",\"target\":\"Upload\",\"arguments\":[1],\"streamIds\":[\"5\",\"6\"]}\x1e"
    );
}

#[test]
fn json_payload_structs_are_written_in_camel_case() {
    let chat = ChatMessage {
        user_name: "bob".to_owned(),
        text: "hi".to_owned(),
        likes: 2,
    };
    let message = OutboundMessage::Invocation {
        invocation_id: None,
        target: "Receive",
        arguments: &(&chat,),
        stream_ids: &[],
    };
    assert_eq!(
        json_text(&message),
        "{\"type\":1,\"target\":\"Receive\",\"arguments\":[{\"userName\":\"bob\",\"text\":\"hi\",\"likes\":2}]}\x1e"
    );
}

#[test]
fn json_strings_are_escaped_so_the_record_separator_only_ends_the_record() {
    let message = OutboundMessage::Invocation {
        invocation_id: Some("a\"b"),
        target: "Say \"hi\"",
        arguments: &("x\x1ey\n", "é"),
        stream_ids: &[],
    };
    let text = json_text(&message);
    assert_eq!(
        text,
        "{\"type\":1,\"invocationId\":\"a\\\"b\",\"target\":\"Say \\\"hi\\\"\",\"arguments\":[\"x\\u001ey\\n\",\"é\"]}\x1e"
    );
    assert_eq!(text.bytes().filter(|b| *b == 0x1e).count(), 1);
}

#[test]
fn json_stream_item_matches_wire_example() {
    let message = OutboundMessage::StreamItem {
        invocation_id: "7",
        item: &Point { x: 1 },
    };
    assert_eq!(
        json_text(&message),
        "{\"type\":2,\"invocationId\":\"7\",\"item\":{\"x\":1}}\x1e"
    );
    let null_item = OutboundMessage::StreamItem {
        invocation_id: "7",
        item: &None::<i32>,
    };
    assert_eq!(
        json_text(&null_item),
        "{\"type\":2,\"invocationId\":\"7\",\"item\":null}\x1e"
    );
}

#[test]
fn json_void_completion_matches_wire_example() {
    let message = NoPayload::Completion {
        invocation_id: "3",
        body: CompletionBody::Void,
    };
    assert_eq!(
        json_text(&message),
        "{\"type\":3,\"invocationId\":\"3\"}\x1e"
    );
}

#[test]
fn json_result_completion_matches_wire_example() {
    let message = OutboundMessage::Completion {
        invocation_id: "3",
        body: CompletionBody::Result(&42),
    };
    assert_eq!(
        json_text(&message),
        "{\"type\":3,\"invocationId\":\"3\",\"result\":42}\x1e"
    );
}

#[test]
fn json_null_result_completion_writes_result_null() {
    let message = OutboundMessage::Completion {
        invocation_id: "3",
        body: CompletionBody::Result(&None::<String>),
    };
    assert_eq!(
        json_text(&message),
        "{\"type\":3,\"invocationId\":\"3\",\"result\":null}\x1e"
    );
}

#[test]
fn json_error_completion_matches_wire_example() {
    let message = NoPayload::Completion {
        invocation_id: "3",
        body: CompletionBody::Error("An unexpected error occurred invoking 'X' on the server."),
    };
    assert_eq!(
        json_text(&message),
        "{\"type\":3,\"invocationId\":\"3\",\"error\":\"An unexpected error occurred invoking 'X' on the server.\"}\x1e"
    );
}

#[test]
fn json_cancel_invocation_matches_wire_example() {
    assert_eq!(
        json_text(&NoPayload::CancelInvocation { invocation_id: "8" }),
        "{\"type\":5,\"invocationId\":\"8\"}\x1e"
    );
}

#[test]
fn json_ping_matches_wire_example() {
    assert_eq!(json_text(&NoPayload::Ping), "{\"type\":6}\x1e");
    assert_eq!(&NoPayload::ping(HubProtocol::Json)[..], b"{\"type\":6}\x1e");
}

#[test]
fn json_close_writes_error_and_allow_reconnect_only_when_set() {
    let cases = [
        (None, false, "{\"type\":7}\x1e"),
        (None, true, "{\"type\":7,\"allowReconnect\":true}\x1e"),
        (
            Some("Connection closed with an error."),
            false,
            "{\"type\":7,\"error\":\"Connection closed with an error.\"}\x1e",
        ),
        (
            Some("Connection closed with an error."),
            true,
            "{\"type\":7,\"error\":\"Connection closed with an error.\",\"allowReconnect\":true}\x1e",
        ),
    ];
    for (error, allow_reconnect, expected) in cases {
        assert_eq!(
            json_text(&NoPayload::Close {
                error,
                allow_reconnect
            }),
            expected
        );
    }
}

#[test]
fn json_ack_and_sequence_match_wire_examples() {
    assert_eq!(
        json_text(&NoPayload::Ack { sequence_id: 1394 }),
        "{\"type\":8,\"sequenceId\":1394}\x1e"
    );
    assert_eq!(
        json_text(&NoPayload::Sequence { sequence_id: 1234 }),
        "{\"type\":9,\"sequenceId\":1234}\x1e"
    );
    assert_eq!(
        json_text(&NoPayload::Sequence {
            sequence_id: u64::MAX
        }),
        "{\"type\":9,\"sequenceId\":18446744073709551615}\x1e"
    );
}

#[test]
fn json_payload_that_cannot_be_serialized_is_an_encode_error() {
    // JSON object keys must be strings.
    let map = BTreeMap::from([((1, 2), "x")]);
    let message = OutboundMessage::StreamItem {
        invocation_id: "1",
        item: &map,
    };
    assert!(message.encode(HubProtocol::Json).is_err());
}

#[test]
fn invocation_with_unit_arguments_writes_an_empty_arguments_array() {
    let message = NoPayload::Invocation {
        invocation_id: None,
        target: "Refresh",
        arguments: &(),
        stream_ids: &[],
    };
    assert_eq!(
        json_text(&message),
        "{\"type\":1,\"target\":\"Refresh\",\"arguments\":[]}\x1e"
    );
    assert_eq!(
        mp_hex(&message),
        "0e 96 01 80 c0 a7 52 65 66 72 65 73 68 90 90"
    );
}

// ---------------------------------------------------------------------------------------------
// Roundtrips: encode, frame, parse, decode
// ---------------------------------------------------------------------------------------------

fn roundtrip<P: Serialize + ?Sized>(
    protocol: HubProtocol,
    message: &OutboundMessage<'_, P>,
) -> HubMessage {
    let bytes = message.encode(protocol).unwrap();
    let mut reader = RecordReader::new(protocol, Some(32 * 1024));
    reader.push(&bytes);
    let record = reader
        .next_record()
        .unwrap()
        .expect("the encoded bytes hold one whole record");
    assert_eq!(reader.next_record(), Ok(None));
    assert!(!reader.has_partial());
    parse_message(protocol, record)
        .unwrap_or_else(|e| panic!("{protocol}: {e}"))
        .expect("a known message type")
}

#[test]
fn every_message_type_roundtrips_through_both_protocols() {
    let chat = ChatMessage {
        user_name: "bob".to_owned(),
        text: "hé\x1e\"".to_owned(),
        likes: 7,
    };
    let streams = ["2".to_owned(), "3".to_owned()];
    for protocol in HubProtocol::ALL {
        // Invocation
        let parsed = roundtrip(
            protocol,
            &OutboundMessage::Invocation {
                invocation_id: Some("1"),
                target: "Send",
                arguments: &("bob", -42, &chat, vec![1u8, 2, 3], None::<bool>),
                stream_ids: &streams,
            },
        );
        let HubMessage::Invocation(invocation) = parsed else {
            panic!("{protocol}: not an invocation: {parsed:?}")
        };
        assert_eq!(invocation.invocation_id.as_deref(), Some("1"));
        assert_eq!(invocation.target, "Send");
        assert_eq!(invocation.stream_ids, streams);
        assert!(invocation.headers.is_empty());
        let [name, number, message, list, nothing] = &invocation.arguments[..] else {
            panic!("{protocol}: five arguments expected")
        };
        assert!(invocation
            .arguments
            .iter()
            .all(|a| a.protocol() == protocol));
        assert_eq!(name.decode::<String>().unwrap(), "bob");
        assert_eq!(number.decode::<i64>().unwrap(), -42);
        assert_eq!(message.decode::<ChatMessage>().unwrap(), chat);
        assert_eq!(list.decode::<Vec<u8>>().unwrap(), [1, 2, 3]);
        assert_eq!(nothing.decode::<Option<bool>>().unwrap(), None);

        // Non-blocking invocation without streams
        let parsed = roundtrip(
            protocol,
            &OutboundMessage::Invocation {
                invocation_id: None,
                target: "ReceiveMessage",
                arguments: &("hi",),
                stream_ids: &[],
            },
        );
        let HubMessage::Invocation(invocation) = parsed else {
            panic!("{protocol}: not an invocation")
        };
        assert_eq!(invocation.invocation_id, None);
        assert!(invocation.stream_ids.is_empty());

        // StreamItem
        let HubMessage::StreamItem(item) = roundtrip(
            protocol,
            &OutboundMessage::StreamItem {
                invocation_id: "7",
                item: &Point { x: -3 },
            },
        ) else {
            panic!("{protocol}: not a stream item")
        };
        assert_eq!(item.invocation_id, "7");
        assert_eq!(item.item.decode::<Point>().unwrap(), Point { x: -3 });

        // Completions
        assert_eq!(
            roundtrip(
                protocol,
                &NoPayload::Completion {
                    invocation_id: "3",
                    body: CompletionBody::Void
                }
            ),
            completion("3", CompletionOutcome::Void)
        );
        assert_eq!(
            roundtrip(
                protocol,
                &NoPayload::Completion {
                    invocation_id: "3",
                    body: CompletionBody::Error("boom")
                }
            ),
            completion("3", CompletionOutcome::Error("boom".to_owned()))
        );
        let HubMessage::Completion(done) = roundtrip(
            protocol,
            &OutboundMessage::Completion {
                invocation_id: "3",
                body: CompletionBody::Result(&vec![("a", 1.5)]),
            },
        ) else {
            panic!("{protocol}: not a completion")
        };
        let CompletionOutcome::Result(result) = done.outcome else {
            panic!("{protocol}: not a result")
        };
        assert_eq!(
            result.decode::<Vec<(String, f64)>>().unwrap(),
            [("a".to_owned(), 1.5)]
        );
        let HubMessage::Completion(done) = roundtrip(
            protocol,
            &OutboundMessage::Completion {
                invocation_id: "3",
                body: CompletionBody::Result(&None::<i32>),
            },
        ) else {
            panic!("{protocol}: not a completion")
        };
        let CompletionOutcome::Result(result) = done.outcome else {
            panic!("{protocol}: a null result must stay non-void")
        };
        assert_eq!(result.decode::<Option<i32>>().unwrap(), None);

        // CancelInvocation, Ping, Close, Ack, Sequence
        assert_eq!(
            roundtrip(
                protocol,
                &NoPayload::CancelInvocation { invocation_id: "8" }
            ),
            HubMessage::CancelInvocation {
                invocation_id: "8".to_owned()
            }
        );
        assert_eq!(roundtrip(protocol, &NoPayload::Ping), HubMessage::Ping);
        for (error, allow_reconnect) in [
            (None, false),
            (None, true),
            (Some("e"), false),
            (Some("e"), true),
        ] {
            assert_eq!(
                roundtrip(
                    protocol,
                    &NoPayload::Close {
                        error,
                        allow_reconnect
                    }
                ),
                close(error, allow_reconnect),
                "{protocol}"
            );
        }
        for sequence_id in [0, 1, 127, 128, 65_535, 1 << 40, i64::MAX as u64] {
            assert_eq!(
                roundtrip(protocol, &NoPayload::Ack { sequence_id }),
                HubMessage::Ack { sequence_id },
                "{protocol}"
            );
            assert_eq!(
                roundtrip(protocol, &NoPayload::Sequence { sequence_id }),
                HubMessage::Sequence { sequence_id },
                "{protocol}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Robustness: truncated, mutated and random input never panics
// ---------------------------------------------------------------------------------------------

/// Valid MessagePack record bodies whose every element is read by the parser, so that every
/// strict prefix is incomplete.
fn valid_msgpack_bodies() -> Vec<Vec<u8>> {
    [
        "96 01 80 c0 ae 52 65 63 65 69 76 65 4d 65 73 73 61 67 65 91 a2 68 69 90",
        r#"96 01 82 "traceparent" "00-ab-01" "k" "v" "1" "Send" 93 81 "x" 01 c7 0c ff 00 00 00 01 00 00 00 00 5f 00 00 00 dc 00 02 cb 3f f0 00 00 00 00 00 00 c4 02 01 02 92 "5" "6""#,
        r#"95 04 80 "8" "Counter" 91 "0123456789abcdef0123456789abcdef""#,
        r#"94 02 81 "a" "b" "7" 82 "x" 92 01 02 "y" 80"#,
        "94 03 80 a1 30 02",
        "95 03 80 a1 30 03 2a",
        "95 03 80 a1 30 01 a5 45 72 72 6f 72",
        r#"93 05 80 "8""#,
        "91 06",
        r#"93 07 "Connection closed with an error." c3"#,
        "92 07 c0",
        "92 08 cd 05 72",
        "92 09 cf 00 00 01 00 00 00 00 00",
    ]
    .iter()
    .map(|spec| mp(spec))
    .collect()
}

fn valid_json_records() -> Vec<&'static str> {
    vec![
        r#"{"target":"SendMessage","arguments":["bob",{"x":[1,null]}],"invocationId":"3","streamIds":["5"],"headers":{"a":"b"},"type":1}"#,
        r#"{"type":2,"invocationId":"7","item":null}"#,
        r#"{"type":3,"invocationId":"3","result":42}"#,
        r#"{"type":3,"invocationId":"3","error":"x"}"#,
        r#"{"target":"Counter","arguments":[10],"invocationId":"8","type":4}"#,
        r#"{"invocationId":"8","type":5}"#,
        r#"{"type":6}"#,
        r#"{"type":7,"error":"Connection closed with an error.","allowReconnect":true}"#,
        r#"{"type":8,"sequenceId":1394}"#,
        r#"{"type":9,"sequenceId":1234}"#,
    ]
}

#[test]
fn msgpack_every_truncation_of_a_valid_record_is_an_error_not_a_panic() {
    for body in valid_msgpack_bodies() {
        assert!(
            matches!(
                parse_message(HubProtocol::MessagePack, Bytes::from(body.clone())),
                Ok(Some(_))
            ),
            "{}",
            hex(&body)
        );
        for cut in 0..body.len() {
            let result = parse_message(
                HubProtocol::MessagePack,
                Bytes::copy_from_slice(&body[..cut]),
            );
            assert!(result.is_err(), "{} cut at {cut}: {result:?}", hex(&body));
        }
    }
}

#[test]
fn json_every_truncation_of_a_valid_record_is_an_error_not_a_panic() {
    for text in valid_json_records() {
        assert!(matches!(parse_json(text), Ok(Some(_))), "{text}");
        for cut in 0..text.len() {
            let result = parse_message(
                HubProtocol::Json,
                Bytes::copy_from_slice(&text.as_bytes()[..cut]),
            );
            assert!(result.is_err(), "{text} cut at {cut}: {result:?}");
        }
    }
}

/// Decodes every payload of a parsed message into a generic value: must not panic either.
fn decode_payloads(message: &HubMessage) {
    let payloads: Vec<&RawValue> = match message {
        HubMessage::Invocation(m) | HubMessage::StreamInvocation(m) => m.arguments.iter().collect(),
        HubMessage::StreamItem(m) => vec![&m.item],
        HubMessage::Completion(CompletionMessage {
            outcome: CompletionOutcome::Result(r),
            ..
        }) => vec![r],
        _ => vec![],
    };
    for payload in payloads {
        let _ = payload.decode::<serde_json::Value>();
        let _ = payload.decode::<(String, i64)>();
    }
}

fn check_no_panic(protocol: HubProtocol, bytes: &[u8]) {
    if let Ok(Some(message)) = parse_message(protocol, Bytes::copy_from_slice(bytes)) {
        decode_payloads(&message);
    }
}

#[test]
fn msgpack_random_bytes_never_panic() {
    // Bytes biased towards MessagePack markers so that the parser gets past the first element.
    const MARKERS: [u8; 40] = [
        0x00, 0x01, 0x02, 0x03, 0x05, 0x06, 0x07, 0x09, 0x7f, 0x80, 0x81, 0x8f, 0x90, 0x91, 0x93,
        0x96, 0x9f, 0xa0, 0xa1, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc7, 0xc9, 0xcc, 0xcf, 0xd3,
        0xd4, 0xd8, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff,
    ];
    let mut rng = Lcg(0x5EED_0001);
    for _ in 0..20_000 {
        let len = rng.below(48);
        let mut bytes = Vec::with_capacity(len + 2);
        if rng.below(4) != 0 {
            bytes.push(0x90 | rng.below(8) as u8);
            bytes.push(rng.below(11) as u8);
        }
        for _ in 0..len {
            let byte = if rng.below(2) == 0 {
                MARKERS[rng.below(MARKERS.len())]
            } else {
                rng.byte()
            };
            bytes.push(byte);
        }
        check_no_panic(HubProtocol::MessagePack, &bytes);
    }
}

#[test]
fn json_random_bytes_never_panic() {
    const TOKENS: [&str; 24] = [
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"type\"",
        "\"invocationId\"",
        "\"target\"",
        "\"arguments\"",
        "\"item\"",
        "\"result\"",
        "\"error\"",
        "\"sequenceId\"",
        "\"headers\"",
        "\"streamIds\"",
        "\"allowReconnect\"",
        "1",
        "3",
        "7",
        "null",
        "true",
        "\"x\"",
        "-1",
    ];
    let mut rng = Lcg(0x5EED_0002);
    for _ in 0..20_000 {
        let mut bytes = Vec::new();
        for _ in 0..rng.below(24) {
            if rng.below(8) == 0 {
                bytes.push(rng.byte());
            } else {
                bytes.extend_from_slice(TOKENS[rng.below(TOKENS.len())].as_bytes());
            }
        }
        check_no_panic(HubProtocol::Json, &bytes);
    }
}

#[test]
fn mutated_valid_records_never_panic() {
    let mut rng = Lcg(0x5EED_0003);
    let msgpack = valid_msgpack_bodies();
    let json: Vec<Vec<u8>> = valid_json_records()
        .iter()
        .map(|t| t.as_bytes().to_vec())
        .collect();
    for (protocol, records) in [
        (HubProtocol::MessagePack, &msgpack),
        (HubProtocol::Json, &json),
    ] {
        for record in records {
            for _ in 0..500 {
                let mut bytes = record.clone();
                for _ in 0..1 + rng.below(3) {
                    let i = rng.below(bytes.len());
                    bytes[i] = rng.byte();
                }
                check_no_panic(protocol, &bytes);
            }
        }
    }
}

#[test]
fn record_reader_fed_random_chunks_never_panics() {
    let mut rng = Lcg(0x5EED_0004);
    for protocol in HubProtocol::ALL {
        for _ in 0..500 {
            let mut reader = RecordReader::new(protocol, Some(4096));
            'stream: for _ in 0..rng.below(8) {
                let chunk: Vec<u8> = (0..rng.below(64))
                    .map(|_| match rng.below(6) {
                        0 => 0x1e,
                        1 => rng.below(16) as u8,
                        _ => rng.byte(),
                    })
                    .collect();
                reader.push(&chunk);
                loop {
                    match reader.next_record() {
                        Ok(Some(record)) => check_no_panic(protocol, &record),
                        Ok(None) => break,
                        Err(_) => break 'stream,
                    }
                }
            }
        }
    }
}

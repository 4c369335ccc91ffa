//! Property tests: every message the server encodes, in both protocols, parses back (after
//! record splitting) into the same message, for arbitrary ids, names, texts and numbers.
#![allow(clippy::unwrap_used, missing_docs)]

use proptest::prelude::*;
use signalr::protocol::{
    parse_message, CloseMessage, CompletionBody, CompletionOutcome, HubMessage, HubProtocol,
    OutboundMessage, RecordReader,
};

/// Ids and method names: any text but the empty one, which .NET's JSON protocol reads as
/// missing (for ids of Completions, stream items, cancellations and targets).
fn name() -> impl Strategy<Value = String> {
    any::<String>().prop_filter("not empty", |text| !text.is_empty())
}

fn protocol() -> impl Strategy<Value = HubProtocol> {
    prop_oneof![Just(HubProtocol::Json), Just(HubProtocol::MessagePack)]
}

/// Encodes, splits the framed bytes back into records and parses the one record.
fn round_trip<P: serde::Serialize + ?Sized>(
    protocol: HubProtocol,
    message: &OutboundMessage<'_, P>,
) -> HubMessage {
    let bytes = message.encode(protocol).unwrap();
    let mut reader = RecordReader::new(protocol, None);
    reader.push(&bytes);
    let record = reader.next_record().unwrap().expect("one whole record");
    assert_eq!(reader.next_record().unwrap(), None, "exactly one record");
    parse_message(protocol, record)
        .unwrap()
        .expect("a known message type")
}

type Arguments = (String, i64, Vec<String>, Option<bool>);

fn arguments() -> impl Strategy<Value = Arguments> {
    (
        any::<String>(),
        any::<i64>(),
        prop::collection::vec(any::<String>(), 0..4),
        any::<Option<bool>>(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn invocations(
        protocol in protocol(),
        id in proptest::option::of(name()),
        target in name(),
        args in arguments(),
        stream_ids in prop::collection::vec(name(), 0..3),
    ) {
        let message = OutboundMessage::Invocation {
            invocation_id: id.as_deref(),
            target: &target,
            arguments: &args,
            stream_ids: &stream_ids,
        };
        let HubMessage::Invocation(parsed) = round_trip(protocol, &message) else {
            panic!("not an Invocation");
        };
        prop_assert_eq!(parsed.invocation_id.as_deref(), id.as_deref());
        prop_assert_eq!(parsed.target, target);
        prop_assert_eq!(parsed.stream_ids, stream_ids);
        prop_assert_eq!(parsed.arguments.len(), 4);
        prop_assert_eq!(parsed.arguments[0].decode::<String>().unwrap(), args.0);
        prop_assert_eq!(parsed.arguments[1].decode::<i64>().unwrap(), args.1);
        prop_assert_eq!(parsed.arguments[2].decode::<Vec<String>>().unwrap(), args.2);
        prop_assert_eq!(parsed.arguments[3].decode::<Option<bool>>().unwrap(), args.3);
    }

    #[test]
    fn stream_items(protocol in protocol(), id in name(), item in arguments()) {
        let message = OutboundMessage::StreamItem { invocation_id: &id, item: &item };
        let HubMessage::StreamItem(parsed) = round_trip(protocol, &message) else {
            panic!("not a StreamItem");
        };
        prop_assert_eq!(parsed.invocation_id, id);
        prop_assert_eq!(parsed.item.decode::<Arguments>().unwrap(), item);
    }

    #[test]
    fn completions(
        protocol in protocol(),
        id in name(),
        kind in 0..3u8,
        value in any::<i64>(),
        // An empty error text reads as no error (as .NET writes and reads it).
        error in name(),
    ) {
        let body = match kind {
            0 => CompletionBody::Void,
            1 => CompletionBody::Result(&value),
            _ => CompletionBody::Error(&error),
        };
        let message = OutboundMessage::Completion { invocation_id: &id, body };
        let HubMessage::Completion(parsed) = round_trip(protocol, &message) else {
            panic!("not a Completion");
        };
        prop_assert_eq!(&parsed.invocation_id, &id);
        match (kind, parsed.outcome) {
            (0, CompletionOutcome::Void) => {}
            (1, CompletionOutcome::Result(raw)) => prop_assert_eq!(raw.decode::<i64>().unwrap(), value),
            (2, CompletionOutcome::Error(text)) => prop_assert_eq!(text, error),
            (kind, outcome) => panic!("kind {kind} came back as {outcome:?}"),
        }
    }

    #[test]
    fn cancel_invocations(protocol in protocol(), id in name()) {
        let message: OutboundMessage<'_, ()> = OutboundMessage::CancelInvocation { invocation_id: &id };
        prop_assert_eq!(round_trip(protocol, &message), HubMessage::CancelInvocation { invocation_id: id });
    }

    #[test]
    fn closes(protocol in protocol(), error in proptest::option::of(any::<String>()), allow_reconnect in any::<bool>()) {
        let message: OutboundMessage<'_, ()> = OutboundMessage::Close { error: error.as_deref(), allow_reconnect };
        prop_assert_eq!(
            round_trip(protocol, &message),
            HubMessage::Close(CloseMessage { error, allow_reconnect })
        );
    }

    #[test]
    // Sequence numbers are .NET `long`s: never past `i64::MAX`.
    fn acks_and_sequences(protocol in protocol(), sequence_id in 0..=i64::MAX as u64) {
        let ack: OutboundMessage<'_, ()> = OutboundMessage::Ack { sequence_id };
        prop_assert_eq!(round_trip(protocol, &ack), HubMessage::Ack { sequence_id });
        let sequence: OutboundMessage<'_, ()> = OutboundMessage::Sequence { sequence_id };
        prop_assert_eq!(round_trip(protocol, &sequence), HubMessage::Sequence { sequence_id });
    }
}

#[test]
fn pings_in_both_protocols() {
    for protocol in [HubProtocol::Json, HubProtocol::MessagePack] {
        let ping: OutboundMessage<'_, ()> = OutboundMessage::Ping;
        assert_eq!(round_trip(protocol, &ping), HubMessage::Ping);
        let mut reader = RecordReader::new(protocol, None);
        reader.push(&OutboundMessage::ping(protocol));
        let record = reader.next_record().unwrap().unwrap();
        assert_eq!(
            parse_message(protocol, record).unwrap(),
            Some(HubMessage::Ping)
        );
    }
}

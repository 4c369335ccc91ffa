//! Inputs at the edges of what the wire formats can say: nothing panics or overflows the
//! stack, and each is either read as .NET reads it or refused with an error.
#![allow(clippy::unwrap_used, missing_docs)]

use bytes::Bytes;
use signalr::protocol::{
    parse_message, HubMessage, HubProtocol, RawValue, RecordReader, Timestamp,
};

fn nested_json(depth: usize) -> Vec<u8> {
    let mut record = b"{\"type\":1,\"target\":\"X\",\"arguments\":[".to_vec();
    record.extend(std::iter::repeat_n(b'[', depth));
    record.extend(std::iter::repeat_n(b']', depth));
    record.extend_from_slice(b"]}");
    record
}

/// `[1, {}, nil, "X", [<value>], []]`
fn msgpack_invocation(value: &[u8]) -> Vec<u8> {
    let mut body = vec![0x96, 0x01, 0x80, 0xc0, 0xa1, b'X', 0x91];
    body.extend_from_slice(value);
    body.push(0x90);
    body
}

#[test]
fn deeply_nested_values_are_refused_without_overflowing_the_stack() {
    for depth in [1_000, 100_000, 1_000_000] {
        let json = parse_message(HubProtocol::Json, Bytes::from(nested_json(depth)));
        assert!(json.is_err(), "JSON nested {depth} deep was accepted");
        let value = vec![0x91; depth];
        let msgpack = parse_message(
            HubProtocol::MessagePack,
            Bytes::from(msgpack_invocation(&value)),
        );
        assert!(
            msgpack.is_err(),
            "MessagePack nested {depth} deep was accepted"
        );
    }
    // 64 levels in all, as .NET reads JSON, are fine (the record and its arguments array
    // take two), and so is decoding them into a dynamic value; one more is refused.
    assert!(parse_message(HubProtocol::Json, Bytes::from(nested_json(63))).is_err());
    // Brackets inside strings do not count.
    let mut quoted = b"{\"type\":1,\"target\":\"X\",\"arguments\":[\"".to_vec();
    quoted.extend(std::iter::repeat_n(b'[', 1000));
    quoted.extend_from_slice(b"\\\"\"]}");
    assert!(parse_message(HubProtocol::Json, Bytes::from(quoted))
        .unwrap()
        .is_some());
    let Some(HubMessage::Invocation(invocation)) =
        parse_message(HubProtocol::Json, Bytes::from(nested_json(62))).unwrap()
    else {
        panic!("not an invocation");
    };
    assert!(invocation.arguments[0]
        .decode::<serde_json::Value>()
        .is_ok());
}

#[test]
fn timestamps_at_the_extremes_of_their_range_decode_or_fail_cleanly() {
    let ext = |payload: &[u8]| {
        let mut bytes = match payload.len() {
            4 => vec![0xd6, 0xff],
            8 => vec![0xd7, 0xff],
            12 => vec![0xc7, 12, 0xff],
            _ => unreachable!(),
        };
        bytes.extend_from_slice(payload);
        RawValue::new(HubProtocol::MessagePack, Bytes::from(bytes))
    };
    // 32-bit seconds at their maximum.
    let max32 = ext(&u32::MAX.to_be_bytes()).decode::<Timestamp>().unwrap();
    assert_eq!(max32.unix_seconds(), i64::from(u32::MAX));
    // 64-bit: 30-bit nanoseconds and 34-bit seconds, all bits set. As in .NET, the
    // nanoseconds past a second carry over.
    let max64 = ext(&u64::MAX.to_be_bytes()).decode::<Timestamp>().unwrap();
    assert_eq!(max64.unix_seconds(), (1i64 << 34) - 1 + 1);
    assert_eq!(max64.subsec_nanos(), (1u32 << 30) - 1 - 1_000_000_000);
    // 96-bit: i64 seconds; .NET's DateTime holds years 1 to 9999 only.
    let twelve = |seconds: i64, nanos: u32| {
        let mut payload = nanos.to_be_bytes().to_vec();
        payload.extend_from_slice(&seconds.to_be_bytes());
        ext(&payload).decode::<Timestamp>()
    };
    assert!(twelve(i64::MIN, 0).is_err());
    assert!(twelve(i64::MAX, 999_999_999).is_err());
    assert!(twelve(253_402_300_800, 0).is_err(), "year 10000");
    assert!(twelve(-62_135_596_801, 0).is_err(), "before year 1");
    let last = twelve(253_402_300_799, 999_999_999).unwrap();
    assert_eq!(
        (last.unix_seconds(), last.subsec_nanos()),
        (253_402_300_799, 999_999_999)
    );
    let carried = twelve(0, u32::MAX).unwrap();
    assert_eq!(
        (carried.unix_seconds(), carried.subsec_nanos()),
        (4, 294_967_295)
    );
    // A wrong length is an error, not a panic.
    let odd = RawValue::new(
        HubProtocol::MessagePack,
        Bytes::from_static(&[0xd5, 0xff, 0, 0]),
    );
    assert!(odd.decode::<Timestamp>().is_err());
}

#[test]
fn length_prefixes_at_and_past_their_limit_are_refused() {
    for prefix in [
        // 5 bytes, the most a prefix may take, with a value past 2 GiB.
        vec![0xff, 0xff, 0xff, 0xff, 0x0f],
        // 6 bytes: longer than any prefix.
        vec![0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
        // 5 bytes whose last byte still says "more".
        vec![0x80, 0x80, 0x80, 0x80, 0x80],
    ] {
        let mut reader = RecordReader::new(HubProtocol::MessagePack, None);
        reader.push(&prefix);
        reader.push(&[0x91, 0x06]);
        assert!(reader.next_record().is_err(), "{prefix:02x?} was accepted");
    }
    // Within the receive limit or not, a record never has to arrive whole to be refused.
    let mut reader = RecordReader::new(HubProtocol::MessagePack, Some(1024));
    reader.push(&[0x80, 0x80, 0x04]);
    assert!(
        reader.next_record().is_err(),
        "a 64 KiB record past a 1 KiB limit"
    );
}

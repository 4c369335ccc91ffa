//! The scanner held to serde: what it accepts, serde accepts and reads the same way.

use super::super::fields::message;
use super::super::reader::read_with_serde;
use super::*;
use proptest::prelude::*;

/// What the scanner makes of `record`, next to what serde makes of it.
fn both(record: &[u8]) -> (Option<String>, String) {
    let record = Bytes::copy_from_slice(record);
    let mut fields = Fields::default();
    let scanned = scan(&record, &mut fields).then(|| format!("{:?}", message(fields)));
    let serde = format!("{:?}", read_with_serde(&record).and_then(message));
    (scanned, serde)
}

#[test]
fn the_usual_records_are_scanned_as_serde_reads_them() {
    let records = [
        r#"{"type":1,"invocationId":"0","target":"Echo","arguments":["hello"]}"#,
        r#"{"type":1,"target":"Send","arguments":[{"a":[1,2.5,-3e4,true,false,null]},"x"]}"#,
        r#"{"type":4,"invocationId":"12","target":"Counter","arguments":[10,0.5],"streamIds":["1","2"]}"#,
        r#"{"type":2,"invocationId":"1","item":{"id":"café","n":[]}}"#,
        r#"{"type":3,"invocationId":"7","result":null}"#,
        r#"{"type":3,"invocationId":"7","error":"failed"}"#,
        r#"{"type":3,"invocationId":"7"}"#,
        r#"{"type":5,"invocationId":"3"}"#,
        r#"{"type":6}"#,
        r#"{"type":7,"error":"Connection closed with an error.","allowReconnect":true}"#,
        r#"{"type":8,"sequenceId":1394}"#,
        r#"{"type":9,"sequenceId":1}"#,
        "  {\r\n \"type\" : 1 ,\t\"target\":\"A\", \"arguments\" : [ 1 , \"\\u00e9\\n\" ] }  ",
        r#"{"type":1,"target":"A","arguments":[],"somethingNew":{"x":[{}]}}"#,
        r#"{"type":42,"whatever":1}"#,
    ];
    for record in records {
        let (scanned, serde) = both(record.as_bytes());
        assert_eq!(scanned.as_deref(), Some(serde.as_str()), "{record}");
    }
}

#[test]
fn what_the_scanner_leaves_goes_to_serde() {
    let records = [
        r#"{"type":1,"target":"Ech\u006f","arguments":[]}"#,
        r#"{"type":1,"type":1,"target":"A","arguments":[]}"#,
        r#"{"type":1,"target":"A","arguments":[],"headers":{"k":"v"}}"#,
        r#"{"type":1.0,"target":"A","arguments":[]}"#,
        r#"{"type":-0}"#,
        r#"{"type":8,"sequenceId":-0}"#,
        r#"{"type":1,"target":"A","arguments":[01]}"#,
        r#"{"type":1,"target":"A","arguments":[1,]}"#,
        r#"{"type":1,"target":"A","arguments":["\x"]}"#,
        r#"{"type":1,"target":"A","arguments":[]} x"#,
        r#"[1,"0","A",[]]"#,
    ];
    for record in records {
        assert_eq!(both(record.as_bytes()).0, None, "{record}");
    }
    let deep = format!(
        r#"{{"type":1,"target":"A","arguments":[{}{}]}}"#,
        "[".repeat(63),
        "]".repeat(63)
    );
    assert_eq!(both(deep.as_bytes()).0, None);
    assert!(both(&[b'{', 0xff, b'}']).0.is_none());
}

fn whitespace() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["", "", "", " ", "\n", "\t ", "\r\n"]).prop_map(str::to_owned)
}

fn string() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "a", "Echo", "0", "é", "\\n", "\\\"", "\\u00e9", "\\ud800", "\\u12", "\\x", "\u{1}", "\\",
        " ", "/", "\\/",
    ]);
    prop::collection::vec(pieces, 0..4).prop_map(|pieces| format!("\"{}\"", pieces.concat()))
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        string(),
        prop::sample::select(vec![
            "0",
            "-0",
            "1",
            "42",
            "-7",
            "01",
            "1.5",
            "1.",
            ".5",
            "1e9",
            "1E+2",
            "2e-3",
            "1e",
            "-",
            "true",
            "false",
            "null",
            "nul",
            "tru",
            "9223372036854775808",
            "1.0",
            "1e999",
            "-1e-999",
            "123456789012345678901234567890",
            "-0.0e-0",
        ])
        .prop_map(str::to_owned),
    ]
}

fn value() -> impl Strategy<Value = String> {
    scalar().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            (
                prop::collection::vec((whitespace(), inner.clone()), 0..4),
                whitespace()
            )
                .prop_map(|(items, ws)| {
                    let items: Vec<String> = items
                        .into_iter()
                        .map(|(w, v)| format!("{w}{v}{w}"))
                        .collect();
                    format!("[{ws}{}]", items.join(","))
                }),
            prop::collection::vec((string(), inner), 0..3).prop_map(|entries| {
                let entries: Vec<String> = entries
                    .into_iter()
                    .map(|(k, v)| format!("{k}:{v}"))
                    .collect();
                format!("{{{}}}", entries.join(","))
            }),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "type",
            "invocationId",
            "target",
            "arguments",
            "streamIds",
            "headers",
            "item",
            "result",
            "error",
            "allowReconnect",
            "sequenceId",
            "Type",
            "other",
            "t\\u0061rget",
        ])
        .prop_map(|key| format!("\"{key}\"")),
        string(),
    ]
}

/// Bytes that change a record's meaning when put in the wrong place.
const INTERESTING: &[u8] = b"{}[]:,\"\\ 0e-\xff\x01";

fn record() -> impl Strategy<Value = Vec<u8>> {
    let entry = (whitespace(), key(), whitespace(), value(), whitespace());
    (
        whitespace(),
        prop::collection::vec(entry, 0..6),
        whitespace(),
        prop::collection::vec((any::<prop::sample::Index>(), 0u8..=5, any::<u8>()), 0..2),
    )
        .prop_map(|(lead, entries, trail, mutations)| {
            let entries: Vec<String> = entries
                .into_iter()
                .map(|(a, k, b, v, c)| format!("{a}{k}{b}:{v}{c}"))
                .collect();
            let mut bytes = format!("{lead}{{{}}}{trail}", entries.join(",")).into_bytes();
            for (at, how, byte) in mutations {
                let at = at.index(bytes.len() + 1);
                let interesting = INTERESTING[usize::from(byte) % INTERESTING.len()];
                match how {
                    0 => bytes.truncate(at),
                    1 if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    2 => bytes.insert(at, interesting),
                    3 => bytes.insert(at, byte),
                    _ if at < bytes.len() => bytes[at] = interesting,
                    _ => {}
                }
            }
            bytes
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// Whatever the scanner accepts, serde accepts and reads the same way.
    #[test]
    fn the_scanner_accepts_nothing_serde_refuses(record in record()) {
        let (scanned, serde) = both(&record);
        if let Some(scanned) = scanned {
            prop_assert_eq!(scanned, serde, "{}", String::from_utf8_lossy(&record));
        }
    }

    /// Records that serde reads plainly (no escapes in keys, no headers) are scanned.
    #[test]
    fn valid_records_are_scanned(
        kind in 1i64..10,
        id in "[0-9]{1,4}",
        target in "[A-Za-z]{1,12}",
        arguments in prop::collection::vec(value(), 0..4),
    ) {
        let arguments = arguments.join(",");
        let record = format!(
            r#"{{"type":{kind},"invocationId":"{id}","target":"{target}","arguments":[{arguments}]}}"#
        );
        let (scanned, serde) = both(record.as_bytes());
        if serde.starts_with("Ok") {
            prop_assert_eq!(scanned, Some(serde), "{}", record);
        }
    }
}

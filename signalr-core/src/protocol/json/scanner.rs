//! The usual JSON record, read in one pass without serde: keys matched as bytes, strings
//! without escapes borrowed from the record, every value validated and arguments
//! captured straight into [`RawValue`]s.
//!
//! It only speeds up what serde would accept: whatever it does not recognise as plainly
//! valid (an escape in a key, target or invocation id, a duplicate field, `headers`, a
//! syntax error, nesting past the limit, invalid UTF-8) makes [`scan`] answer `None`, and
//! the record goes to the serde reader, which gives the same answer it always did (and
//! the error message for a malformed one). Being stricter than serde is therefore safe;
//! being laxer is a bug, and the tests below hold it to serde on generated records.

use super::reader::{Fields, MAX_DEPTH};
use crate::protocol::{HubProtocol, RawValue};
use bytes::Bytes;
use bytestring::ByteString;
use std::borrow::Cow;

/// Reads the record's fields into `fields` (empty when called); `false` when it is
/// anything but the usual shape, with `fields` then in any state. (Filled in place: the
/// fields are a few hundred bytes, which returning them would copy.)
pub(super) fn scan(record: &Bytes, fields: &mut Fields) -> bool {
    let mut scanner = Scanner {
        bytes: record,
        pos: 0,
        depth: 1,
        non_ascii: false,
    };
    if scanner.record(record, fields).is_none() {
        return false;
    }
    // Outside strings every byte was ASCII; strings that held other bytes are checked
    // here, once.
    !scanner.non_ascii || std::str::from_utf8(record).is_ok()
}

/// Bits of the fields seen so far: serde rejects a repeated known field.
#[derive(Default)]
struct Seen(u16);

impl Seen {
    /// `None` when field `bit` was already seen.
    fn first(&mut self, bit: u16) -> Option<()> {
        if self.0 & (1 << bit) != 0 {
            return None;
        }
        self.0 |= 1 << bit;
        Some(())
    }
}

struct Scanner<'r> {
    bytes: &'r [u8],
    pos: usize,
    /// Nesting of the value being read; the record's own object is 1.
    depth: usize,
    /// Whether a string held a byte over 0x7F (its UTF-8 is checked at the end).
    non_ascii: bool,
}

impl<'r> Scanner<'r> {
    fn record(&mut self, record: &Bytes, fields: &mut Fields) -> Option<()> {
        let mut seen = Seen::default();
        self.skip_whitespace();
        self.expect(b'{')?;
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                self.skip_whitespace();
                let key = self.plain_string()?;
                self.skip_whitespace();
                self.expect(b':')?;
                self.skip_whitespace();
                match key {
                    b"type" => {
                        seen.first(0)?;
                        fields.kind = Some(self.integer()?);
                    }
                    b"invocationId" => {
                        seen.first(1)?;
                        fields.invocation_id = self.optional_shared_text(record)?;
                    }
                    b"target" => {
                        seen.first(2)?;
                        fields.target = self.optional_shared_text(record)?;
                    }
                    b"arguments" => {
                        seen.first(3)?;
                        fields.arguments = self.optional_arguments(record)?;
                    }
                    b"streamIds" => {
                        seen.first(4)?;
                        fields.stream_ids = self.optional_stream_ids()?;
                    }
                    b"item" => {
                        seen.first(5)?;
                        fields.item = Some(self.raw_value(record)?);
                    }
                    b"result" => {
                        seen.first(6)?;
                        fields.result = Some(self.raw_value(record)?);
                    }
                    b"error" => {
                        seen.first(7)?;
                        fields.error = self.optional_text()?.map(Cow::into_owned);
                    }
                    b"allowReconnect" => {
                        seen.first(8)?;
                        fields.allow_reconnect = self.optional_bool()?;
                    }
                    b"sequenceId" => {
                        seen.first(9)?;
                        fields.sequence_id = if self.null() {
                            None
                        } else {
                            Some(u64::try_from(self.integer()?).ok()?)
                        };
                    }
                    // Headers are rare: serde reads them.
                    b"headers" => return None,
                    _ => {
                        self.skip_value()?;
                    }
                }
                self.skip_whitespace();
                match self.next()? {
                    b',' => continue,
                    b'}' => break,
                    _ => return None,
                }
            }
        }
        self.skip_whitespace();
        (self.pos == self.bytes.len()).then_some(())
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.pos += 1;
        Some(byte)
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.next()? == byte).then_some(())
    }

    /// JSON's whitespace: space, tab, line feed, carriage return.
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// `null`, if that is what comes next.
    fn null(&mut self) -> bool {
        self.literal(b"null").is_some()
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.pos.checked_add(word.len())?;
        if self.bytes.get(self.pos..end)? != word {
            return None;
        }
        self.pos = end;
        Some(())
    }

    /// A string's contents when it has no escape; `None` for anything else.
    fn plain_string(&mut self) -> Option<&'r [u8]> {
        self.expect(b'"')?;
        let start = self.pos;
        let (end, quote) = self.find_quote_or_escape()?;
        if !quote {
            return None;
        }
        self.pos = end + 1;
        Some(&self.bytes[start..end])
    }

    /// From the current position: where the next `"` or `\` is, and whether it is the
    /// quote. `None` at a control character (serde refuses them in strings) or at the end.
    fn find_quote_or_escape(&mut self) -> Option<(usize, bool)> {
        let rest = self.bytes.get(self.pos..)?;
        let offset = memchr::memchr2(b'"', b'\\', rest)?;
        let span = &rest[..offset];
        // One pass without early exit: what the compiler vectorizes.
        let (control, high) = span.iter().fold((false, false), |(control, high), &byte| {
            (control | (byte < 0x20), high | (byte >= 0x80))
        });
        if control {
            return None;
        }
        self.non_ascii |= high;
        let end = self.pos + offset;
        Some((end, rest[offset] == b'"'))
    }

    /// A string with no escape, or `null`; `Some(None)` for `null`.
    fn optional_text(&mut self) -> Option<Option<Cow<'r, str>>> {
        if self.null() {
            return Some(None);
        }
        let text = std::str::from_utf8(self.plain_string()?).ok()?;
        Some(Some(Cow::Borrowed(text)))
    }

    /// [`optional_text`](Self::optional_text), shared with the record (its UTF-8 checked
    /// once, by the `ByteString`).
    fn optional_shared_text(&mut self, record: &Bytes) -> Option<Option<ByteString>> {
        if self.null() {
            return Some(None);
        }
        let text = ByteString::try_from(record.slice_ref(self.plain_string()?)).ok()?;
        Some(Some(text))
    }

    fn optional_bool(&mut self) -> Option<Option<bool>> {
        if self.null() {
            Some(None)
        } else if self.literal(b"true").is_some() {
            Some(Some(true))
        } else {
            self.literal(b"false")?;
            Some(Some(false))
        }
    }

    /// An integer written without fraction or exponent that fits in an `i64`.
    fn integer(&mut self) -> Option<i64> {
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let start = self.pos;
        let mut value: i64 = 0;
        while let Some(digit @ b'0'..=b'9') = self.peek() {
            value = value
                .checked_mul(10)?
                .checked_add(i64::from(digit - b'0'))?;
            self.pos += 1;
        }
        let digits = self.pos - start;
        // No digits, a leading zero, or a fraction or exponent: serde's to judge. So is
        // `-0`, which serde reads as a floating-point number.
        if digits == 0 || (digits > 1 && self.bytes[start] == b'0') || (negative && value == 0) {
            return None;
        }
        if let Some(b'.' | b'e' | b'E') = self.peek() {
            return None;
        }
        Some(if negative { -value } else { value })
    }

    fn optional_arguments(&mut self, record: &Bytes) -> Option<Option<Vec<RawValue>>> {
        if self.null() {
            return Some(None);
        }
        let mut arguments = Vec::new();
        self.array(|scanner| {
            arguments.push(scanner.raw_value(record)?);
            Some(())
        })?;
        Some(Some(arguments))
    }

    fn optional_stream_ids(&mut self) -> Option<Option<Vec<String>>> {
        if self.null() {
            return Some(None);
        }
        let mut ids = Vec::new();
        self.array(|scanner| {
            let id = std::str::from_utf8(scanner.plain_string()?).ok()?;
            ids.push(id.to_owned());
            Some(())
        })?;
        Some(Some(ids))
    }

    /// An array, each element read by `element` (which starts at the element).
    fn array(&mut self, mut element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.expect(b'[')?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
        } else {
            loop {
                self.skip_whitespace();
                element(self)?;
                self.skip_whitespace();
                match self.next()? {
                    b',' => continue,
                    b']' => break,
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(())
    }

    /// Any value, validated, as a slice of the record (no whitespace around it).
    fn raw_value(&mut self, record: &Bytes) -> Option<RawValue> {
        let start = self.pos;
        self.skip_value()?;
        Some(RawValue::new(
            HubProtocol::Json,
            record.slice(start..self.pos),
        ))
    }

    /// Any value, validated.
    fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.skip_string(),
            b'[' => self.array(Self::skip_value),
            b'{' => self.skip_object(),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.skip_number(),
            _ => None,
        }
    }

    fn skip_object(&mut self) -> Option<()> {
        self.expect(b'{')?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                self.skip_whitespace();
                self.skip_string()?;
                self.skip_whitespace();
                self.expect(b':')?;
                self.skip_whitespace();
                self.skip_value()?;
                self.skip_whitespace();
                match self.next()? {
                    b',' => continue,
                    b'}' => break,
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(())
    }

    /// A string with any valid escapes.
    fn skip_string(&mut self) -> Option<()> {
        self.expect(b'"')?;
        loop {
            let (end, quote) = self.find_quote_or_escape()?;
            self.pos = end + 1;
            if quote {
                return Some(());
            }
            match self.next()? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                b'u' => {
                    for _ in 0..4 {
                        if !self.next()?.is_ascii_hexdigit() {
                            return None;
                        }
                    }
                }
                _ => return None,
            }
        }
    }

    /// A number in JSON's grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn skip_number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.next()? {
            b'0' => {}
            b'1'..=b'9' => self.skip_digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.digits()?;
        }
        Some(())
    }

    /// One digit or more.
    fn digits(&mut self) -> Option<()> {
        if !self.peek()?.is_ascii_digit() {
            return None;
        }
        self.skip_digits();
        Some(())
    }

    fn skip_digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::reader::{message, read_with_serde};
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
            "a", "Echo", "0", "é", "\\n", "\\\"", "\\u00e9", "\\ud800", "\\u12", "\\x", "\u{1}",
            "\\", " ", "/", "\\/",
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
}

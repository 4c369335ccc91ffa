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

use super::fields::{Fields, MAX_DEPTH};
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
        depth: 0,
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
    /// Nesting of the value being read; inside the record's own object it is 1.
    depth: usize,
    /// Whether a string held a byte over 0x7F (its UTF-8 is checked at the end).
    non_ascii: bool,
}

impl<'r> Scanner<'r> {
    fn record(&mut self, record: &Bytes, fields: &mut Fields) -> Option<()> {
        let mut seen = Seen::default();
        self.skip_whitespace();
        self.container(b'{', b'}', |scanner| {
            scanner.field(record, fields, &mut seen)
        })?;
        self.skip_whitespace();
        (self.pos == self.bytes.len()).then_some(())
    }

    /// One field of the record, into `fields`.
    fn field(&mut self, record: &Bytes, fields: &mut Fields, seen: &mut Seen) -> Option<()> {
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
            _ => self.skip_value()?,
        }
        Some(())
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
    fn array(&mut self, element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.container(b'[', b']', element)
    }

    /// An array or object, one level deeper: `open`, entries read by `entry` (which
    /// starts at the entry) separated by commas, `close`.
    fn container(
        &mut self,
        open: u8,
        close: u8,
        mut entry: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.expect(open)?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        self.skip_whitespace();
        if self.peek() == Some(close) {
            self.pos += 1;
        } else {
            loop {
                self.skip_whitespace();
                entry(self)?;
                self.skip_whitespace();
                match self.next()? {
                    b',' => continue,
                    byte if byte == close => break,
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
        self.container(b'{', b'}', |scanner| {
            scanner.skip_string()?;
            scanner.skip_whitespace();
            scanner.expect(b':')?;
            scanner.skip_whitespace();
            scanner.skip_value()
        })
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
#[path = "scanner_tests.rs"]
mod tests;

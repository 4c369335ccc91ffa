//! Writing JSON strings, and values that are strings, without serde's byte-by-byte escape
//! loop when nothing needs escaping (the usual id, target or string result).
//!
//! serde_json looks each byte up in its escape table and writes the runs between escapes
//! one by one: about 10 instructions a byte. A string with nothing to escape (no quote,
//! backslash or control character: serde escapes nothing else) is written here in one
//! copy after one vectorized check, byte for byte what serde would write.

use serde::ser::{Impossible, Serialize, Serializer};
use std::fmt;

/// Appends `text` as a JSON string.
pub(super) fn write_str(out: &mut Vec<u8>, text: &str) -> Result<(), serde_json::Error> {
    if needs_escape(text.as_bytes()) {
        return serde_json::to_writer(out, text);
    }
    out.reserve(text.len() + 2);
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
    Ok(())
}

/// Appends `value` as JSON: a value that serializes as a string through
/// [`write_str`], anything else through serde_json.
pub(super) fn write_value<P: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &P,
) -> Result<(), serde_json::Error> {
    match value.serialize(StringOnly { out: &mut *out }) {
        Ok(()) => Ok(()),
        // Not a string: nothing was written.
        Err(NotAString) => serde_json::to_writer(out, value),
    }
}

/// Whether serde_json would escape a byte of `bytes`. One pass without early exit,
/// which the compiler vectorizes.
fn needs_escape(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |special, &byte| {
        special | (byte == b'"') | (byte == b'\\') | (byte < 0x20)
    })
}

/// A serializer that writes a string and refuses everything else before writing anything.
struct StringOnly<'a> {
    out: &'a mut Vec<u8>,
}

/// What [`StringOnly`] answers for anything but a string.
#[derive(Debug)]
struct NotAString;

impl fmt::Display for NotAString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a string")
    }
}

impl std::error::Error for NotAString {}

impl serde::ser::Error for NotAString {
    fn custom<T: fmt::Display>(_: T) -> Self {
        NotAString
    }
}

/// Every method but `serialize_str` refuses.
macro_rules! refuse {
    ($($method:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $method(self, $(_: $arg),*) -> Result<(), NotAString> { Err(NotAString) })*
    };
}

impl Serializer for StringOnly<'_> {
    type Ok = ();
    type Error = NotAString;
    type SerializeSeq = Impossible<(), NotAString>;
    type SerializeTuple = Impossible<(), NotAString>;
    type SerializeTupleStruct = Impossible<(), NotAString>;
    type SerializeTupleVariant = Impossible<(), NotAString>;
    type SerializeMap = Impossible<(), NotAString>;
    type SerializeStruct = Impossible<(), NotAString>;
    type SerializeStructVariant = Impossible<(), NotAString>;

    fn serialize_str(self, text: &str) -> Result<(), NotAString> {
        // serde_json's own errors writing to a Vec cannot happen.
        write_str(self.out, text).map_err(|_| NotAString)
    }

    refuse!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_i128(i128),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_u128(u128),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), NotAString> {
        Err(NotAString)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), NotAString> {
        Err(NotAString)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), NotAString> {
        Err(NotAString)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, NotAString> {
        Err(NotAString)
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotAString> {
        Err(NotAString)
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, NotAString> {
        Err(NotAString)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, NotAString> {
        Err(NotAString)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotAString> {
        Err(NotAString)
    }

    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, NotAString> {
        Err(NotAString)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, NotAString> {
        Err(NotAString)
    }
}

#[cfg(test)]
mod tests {
    use super::{write_str, write_value};
    use proptest::prelude::*;
    use serde::Serialize;

    fn ours<P: Serialize + ?Sized>(value: &P) -> Vec<u8> {
        let mut out = b"prefix".to_vec();
        write_value(&mut out, value).unwrap();
        out.split_off(6)
    }

    #[derive(Serialize)]
    struct Point {
        x: i32,
        y: Option<String>,
    }

    #[test]
    fn strings_and_everything_else_are_written_as_serde_writes_them() {
        assert_eq!(ours("plain"), br#""plain""#);
        assert_eq!(
            ours(&String::from("a\"b\\c\n\u{1}é")),
            serde_json::to_vec("a\"b\\c\n\u{1}é").unwrap()
        );
        assert_eq!(
            ours(&Some("x")),
            br#""x""#.to_vec(),
            "serde writes Some(x) as x"
        );
        assert_eq!(ours(&12), b"12");
        assert_eq!(ours(&'c'), br#""c""#);
        assert_eq!(ours(&()), b"null");
        let point = Point {
            x: 1,
            y: Some("q\"".into()),
        };
        assert_eq!(ours(&point), serde_json::to_vec(&point).unwrap());
        assert_eq!(ours(&("a", 1)), serde_json::to_vec(&("a", 1)).unwrap());
        let mut out = Vec::new();
        write_str(&mut out, "id\t7").unwrap();
        assert_eq!(out, serde_json::to_vec("id\t7").unwrap());
    }

    proptest! {
        #[test]
        fn any_string_is_written_as_serde_writes_it(text in any::<String>()) {
            prop_assert_eq!(ours(&text), serde_json::to_vec(&text).unwrap());
            let mut out = Vec::new();
            write_str(&mut out, &text).unwrap();
            prop_assert_eq!(out, serde_json::to_vec(&text).unwrap());
        }
    }
}

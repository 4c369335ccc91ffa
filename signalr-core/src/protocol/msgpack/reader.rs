//! The MessagePack hub protocol: parsing one record (without its varint length prefix).
//!
//! Payload values are located with [`Reader::skip_value`] and kept as byte slices of the
//! record; nothing is decoded into a value tree.

use crate::protocol::inbound::{
    CloseMessage, CompletionMessage, CompletionOutcome, HubMessage, InvocationMessage,
    StreamItemMessage,
};
use crate::protocol::{HubProtocol, ProtocolError, RawValue};
use bytes::Bytes;
use bytestring::ByteString;
use std::collections::BTreeMap;

/// Deepest nesting accepted inside a payload value, as a guard against stack exhaustion.
const MAX_DEPTH: usize = 64;

#[cold]
fn malformed(reason: impl Into<String>) -> ProtocolError {
    ProtocolError::malformed(HubProtocol::MessagePack, reason)
}

/// A cursor over one MessagePack record.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtocolError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.data.len())
            .ok_or_else(|| malformed("unexpected end of message"))?;
        let slice = &self.data[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn byte(&mut self) -> Result<u8, ProtocolError> {
        Ok(self.take(1)?[0])
    }

    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    fn be(&mut self, n: usize) -> Result<u64, ProtocolError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn array_len(&mut self) -> Result<usize, ProtocolError> {
        let len = match self.byte()? {
            m @ 0x90..=0x9f => u64::from(m & 0x0f),
            0xdc => self.be(2)?,
            0xdd => self.be(4)?,
            m => {
                return Err(malformed(format!(
                    "expected an array, found marker 0x{m:02x}"
                )))
            }
        };
        usize::try_from(len).map_err(|_| malformed("array too long"))
    }

    fn map_len(&mut self) -> Result<usize, ProtocolError> {
        let len = match self.byte()? {
            m @ 0x80..=0x8f => u64::from(m & 0x0f),
            0xde => self.be(2)?,
            0xdf => self.be(4)?,
            m => return Err(malformed(format!("expected a map, found marker 0x{m:02x}"))),
        };
        usize::try_from(len).map_err(|_| malformed("map too long"))
    }

    fn is_nil(&mut self) -> bool {
        if self.peek() == Some(0xc0) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn string(&mut self) -> Result<String, ProtocolError> {
        std::str::from_utf8(self.string_bytes()?)
            .map(str::to_owned)
            .map_err(|_| malformed("string is not valid UTF-8"))
    }

    /// A string's bytes, not yet checked as UTF-8.
    fn string_bytes(&mut self) -> Result<&'a [u8], ProtocolError> {
        let len = match self.byte()? {
            m @ 0xa0..=0xbf => u64::from(m & 0x1f),
            0xd9 => self.be(1)?,
            0xda => self.be(2)?,
            0xdb => self.be(4)?,
            m => {
                return Err(malformed(format!(
                    "expected a string, found marker 0x{m:02x}"
                )))
            }
        };
        let len = usize::try_from(len).map_err(|_| malformed("string too long"))?;
        self.take(len)
    }

    /// A string shared with `record` (the record this reader reads), without a copy.
    fn shared_string(&mut self, record: &Bytes) -> Result<ByteString, ProtocolError> {
        let bytes = self.string_bytes()?;
        ByteString::try_from(record.slice_ref(bytes))
            .map_err(|_| malformed("string is not valid UTF-8"))
    }

    fn optional_shared_string(
        &mut self,
        record: &Bytes,
    ) -> Result<Option<ByteString>, ProtocolError> {
        if self.is_nil() {
            Ok(None)
        } else {
            self.shared_string(record).map(Some)
        }
    }

    fn optional_string(&mut self) -> Result<Option<String>, ProtocolError> {
        if self.is_nil() {
            Ok(None)
        } else {
            self.string().map(Some)
        }
    }

    fn integer(&mut self) -> Result<i64, ProtocolError> {
        let value = match self.byte()? {
            m @ 0x00..=0x7f => i64::from(m),
            m @ 0xe0..=0xff => i64::from(m as i8),
            0xcc => self.be(1)? as i64,
            0xcd => self.be(2)? as i64,
            0xce => self.be(4)? as i64,
            0xcf => i64::try_from(self.be(8)?).map_err(|_| malformed("integer out of range"))?,
            0xd0 => i64::from(self.be(1)? as u8 as i8),
            0xd1 => i64::from(self.be(2)? as u16 as i16),
            0xd2 => i64::from(self.be(4)? as u32 as i32),
            0xd3 => self.be(8)? as i64,
            m => {
                return Err(malformed(format!(
                    "expected an integer, found marker 0x{m:02x}"
                )))
            }
        };
        Ok(value)
    }

    fn boolean(&mut self) -> Result<bool, ProtocolError> {
        match self.byte()? {
            0xc2 => Ok(false),
            0xc3 => Ok(true),
            m => Err(malformed(format!(
                "expected a boolean, found marker 0x{m:02x}"
            ))),
        }
    }

    fn headers(&mut self) -> Result<BTreeMap<String, String>, ProtocolError> {
        let len = self.map_len()?;
        let mut headers = BTreeMap::new();
        for _ in 0..len {
            let key = self.string()?;
            let value = self.string()?;
            headers.insert(key, value);
        }
        Ok(headers)
    }

    /// Skips one value and returns the byte range it occupied.
    fn skip_value(&mut self) -> Result<std::ops::Range<usize>, ProtocolError> {
        let start = self.pos;
        let mut pending: usize = 1;
        let mut depth_stack: Vec<usize> = Vec::new();
        while pending > 0 {
            pending -= 1;
            let (skip, children) = match self.byte()? {
                0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (0, 0),
                m @ 0x80..=0x8f => (0, 2 * u64::from(m & 0x0f)),
                m @ 0x90..=0x9f => (0, u64::from(m & 0x0f)),
                m @ 0xa0..=0xbf => (u64::from(m & 0x1f), 0),
                0xc4 | 0xd9 => (self.be(1)?, 0),
                0xc5 | 0xda => (self.be(2)?, 0),
                0xc6 | 0xdb => (self.be(4)?, 0),
                0xc7 => (self.be(1)? + 1, 0),
                0xc8 => (self.be(2)? + 1, 0),
                0xc9 => (self.be(4)? + 1, 0),
                0xca => (4, 0),
                0xcb => (8, 0),
                0xcc | 0xd0 => (1, 0),
                0xcd | 0xd1 => (2, 0),
                0xce | 0xd2 => (4, 0),
                0xcf | 0xd3 => (8, 0),
                0xd4 => (2, 0),
                0xd5 => (3, 0),
                0xd6 => (5, 0),
                0xd7 => (9, 0),
                0xd8 => (17, 0),
                0xdc => (0, self.be(2)?),
                0xdd => (0, self.be(4)?),
                0xde => (0, 2 * self.be(2)?),
                0xdf => (0, 2 * self.be(4)?),
                0xc1 => return Err(malformed("invalid marker 0xc1")),
            };
            let skip = usize::try_from(skip).map_err(|_| malformed("value too long"))?;
            self.take(skip)?;
            let children = usize::try_from(children).map_err(|_| malformed("value too long"))?;
            // Every element needs at least one byte: reject counts the record cannot hold.
            if children > self.data.len() - self.pos {
                return Err(malformed("unexpected end of message"));
            }
            if children > 0 {
                depth_stack.push(pending);
                if depth_stack.len() > MAX_DEPTH {
                    return Err(malformed("value nested too deeply"));
                }
                pending = children;
            }
            while pending == 0 {
                match depth_stack.pop() {
                    Some(outer) => pending = outer,
                    None => break,
                }
            }
        }
        Ok(start..self.pos)
    }
}

pub(in crate::protocol) fn parse(record: Bytes) -> Result<Option<HubMessage>, ProtocolError> {
    let mut r = Reader {
        data: &record,
        pos: 0,
    };
    let len = r.array_len()?;
    if len == 0 {
        return Err(malformed("empty message array"));
    }
    let kind = r.integer()?;
    let need = |min: usize| {
        if len < min {
            Err(malformed(format!(
                "message of type {kind} needs at least {min} elements, got {len}"
            )))
        } else {
            Ok(())
        }
    };
    let raw = |range: std::ops::Range<usize>| {
        RawValue::new(HubProtocol::MessagePack, record.slice(range))
    };
    let message = match kind {
        1 | 4 => {
            need(5)?;
            let headers = r.headers()?;
            let invocation_id = r
                .optional_shared_string(&record)?
                .filter(|id| !id.is_empty());
            if kind == 4 && invocation_id.is_none() {
                return Err(malformed("a StreamInvocation needs an invocation id"));
            }
            let target = r.shared_string(&record)?;
            let argc = r.array_len()?;
            let mut arguments = Vec::with_capacity(argc.min(64));
            for _ in 0..argc {
                arguments.push(raw(r.skip_value()?));
            }
            let mut stream_ids = Vec::new();
            if len >= 6 {
                let count = r.array_len()?;
                for _ in 0..count {
                    stream_ids.push(r.string()?);
                }
            }
            let invocation = InvocationMessage {
                invocation_id,
                target,
                arguments,
                stream_ids,
                headers,
            };
            if kind == 1 {
                HubMessage::Invocation(invocation)
            } else {
                HubMessage::StreamInvocation(invocation)
            }
        }
        2 => {
            need(4)?;
            r.headers()?;
            let invocation_id = r.string()?;
            let item = raw(r.skip_value()?);
            HubMessage::StreamItem(StreamItemMessage {
                invocation_id,
                item,
            })
        }
        3 => {
            need(4)?;
            r.headers()?;
            let invocation_id = r.string()?;
            let outcome = match r.integer()? {
                1 => {
                    need(5)?;
                    CompletionOutcome::Error(r.string()?)
                }
                2 => CompletionOutcome::Void,
                3 => {
                    need(5)?;
                    CompletionOutcome::Result(raw(r.skip_value()?))
                }
                _ => return Err(malformed("Invalid invocation result kind.")),
            };
            HubMessage::Completion(CompletionMessage {
                invocation_id,
                outcome,
            })
        }
        5 => {
            need(3)?;
            r.headers()?;
            HubMessage::CancelInvocation {
                invocation_id: r.string()?,
            }
        }
        6 => HubMessage::Ping,
        7 => {
            need(2)?;
            let error = r.optional_string()?;
            let allow_reconnect = if len >= 3 { r.boolean()? } else { false };
            HubMessage::Close(CloseMessage {
                error,
                allow_reconnect,
            })
        }
        8 | 9 => {
            need(2)?;
            let sequence_id =
                u64::try_from(r.integer()?).map_err(|_| malformed("negative sequence id"))?;
            HubMessage::sequence_record(kind, sequence_id)
        }
        _ => return Ok(None),
    };
    Ok(Some(message))
}

//! Splitting a byte stream into hub-protocol records.
//!
//! Transports do not preserve message boundaries: one frame may hold several records and a
//! record may span frames. [`RecordReader`] buffers bytes and yields whole records.

use super::error::FrameError;
use super::HubProtocol;
use bytes::{Buf, Bytes, BytesMut};

/// The JSON record separator.
pub(crate) const RECORD_SEPARATOR: u8 = 0x1e;

/// Buffers incoming bytes and yields complete records of one protocol.
///
/// ```
/// use signalr_core::protocol::{HubProtocol, RecordReader};
/// let mut reader = RecordReader::new(HubProtocol::Json, Some(1024));
/// reader.push(b"{\"type\":6}\x1e{\"ty");
/// assert_eq!(&reader.next_record().unwrap().unwrap()[..], b"{\"type\":6}");
/// assert!(reader.next_record().unwrap().is_none());
/// reader.push(b"pe\":6}\x1e");
/// assert_eq!(&reader.next_record().unwrap().unwrap()[..], b"{\"type\":6}");
/// ```
#[derive(Debug)]
pub struct RecordReader {
    protocol: HubProtocol,
    max_size: Option<usize>,
    buffer: BytesMut,
    /// How far the buffer was already searched for a separator (JSON only).
    scanned: usize,
    /// A received chunk not copied into `buffer`: while it starts at a record boundary,
    /// its records are handed out as slices of it. Only ever set while `buffer` is empty.
    pending: Bytes,
}

impl RecordReader {
    /// A reader for `protocol` that rejects records over `max_size` bytes (`None`: no limit).
    pub fn new(protocol: HubProtocol, max_size: Option<usize>) -> Self {
        RecordReader {
            protocol,
            max_size,
            buffer: BytesMut::new(),
            scanned: 0,
            pending: Bytes::new(),
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.spill();
        self.buffer.extend_from_slice(data);
    }

    /// Appends a received chunk. When nothing is buffered, it is not copied: the records
    /// it holds whole are slices of it (what is left of an unfinished one is copied).
    pub fn push_bytes(&mut self, data: Bytes) {
        if self.buffer.is_empty() && self.pending.is_empty() {
            self.pending = data;
        } else {
            self.spill();
            self.buffer.extend_from_slice(&data);
        }
    }

    /// Moves the chunk not yet copied into the buffer.
    fn spill(&mut self) {
        if !self.pending.is_empty() {
            self.buffer.extend_from_slice(&self.pending);
            self.pending = Bytes::new();
        }
    }

    /// Whether bytes of an unfinished record are buffered.
    pub fn has_partial(&self) -> bool {
        !self.buffer.is_empty() || !self.pending.is_empty()
    }

    /// Takes the next complete record, without its framing.
    pub fn next_record(&mut self) -> Result<Option<Bytes>, FrameError> {
        if !self.pending.is_empty() {
            if let Some(record) = self.next_from_pending()? {
                return Ok(Some(record));
            }
            // An unfinished record: it waits in the buffer for the rest.
            self.spill();
        }
        match self.protocol {
            HubProtocol::Json => self.next_json(),
            HubProtocol::MessagePack => self.next_msgpack(),
        }
    }

    /// The next record whole in the uncopied chunk, as a slice of it.
    fn next_from_pending(&mut self) -> Result<Option<Bytes>, FrameError> {
        let (start, end, next) = match self.protocol {
            HubProtocol::Json => {
                let Some(end) = memchr::memchr(RECORD_SEPARATOR, &self.pending) else {
                    self.check_size(self.pending.len())?;
                    return Ok(None);
                };
                self.check_size(end)?;
                (0, end, end + 1)
            }
            HubProtocol::MessagePack => {
                let Some((length, prefix)) = read_varint(&self.pending)? else {
                    return Ok(None);
                };
                self.check_size(length)?;
                if self.pending.len() - prefix < length {
                    return Ok(None);
                }
                (prefix, prefix + length, prefix + length)
            }
        };
        let record = self.pending.slice(start..end);
        if next == self.pending.len() {
            // Let go of the chunk: an idle connection keeps no buffer.
            self.pending = Bytes::new();
        } else {
            self.pending.advance(next);
        }
        Ok(Some(record))
    }

    fn next_json(&mut self) -> Result<Option<Bytes>, FrameError> {
        let found = memchr::memchr(RECORD_SEPARATOR, &self.buffer[self.scanned..])
            .map(|i| i + self.scanned);
        match found {
            Some(end) => {
                self.check_size(end)?;
                let record = self.buffer.split_to(end).freeze();
                self.buffer.advance(1);
                self.scanned = 0;
                if self.buffer.is_empty() {
                    // Release the allocation of a drained buffer: idle connections stay small.
                    self.buffer = BytesMut::new();
                }
                Ok(Some(record))
            }
            None => {
                self.scanned = self.buffer.len();
                self.check_size(self.buffer.len())?;
                Ok(None)
            }
        }
    }

    fn next_msgpack(&mut self) -> Result<Option<Bytes>, FrameError> {
        let Some((length, prefix)) = read_varint(&self.buffer)? else {
            return Ok(None);
        };
        self.check_size(length)?;
        if self.buffer.len() - prefix < length {
            return Ok(None);
        }
        self.buffer.advance(prefix);
        let record = self.buffer.split_to(length).freeze();
        if self.buffer.is_empty() {
            self.buffer = BytesMut::new();
        }
        Ok(Some(record))
    }

    fn check_size(&self, size: usize) -> Result<(), FrameError> {
        match self.max_size {
            Some(limit) if size > limit => Err(FrameError::TooLarge { limit }),
            _ => Ok(()),
        }
    }
}

/// Reads a varint length prefix: `Ok(None)` when more bytes are needed.
fn read_varint(data: &[u8]) -> Result<Option<(usize, usize)>, FrameError> {
    let mut length: u64 = 0;
    for (i, byte) in data.iter().take(5).enumerate() {
        if i == 4 && *byte > 0x07 {
            return Err(FrameError::InvalidLength);
        }
        length |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            if length == 0 {
                return Err(FrameError::InvalidLength);
            }
            let length = usize::try_from(length).map_err(|_| FrameError::InvalidLength)?;
            return Ok(Some((length, i + 1)));
        }
    }
    if data.len() >= 5 {
        return Err(FrameError::InvalidLength);
    }
    Ok(None)
}

/// Writes a varint length prefix.
pub(crate) fn write_varint(buf: &mut BytesMut, length: usize) {
    let (bytes, used) = varint(length);
    buf.extend_from_slice(&bytes[..used]);
}

/// `length` as a varint (7 bits a byte, low first): the bytes, and how many are used.
fn varint(mut length: usize) -> ([u8; 10], usize) {
    let mut bytes = [0u8; 10];
    let mut used = 0;
    loop {
        let mut byte = (length & 0x7f) as u8;
        length >>= 7;
        if length > 0 {
            byte |= 0x80;
        }
        bytes[used] = byte;
        used += 1;
        if length == 0 {
            return (bytes, used);
        }
    }
}

/// Bytes kept free in front of a MessagePack body for its length prefix: the longest
/// varint [`frame_in_place`] writes there.
pub(crate) const PREFIX_ROOM: usize = 5;

/// How many bytes to leave free before writing a body of `protocol` for
/// [`frame_in_place`].
pub(crate) fn room_before_body(protocol: HubProtocol) -> usize {
    match protocol {
        HubProtocol::Json => 0,
        HubProtocol::MessagePack => PREFIX_ROOM,
    }
}

/// Frames the body written into `out` after [`room_before_body`] free bytes, without
/// copying it: JSON gets its separator appended, MessagePack its length prefix written
/// into the room before it.
pub(crate) fn frame_in_place(protocol: HubProtocol, mut out: Vec<u8>) -> Bytes {
    match protocol {
        HubProtocol::Json => {
            out.push(RECORD_SEPARATOR);
            Bytes::from(out)
        }
        HubProtocol::MessagePack => {
            let (prefix, used) = varint(out.len() - PREFIX_ROOM);
            let prefix = &prefix[..used];
            if prefix.len() > PREFIX_ROOM {
                // A body of 32 GiB or more: framed by copying.
                let mut buf = BytesMut::with_capacity(prefix.len() + out.len());
                buf.extend_from_slice(prefix);
                buf.extend_from_slice(&out[PREFIX_ROOM..]);
                return buf.freeze();
            }
            let start = PREFIX_ROOM - prefix.len();
            out[start..PREFIX_ROOM].copy_from_slice(prefix);
            let mut framed = Bytes::from(out);
            framed.advance(start);
            framed
        }
    }
}

/// Appends one framed record of `protocol` whose body `write_body` produces.
pub(crate) fn frame(protocol: HubProtocol, buf: &mut BytesMut, body: &[u8]) {
    match protocol {
        HubProtocol::Json => {
            buf.extend_from_slice(body);
            buf.extend_from_slice(&[RECORD_SEPARATOR]);
        }
        HubProtocol::MessagePack => {
            write_varint(buf, body.len());
            buf.extend_from_slice(body);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_vectors_match_the_spec() {
        for (length, expected) in [
            (6usize, &[0x06u8][..]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (300, &[0xac, 0x02]),
            (5248, &[0x80, 0x29]),
            (2_147_483_647, &[0xff, 0xff, 0xff, 0xff, 0x07]),
        ] {
            let mut buf = BytesMut::new();
            write_varint(&mut buf, length);
            assert_eq!(&buf[..], expected, "writing {length}");
            assert_eq!(read_varint(expected), Ok(Some((length, expected.len()))));
        }
    }

    #[test]
    fn chunks_pushed_uncopied_yield_the_records_at_every_split() {
        for protocol in [HubProtocol::Json, HubProtocol::MessagePack] {
            let bodies: [&[u8]; 3] = [b"{\"type\":6}", &[b'x'; 200], b"{}"];
            let mut stream = BytesMut::new();
            for body in bodies {
                frame(protocol, &mut stream, body);
            }
            let stream = stream.freeze();
            for first in 0..=stream.len() {
                for second in first..=stream.len() {
                    let mut reader = RecordReader::new(protocol, None);
                    let mut records = Vec::new();
                    for (from, to) in [(0, first), (first, second), (second, stream.len())] {
                        reader.push_bytes(stream.slice(from..to));
                        while let Some(record) = reader.next_record().unwrap() {
                            records.push(record);
                        }
                    }
                    assert_eq!(
                        records, bodies,
                        "{protocol:?} split at {first} and {second}"
                    );
                    assert!(!reader.has_partial());
                }
            }
        }
        // The size limit holds for an uncopied chunk too.
        let mut reader = RecordReader::new(HubProtocol::Json, Some(4));
        reader.push_bytes(Bytes::from_static(b"{\"type\":6}\x1e"));
        assert!(matches!(
            reader.next_record(),
            Err(FrameError::TooLarge { limit: 4 })
        ));
        let mut reader = RecordReader::new(HubProtocol::MessagePack, Some(4));
        reader.push_bytes(Bytes::from_static(&[0x05, 1, 2, 3, 4, 5]));
        assert!(matches!(
            reader.next_record(),
            Err(FrameError::TooLarge { limit: 4 })
        ));
    }

    #[test]
    fn bodies_framed_in_place_read_back_whole_in_both_protocols() {
        for protocol in [HubProtocol::Json, HubProtocol::MessagePack] {
            // Lengths around the varint's one-, two- and three-byte forms.
            for length in [0usize, 1, 127, 128, 16_383, 16_384, 70_000] {
                let body: Vec<u8> = (0..length).map(|i| (i % 29) as u8 + b'a').collect();
                let mut out = vec![0xee; room_before_body(protocol)];
                out.extend_from_slice(&body);
                let framed = frame_in_place(protocol, out);
                let mut expected = BytesMut::new();
                frame(protocol, &mut expected, &body);
                assert_eq!(framed, expected.freeze(), "{protocol:?}, {length} bytes");
                if length == 0 {
                    continue; // an empty record is framed alike, and refused when read
                }
                let mut reader = RecordReader::new(protocol, None);
                reader.push(&framed);
                let record = reader.next_record().unwrap().unwrap();
                assert_eq!(&record[..], &body[..], "{protocol:?}, {length} bytes");
            }
        }
    }

    #[test]
    fn varint_over_two_gigabytes_is_rejected() {
        assert_eq!(
            read_varint(&[0xff, 0xff, 0xff, 0xff, 0x08]),
            Err(FrameError::InvalidLength)
        );
        assert_eq!(read_varint(&[0x80, 0x80]), Ok(None));
        assert_eq!(read_varint(&[0x00]), Err(FrameError::InvalidLength));
    }

    #[test]
    fn msgpack_records_split_across_pushes_are_reassembled() {
        let mut reader = RecordReader::new(HubProtocol::MessagePack, None);
        reader.push(&[0x02, 0x91]);
        assert_eq!(reader.next_record(), Ok(None));
        reader.push(&[0x06, 0x02, 0x91, 0x06]);
        assert_eq!(
            reader.next_record().unwrap().unwrap().as_ref(),
            &[0x91, 0x06]
        );
        assert_eq!(
            reader.next_record().unwrap().unwrap().as_ref(),
            &[0x91, 0x06]
        );
        assert_eq!(reader.next_record(), Ok(None));
        assert!(!reader.has_partial());
    }

    #[test]
    fn oversized_records_are_rejected_before_they_are_buffered_whole() {
        let mut reader = RecordReader::new(HubProtocol::MessagePack, Some(100));
        reader.push(&[0xac, 0x02]);
        assert_eq!(
            reader.next_record(),
            Err(FrameError::TooLarge { limit: 100 })
        );
        let mut reader = RecordReader::new(HubProtocol::Json, Some(4));
        reader.push(b"{\"type\"");
        assert_eq!(reader.next_record(), Err(FrameError::TooLarge { limit: 4 }));
    }
}

//! The MessagePack envelopes ASP.NET Core's Redis backplane publishes
//! (`RedisProtocol` in `Microsoft.AspNetCore.SignalR.StackExchangeRedis`), written with the
//! smallest encodings as MessagePack-CSharp writes them, and read leniently as .NET reads
//! them: arrays longer than expected are accepted and their extra items ignored.
//!
//! - invocation (all, group, user and connection channels):
//!   `[excluded ids, {protocol name: framed record}]`, plus `invocation id, return channel`
//!   when the sender awaits a client result;
//! - group command (`internal:groups`): `[id, server name, action, group, connection id]`;
//! - ack (`internal:ack:{server}`): `[id]`;
//! - client result (`internal:return:{server}`): `[protocol name, framed Completion]`.

use bytes::Bytes;
use rmp::encode as mp;
use rmp::Marker;
use signalr_core::protocol::HubProtocol;

/// A payload that is not one of the backplane's envelopes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed backplane message: {0}")]
pub(crate) struct EnvelopeError(String);

/// An invocation as published on an all, group, user or connection channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RedisInvocation {
    /// Connections that must not receive it.
    pub(crate) excluded: Vec<String>,
    /// The framed record for each protocol the publishing server supports, by protocol
    /// name; slices of the received payload, forwarded without copying.
    pub(crate) records: Vec<(String, Bytes)>,
    /// Set when the publisher awaits a client result: the invocation id in the records
    /// and the channel the Completion goes back on.
    pub(crate) client_result: Option<(String, String)>,
}

impl RedisInvocation {
    /// The records of the protocols this crate implements; unknown names are skipped.
    pub(crate) fn known_records(&self) -> impl Iterator<Item = (HubProtocol, Bytes)> + '_ {
        self.records.iter().filter_map(|(name, bytes)| {
            HubProtocol::from_name(name).map(|protocol| (protocol, bytes.clone()))
        })
    }
}

/// Add or remove, as `GroupAction` numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupAction {
    /// `1`
    Add,
    /// `2`
    Remove,
}

/// A group change for a connection that may live on another server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupCommand {
    /// The sender's counter, echoed in the ack.
    pub(crate) id: i32,
    /// Where the ack goes (`internal:ack:{server_name}`).
    pub(crate) server_name: String,
    pub(crate) action: GroupAction,
    pub(crate) group: String,
    pub(crate) connection_id: String,
}

/// A client's Completion on its way back to the server that awaits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RedisCompletion {
    /// The protocol of the client that answered.
    pub(crate) protocol_name: String,
    /// The framed Completion record, in that protocol.
    pub(crate) record: Bytes,
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    // Writing into a Vec cannot fail.
    let _ = mp::write_str(out, s);
}

fn write_bin(out: &mut Vec<u8>, b: &[u8]) {
    let _ = mp::write_bin(out, b);
}

fn write_array_len(out: &mut Vec<u8>, len: usize) {
    let _ = mp::write_array_len(out, u32::try_from(len).unwrap_or(u32::MAX));
}

/// The envelope of an invocation: `records` are framed records, one per protocol.
pub(crate) fn write_invocation(
    excluded: &[impl AsRef<str>],
    records: &[(HubProtocol, Bytes)],
    client_result: Option<(&str, &str)>,
) -> Bytes {
    let size: usize = records.iter().map(|(_, b)| b.len() + 16).sum::<usize>()
        + excluded
            .iter()
            .map(|id| id.as_ref().len() + 2)
            .sum::<usize>()
        + 64;
    let mut out = Vec::with_capacity(size);
    write_array_len(&mut out, if client_result.is_some() { 4 } else { 2 });
    write_array_len(&mut out, excluded.len());
    for id in excluded {
        write_str(&mut out, id.as_ref());
    }
    let _ = mp::write_map_len(&mut out, u32::try_from(records.len()).unwrap_or(u32::MAX));
    for (protocol, bytes) in records {
        write_str(&mut out, protocol.name());
        write_bin(&mut out, bytes);
    }
    if let Some((invocation_id, return_channel)) = client_result {
        write_str(&mut out, invocation_id);
        write_str(&mut out, return_channel);
    }
    Bytes::from(out)
}

/// The envelope of a group command.
pub(crate) fn write_group_command(command: &GroupCommand) -> Bytes {
    let mut out = Vec::with_capacity(
        16 + command.server_name.len() + command.group.len() + command.connection_id.len(),
    );
    write_array_len(&mut out, 5);
    let _ = mp::write_sint(&mut out, i64::from(command.id));
    write_str(&mut out, &command.server_name);
    let action = match command.action {
        GroupAction::Add => 1,
        GroupAction::Remove => 2,
    };
    let _ = mp::write_pfix(&mut out, action);
    write_str(&mut out, &command.group);
    write_str(&mut out, &command.connection_id);
    Bytes::from(out)
}

/// The envelope of an ack.
pub(crate) fn write_ack(id: i32) -> Bytes {
    let mut out = Vec::with_capacity(6);
    write_array_len(&mut out, 1);
    let _ = mp::write_sint(&mut out, i64::from(id));
    Bytes::from(out)
}

/// The envelope of a client result on its way back.
pub(crate) fn write_completion(protocol: HubProtocol, record: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(record.len() + 24);
    write_array_len(&mut out, 2);
    write_str(&mut out, protocol.name());
    write_bin(&mut out, record);
    Bytes::from(out)
}

/// Reads MessagePack from a received payload, slicing binaries out of it without copying.
struct Reader {
    data: Bytes,
    at: usize,
}

impl Reader {
    fn new(data: Bytes) -> Self {
        Reader { data, at: 0 }
    }

    fn fail<T>(&self, what: &str) -> Result<T, EnvelopeError> {
        Err(EnvelopeError(format!("{what} at byte {}", self.at)))
    }

    fn byte(&mut self) -> Result<u8, EnvelopeError> {
        match self.data.get(self.at) {
            Some(&b) => {
                self.at += 1;
                Ok(b)
            }
            None => self.fail("unexpected end"),
        }
    }

    fn take(&mut self, len: usize) -> Result<Bytes, EnvelopeError> {
        let end = self
            .at
            .checked_add(len)
            .filter(|&end| end <= self.data.len());
        match end {
            Some(end) => {
                let slice = self.data.slice(self.at..end);
                self.at = end;
                Ok(slice)
            }
            None => self.fail("a length past the end"),
        }
    }

    fn be(&mut self, width: usize) -> Result<u64, EnvelopeError> {
        let bytes = self.take(width)?;
        Ok(bytes.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b)))
    }

    fn array_len(&mut self) -> Result<usize, EnvelopeError> {
        let len = match Marker::from_u8(self.byte()?) {
            Marker::FixArray(n) => u64::from(n),
            Marker::Array16 => self.be(2)?,
            Marker::Array32 => self.be(4)?,
            _ => return self.fail("expected an array"),
        };
        self.count(len)
    }

    fn map_len(&mut self) -> Result<usize, EnvelopeError> {
        let len = match Marker::from_u8(self.byte()?) {
            Marker::FixMap(n) => u64::from(n),
            Marker::Map16 => self.be(2)?,
            Marker::Map32 => self.be(4)?,
            _ => return self.fail("expected a map"),
        };
        self.count(len)
    }

    /// A count of items, each at least one byte: more than the bytes left is malformed
    /// (and would otherwise let a tiny payload ask for a huge allocation).
    fn count(&self, len: u64) -> Result<usize, EnvelopeError> {
        match usize::try_from(len) {
            Ok(len) if len <= self.data.len() - self.at => Ok(len),
            _ => self.fail("a count past the end"),
        }
    }

    /// A string, or `None` for nil.
    fn opt_str(&mut self) -> Result<Option<String>, EnvelopeError> {
        let len = match Marker::from_u8(self.byte()?) {
            Marker::Null => return Ok(None),
            Marker::FixStr(n) => u64::from(n),
            Marker::Str8 => self.be(1)?,
            Marker::Str16 => self.be(2)?,
            Marker::Str32 => self.be(4)?,
            _ => return self.fail("expected a string"),
        };
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        let bytes = self.take(len)?;
        match std::str::from_utf8(&bytes) {
            Ok(s) => Ok(Some(s.to_owned())),
            Err(_) => self.fail("a string that is not UTF-8"),
        }
    }

    fn str(&mut self) -> Result<String, EnvelopeError> {
        match self.opt_str()? {
            Some(s) => Ok(s),
            None => self.fail("expected a string, found nil"),
        }
    }

    /// A binary (nil reads as empty, as .NET's `ReadBytes`).
    fn bin(&mut self) -> Result<Bytes, EnvelopeError> {
        let len = match Marker::from_u8(self.byte()?) {
            Marker::Null => return Ok(Bytes::new()),
            Marker::Bin8 => self.be(1)?,
            Marker::Bin16 => self.be(2)?,
            Marker::Bin32 => self.be(4)?,
            _ => return self.fail("expected a binary"),
        };
        self.take(usize::try_from(len).unwrap_or(usize::MAX))
    }

    /// An integer that fits an `i32`, in any of MessagePack's integer encodings.
    fn int32(&mut self) -> Result<i32, EnvelopeError> {
        let value: i64 = match Marker::from_u8(self.byte()?) {
            Marker::FixPos(n) => i64::from(n),
            Marker::FixNeg(n) => i64::from(n),
            Marker::U8 => self.be(1)? as i64,
            Marker::U16 => self.be(2)? as i64,
            Marker::U32 => self.be(4)? as i64,
            Marker::U64 => i64::try_from(self.be(8)?).unwrap_or(i64::MAX),
            Marker::I8 => i64::from(self.be(1)? as u8 as i8),
            Marker::I16 => i64::from(self.be(2)? as u16 as i16),
            Marker::I32 => i64::from(self.be(4)? as u32 as i32),
            Marker::I64 => self.be(8)? as i64,
            _ => return self.fail("expected an integer"),
        };
        match i32::try_from(value) {
            Ok(v) => Ok(v),
            Err(_) => self.fail("an integer out of range"),
        }
    }

    fn array_of_at_least(&mut self, min: usize, what: &str) -> Result<usize, EnvelopeError> {
        let len = self.array_len()?;
        if len < min {
            return Err(EnvelopeError(format!(
                "Insufficient items in {what} array."
            )));
        }
        Ok(len)
    }
}

/// Reads an invocation envelope.
pub(crate) fn read_invocation(data: Bytes) -> Result<RedisInvocation, EnvelopeError> {
    let mut r = Reader::new(data);
    let len = r.array_of_at_least(2, "Invocation")?;
    let excluded_count = r.array_len()?;
    let mut excluded = Vec::with_capacity(excluded_count);
    for _ in 0..excluded_count {
        excluded.push(r.str()?);
    }
    let record_count = r.map_len()?;
    let mut records = Vec::with_capacity(record_count);
    for _ in 0..record_count {
        let name = r.str()?;
        let bytes = r.bin()?;
        records.push((name, bytes));
    }
    let client_result = if len > 3 {
        match (r.opt_str()?, r.opt_str()?) {
            (Some(id), Some(channel)) if !channel.is_empty() => Some((id, channel)),
            _ => None,
        }
    } else {
        None
    };
    Ok(RedisInvocation {
        excluded,
        records,
        client_result,
    })
}

/// Reads a group command envelope.
pub(crate) fn read_group_command(data: Bytes) -> Result<GroupCommand, EnvelopeError> {
    let mut r = Reader::new(data);
    r.array_of_at_least(5, "GroupCommand")?;
    let id = r.int32()?;
    let server_name = r.str()?;
    let action = match r.int32()? {
        1 => GroupAction::Add,
        2 => GroupAction::Remove,
        other => return Err(EnvelopeError(format!("unknown group action {other}"))),
    };
    let group = r.str()?;
    let connection_id = r.str()?;
    Ok(GroupCommand {
        id,
        server_name,
        action,
        group,
        connection_id,
    })
}

/// Reads an ack envelope.
pub(crate) fn read_ack(data: Bytes) -> Result<i32, EnvelopeError> {
    let mut r = Reader::new(data);
    r.array_of_at_least(1, "Ack")?;
    r.int32()
}

/// Reads a client result envelope.
pub(crate) fn read_completion(data: Bytes) -> Result<RedisCompletion, EnvelopeError> {
    let mut r = Reader::new(data);
    r.array_of_at_least(2, "CompletionMessage")?;
    let protocol_name = r.str()?;
    let record = r.bin()?;
    Ok(RedisCompletion {
        protocol_name,
        record,
    })
}

#[cfg(test)]
mod tests {
    //! Byte vectors written by hand from the format in `shared/protocol.md` §8 and the
    //! MessagePack specification (the encodings MessagePack-CSharp picks), not from this
    //! module's writer.
    use super::*;

    fn json_record() -> Bytes {
        Bytes::from_static(b"{\"type\":1,\"target\":\"M\",\"arguments\":[]}\x1e")
    }

    fn msgpack_record() -> Bytes {
        // [1, {}, nil, "M", [], []] with its varint length prefix.
        Bytes::from_static(&[0x07, 0x96, 0x01, 0x80, 0xc0, 0xa1, b'M', 0x90, 0x90])
    }

    #[test]
    fn invocation_without_exclusions_for_two_protocols() {
        let json = json_record();
        let packed = msgpack_record();
        let mut expected = vec![0x92, 0x90, 0x82, 0xa4];
        expected.extend_from_slice(b"json");
        expected.extend_from_slice(&[0xc4, json.len() as u8]);
        expected.extend_from_slice(&json);
        expected.push(0xab);
        expected.extend_from_slice(b"messagepack");
        expected.extend_from_slice(&[0xc4, packed.len() as u8]);
        expected.extend_from_slice(&packed);
        let written = write_invocation(
            &[] as &[&str],
            &[
                (HubProtocol::Json, json.clone()),
                (HubProtocol::MessagePack, packed.clone()),
            ],
            None,
        );
        assert_eq!(&written[..], &expected[..]);
        let read = read_invocation(written).unwrap();
        assert!(read.excluded.is_empty());
        assert_eq!(
            read.records,
            vec![
                ("json".to_owned(), json),
                ("messagepack".to_owned(), packed)
            ]
        );
        assert_eq!(read.client_result, None);
    }

    #[test]
    fn invocation_with_exclusions_and_a_client_result() {
        let json = json_record();
        let mut expected = vec![0x94, 0x92, 0xa1, b'a', 0xa2, b'b', b'c', 0x81, 0xa4];
        expected.extend_from_slice(b"json");
        expected.extend_from_slice(&[0xc4, json.len() as u8]);
        expected.extend_from_slice(&json);
        expected.extend_from_slice(&[0xa2, b'i', b'd', 0xa3, b'r', b'e', b't']);
        let written = write_invocation(
            &["a", "bc"],
            &[(HubProtocol::Json, json)],
            Some(("id", "ret")),
        );
        assert_eq!(&written[..], &expected[..]);
        let read = read_invocation(written).unwrap();
        assert_eq!(read.excluded, ["a", "bc"]);
        assert_eq!(
            read.client_result,
            Some(("id".to_owned(), "ret".to_owned()))
        );
    }

    #[test]
    fn records_over_255_bytes_use_bin16() {
        let big = Bytes::from(vec![b'x'; 300]);
        let written = write_invocation(&[] as &[&str], &[(HubProtocol::Json, big)], None);
        assert_eq!(
            &written[..8],
            &[0x92, 0x90, 0x81, 0xa4, b'j', b's', b'o', b'n']
        );
        assert_eq!(&written[8..11], &[0xc5, 0x01, 0x2c]);
        assert_eq!(written.len(), 11 + 300);
    }

    #[test]
    fn group_command_and_ack() {
        let command = GroupCommand {
            id: 7,
            server_name: "srv".to_owned(),
            action: GroupAction::Add,
            group: "g".to_owned(),
            connection_id: "c1".to_owned(),
        };
        let expected = [
            0x95, 0x07, 0xa3, b's', b'r', b'v', 0x01, 0xa1, b'g', 0xa2, b'c', b'1',
        ];
        let written = write_group_command(&command);
        assert_eq!(&written[..], &expected[..]);
        assert_eq!(read_group_command(written).unwrap(), command);

        // Ids past 127 take MessagePack-CSharp's smallest unsigned form.
        assert_eq!(&write_ack(7)[..], &[0x91, 0x07]);
        assert_eq!(&write_ack(200)[..], &[0x91, 0xcc, 200]);
        assert_eq!(
            &write_ack(70_000)[..],
            &[0x91, 0xce, 0x00, 0x01, 0x11, 0x70]
        );
        assert_eq!(read_ack(write_ack(70_000)).unwrap(), 70_000);
        let remove = GroupCommand {
            action: GroupAction::Remove,
            ..command
        };
        assert_eq!(write_group_command(&remove)[6], 0x02);
    }

    #[test]
    fn completion() {
        let record = b"{\"type\":3,\"invocationId\":\"x\",\"result\":1}\x1e";
        let mut expected = vec![0x92, 0xa4];
        expected.extend_from_slice(b"json");
        expected.extend_from_slice(&[0xc4, record.len() as u8]);
        expected.extend_from_slice(record);
        let written = write_completion(HubProtocol::Json, record);
        assert_eq!(&written[..], &expected[..]);
        let read = read_completion(written).unwrap();
        assert_eq!(read.protocol_name, "json");
        assert_eq!(&read.record[..], record);
    }

    #[test]
    fn longer_arrays_are_read_and_their_extra_items_ignored() {
        // An ack with a trailing item, a group command with a sixth.
        assert_eq!(
            read_ack(Bytes::from_static(&[0x92, 0x05, 0xc0])).unwrap(),
            5
        );
        let command =
            Bytes::from_static(&[0x96, 0x01, 0xa1, b's', 0x02, 0xa1, b'g', 0xa1, b'c', 0xc3]);
        assert_eq!(
            read_group_command(command).unwrap().action,
            GroupAction::Remove
        );
    }

    #[test]
    fn malformed_payloads_are_errors_not_panics() {
        for bad in [
            &[][..],
            &[0x91][..],
            &[0x92, 0x90][..],
            &[0x92, 0x91, 0x01, 0x80][..],
            &[0x92, 0x90, 0x81, 0xa4, b'j', b's', b'o', b'n', 0xc4, 0xff][..],
            &[0x92, 0x90, 0xdf, 0xff, 0xff, 0xff, 0xff][..],
            &[0xdd, 0xff, 0xff, 0xff, 0xff][..],
        ] {
            assert!(
                read_invocation(Bytes::copy_from_slice(bad)).is_err(),
                "{bad:02x?}"
            );
        }
        assert_eq!(
            read_ack(Bytes::from_static(&[0x90]))
                .unwrap_err()
                .to_string(),
            "malformed backplane message: Insufficient items in Ack array."
        );
        assert!(read_group_command(Bytes::from_static(&[
            0x95, 0x01, 0xa1, b's', 0x09, 0xa1, b'g', 0xa1, b'c'
        ]))
        .is_err());
        assert!(read_ack(Bytes::from_static(&[0x91, 0xcf, 0xff, 0, 0, 0, 0, 0, 0, 0])).is_err());
    }
}

//! The JSON hub protocol: UTF-8 JSON objects, each record ended by `0x1E`.
//!
//! [`scanner`] reads the usual record in one pass; [`reader`] reads the rest with serde
//! (and words the error for a malformed one); both fill the same [`fields`], which make
//! the [`HubMessage`] with its payloads undecoded. [`writer`] writes an
//! [`OutboundMessage`](super::OutboundMessage).

mod fields;
mod reader;
mod scanner;
mod strings;
mod writer;

pub(super) use writer::write_body;

use super::{HubMessage, HubProtocol, ProtocolError};
use bytes::Bytes;

/// Parses one record (without its `0x1E`).
pub(super) fn parse(record: Bytes) -> Result<Option<HubMessage>, ProtocolError> {
    let mut fields = fields::Fields::default();
    if !scanner::scan(&record, &mut fields) {
        fields = reader::read_with_serde(&record)?;
    }
    fields::message(fields)
}

#[cold]
fn malformed(reason: String) -> ProtocolError {
    ProtocolError::malformed(HubProtocol::Json, reason)
}

//! The MessagePack hub protocol: MessagePack arrays, each record prefixed by its varint
//! length.
//!
//! [`reader`] parses one record into a [`HubMessage`](super::HubMessage) whose payloads stay
//! undecoded byte slices; [`writer`] writes an [`OutboundMessage`](super::OutboundMessage).

mod reader;
mod writer;

pub(super) use reader::parse;
pub(super) use writer::write_body;

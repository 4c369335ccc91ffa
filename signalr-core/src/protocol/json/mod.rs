//! The JSON hub protocol: UTF-8 JSON objects, each record ended by `0x1E`.
//!
//! [`reader`] parses one record into a [`HubMessage`](super::HubMessage) whose payloads stay
//! undecoded; [`writer`] writes an [`OutboundMessage`](super::OutboundMessage).

mod reader;
mod scanner;
mod writer;

pub(super) use reader::parse;
pub(super) use writer::write_body;

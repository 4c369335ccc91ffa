//! Any bytes as one MessagePack hub-protocol record: parsing and decoding never panic.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use signalr_core::protocol::{parse_message, HubProtocol};

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(message)) = parse_message(
        HubProtocol::MessagePack,
        bytes::Bytes::copy_from_slice(data),
    ) {
        common::decode_message(&message);
    }
});

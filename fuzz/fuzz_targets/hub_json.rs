//! Any bytes as one Json hub-protocol record: parsing and decoding never panic, and
//! whatever is accepted is valid JSON (most records are read by a one-pass scanner, which
//! must refuse everything serde refuses).
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use signalr_core::protocol::{parse_message, HubProtocol};

fuzz_target!(|data: &[u8]| {
    let parsed = parse_message(HubProtocol::Json, bytes::Bytes::copy_from_slice(data));
    if parsed.is_ok() {
        let valid = serde_json::from_slice::<Box<serde_json::value::RawValue>>(data).is_ok();
        assert!(valid, "accepted a record that is not valid JSON");
    }
    if let Ok(Some(message)) = parsed {
        common::decode_message(&message);
    }
});

//! Any bytes as a handshake request record: parsing never panics, and an error always
//! has a response the server can send.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signalr_core::protocol::{parse_handshake_request, write_handshake_error};

fuzz_target!(|data: &[u8]| {
    if let Err(error) = parse_handshake_request(data) {
        let response = write_handshake_error(&error, true);
        assert_eq!(response.last(), Some(&0x1e));
    }
});

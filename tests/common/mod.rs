//! What the byte-level suites share: hand-written records, a raw HTTP/1.1 client (with
//! the in-process server it talks to) and a raw WebSocket client. Each suite uses part.
#![allow(dead_code)]

pub(crate) mod http;
pub(crate) mod records;
pub(crate) mod redis;
pub(crate) mod ws;

#[allow(unused_imports)] // not every suite uses the record helpers
pub(crate) use records::*;

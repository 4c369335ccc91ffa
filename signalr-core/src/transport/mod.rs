//! The HTTP transports that carry a connection's bytes.

pub(crate) mod websockets;

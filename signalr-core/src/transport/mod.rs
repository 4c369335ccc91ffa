//! The HTTP transports that carry a connection's bytes.
//!
//! WebSockets is full duplex. Server-Sent Events and Long Polling carry server-to-client
//! bytes; their client-to-server bytes arrive as HTTP POSTs.

pub(crate) mod http_send;
pub(crate) mod long_polling;
pub(crate) mod server_sent_events;
pub(crate) mod websockets;

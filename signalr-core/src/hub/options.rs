//! Hub options, with the names and defaults of .NET's `HubOptions`.

use crate::protocol::HubProtocol;
use std::time::Duration;

/// Options of one hub (modelling `HubOptions`); every field has the .NET default.
///
/// ```
/// use signalr_core::hub::HubOptions;
/// let options = HubOptions::default();
/// assert_eq!(options.keep_alive_interval.as_secs(), 15);
/// assert_eq!(options.maximum_receive_message_size, Some(32 * 1024));
/// ```
#[derive(Debug, Clone)]
pub struct HubOptions {
    /// Send a Ping when nothing was sent for this long (`KeepAliveInterval`, 15 s).
    pub keep_alive_interval: Duration,
    /// Close a connection that sent nothing for this long, once it has sent its first
    /// Ping (`ClientTimeoutInterval`, 30 s).
    pub client_timeout_interval: Duration,
    /// Time allowed for the handshake (`HandshakeTimeout`, 15 s).
    pub handshake_timeout: Duration,
    /// Largest record accepted, in bytes; `None` for no limit
    /// (`MaximumReceiveMessageSize`, 32 KiB).
    pub maximum_receive_message_size: Option<usize>,
    /// Items buffered per upload stream (`StreamBufferCapacity`, 10).
    pub stream_buffer_capacity: usize,
    /// Non-streaming invocations of one connection running at once
    /// (`MaximumParallelInvocationsPerClient`, 1).
    pub maximum_parallel_invocations_per_client: usize,
    /// Append error types and messages to the errors sent to clients
    /// (`EnableDetailedErrors`, off).
    pub enable_detailed_errors: bool,
    /// Protocols clients may choose (`SupportedProtocols`, JSON and MessagePack).
    pub supported_protocols: Vec<HubProtocol>,
}

impl Default for HubOptions {
    fn default() -> Self {
        HubOptions {
            keep_alive_interval: Duration::from_secs(15),
            client_timeout_interval: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(15),
            maximum_receive_message_size: Some(32 * 1024),
            stream_buffer_capacity: 10,
            maximum_parallel_invocations_per_client: 1,
            enable_detailed_errors: false,
            supported_protocols: HubProtocol::ALL.to_vec(),
        }
    }
}

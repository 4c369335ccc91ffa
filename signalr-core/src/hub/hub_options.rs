//! Hub options, with the names and defaults of .NET's `HubOptions`.

use super::filter::HubFilter;
use crate::protocol::HubProtocol;
use std::sync::Arc;
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
    /// Server-to-client streams one connection may run at once; a streaming invocation
    /// past it is answered with an error Completion. Default: 100 (.NET has no limit).
    pub maximum_streams_per_client: usize,
    /// Upload streams one connection may have open at once; an invocation that would
    /// open more is answered with an error Completion. Default: 100 (.NET has no limit).
    pub maximum_uploads_per_client: usize,
    /// Client results the server may await from one connection at once; asking for more
    /// fails with [`ClientResultError::TooManyPending`](super::ClientResultError). Default:
    /// 100 (.NET has no limit).
    pub maximum_pending_client_results_per_client: usize,
    /// At shutdown, how long the calls still running on a connection may take to finish
    /// (their Completions are sent) before the connection is closed. Default: 5 s.
    pub shutdown_timeout: Duration,
    /// How long a client result may take before it fails with a timeout; `None` waits
    /// until the client answers or disconnects (as .NET does). Default: `None`.
    pub client_result_timeout: Option<Duration>,
    /// With stateful reconnect (allowed by the endpoint's
    /// `HttpConnectionOptions::allow_stateful_reconnects`, asked for by the client), the
    /// bytes of sent messages kept for a replay until the client acknowledges them;
    /// past it, sending waits for acknowledgements (`StatefulReconnectBufferSize`).
    /// Default: 100 000.
    pub stateful_reconnect_buffer_size: usize,
    /// Filters around every invocation and lifecycle event, outermost first. Share one
    /// `HubOptions` between hubs for global filters; `HubServer::add_filter` appends
    /// hub-specific ones after them.
    pub filters: HubFilters,
}

/// An ordered list of [`HubFilter`]s.
#[derive(Clone, Default)]
pub struct HubFilters(pub(crate) Vec<Arc<dyn HubFilter>>);

impl HubFilters {
    /// Appends a filter: it runs inside the ones added before it.
    pub fn push(&mut self, filter: impl HubFilter) {
        self.0.push(Arc::new(filter));
    }

    /// How many filters there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for HubFilters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HubFilters({})", self.0.len())
    }
}

impl HubOptions {
    /// The options with every duration at most a hundred years (longer ones, up to
    /// `Duration::MAX`, mean "practically never"), so that no deadline overflows.
    pub(crate) fn bounded(mut self) -> Self {
        use crate::connection::LONGEST_TIMEOUT;
        for duration in [
            &mut self.keep_alive_interval,
            &mut self.client_timeout_interval,
            &mut self.handshake_timeout,
            &mut self.shutdown_timeout,
        ] {
            *duration = (*duration).min(LONGEST_TIMEOUT);
        }
        self.client_result_timeout = self
            .client_result_timeout
            .map(|timeout| timeout.min(LONGEST_TIMEOUT));
        self
    }
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
            client_result_timeout: None,
            stateful_reconnect_buffer_size: 100_000,
            shutdown_timeout: Duration::from_secs(5),
            maximum_streams_per_client: 100,
            maximum_uploads_per_client: 100,
            maximum_pending_client_results_per_client: super::handle::DEFAULT_MAX_PENDING_RESULTS,
            filters: HubFilters::default(),
        }
    }
}

//! One hub connection from handshake to close: reads records, dispatches invocations,
//! keeps the connection alive and times out silent clients.

use super::context::Ctx;
use super::dispatcher::{CallOutcome, HubCall, HubDispatcher};
use super::error::with_detail;
use super::lifetime::HubConnectionHandle;
use super::server::HubShared;
use crate::connection::{ConnectionContext, OutboundSender};
use crate::protocol::{
    parse_handshake_request, parse_message, write_handshake_error, write_handshake_success,
    CompletionBody, HandshakeError, HandshakeRequest, HubMessage, HubProtocol, InvocationMessage,
    OutboundMessage, RecordReader,
};
use bytes::{Bytes, BytesMut};
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::sync::Arc;
use tokio::time::{Instant, MissedTickBehavior};

/// Generic text of the Close sent when the server ends a connection because of an error.
const CLOSED_WITH_ERROR: &str = "Connection closed with an error.";

/// Runs the hub protocol on `connection` until it ends.
pub(crate) async fn run<D: HubDispatcher>(
    hub: Arc<HubShared<D>>,
    mut connection: ConnectionContext,
) {
    let options = &hub.options;
    let sender = connection.sender().clone();
    let handshake = tokio::time::timeout(
        options.handshake_timeout,
        read_handshake(&mut connection, options.maximum_receive_message_size),
    )
    .await
    .unwrap_or(Err(Some(HandshakeError::Canceled)));
    let (request, leftover) = match handshake {
        Ok(ok) => ok,
        Err(None) => return,
        Err(Some(error)) => {
            tracing::debug!(%error, "handshake failed");
            let _ = sender.send(write_handshake_error(&error)).await;
            return;
        }
    };
    let protocol = request.protocol;
    let refusal = if !options.supported_protocols.contains(&protocol) {
        Some(HandshakeError::UnsupportedProtocol(
            protocol.name().to_owned(),
        ))
    } else if !connection.set_transfer_format(protocol.transfer_format()) {
        Some(HandshakeError::TransferFormatNotSupported(protocol))
    } else {
        None
    };
    if let Some(error) = refusal {
        let _ = sender.send(write_handshake_error(&error)).await;
        return;
    }
    if sender.send(write_handshake_success()).await.is_err() {
        return;
    }
    let mut reader = RecordReader::new(protocol, options.maximum_receive_message_size);
    reader.push(&leftover);

    let connection_id = connection.connection_id_arc();
    hub.lifetime.add(
        connection_id.clone(),
        HubConnectionHandle {
            sender: sender.clone(),
            protocol,
        },
    );
    let cx = Ctx::new(
        connection_id.clone(),
        hub.lifetime.clone(),
        Arc::new(connection.request().clone()),
        connection.closed(),
        connection.abort_token(),
    );
    let end = Session {
        hub: &hub,
        cx: &cx,
        sender: &sender,
        protocol,
    }
    .run(&mut connection, reader)
    .await;
    hub.lifetime.remove(&connection_id);
    if let Some(close) = end.close_message(options.enable_detailed_errors) {
        let _ = sender.try_send(close.encode_close(protocol));
    }
}

/// Reads until the handshake record is complete.
/// `Err(None)`: the transport ended first; `Err(Some)`: refuse with that error.
async fn read_handshake(
    connection: &mut ConnectionContext,
    max_size: Option<usize>,
) -> Result<(HandshakeRequest, Bytes), Option<HandshakeError>> {
    let mut buffer = BytesMut::new();
    loop {
        if let Some(end) = buffer.iter().position(|b| *b == 0x1e) {
            let record = buffer.split_to(end);
            let leftover = buffer.split_off(1).freeze();
            return parse_handshake_request(&record)
                .map(|request| (request, leftover))
                .map_err(Some);
        }
        if max_size.is_some_and(|max| buffer.len() > max) {
            return Err(Some(HandshakeError::Canceled));
        }
        match connection.receive().await {
            Some(chunk) => buffer.extend_from_slice(&chunk),
            None => return Err(None),
        }
    }
}

/// Why a session ended, and so which Close message (if any) the client gets.
enum End {
    /// The transport went away, or the client sent Close: nothing to send.
    TransportClosed,
    /// The server closed it on purpose (abort): Close without error.
    Aborted,
    /// A protocol error or timeout: Close with an error, reconnect allowed.
    Error(String),
}

struct CloseText {
    error: Option<String>,
    allow_reconnect: bool,
}

impl CloseText {
    fn encode_close(&self, protocol: HubProtocol) -> Bytes {
        let close: OutboundMessage<'_, ()> = OutboundMessage::Close {
            error: self.error.as_deref(),
            allow_reconnect: self.allow_reconnect,
        };
        close.encode(protocol).unwrap_or_default()
    }
}

impl End {
    fn close_message(&self, detailed: bool) -> Option<CloseText> {
        match self {
            End::TransportClosed => None,
            End::Aborted => Some(CloseText {
                error: None,
                allow_reconnect: false,
            }),
            End::Error(detail) => Some(CloseText {
                error: Some(with_detail(
                    CLOSED_WITH_ERROR.to_owned(),
                    detailed.then(|| detail.clone()),
                )),
                allow_reconnect: true,
            }),
        }
    }
}

struct Session<'a, D: HubDispatcher> {
    hub: &'a HubShared<D>,
    cx: &'a Ctx,
    sender: &'a OutboundSender,
    protocol: HubProtocol,
}

impl<'a, D: HubDispatcher> Session<'a, D> {
    async fn run(self, connection: &mut ConnectionContext, mut reader: RecordReader) -> End {
        let options = &self.hub.options;
        let mut in_flight = FuturesUnordered::new();
        let max_parallel = options.maximum_parallel_invocations_per_client.max(1);
        let mut keep_alive = tokio::time::interval_at(
            Instant::now() + options.keep_alive_interval,
            options.keep_alive_interval,
        );
        keep_alive.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let check_every = options
            .client_timeout_interval
            .min(std::time::Duration::from_secs(1));
        let mut timeout_check = tokio::time::interval_at(Instant::now() + check_every, check_every);
        let mut last_received = Instant::now();
        let mut timeout_armed = false;
        let inherent_keep_alive = connection.has_inherent_keep_alive();
        loop {
            // Dispatch every complete record while the parallelism limit allows.
            while in_flight.len() < max_parallel {
                let record = match reader.next_record() {
                    Ok(Some(record)) => record,
                    Ok(None) => break,
                    Err(e) => return End::Error(format!("InvalidDataException: {e}")),
                };
                let message = match parse_message(self.protocol, record) {
                    Ok(Some(message)) => message,
                    Ok(None) => continue,
                    Err(e) => return End::Error(format!("InvalidDataException: {e}")),
                };
                match message {
                    HubMessage::Ping => timeout_armed = true,
                    HubMessage::Close(_) => return End::TransportClosed,
                    HubMessage::Invocation(invocation) => {
                        if let Some(call) = self.invocation(invocation, false).await {
                            in_flight.push(self.hub.dispatcher.dispatch(self.cx, call));
                        }
                    }
                    HubMessage::StreamInvocation(invocation) => {
                        if let Some(call) = self.invocation(invocation, true).await {
                            in_flight.push(self.hub.dispatcher.dispatch(self.cx, call));
                        }
                    }
                    HubMessage::StreamItem(_)
                    | HubMessage::Completion(_)
                    | HubMessage::CancelInvocation { .. }
                    | HubMessage::Ack { .. }
                    | HubMessage::Sequence { .. } => {
                        tracing::debug!("ignoring a message for no known stream or invocation");
                    }
                }
            }
            let can_read = in_flight.len() < max_parallel;
            tokio::select! {
                Some(outcome) = in_flight.next(), if !in_flight.is_empty() => {
                    let CallOutcome { completion } = outcome;
                    if let Some(bytes) = completion {
                        if self.sender.send(bytes).await.is_err() {
                            return End::TransportClosed;
                        }
                    }
                }
                chunk = connection.receive(), if can_read => {
                    match chunk {
                        Some(chunk) => {
                            last_received = Instant::now();
                            reader.push(&chunk);
                        }
                        None if connection.is_transport_closed() => return End::TransportClosed,
                        None => return End::Aborted,
                    }
                }
                _ = keep_alive.tick(), if !inherent_keep_alive => {
                    if !self.sender.take_wrote_recently() {
                        let _ = self.sender.try_send(OutboundMessage::ping(self.protocol));
                    }
                }
                _ = timeout_check.tick() => {
                    // While invocations run the client's silence is expected (its next
                    // message may wait behind them), so the clock only counts when idle.
                    if !in_flight.is_empty() {
                        last_received = Instant::now();
                    } else if timeout_armed && last_received.elapsed() > options.client_timeout_interval {
                        return End::Error(format!(
                            "TimeoutException: Client hasn't sent a message/ping within the configured {}s ClientTimeoutInterval.",
                            options.client_timeout_interval.as_secs_f64()
                        ));
                    }
                }
            }
        }
    }

    /// Resolves the target of an invocation; answers the failures itself.
    async fn invocation(&self, invocation: InvocationMessage, streaming: bool) -> Option<HubCall> {
        let InvocationMessage {
            invocation_id,
            target,
            arguments,
            ..
        } = invocation;
        let detailed = self.hub.options.enable_detailed_errors;
        let found = D::METHODS
            .iter()
            .enumerate()
            .find(|(_, m)| m.name.eq_ignore_ascii_case(&target));
        let error = match found {
            None => Some(format!(
                "Failed to invoke '{target}' due to an error on the server. HubException: Method does not exist."
            )),
            Some(_) if streaming => Some(format!(
                "The client attempted to invoke the non-streaming '{target}' method with a streaming invocation."
            )),
            Some((_, method)) if method.parameters != arguments.len() => Some(with_detail(
                format!("Failed to invoke '{target}' due to an error on the server."),
                detailed.then(|| {
                    format!(
                        "InvalidDataException: Invocation provides {} argument(s) but target expects {}.",
                        arguments.len(),
                        method.parameters
                    )
                }),
            )),
            Some(_) => None,
        };
        match (error, found) {
            (None, Some((index, method))) => Some(HubCall::new(
                index,
                method.name,
                invocation_id,
                self.protocol,
                arguments,
                detailed,
            )),
            (Some(text), _) => {
                if let Some(id) = invocation_id.as_deref() {
                    let completion = OutboundMessage::Completion {
                        invocation_id: id,
                        body: CompletionBody::<()>::Error(&text),
                    };
                    if let Ok(bytes) = completion.encode(self.protocol) {
                        let _ = self.sender.send(bytes).await;
                    }
                }
                None
            }
            (None, None) => None,
        }
    }
}

//! One hub connection from handshake to close: reads records, dispatches invocations,
//! feeds upload streams, routes client results, keeps the connection alive and times out
//! silent clients.

use super::context::Ctx;
use super::dispatcher::{BoxFuture, CallOutcome, CallParts, HubCall, HubDispatcher, MethodInfo};
use super::error::{with_detail, HubError};
use super::filter::{connected_chain, disconnected_chain, invocation_chain, InvocationContext};
use super::lifecycle::DisconnectReason;
use super::lifetime::HubConnectionHandle;
use super::server::HubShared;
use super::streaming::{upload_channel, UploadEvent};
use crate::connection::{ConnectionContext, OutboundSender};
use crate::protocol::{
    parse_handshake_request, parse_message, write_handshake_error, write_handshake_success,
    CompletionBody, CompletionMessage, CompletionOutcome, HandshakeError, HandshakeRequest,
    HubMessage, HubProtocol, InvocationMessage, OutboundMessage, RecordReader,
};
use bytes::{Bytes, BytesMut};
use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use std::collections::{HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Generic text of the Close sent when the server ends a connection because of an error.
const CLOSED_WITH_ERROR: &str = "Connection closed with an error.";

/// Invocations read ahead and queued behind the parallelism limit before the connection
/// stops reading (messages behind them, such as client results, keep flowing until then).
const MAX_QUEUED_INVOCATIONS: usize = 32;

/// Runs the hub protocol on `connection` until it ends.
pub(crate) async fn run<D: HubDispatcher>(
    hub: Arc<HubShared<D>>,
    mut connection: ConnectionContext,
) {
    let options = &hub.options;
    let sender = connection.sender().clone();
    let detailed = options.enable_detailed_errors;
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
            let _ = sender.send(write_handshake_error(&error, detailed)).await;
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
        let _ = sender.send(write_handshake_error(&error, detailed)).await;
        return;
    }
    if sender.send(write_handshake_success()).await.is_err() {
        return;
    }
    let mut reader = RecordReader::new(protocol, options.maximum_receive_message_size);
    reader.push(&leftover);

    let connection_id = connection.connection_id_arc();
    let user_id: Option<Arc<str>> = hub.users.user_id(connection.request()).map(Arc::from);
    hub.lifetime.add(
        connection_id.clone(),
        HubConnectionHandle {
            sender: sender.clone(),
            protocol,
        },
        user_id.clone(),
    );
    let cx = Ctx::new(
        connection_id.clone(),
        connection.transport(),
        user_id,
        hub.lifetime.clone(),
        connection.request_arc(),
        connection.closed(),
        connection.abort_token(),
    );
    // Whatever happens below (a panic included), the connection leaves the hub.
    let _registered = Registered {
        lifetime: &hub.lifetime,
        connection_id: &connection_id,
    };
    let filters = &options.filters.0;
    let connected = AssertUnwindSafe(connected_chain(
        filters,
        &cx,
        Box::new(|| hub.dispatcher.on_connected(&cx)),
    ))
    .catch_unwind()
    .await
    .unwrap_or_else(|panic| Err(HubError::internal("Panic", panic_message(panic.as_ref()))));
    if let Err(error) = connected {
        tracing::debug!(%error, "on_connected refused the connection");
        hub.lifetime.remove(&connection_id);
        let text = with_detail(CLOSED_WITH_ERROR.to_owned(), error.detail(detailed));
        let _ = sender.try_send(encode_close(protocol, Some(&text), false));
        return;
    }
    let end = Session::new(&hub, &cx, &sender, protocol)
        .run(&mut connection, reader)
        .await;
    hub.lifetime.remove(&connection_id);
    let reason = match &end {
        End::TransportClosed => DisconnectReason::Closed,
        End::Aborted => DisconnectReason::Aborted,
        End::Error(detail) => DisconnectReason::Error(detail.clone()),
    };
    match end {
        End::TransportClosed => {}
        End::Aborted => {
            let _ = sender.try_send(encode_close(protocol, None, false));
        }
        End::Error(detail) => {
            let text = with_detail(CLOSED_WITH_ERROR.to_owned(), detailed.then_some(detail));
            let _ = sender.try_send(encode_close(protocol, Some(&text), true));
        }
    }
    connection.abort();
    let disconnected = AssertUnwindSafe(disconnected_chain(
        filters,
        &cx,
        &reason,
        Box::new(|| hub.dispatcher.on_disconnected(&cx, &reason)),
    ))
    .catch_unwind()
    .await;
    if let Err(panic) = disconnected {
        tracing::error!(message = %panic_message(panic.as_ref()), "on_disconnected panicked");
    }
}

/// Removes a connection from the hub when dropped.
struct Registered<'a> {
    lifetime: &'a super::lifetime::HubLifetimeManager,
    connection_id: &'a str,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.lifetime.remove(self.connection_id);
    }
}

fn encode_close(protocol: HubProtocol, error: Option<&str>, allow_reconnect: bool) -> Bytes {
    let close: OutboundMessage<'_, ()> = OutboundMessage::Close {
        error,
        allow_reconnect,
    };
    close.encode(protocol).unwrap_or_default()
}

/// Reads until the handshake record is complete.
/// `Err(None)`: the transport ended first; `Err(Some)`: refuse with that error.
async fn read_handshake(
    connection: &mut ConnectionContext,
    max_size: Option<usize>,
) -> Result<(HandshakeRequest, Bytes), Option<HandshakeError>> {
    let mut buffer = BytesMut::new();
    loop {
        if let Some(end) = memchr::memchr(0x1e, &buffer) {
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

/// What to clean up when a call finishes.
struct Finished {
    outcome: CallOutcome,
    stream_id: Option<String>,
    upload_ids: Vec<String>,
}

type CallFuture<'a> = BoxFuture<'a, Finished>;

/// Running calls; allocates nothing until the first call (most connections of a
/// broadcast-heavy app never invoke anything).
#[derive(Default)]
struct Calls<'a>(Option<FuturesUnordered<CallFuture<'a>>>);

impl<'a> Calls<'a> {
    fn len(&self) -> usize {
        self.0.as_ref().map_or(0, FuturesUnordered::len)
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn push(&mut self, call: CallFuture<'a>) {
        self.0.get_or_insert_with(FuturesUnordered::new).push(call);
    }

    /// The next call to finish; pending while there is none.
    async fn next(&mut self) -> Option<Finished> {
        match &mut self.0 {
            Some(calls) if !calls.is_empty() => calls.next().await,
            _ => std::future::pending().await,
        }
    }
}

/// An upload event waiting for room in its stream's buffer.
struct BlockedUpload {
    tx: mpsc::Sender<UploadEvent>,
    event: UploadEvent,
}

struct Session<'a, D: HubDispatcher> {
    hub: &'a HubShared<D>,
    cx: &'a Ctx,
    sender: &'a OutboundSender,
    protocol: HubProtocol,
    /// Open upload streams, by stream id.
    uploads: HashMap<String, mpsc::Sender<UploadEvent>>,
    /// Running streaming invocations, by invocation id.
    streams: HashMap<String, CancellationToken>,
    /// Non-streaming calls, at most `MaximumParallelInvocationsPerClient` at once.
    unary: Calls<'a>,
    /// Calls waiting for a free slot.
    queued: VecDeque<CallFuture<'a>>,
    /// Streaming and upload calls: they run concurrently with everything else.
    concurrent: Calls<'a>,
    blocked_upload: Option<BlockedUpload>,
}

impl<'a, D: HubDispatcher> Session<'a, D> {
    fn new(
        hub: &'a HubShared<D>,
        cx: &'a Ctx,
        sender: &'a OutboundSender,
        protocol: HubProtocol,
    ) -> Self {
        Session {
            hub,
            cx,
            sender,
            protocol,
            uploads: HashMap::new(),
            streams: HashMap::new(),
            unary: Calls::default(),
            queued: VecDeque::new(),
            concurrent: Calls::default(),
            blocked_upload: None,
        }
    }

    async fn run(mut self, connection: &mut ConnectionContext, mut reader: RecordReader) -> End {
        let options = &self.hub.options;
        let max_parallel = options.maximum_parallel_invocations_per_client.max(1);
        // One timer for both duties (a per-connection cost): keep-alive pings and the
        // client timeout check.
        let check_every = options
            .client_timeout_interval
            .min(std::time::Duration::from_secs(1));
        let inherent_keep_alive = connection.has_inherent_keep_alive();
        let mut next_ping =
            (!inherent_keep_alive).then(|| Instant::now() + options.keep_alive_interval);
        let mut next_check = Instant::now() + check_every;
        let timer = tokio::time::sleep_until(next_check.min(next_ping.unwrap_or(next_check)));
        tokio::pin!(timer);
        let mut last_received = Instant::now();
        let mut timeout_armed = false;
        let result = 'session: loop {
            while self.unary.len() < max_parallel {
                match self.queued.pop_front() {
                    Some(call) => self.unary.push(call),
                    None => break,
                }
            }
            // Handle every complete record, unless an upload stream or the queue is full.
            while self.blocked_upload.is_none() && self.queued.len() < MAX_QUEUED_INVOCATIONS {
                let record = match reader.next_record() {
                    Ok(Some(record)) => record,
                    Ok(None) => break,
                    Err(e) => return self.finish(End::Error(format!("InvalidDataException: {e}"))),
                };
                let message = match parse_message(self.protocol, record) {
                    Ok(Some(message)) => message,
                    Ok(None) => continue,
                    Err(e) => return self.finish(End::Error(format!("InvalidDataException: {e}"))),
                };
                match message {
                    HubMessage::Ping => timeout_armed = true,
                    HubMessage::Close(_) => break 'session End::TransportClosed,
                    // Boxed: its state would otherwise enlarge every idle connection's task.
                    HubMessage::Invocation(invocation) => {
                        Box::pin(self.invocation(invocation, false)).await
                    }
                    HubMessage::StreamInvocation(invocation) => {
                        Box::pin(self.invocation(invocation, true)).await
                    }
                    HubMessage::StreamItem(item) => {
                        if let Some(tx) = self.uploads.get(&item.invocation_id) {
                            self.feed_upload(tx.clone(), UploadEvent::Item(item.item));
                        } else {
                            tracing::debug!("ignoring a StreamItem for no open upload stream");
                        }
                    }
                    HubMessage::Completion(completion) => self.completion(completion),
                    HubMessage::CancelInvocation { invocation_id } => {
                        if let Some(cancel) = self.streams.get(&invocation_id) {
                            cancel.cancel();
                        }
                    }
                    HubMessage::Ack { .. } | HubMessage::Sequence { .. } => {}
                }
                while self.unary.len() < max_parallel {
                    match self.queued.pop_front() {
                        Some(call) => self.unary.push(call),
                        None => break,
                    }
                }
            }
            let can_read =
                self.blocked_upload.is_none() && self.queued.len() < MAX_QUEUED_INVOCATIONS;
            // Biased: a call that just finished is answered before an abort it caused.
            tokio::select! {
                biased;
                Some(finished) = self.unary.next(), if !self.unary.is_empty() => {
                    if self.finished(finished).await.is_err() {
                        break End::TransportClosed;
                    }
                }
                Some(finished) = self.concurrent.next(), if !self.concurrent.is_empty() => {
                    if self.finished(finished).await.is_err() {
                        break End::TransportClosed;
                    }
                }
                permit = upload_room(&self.blocked_upload) => {
                    if let Some(blocked) = self.blocked_upload.take() {
                        if let Some(permit) = permit {
                            permit.send(blocked.event);
                        }
                    }
                }
                chunk = connection.receive(), if can_read => {
                    match chunk {
                        Some(chunk) => {
                            last_received = Instant::now();
                            reader.push(&chunk);
                        }
                        None if connection.is_transport_closed() => break End::TransportClosed,
                        None => break End::Aborted,
                    }
                }
                () = &mut timer => {
                    let now = Instant::now();
                    if next_ping.is_some_and(|due| due <= now) {
                        if !self.sender.take_wrote_recently() {
                            let _ = self.sender.try_send(OutboundMessage::ping(self.protocol));
                        }
                        next_ping = Some(now + options.keep_alive_interval);
                    }
                    if next_check <= now {
                        next_check = now + check_every;
                        // While invocations run the client's silence is expected (its next
                        // message may wait behind them), so the clock only counts when idle.
                        if !self.unary.is_empty() {
                            last_received = now;
                        } else if timeout_armed && now.duration_since(last_received) > options.client_timeout_interval {
                            break End::Error(format!(
                                "TimeoutException: Client hasn't sent a message/ping within the configured {}s ClientTimeoutInterval.",
                                options.client_timeout_interval.as_secs_f64()
                            ));
                        }
                    }
                    timer.as_mut().reset(next_check.min(next_ping.unwrap_or(next_check)));
                }
            }
        };
        self.finish(result)
    }

    fn finish(self, end: End) -> End {
        for cancel in self.streams.values() {
            cancel.cancel();
        }
        end
    }

    /// Writes a finished call's Completion and forgets its streams.
    async fn finished(&mut self, finished: Finished) -> Result<(), ()> {
        if let Some(id) = finished.stream_id {
            self.streams.remove(&id);
        }
        for id in finished.upload_ids {
            self.uploads.remove(&id);
        }
        match finished.outcome.completion {
            Some(bytes) => self.sender.send(bytes).await.map_err(|_| ()),
            None => Ok(()),
        }
    }

    /// Queues an upload event, or parks it (and stops reading) while its buffer is full.
    fn feed_upload(&mut self, tx: mpsc::Sender<UploadEvent>, event: UploadEvent) {
        match tx.try_send(event) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(event)) => {
                self.blocked_upload = Some(BlockedUpload { tx, event });
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    /// A Completion ends an upload stream, or answers a client result.
    fn completion(&mut self, completion: CompletionMessage) {
        let CompletionMessage {
            invocation_id,
            outcome,
        } = completion;
        if let Some(tx) = self.uploads.remove(&invocation_id) {
            if let CompletionOutcome::Error(text) = outcome {
                self.feed_upload(tx, UploadEvent::Error(text));
            }
            return;
        }
        let connection_id = self.cx.connection_id();
        if !self
            .hub
            .lifetime
            .results
            .complete(connection_id, &invocation_id, outcome)
        {
            tracing::debug!("ignoring a Completion for no upload stream or client result");
        }
    }

    /// Answers a refused invocation with an error Completion (when it has an id).
    async fn answer_error(&mut self, invocation_id: Option<&str>, text: &str) {
        let Some(id) = invocation_id else { return };
        let completion = OutboundMessage::Completion {
            invocation_id: id,
            body: CompletionBody::<()>::Error(text),
        };
        if let Ok(bytes) = completion.encode(self.protocol) {
            let _ = self.sender.send(bytes).await;
        }
    }

    /// Checks an invocation against the method table and starts it; answers the failures.
    async fn invocation(&mut self, invocation: InvocationMessage, streaming: bool) {
        let InvocationMessage {
            invocation_id,
            target,
            arguments,
            stream_ids,
            ..
        } = invocation;
        let detailed = self.hub.options.enable_detailed_errors;
        let id = invocation_id.as_deref();
        let Some((index, method)) = find_method::<D>(&target) else {
            let text = format!(
                "Failed to invoke '{target}' due to an error on the server. HubException: Method does not exist."
            );
            return self.answer_error(id, &text).await;
        };
        if method.streaming && !streaming {
            let text = format!(
                "The client attempted to invoke the streaming '{target}' method with a non-streaming invocation."
            );
            return self.answer_error(id, &text).await;
        }
        if streaming && !method.streaming {
            let text = format!(
                "The client attempted to invoke the non-streaming '{target}' method with a streaming invocation."
            );
            return self.answer_error(id, &text).await;
        }
        if method.parameters != arguments.len() {
            let text = with_detail(
                format!("Failed to invoke '{target}' due to an error on the server."),
                detailed.then(|| {
                    format!(
                        "InvalidDataException: Invocation provides {} argument(s) but target expects {}.",
                        arguments.len(),
                        method.parameters
                    )
                }),
            );
            return self.answer_error(id, &text).await;
        }
        if method.upload_streams != stream_ids.len() {
            let text = format!(
                "An unexpected error occurred invoking '{target}' on the server. HubException: Client sent {} stream(s), Hub method expects {}.",
                stream_ids.len(),
                method.upload_streams
            );
            return self.answer_error(id, &text).await;
        }
        let cancel = self.cx.connection_closed().child_token();
        if streaming {
            let stream_id = invocation_id.clone().unwrap_or_default();
            if self.streams.contains_key(&stream_id) {
                let text = format!("Invocation ID '{stream_id}' is already in use.");
                return self.answer_error(id, &text).await;
            }
            self.streams.insert(stream_id, cancel.clone());
        }
        let mut uploads = VecDeque::with_capacity(stream_ids.len());
        for stream_id in &stream_ids {
            let (tx, source) = upload_channel(self.hub.options.stream_buffer_capacity);
            self.uploads.insert(stream_id.clone(), tx);
            uploads.push_back(source);
        }
        let call = HubCall::new(CallParts {
            method: index,
            target,
            invocation_id: invocation_id.clone(),
            protocol: self.protocol,
            arguments,
            uploads,
            detailed_errors: detailed,
            sender: self.sender.clone(),
            cancel,
        });
        let future = self.call(
            call,
            streaming.then(|| invocation_id.unwrap_or_default()),
            stream_ids,
        );
        if streaming || method.upload_streams > 0 {
            self.concurrent.push(future);
        } else {
            self.queued.push_back(future);
        }
    }

    /// The future of one call, through the hub's filters.
    fn call(
        &self,
        call: HubCall,
        stream_id: Option<String>,
        upload_ids: Vec<String>,
    ) -> CallFuture<'a> {
        let hub = self.hub;
        let cx = self.cx;
        Box::pin(async move {
            let responder = call.responder();
            let filters = &hub.options.filters.0;
            let run = async {
                if filters.is_empty() {
                    return hub.dispatcher.dispatch(cx, call).await;
                }
                let method = call.target().to_owned();
                let arguments = call.remaining_arguments().to_vec();
                let invocation = InvocationContext {
                    cx,
                    method: &method,
                    arguments: &arguments,
                };
                let last = Box::new(move || -> BoxFuture<'_, _> {
                    Box::pin(async move { Ok(hub.dispatcher.dispatch(cx, call).await) })
                });
                match invocation_chain(filters, &invocation, last).await {
                    Ok(outcome) => outcome,
                    Err(error) => responder.complete_error(error),
                }
            };
            // A panic in hub code fails that call, not the connection (nor its cleanup).
            let outcome = match AssertUnwindSafe(run).catch_unwind().await {
                Ok(outcome) => outcome,
                Err(panic) => {
                    let message = panic_message(panic.as_ref());
                    tracing::error!(method = responder.target(), %message, "a hub method panicked");
                    responder.complete_error(HubError::internal("Panic", message))
                }
            };
            Finished {
                outcome,
                stream_id,
                upload_ids,
            }
        })
    }
}

/// The text of a panic payload.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a hub method panicked".to_owned())
}

/// Resolves when the parked upload event's stream has room again.
async fn upload_room(blocked: &Option<BlockedUpload>) -> Option<mpsc::OwnedPermit<UploadEvent>> {
    match blocked {
        Some(blocked) => blocked.tx.clone().reserve_owned().await.ok(),
        None => std::future::pending().await,
    }
}

fn find_method<D: HubDispatcher>(target: &str) -> Option<(usize, &'static MethodInfo)> {
    D::METHODS
        .iter()
        .enumerate()
        .find(|(_, m)| m.name.eq_ignore_ascii_case(target))
}

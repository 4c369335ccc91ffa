//! The message loop of one hub connection: reads records, dispatches invocations within
//! the parallelism limit, feeds upload streams, routes client results, keeps the
//! connection alive and times out silent clients.

use super::answer::{Answer, Finished};
use super::backlog::{Backlog, Parked};
use super::heartbeat::Heartbeat;
use super::sequencing::{is_sequenced, InboundSequence};
use super::shared::HubShared;
use super::sparse_map::SparseMap;
use crate::connection::{is_shutting_down, ConnectionContext, OutboundSender};
use crate::hub::contract::{CallParts, Dispatch, HubCall, MethodInfo};
use crate::hub::error::with_detail;
use crate::hub::filter::{invocation_chain, InvocationContext};
use crate::hub::upload::{upload_channel, UploadEvent};
use crate::hub::{AuthorizationContext, BoxFuture, Ctx};
use crate::protocol::{
    parse_message, CompletionBody, CompletionMessage, CompletionOutcome, HubMessage, HubProtocol,
    InvocationMessage, OutboundMessage, RecordReader,
};
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::collections::VecDeque;
use std::task::Poll;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Calls queued behind the parallelism limit; further invocations wait in the backlog
/// (undecoded), and the connection keeps reading what must not wait.
const MAX_QUEUED_INVOCATIONS: usize = 32;

/// Why a session ended, and so which Close message (if any) the client gets.
pub(crate) enum End {
    /// The transport went away, or the client sent Close: nothing to send.
    TransportClosed,
    /// The server closed it on purpose (abort): Close without error.
    Aborted,
    /// A protocol error or timeout: Close with an error, reconnect allowed.
    Error(String),
    /// The application is stopping: running calls finished, Close allowing reconnect.
    Shutdown,
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

pub(crate) struct Session<'a, D: Dispatch> {
    hub: &'a HubShared<D>,
    cx: &'a Ctx,
    sender: &'a OutboundSender,
    protocol: HubProtocol,
    /// Open upload streams, by stream id.
    uploads: SparseMap<mpsc::Sender<UploadEvent>>,
    /// Running streaming invocations, by invocation id.
    streams: SparseMap<CancellationToken>,
    /// Non-streaming calls, at most `MaximumParallelInvocationsPerClient` at once.
    unary: Calls<'a>,
    /// Calls waiting for a free slot.
    queued: VecDeque<CallFuture<'a>>,
    /// Streaming and upload calls: they run concurrently with everything else.
    concurrent: Calls<'a>,
    /// Messages read ahead that wait their turn.
    backlog: Backlog,
    /// Resolves when the upload stream the backlog's first message waits for has room
    /// (boxed, and only while waiting: a reservation future is 150 bytes, which every
    /// connection would otherwise carry).
    blocked_on: Option<BoxFuture<'static, ()>>,
    /// With stateful reconnect on: the numbering of the client's messages (boxed: most
    /// connections have none).
    sequence: Option<Box<Acknowledging>>,
}

/// The client's messages as numbered for stateful reconnect, and the timer of the next
/// Ack.
struct Acknowledging {
    sequence: InboundSequence,
    /// Set at the first Ack, then kept.
    timer: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

/// Resolves when an Ack is due; pending without stateful reconnect or with nothing to
/// acknowledge.
async fn ack_due(acknowledging: &mut Option<Box<Acknowledging>>) {
    let Some(acknowledging) = acknowledging else {
        return std::future::pending().await;
    };
    let Some(due) = acknowledging.sequence.ack_due() else {
        return std::future::pending().await;
    };
    let timer = acknowledging
        .timer
        .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due)));
    if timer.deadline() != due {
        timer.as_mut().reset(due);
    }
    timer.await;
}

impl<'a, D: Dispatch> Session<'a, D> {
    pub(crate) fn new(
        hub: &'a HubShared<D>,
        cx: &'a Ctx,
        sender: &'a OutboundSender,
        protocol: HubProtocol,
        stateful_reconnect: bool,
    ) -> Self {
        Session {
            sequence: stateful_reconnect.then(|| {
                Box::new(Acknowledging {
                    sequence: InboundSequence::default(),
                    timer: None,
                })
            }),
            hub,
            cx,
            sender,
            protocol,
            uploads: SparseMap::default(),
            streams: SparseMap::default(),
            unary: Calls::default(),
            queued: VecDeque::new(),
            concurrent: Calls::default(),
            backlog: Backlog::default(),
            blocked_on: None,
        }
    }

    // Not an `async fn`: its arguments would be copied into the future's locals and kept
    // twice (368 bytes per connection); the block uses the captured ones in place.
    #[allow(clippy::manual_async_fn)]
    pub(crate) fn run<'c>(
        mut self,
        connection: &'c mut ConnectionContext,
        reader: &'c mut RecordReader,
    ) -> impl std::future::Future<Output = End> + use<'a, 'c, D> {
        async move {
            let options = &self.hub.options;
            let max_parallel = options.maximum_parallel_invocations_per_client.max(1);
            // One timer for both duties (a per-connection cost): keep-alive pings and the
            // client timeout. It is set to the earliest deadline and not moved by every
            // message: when it fires early (something was written or received since), it is
            // set again to the real deadline.
            let keep_alive =
                (!connection.has_inherent_keep_alive()).then_some(options.keep_alive_interval);
            let mut heartbeat = Heartbeat::new(
                keep_alive,
                options.client_timeout_interval,
                std::time::Instant::now(),
            );
            let mut deadline = heartbeat.next_deadline(self.sender.last_write());
            let timer = tokio::time::sleep_until(to_tokio(deadline));
            tokio::pin!(timer);
            // With `close_on_authentication_expiration`: the instant the identity expires
            // (boxed: most connections have none).
            let mut expires = connection.authentication_expiry().map(|at| {
                let left = at
                    .duration_since(std::time::SystemTime::now())
                    .unwrap_or_default();
                Box::pin(tokio::time::sleep(left))
            });
            let result = 'session: loop {
                if self.fill_slots(max_parallel).await.is_err() {
                    break End::TransportClosed;
                }
                if !self.backlog.is_empty() {
                    self.drain_backlog();
                    if self.fill_slots(max_parallel).await.is_err() {
                        break End::TransportClosed;
                    }
                }
                // Handle every complete record; what must wait its turn is parked, so that what
                // must not (client results, cancellation, pings, close) is never held up.
                while !self.backlog.is_full() {
                    let record = match reader.next_record() {
                        Ok(Some(record)) => record,
                        Ok(None) => break,
                        Err(e) => {
                            return self.finish(End::Error(format!("InvalidDataException: {e}")))
                        }
                    };
                    let size = record.len();
                    let message = match parse_message(self.protocol, record) {
                        Ok(Some(message)) => message,
                        Ok(None) => continue,
                        Err(e) => {
                            return self.finish(End::Error(format!("InvalidDataException: {e}")))
                        }
                    };
                    if let Some(acknowledging) = &mut self.sequence {
                        if is_sequenced(&message) && !acknowledging.sequence.accept() {
                            continue;
                        }
                    }
                    match message {
                        HubMessage::Ping => {
                            if heartbeat.ping_received() {
                                let armed = heartbeat.next_deadline(self.sender.last_write());
                                if armed < deadline || deadline.is_none() {
                                    deadline = armed;
                                    timer.as_mut().reset(to_tokio(deadline));
                                }
                            }
                        }
                        HubMessage::Close(_) => break 'session End::TransportClosed,
                        HubMessage::CancelInvocation { invocation_id } => {
                            if let Some(cancel) = self.streams.get(&invocation_id) {
                                cancel.cancel();
                            } else {
                                self.backlog.cancel(&invocation_id);
                            }
                        }
                        HubMessage::Ack { sequence_id } => self.sender.acknowledge(sequence_id),
                        HubMessage::Sequence { sequence_id } => {
                            if let Some(acknowledging) = &mut self.sequence {
                                if let Err(e) = acknowledging.sequence.restart_at(sequence_id) {
                                    return self.finish(End::Error(format!(
                                        "InvalidOperationException: {e}"
                                    )));
                                }
                            }
                        }
                        other => self.route(other, size),
                    }
                    if self.fill_slots(max_parallel).await.is_err() {
                        break 'session End::TransportClosed;
                    }
                }
                let can_read = !self.backlog.is_full();
                // Biased: a call that just finished is answered before an abort it caused.
                tokio::select! {
                    biased;
                    Some(finished) = self.unary.next(), if !self.unary.is_empty() => {
                        if self.finished(finished).is_err() {
                            break End::TransportClosed;
                        }
                    }
                    Some(finished) = self.concurrent.next(), if !self.concurrent.is_empty() => {
                        if self.finished(finished).is_err() {
                            break End::TransportClosed;
                        }
                    }
                    // The rare branches have preconditions, so that an idle or busy loop
                    // polls none of them.
                    () = expired(&mut expires), if expires.is_some() => {
                        break End::Error(
                            "AuthenticationExpired: the connection's authentication expired.".to_owned(),
                        );
                    }
                    () = upload_room(&mut self.blocked_on), if self.blocked_on.is_some() => {
                        self.blocked_on = None;
                    }
                    () = ack_due(&mut self.sequence), if self.sequence.is_some() => self.acknowledge(),
                    chunk = connection.receive(), if can_read => {
                        match chunk {
                            Some(chunk) => {
                                heartbeat.received(std::time::Instant::now());
                                reader.push_bytes(chunk);
                            }
                            None if connection.is_transport_closed() => break End::TransportClosed,
                            None if is_shutting_down() => break End::Shutdown,
                            None => break End::Aborted,
                        }
                    }
                    () = &mut timer, if deadline.is_some() => {
                        let now = std::time::Instant::now();
                        let due = heartbeat.due(now, self.sender.last_write(), !self.unary.is_empty());
                        if due.timed_out {
                            break End::Error(format!(
                                "TimeoutException: Client hasn't sent a message/ping within the configured {}s ClientTimeoutInterval.",
                                heartbeat.client_timeout().as_secs_f64()
                            ));
                        }
                        if due.ping {
                            let _ = self.sender.try_send_unsequenced(OutboundMessage::ping(self.protocol));
                        }
                        deadline = heartbeat.next_deadline(self.sender.last_write());
                        timer.as_mut().reset(to_tokio(deadline));
                    }
                }
            };
            if matches!(result, End::Shutdown) {
                self.let_calls_finish().await;
            }
            self.finish(result)
        }
    }

    /// Sends the Ack that is due (stateful reconnect); with the queue full, it is tried
    /// again a second later.
    fn acknowledge(&mut self) {
        let Some(acknowledging) = &mut self.sequence else {
            return;
        };
        let sequence_id = acknowledging.sequence.take_ack();
        let ack: OutboundMessage<'_, ()> = OutboundMessage::Ack { sequence_id };
        let Ok(bytes) = ack.encode(self.protocol) else {
            return;
        };
        if let Err(crate::connection::QueueError::Full) = self.sender.try_send_unsequenced(bytes) {
            acknowledging.sequence.retry_ack();
        }
    }

    /// At shutdown: streams stop, calls not yet started are dropped, and the running ones
    /// get up to `shutdown_timeout` to finish and send their Completions.
    async fn let_calls_finish(&mut self) {
        for cancel in self.streams.values() {
            cancel.cancel();
        }
        self.queued.clear();
        self.backlog = Backlog::default();
        let deadline = tokio::time::sleep(self.hub.options.shutdown_timeout);
        tokio::pin!(deadline);
        while !(self.unary.is_empty() && self.concurrent.is_empty()) {
            tokio::select! {
                Some(finished) = self.unary.next(), if !self.unary.is_empty() => {
                    if self.finished(finished).is_err() {
                        return;
                    }
                }
                Some(finished) = self.concurrent.next(), if !self.concurrent.is_empty() => {
                    if self.finished(finished).is_err() {
                        return;
                    }
                }
                () = &mut deadline => {
                    tracing::debug!("calls still running at the end of the shutdown timeout are dropped");
                    return;
                }
            }
        }
    }

    fn finish(self, end: End) -> End {
        for cancel in self.streams.values() {
            cancel.cancel();
        }
        end
    }

    /// Forgets a finished call's streams; `Err` when its Completion found the connection
    /// gone.
    fn finished(&mut self, finished: Finished) -> Result<(), ()> {
        if let Some(id) = finished.stream_id {
            self.streams.remove(&id);
        }
        for id in finished.upload_ids {
            self.uploads.remove(&id);
        }
        if finished.delivered {
            Ok(())
        } else {
            Err(())
        }
    }

    /// Moves queued calls into free invocation slots. Each is polled once on its way in
    /// (with the session's waker): most calls finish at their first poll, and are then
    /// answered without joining the set of running calls (an allocation and a turn of
    /// the session loop each). `Err` when a call found the connection gone.
    async fn fill_slots(&mut self, max_parallel: usize) -> Result<(), ()> {
        std::future::poll_fn(|cx| {
            while self.unary.len() < max_parallel {
                let Some(mut call) = self.queued.pop_front() else {
                    break;
                };
                match call.as_mut().poll(cx) {
                    Poll::Ready(finished) => {
                        if self.finished(finished).is_err() {
                            return Poll::Ready(Err(()));
                        }
                    }
                    // Polled again by the set, which registers its own waker.
                    Poll::Pending => self.unary.push(call),
                }
            }
            Poll::Ready(Ok(()))
        })
        .await
    }

    /// Whether `invocation` runs in an invocation slot (so waits for room in the queue),
    /// rather than beside everything else (streams, uploads) or being refused at once.
    fn needs_slot(invocation: &InvocationMessage, streaming: bool) -> bool {
        !streaming
            && find_method::<D>(&invocation.target).is_some_and(|(_, m)| m.upload_streams == 0)
    }

    /// Handles an invocation, an upload item or a Completion now, or parks it behind
    /// what already waits.
    fn route(&mut self, message: HubMessage, size: usize) {
        match message {
            HubMessage::Invocation(invocation) => self.invoke_or_park(invocation, false, size),
            HubMessage::StreamInvocation(invocation) => self.invoke_or_park(invocation, true, size),
            HubMessage::StreamItem(item) => {
                let event = UploadEvent::Item(item.item);
                self.upload_event(item.invocation_id, event, size);
            }
            HubMessage::Completion(completion) => self.completion(completion, size),
            _ => {}
        }
    }

    fn invoke_or_park(&mut self, message: InvocationMessage, streaming: bool, size: usize) {
        let wait = !self.backlog.is_empty()
            || (self.queued.len() >= MAX_QUEUED_INVOCATIONS
                && Self::needs_slot(&message, streaming));
        if wait {
            self.backlog
                .push(Parked::Invocation { message, streaming }, size);
        } else {
            self.invocation(message, streaming);
        }
    }

    /// Feeds an upload stream, parking the event when its buffer is full or other messages
    /// wait before it; drops it for a stream that is not (and will not be) open.
    fn upload_event(&mut self, stream_id: String, event: UploadEvent, size: usize) {
        let open = self.uploads.get(&stream_id);
        if open.is_none() && !self.backlog.announces(&stream_id) {
            tracing::debug!("ignoring a StreamItem for no open upload stream");
            return;
        }
        if let (Some(tx), true) = (open, self.backlog.is_empty()) {
            match tx.try_send(event) {
                Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => return,
                Err(mpsc::error::TrySendError::Full(event)) => {
                    self.backlog
                        .push(Parked::UploadEvent { stream_id, event }, size);
                    return;
                }
            }
        }
        self.backlog
            .push(Parked::UploadEvent { stream_id, event }, size);
    }

    /// A Completion ends an upload stream (after its items), or answers a client result.
    fn completion(&mut self, completion: CompletionMessage, size: usize) {
        let CompletionMessage {
            invocation_id,
            outcome,
        } = completion;
        let upload =
            self.uploads.contains_key(&invocation_id) || self.backlog.announces(&invocation_id);
        if upload {
            if let CompletionOutcome::Error(text) = outcome {
                self.upload_event(invocation_id.clone(), UploadEvent::Error(text), 0);
            }
            if self.backlog.is_empty() {
                self.uploads.remove(&invocation_id);
            } else {
                self.backlog.push(
                    Parked::UploadEnd {
                        stream_id: invocation_id,
                    },
                    size,
                );
            }
            return;
        }
        let completion = CompletionMessage {
            invocation_id,
            outcome,
        };
        let connection_id = self.cx.connection_id();
        if !self
            .hub
            .hub
            .manager
            .set_connection_result(connection_id, completion)
        {
            tracing::debug!("ignoring a Completion for no upload stream or client result");
        }
    }

    /// Handles parked messages from the front for as long as they can go: invocations
    /// while the queue has room, upload events while their stream has room.
    fn drain_backlog(&mut self) {
        while let Some(front) = self.backlog.front() {
            match front {
                Parked::Invocation { message, streaming } => {
                    if self.queued.len() >= MAX_QUEUED_INVOCATIONS
                        && Self::needs_slot(message, *streaming)
                    {
                        return;
                    }
                    if let Some(Parked::Invocation { message, streaming }) =
                        self.backlog.pop_front()
                    {
                        self.invocation(message, streaming);
                    }
                }
                Parked::UploadEvent { stream_id, .. } => {
                    if let Some(tx) = self.uploads.get(stream_id) {
                        match tx.try_reserve() {
                            Ok(permit) => {
                                if let Some(Parked::UploadEvent { event, .. }) =
                                    self.backlog.pop_front()
                                {
                                    permit.send(event);
                                }
                            }
                            Err(mpsc::error::TrySendError::Full(())) => {
                                let tx = tx.clone();
                                // The permit is released at once: the backlog takes the
                                // room on its next pass.
                                self.blocked_on = Some(Box::pin(async move {
                                    let _ = tx.reserve_owned().await;
                                }));
                                return;
                            }
                            Err(mpsc::error::TrySendError::Closed(())) => {
                                self.backlog.pop_front();
                            }
                        }
                    } else {
                        // The call ended (or never started): nobody reads the stream.
                        self.backlog.pop_front();
                    }
                }
                Parked::UploadEnd { stream_id } => {
                    let stream_id = stream_id.clone();
                    self.backlog.pop_front();
                    self.uploads.remove(&stream_id);
                }
            }
        }
    }

    /// Answers a refused invocation with an error Completion (when it has an id). When
    /// the queue is full it waits for room beside everything else: with stateful
    /// reconnect, room comes from the client's Acks, which the session must go on
    /// reading.
    #[cold]
    fn answer_error(&mut self, invocation_id: Option<&str>, text: &str) {
        let Some(id) = invocation_id else { return };
        let completion = OutboundMessage::Completion {
            invocation_id: id,
            body: CompletionBody::<()>::Error(text),
        };
        let Ok(bytes) = completion.encode(self.protocol) else {
            return;
        };
        if let Some(bytes) = self.sender.offer(bytes) {
            let sender = self.sender;
            self.concurrent.push(Box::pin(async move {
                Finished {
                    delivered: sender.send(bytes).await.is_ok(),
                    stream_id: None,
                    upload_ids: Vec::new(),
                }
            }));
        }
    }

    /// Checks an invocation against the method table and starts it; answers the failures.
    fn invocation(&mut self, invocation: InvocationMessage, streaming: bool) {
        tracing::trace!(
            connection_id = self.cx.connection_id(),
            method = %invocation.target,
            streaming,
            "invocation"
        );
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
            return self.answer_error(id, &text);
        };
        if method.streaming && !streaming {
            let text = format!(
                "The client attempted to invoke the streaming '{target}' method with a non-streaming invocation."
            );
            return self.answer_error(id, &text);
        }
        if streaming && !method.streaming {
            let text = format!(
                "The client attempted to invoke the non-streaming '{target}' method with a streaming invocation."
            );
            return self.answer_error(id, &text);
        }
        if let Some(rule) = &method.authorize {
            let context = AuthorizationContext::for_invocation(
                self.cx.user_id(),
                self.cx.request(),
                &target,
                &arguments,
            );
            if rule.check(&context).is_err() {
                let text = format!("Failed to invoke '{target}' because user is unauthorized");
                return self.answer_error(id, &text);
            }
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
            return self.answer_error(id, &text);
        }
        if method.upload_streams != stream_ids.len() {
            let text = format!(
                "An unexpected error occurred invoking '{target}' on the server. HubException: Client sent {} stream(s), Hub method expects {}.",
                stream_ids.len(),
                method.upload_streams
            );
            return self.answer_error(id, &text);
        }
        let options = &self.hub.options;
        if streaming && self.streams.len() >= options.maximum_streams_per_client {
            let text = format!(
                "Failed to invoke '{target}' because the connection already has {} streams open (MaximumStreamsPerClient).",
                options.maximum_streams_per_client
            );
            return self.answer_error(id, &text);
        }
        if !stream_ids.is_empty()
            && self.uploads.len() + stream_ids.len() > options.maximum_uploads_per_client
        {
            let text = format!(
                "Failed to invoke '{target}' because the connection already has {} upload streams open (MaximumUploadsPerClient).",
                self.uploads.len()
            );
            return self.answer_error(id, &text);
        }
        // Only a stream can be cancelled (a child token costs a node in the connection's
        // token tree, so unary calls get none).
        let mut cancel = None;
        let stream_id = streaming.then(|| invocation_id.as_deref().unwrap_or_default().to_owned());
        if let Some(stream_id) = &stream_id {
            if self.streams.contains_key(stream_id) {
                let text = format!("Invocation ID '{stream_id}' is already in use.");
                return self.answer_error(id, &text);
            }
            let token = self.cx.connection_closed().child_token();
            self.streams.insert(stream_id.clone(), token.clone());
            cancel = Some(token);
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
            invocation_id,
            protocol: self.protocol,
            arguments,
            uploads,
            detailed_errors: detailed,
            sender: self.sender.clone(),
            cancel,
        });
        let future = self.call(call, stream_id, stream_ids);
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
        let responder = call.responder();
        let filters = &hub.options.filters.0;
        if filters.is_empty() {
            let run = hub.dispatcher.dispatch(cx, call);
            return Box::pin(Answer::new(
                run,
                responder,
                self.sender,
                stream_id,
                upload_ids,
            ));
        }
        let answer_error = responder.clone();
        let run = async move {
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
                Err(error) => answer_error.complete_error(error),
            }
        };
        Box::pin(Answer::new(
            run,
            responder,
            self.sender,
            stream_id,
            upload_ids,
        ))
    }
}

/// A timer deadline; `None` (no deadline) parks the timer far away, and its select branch
/// is disabled so it never wakes.
fn to_tokio(deadline: Option<std::time::Instant>) -> Instant {
    match deadline {
        Some(deadline) => Instant::from_std(deadline),
        None => Instant::now() + std::time::Duration::from_secs(86_400 * 365),
    }
}

/// Resolves when the connection's authentication expires; never without an expiry.
async fn expired(expires: &mut Option<std::pin::Pin<Box<tokio::time::Sleep>>>) {
    match expires {
        Some(timer) => timer.as_mut().await,
        None => std::future::pending().await,
    }
}

/// Resolves when the upload stream the backlog waits for has room again (or closed).
async fn upload_room(blocked_on: &mut Option<BoxFuture<'static, ()>>) {
    match blocked_on {
        Some(room) => room.as_mut().await,
        None => std::future::pending().await,
    }
}

fn find_method<D: Dispatch>(target: &str) -> Option<(usize, &'static MethodInfo)> {
    D::METHODS
        .iter()
        .enumerate()
        .find(|(_, m)| m.name.eq_ignore_ascii_case(target))
}

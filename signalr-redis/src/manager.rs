//! [`RedisHubLifetimeManager`]: one hub's connections, groups and users across every
//! server on the backplane (modelling .NET's `RedisHubLifetimeManager<THub>`).

use crate::acks::Acks;
use crate::bus::Bus;
use crate::channels::{Channel, RedisChannels};
use crate::envelope::{self, GroupAction, GroupCommand, RedisInvocation};
use crate::results::{ForwardedResults, RemoteResults, DISCONNECTED};
use bytes::Bytes;
use signalr_core::hub::{
    BoxFuture, ClientInvocation, ClientResultError, ClientTarget, DefaultHubLifetimeManager,
    GroupError, HubConnectionContext, HubLifetimeManager, SendError, SerializedHubMessage,
    Stragglers,
};
use signalr_core::protocol::{
    parse_message, CompletionBody, CompletionMessage, CompletionOutcome, HubMessage, HubProtocol,
    OutboundMessage, RawValue, RecordReader,
};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One hub on the backplane: its local connections and what it shares through Redis.
#[derive(Debug)]
pub(crate) struct RedisHub {
    local: DefaultHubLifetimeManager,
    pub(crate) channels: RedisChannels,
    bus: Arc<Bus>,
    server_name: Arc<str>,
    protocols: Vec<HubProtocol>,
    group_ack_timeout: Duration,
    acks: Acks,
    remote_results: RemoteResults,
    forwarded: ForwardedResults,
    /// Deliveries to connections whose queues were full, handed to one task in arrival
    /// order: a message waits behind the previous one's stragglers, as a local send
    /// waits for its own, and a connection gets its messages in order.
    stragglers: tokio::sync::mpsc::UnboundedSender<Stragglers>,
    /// Held while a local membership changes together with the subscription it implies,
    /// so that a join and the last leave of a group cannot reach the subscription keeper
    /// in the opposite order.
    membership: Mutex<()>,
}

impl RedisHub {
    pub(crate) fn new(
        bus: Arc<Bus>,
        channels: RedisChannels,
        server_name: Arc<str>,
        protocols: Vec<HubProtocol>,
        group_ack_timeout: Duration,
    ) -> Arc<Self> {
        let (stragglers, mut waiting) = tokio::sync::mpsc::unbounded_channel::<Stragglers>();
        tokio::spawn(async move {
            while let Some(stragglers) = waiting.recv().await {
                stragglers.deliver().await;
            }
        });
        let hub = Arc::new(RedisHub {
            stragglers,
            local: DefaultHubLifetimeManager::new(),
            channels,
            bus,
            server_name,
            protocols,
            group_ack_timeout,
            acks: Acks::default(),
            remote_results: RemoteResults::default(),
            forwarded: ForwardedResults::default(),
            membership: Mutex::new(()),
        });
        for channel in [
            hub.channels.all(),
            hub.channels.group_management(),
            hub.channels.ack(&hub.server_name),
            hub.channels.return_results(&hub.server_name),
        ] {
            hub.bus.want_now(channel);
        }
        hub
    }

    fn membership(&self) -> std::sync::MutexGuard<'_, ()> {
        self.membership.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The message's envelope: its records in every configured protocol, serialized once
    /// here for all receiving servers.
    fn envelope(
        &self,
        message: &SerializedHubMessage<'_>,
        excluded: &[Arc<str>],
    ) -> Result<Bytes, SendError> {
        let records = self
            .protocols
            .iter()
            .map(|&protocol| Ok((protocol, message.serialized(protocol)?)))
            .collect::<Result<Vec<_>, SendError>>()?;
        Ok(envelope::write_invocation(excluded, &records, None))
    }

    /// Publishes to `channel`; when Redis cannot take it, this server's own connections
    /// of `local_target` still get the message (the failure is counted and logged).
    async fn publish_or_deliver_locally(
        &self,
        channel: String,
        payload: Bytes,
        local_target: &ClientTarget,
        message: &SerializedHubMessage<'_>,
    ) -> Result<(), SendError> {
        match self.bus.publish(&channel, payload).await {
            Ok(_) => Ok(()),
            Err(_) => self.local.send_local(local_target, message).await,
        }
    }

    async fn send(
        &self,
        target: &ClientTarget,
        message: &SerializedHubMessage<'_>,
    ) -> Result<(), SendError> {
        let channels = &self.channels;
        match target {
            ClientTarget::Connection(id) => {
                if self.local.connection(id).is_some() {
                    return self.local.send_local(target, message).await;
                }
                let payload = self.envelope(message, &[])?;
                // Not here: the server that holds it delivers (none does: nobody gets it).
                let _ = self.bus.publish(&channels.connection(id), payload).await;
                Ok(())
            }
            ClientTarget::Connections(ids) => {
                let (here, elsewhere): (Vec<_>, Vec<_>) = ids
                    .iter()
                    .cloned()
                    .partition(|id| self.local.connection(id).is_some());
                if !elsewhere.is_empty() {
                    let payload = self.envelope(message, &[])?;
                    futures_util::future::join_all(elsewhere.iter().map(|id| {
                        self.bus
                            .publish_owned(channels.connection(id), payload.clone())
                    }))
                    .await;
                }
                if !here.is_empty() {
                    let here = ClientTarget::Connections(here.into());
                    self.local.send_local(&here, message).await?;
                }
                Ok(())
            }
            ClientTarget::All => {
                let payload = self.envelope(message, &[])?;
                self.publish_or_deliver_locally(channels.all(), payload, target, message)
                    .await
            }
            ClientTarget::AllExcept(excluded) => {
                let payload = self.envelope(message, excluded)?;
                self.publish_or_deliver_locally(channels.all(), payload, target, message)
                    .await
            }
            ClientTarget::Group(group) => {
                let payload = self.envelope(message, &[])?;
                self.publish_or_deliver_locally(channels.group(group), payload, target, message)
                    .await
            }
            ClientTarget::GroupExcept(group, excluded) => {
                let payload = self.envelope(message, excluded)?;
                self.publish_or_deliver_locally(channels.group(group), payload, target, message)
                    .await
            }
            ClientTarget::User(user) => {
                let payload = self.envelope(message, &[])?;
                self.publish_or_deliver_locally(channels.user(user), payload, target, message)
                    .await
            }
            ClientTarget::Groups(groups) => {
                let group = |g: &str| channels.group(g);
                self.publish_each(groups, group, ClientTarget::Group, message)
                    .await
            }
            ClientTarget::Users(users) => {
                let user = |u: &str| channels.user(u);
                self.publish_each(users, user, ClientTarget::User, message)
                    .await
            }
        }
    }

    /// The several-groups and several-users targets: one envelope, published to the
    /// channel of each name (empty names skipped, as .NET skips them).
    async fn publish_each(
        &self,
        names: &[Arc<str>],
        channel: impl Fn(&str) -> String,
        single: impl Fn(Arc<str>) -> ClientTarget,
        message: &SerializedHubMessage<'_>,
    ) -> Result<(), SendError> {
        let payload = self.envelope(message, &[])?;
        let each = names.iter().filter(|name| !name.is_empty()).map(|name| {
            let target = single(name.clone());
            let (channel, payload) = (channel(name), payload.clone());
            async move {
                self.publish_or_deliver_locally(channel, payload, &target, message)
                    .await
            }
        });
        futures_util::future::join_all(each)
            .await
            .into_iter()
            .collect()
    }

    fn join_locally(&self, connection_id: &str, group: &str) -> tokio::sync::oneshot::Receiver<()> {
        let _membership = self.membership();
        self.local.add_to_group_local(connection_id, group);
        self.bus.want(self.channels.group(group))
    }

    fn leave_locally(&self, connection_id: &str, group: &str) {
        let _membership = self.membership();
        self.local.remove_from_group_local(connection_id, group);
        if !self.local.has_group(group) {
            self.bus.unwant(self.channels.group(group));
        }
    }

    /// Asks the server holding `connection_id` to change its groups, and waits for its
    /// acknowledgement.
    async fn group_command(
        &self,
        connection_id: &str,
        group: &str,
        action: GroupAction,
    ) -> Result<(), GroupError> {
        let mut waiting = self.acks.create();
        let command = envelope::write_group_command(&GroupCommand {
            id: waiting.id,
            server_name: self.server_name.to_string(),
            action,
            group: group.to_owned(),
            connection_id: connection_id.to_owned(),
        });
        self.bus
            .publish(&self.channels.group_management(), command)
            .await
            .map_err(|e| GroupError::Backplane(e.to_string()))?;
        match tokio::time::timeout(self.group_ack_timeout, &mut waiting.acked).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(GroupError::Backplane(format!(
                "no server acknowledged the group change for connection `{connection_id}` within {:?} \
                 (it is on no server of this backplane, or its server is unreachable)",
                self.group_ack_timeout
            ))),
        }
    }

    async fn invoke_elsewhere(
        &self,
        connection_id: &str,
        invocation: ClientInvocation<'_>,
    ) -> Result<RawValue, ClientResultError> {
        let mut awaiting = self.remote_results.register();
        let records = self
            .protocols
            .iter()
            .map(|&protocol| {
                invocation
                    .encode(protocol, Some(&awaiting.invocation_id))
                    .map(|bytes| (protocol, bytes))
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(SendError::from)?;
        let return_channel = self.channels.return_results(&self.server_name);
        let payload = envelope::write_invocation(
            &[] as &[&str],
            &records,
            Some((&awaiting.invocation_id, &return_channel)),
        );
        let receivers = self
            .bus
            .publish(&self.channels.connection(connection_id), payload)
            .await
            .map_err(|e| ClientResultError::Backplane(e.to_string()))?;
        if receivers < 1 {
            return Err(ClientResultError::UnknownConnection(
                connection_id.to_owned(),
            ));
        }
        (&mut awaiting.reply)
            .await
            .map_err(|_| ClientResultError::Disconnected)?
    }

    /// Sends a Completion back to the server awaiting it.
    fn return_completion(&self, return_channel: String, protocol: HubProtocol, record: Bytes) {
        let bus = self.bus.clone();
        let payload = envelope::write_completion(protocol, &record);
        tokio::spawn(async move {
            let _ = bus.publish(&return_channel, payload).await;
        });
    }

    /// A message arrived on one of this hub's channels.
    pub(crate) fn on_message(self: &Arc<Self>, channel: Channel<'_>, payload: Bytes) {
        if let Err(error) = self.handle(channel, payload) {
            self.bus
                .counters
                .malformed_received
                .fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%error, ?channel, "ignoring a malformed backplane message");
        }
    }

    fn handle(
        self: &Arc<Self>,
        channel: Channel<'_>,
        payload: Bytes,
    ) -> Result<(), envelope::EnvelopeError> {
        match channel {
            Channel::All => {
                let invocation = envelope::read_invocation(payload)?;
                let target = if invocation.excluded.is_empty() {
                    ClientTarget::All
                } else {
                    ClientTarget::AllExcept(excluded(&invocation))
                };
                self.deliver(&target, &invocation);
            }
            Channel::Group(group) => {
                let invocation = envelope::read_invocation(payload)?;
                let target = if invocation.excluded.is_empty() {
                    ClientTarget::Group(group.into())
                } else {
                    ClientTarget::GroupExcept(group.into(), excluded(&invocation))
                };
                self.deliver(&target, &invocation);
            }
            Channel::User(user) => {
                let invocation = envelope::read_invocation(payload)?;
                self.deliver(&ClientTarget::User(user.into()), &invocation);
            }
            Channel::Connection(id) => {
                let invocation = envelope::read_invocation(payload)?;
                let Some(connection) = self.local.connection(id) else {
                    return Ok(());
                };
                if let Some((invocation_id, return_channel)) = &invocation.client_result {
                    self.forwarded.register(
                        invocation_id.clone(),
                        connection.connection_id().clone(),
                        return_channel.clone(),
                    );
                }
                self.deliver(&ClientTarget::Connection(id.into()), &invocation);
            }
            Channel::GroupManagement => {
                let command = envelope::read_group_command(payload)?;
                if self.local.connection(&command.connection_id).is_none() {
                    return Ok(()); // another server's connection: that server answers
                }
                let hub = self.clone();
                tokio::spawn(async move {
                    match command.action {
                        GroupAction::Add => {
                            let subscribed =
                                hub.join_locally(&command.connection_id, &command.group);
                            let _ = subscribed.await;
                        }
                        GroupAction::Remove => {
                            hub.leave_locally(&command.connection_id, &command.group)
                        }
                    }
                    let ack = envelope::write_ack(command.id);
                    let _ = hub
                        .bus
                        .publish(&hub.channels.ack(&command.server_name), ack)
                        .await;
                });
            }
            Channel::Ack => {
                let id = envelope::read_ack(payload)?;
                self.acks.trigger(id);
            }
            Channel::ReturnResults => {
                let completion = envelope::read_completion(payload)?;
                let Some(protocol) = HubProtocol::from_name(&completion.protocol_name) else {
                    tracing::warn!(
                        protocol = completion.protocol_name,
                        "a client result came back in a protocol this server does not have"
                    );
                    return Ok(());
                };
                match parse_completion(protocol, completion.record) {
                    Some(message) => {
                        self.remote_results
                            .complete(&message.invocation_id, message.outcome);
                    }
                    None => tracing::warn!("a client result came back that is not a Completion"),
                }
            }
        }
        Ok(())
    }

    /// Hands a received message to this server's connections of `target`, without ever
    /// waiting here: connections whose queues are full get it from the stragglers' task.
    fn deliver(&self, target: &ClientTarget, invocation: &RedisInvocation) {
        let message = SerializedHubMessage::from_serialized(invocation.known_records());
        match self.local.offer_local(target, &message) {
            Ok(stragglers) if !stragglers.is_empty() => {
                let _ = self.stragglers.send(stragglers);
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(
                %error,
                "This message was received from another server that did not have the requested protocol available."
            ),
        }
    }
}

fn excluded(invocation: &RedisInvocation) -> Arc<[Arc<str>]> {
    invocation
        .excluded
        .iter()
        .map(|id| Arc::from(id.as_str()))
        .collect()
}

/// The one Completion in a framed record.
fn parse_completion(protocol: HubProtocol, record: Bytes) -> Option<CompletionMessage> {
    let mut reader = RecordReader::new(protocol, None);
    reader.push(&record);
    let record = reader.next_record().ok()??;
    match parse_message(protocol, record) {
        Ok(Some(HubMessage::Completion(completion))) => Some(completion),
        _ => None,
    }
}

/// The framed Completion of `completion` in `protocol`.
fn encode_completion(protocol: HubProtocol, completion: &CompletionMessage) -> Option<Bytes> {
    let body = match &completion.outcome {
        CompletionOutcome::Void => CompletionBody::Void,
        CompletionOutcome::Error(text) => CompletionBody::Error(text),
        CompletionOutcome::Result(raw) => CompletionBody::Raw(raw),
    };
    let message: OutboundMessage<'_, ()> = OutboundMessage::Completion {
        invocation_id: &completion.invocation_id,
        body,
    };
    message.encode(protocol).ok()
}

/// A hub's lifetime manager on the Redis backplane: every client target, group change and
/// client result reaches connections on every server of the backplane. Made by
/// [`RedisBackplane::hub`](crate::RedisBackplane::hub) and installed with
/// [`HubServer::lifetime_manager`](signalr_core::hub::HubServer::lifetime_manager).
///
/// What it does, as ASP.NET Core's backplane: every send is published to the channel of
/// its target (a send to a single connection of this server is delivered directly), and
/// every server delivers what it receives to its own connections; each message is
/// serialized once per protocol by the server that sends it. A server subscribes to a
/// group's or user's channel only while it holds a member. Adding a connection of
/// another server to a group is a command that server acknowledges. A client result from
/// a connection elsewhere travels there and back in the same envelopes as .NET's.
#[derive(Debug, Clone)]
pub struct RedisHubLifetimeManager {
    pub(crate) hub: Arc<RedisHub>,
}

impl HubLifetimeManager for RedisHubLifetimeManager {
    fn on_connected(&self, connection: HubConnectionContext) -> BoxFuture<'_, ()> {
        let hub = &self.hub;
        let subscribed = {
            let _membership = hub.membership();
            let channel = hub.channels.connection(connection.connection_id());
            if let Some(user) = connection.user_id().filter(|u| !u.is_empty()) {
                hub.bus.want_now(hub.channels.user(user));
            }
            hub.local.add_local(connection);
            hub.bus.want(channel)
        };
        Box::pin(async move {
            let _ = subscribed.await;
        })
    }

    fn on_disconnected<'a>(&'a self, connection_id: &'a str) -> BoxFuture<'a, ()> {
        let hub = &self.hub;
        let protocol = hub.local.connection(connection_id).map(|c| c.protocol());
        {
            let _membership = hub.membership();
            let groups = hub.local.groups_of(connection_id);
            let user = hub
                .local
                .connection(connection_id)
                .and_then(|c| c.user_id().cloned());
            hub.local.remove_local(connection_id);
            hub.bus.unwant(hub.channels.connection(connection_id));
            for group in groups {
                if !hub.local.has_group(&group) {
                    hub.bus.unwant(hub.channels.group(&group));
                }
            }
            if let Some(user) = user.filter(|u| !hub.local.has_user(u)) {
                hub.bus.unwant(hub.channels.user(&user));
            }
        }
        // Servers awaiting a result from this connection learn it is gone.
        for (invocation_id, return_channel) in hub.forwarded.take_connection(connection_id) {
            let completion = CompletionMessage {
                invocation_id,
                outcome: CompletionOutcome::Error(DISCONNECTED.to_owned()),
            };
            let protocol = protocol.unwrap_or(HubProtocol::Json);
            if let Some(record) = encode_completion(protocol, &completion) {
                hub.return_completion(return_channel, protocol, record);
            }
        }
        Box::pin(std::future::ready(()))
    }

    fn send<'a>(
        &'a self,
        target: &'a ClientTarget,
        message: &'a SerializedHubMessage<'a>,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(self.hub.send(target, message))
    }

    fn add_to_group<'a>(
        &'a self,
        connection_id: &'a str,
        group: &'a str,
    ) -> BoxFuture<'a, Result<(), GroupError>> {
        Box::pin(async move {
            if self.hub.local.connection(connection_id).is_some() {
                let subscribed = self.hub.join_locally(connection_id, group);
                let _ = subscribed.await;
                return Ok(());
            }
            self.hub
                .group_command(connection_id, group, GroupAction::Add)
                .await
        })
    }

    fn remove_from_group<'a>(
        &'a self,
        connection_id: &'a str,
        group: &'a str,
    ) -> BoxFuture<'a, Result<(), GroupError>> {
        Box::pin(async move {
            if self.hub.local.connection(connection_id).is_some() {
                self.hub.leave_locally(connection_id, group);
                return Ok(());
            }
            self.hub
                .group_command(connection_id, group, GroupAction::Remove)
                .await
        })
    }

    fn invoke_connection<'a>(
        &'a self,
        connection_id: &'a str,
        invocation: ClientInvocation<'a>,
    ) -> BoxFuture<'a, Result<RawValue, ClientResultError>> {
        Box::pin(async move {
            if self.hub.local.connection(connection_id).is_some() {
                return self.hub.local.invoke_local(connection_id, invocation).await;
            }
            self.hub.invoke_elsewhere(connection_id, invocation).await
        })
    }

    fn set_connection_result(&self, connection_id: &str, completion: CompletionMessage) -> bool {
        let hub = &self.hub;
        if let Some(return_channel) = hub.forwarded.take(connection_id, &completion.invocation_id) {
            let protocol = hub
                .local
                .connection(connection_id)
                .map(|c| c.protocol())
                .unwrap_or(HubProtocol::Json);
            match encode_completion(protocol, &completion) {
                Some(record) => hub.return_completion(return_channel, protocol, record),
                None => tracing::warn!("could not re-encode a client result for the backplane"),
            }
            return true;
        }
        hub.local.set_connection_result(connection_id, completion)
    }
}

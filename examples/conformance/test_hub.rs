//! `TestHub`: the hub of the official client's functional tests (contract A.3) and the
//! project's extensions (contract B).

use serde::{Deserialize, Serialize};
use signalr::hub::{ClientProxy, Single, UploadError};
use signalr::prelude::*;
use signalr::protocol::{ByteArray, Timestamp};
use std::time::Duration;

/// The object of `SendCustomObject`, PascalCase on the wire as .NET declares it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CustomObject {
    /// A name.
    pub(crate) name: String,
    /// A value.
    pub(crate) value: i32,
}

/// The object `SendComplexObject` returns.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ComplexObject {
    /// A string.
    pub(crate) string: String,
    /// Integers.
    pub(crate) int_array: Vec<i32>,
    /// Bytes: Base64 in JSON, `bin` in MessagePack.
    pub(crate) byte_array: ByteArray,
    /// A GUID as text.
    pub(crate) guid: String,
    /// UTC time: ISO-8601 in JSON, timestamp extension in MessagePack.
    pub(crate) date_time: Timestamp,
}

/// What TestHub calls on its clients.
#[signalr::hub_client]
pub(crate) trait TestClient {
    /// `InvokeWithString` and `SendToConnection`.
    async fn message(&self, message: String);
    /// `SendCustomObject`.
    async fn custom_object(&self, custom_object: CustomObject);
    /// `InfiniteStream` was cancelled.
    async fn stream_canceled(&self);
    /// `GET /clientresult/{id}` asks for a number.
    async fn result(&self) -> i32;
    /// `GetClientResult` asks the caller to compute.
    async fn compute(&self, value: i32) -> i32;
    /// `SendToGroup`.
    async fn group_message(&self, group: String, message: String);
    /// `SendToOthers`.
    async fn others_message(&self, message: String);
    /// `SendToCaller`.
    async fn caller_message(&self, message: String);
    /// `Broadcast`.
    async fn broadcast_message(&self, message: String);
}

/// The methods of TestHub.
#[signalr::hub]
pub(crate) trait TestHub {
    /// Returns `message` unchanged (`null` included).
    async fn echo(&self, message: Option<String>) -> Option<String>;
    /// The caller's connection id.
    async fn get_caller_connection_id(&self, cx: &Ctx) -> String;
    /// The `numRedirects` query parameter of the connection's request.
    async fn get_num_redirects(&self, cx: &Ctx) -> i64;
    /// Always fails with an `InvalidOperationException`.
    async fn throw_exception(&self, message: String) -> Result<(), HubError>;
    /// Calls `Message(message)` on the caller.
    async fn invoke_with_string(&self, cx: &Ctx, message: String) -> Result<(), HubError>;
    /// Calls `CustomObject(customObject)` on the caller.
    async fn send_custom_object(
        &self,
        cx: &Ctx,
        custom_object: CustomObject,
    ) -> Result<(), HubError>;
    /// Streams "a", "b", "c".
    async fn stream(&self) -> impl Stream<Item = String>;
    /// Never yields; its cancellation calls `StreamCanceled` on the caller.
    async fn infinite_stream(&self, cx: &Ctx) -> impl Stream<Item = String>;
    /// Concatenates an uploaded stream of strings.
    async fn streaming_concat(&self, stream: UploadStream<String>) -> Result<String, HubError>;
    /// A stream with no items.
    async fn empty_stream(&self) -> impl Stream<Item = i32>;
    /// Fails before its stream starts.
    async fn stream_throw_exception(
        &self,
        message: String,
    ) -> Result<impl Stream<Item = i32>, HubError>;
    /// The transport of the caller's connection.
    async fn get_active_transport_name(&self, cx: &Ctx) -> String;
    /// Returns the object exactly as it came (bin and timestamps included).
    async fn echo_complex_object(&self, complex_object: rmpv::Value) -> rmpv::Value;
    /// A fixed complex object.
    async fn send_complex_object(&self) -> ComplexObject;
    /// The `Content-Type` header of the connection's request.
    async fn get_content_type_header(&self, cx: &Ctx) -> Option<String>;
    /// A header of the connection's request.
    async fn get_header(&self, cx: &Ctx, header_name: String) -> Option<String>;
    /// A cookie of the connection's request.
    async fn get_cookie(&self, cx: &Ctx, cookie_name: String) -> Option<String>;
    /// Returns any value unchanged.
    async fn echo_any(&self, value: rmpv::Value) -> rmpv::Value;
    /// Adds the caller to a group.
    async fn join_group(&self, cx: &Ctx, group: String) -> Result<(), HubError>;
    /// Removes the caller from a group.
    async fn leave_group(&self, cx: &Ctx, group: String) -> Result<(), HubError>;
    /// `GroupMessage(group, message)` to the group.
    async fn send_to_group(&self, cx: &Ctx, group: String, message: String)
        -> Result<(), HubError>;
    /// `OthersMessage(message)` to everyone but the caller.
    async fn send_to_others(&self, cx: &Ctx, message: String) -> Result<(), HubError>;
    /// `CallerMessage(message)` to the caller.
    async fn send_to_caller(&self, cx: &Ctx, message: String) -> Result<(), HubError>;
    /// `Message(message)` to one connection.
    async fn send_to_connection(
        &self,
        cx: &Ctx,
        connection_id: String,
        message: String,
    ) -> Result<(), HubError>;
    /// `BroadcastMessage(message)` to everyone.
    async fn broadcast(&self, cx: &Ctx, message: String) -> Result<(), HubError>;
    /// Streams 1..=count, `delay_ms` apart.
    async fn count_to(&self, count: i32, delay_ms: u64) -> impl Stream<Item = i32>;
    /// Streams 1..=count, then fails.
    async fn stream_then_throw(
        &self,
        count: i32,
        message: String,
    ) -> impl Stream<Item = Result<i32, HubError>>;
    /// Closes the caller's connection from the server.
    async fn abort_connection(&self, cx: &Ctx);
    /// Asks the caller to compute `Compute(value)` and returns its answer.
    async fn get_client_result(&self, cx: &Ctx, value: i32) -> Result<i32, HubError>;
    /// Ours (scale-out tests): adds any connection, possibly held by another server of
    /// the backplane, to a group; returns once its server acknowledged.
    async fn add_to_group(
        &self,
        cx: &Ctx,
        connection_id: String,
        group: String,
    ) -> Result<(), HubError>;
    /// Ours: removes any connection from a group, as `AddToGroup` adds it.
    async fn remove_from_group(
        &self,
        cx: &Ctx,
        connection_id: String,
        group: String,
    ) -> Result<(), HubError>;
    /// Ours: asks any connection, possibly held by another server, to compute
    /// `Compute(value)` and returns its answer.
    async fn get_client_result_from(
        &self,
        cx: &Ctx,
        connection_id: String,
        value: i32,
    ) -> Result<i32, HubError>;
}

/// The implementation: stateless.
#[derive(Debug, Default)]
pub(crate) struct Tests;

fn invalid_operation(message: String) -> HubError {
    HubError::internal("InvalidOperationException", message)
}

/// Calls `StreamCanceled` on its connection when dropped before the stream ended.
struct NotifyOnCancel {
    caller: Option<ClientProxy<Single>>,
}

impl Drop for NotifyOnCancel {
    fn drop(&mut self) {
        if let Some(caller) = self.caller.take() {
            tokio::spawn(async move {
                let _ = caller.stream_canceled().await;
            });
        }
    }
}

fn header(cx: &Ctx, name: &str) -> Option<String> {
    cx.request()
        .headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

impl TestHub for Tests {
    async fn echo(&self, message: Option<String>) -> Option<String> {
        message
    }

    async fn get_caller_connection_id(&self, cx: &Ctx) -> String {
        cx.connection_id().to_owned()
    }

    async fn get_num_redirects(&self, cx: &Ctx) -> i64 {
        signalr::endpoint::query_param(cx.request().uri.query(), "numRedirects")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    async fn throw_exception(&self, message: String) -> Result<(), HubError> {
        Err(invalid_operation(message))
    }

    async fn invoke_with_string(&self, cx: &Ctx, message: String) -> Result<(), HubError> {
        cx.clients().caller().message(message).await?;
        Ok(())
    }

    async fn send_custom_object(
        &self,
        cx: &Ctx,
        custom_object: CustomObject,
    ) -> Result<(), HubError> {
        cx.clients().caller().custom_object(custom_object).await?;
        Ok(())
    }

    async fn stream(&self) -> impl Stream<Item = String> {
        signalr::stream::iter(["a", "b", "c"].map(str::to_owned))
    }

    async fn infinite_stream(&self, cx: &Ctx) -> impl Stream<Item = String> {
        let guard = NotifyOnCancel {
            caller: Some(cx.clients().caller()),
        };
        signalr::stream::unfold(guard, |guard| async move {
            std::future::pending::<()>().await;
            drop(guard);
            None
        })
    }

    async fn streaming_concat(&self, mut stream: UploadStream<String>) -> Result<String, HubError> {
        let mut text = String::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(part) => text.push_str(&part),
                Err(UploadError::Client(error)) => return Err(HubError::new(error)),
                Err(other) => return Err(other.into()),
            }
        }
        Ok(text)
    }

    async fn empty_stream(&self) -> impl Stream<Item = i32> {
        signalr::stream::empty()
    }

    async fn stream_throw_exception(
        &self,
        message: String,
    ) -> Result<impl Stream<Item = i32>, HubError> {
        if message.is_empty() {
            return Ok(signalr::stream::empty());
        }
        Err(invalid_operation(message))
    }

    async fn get_active_transport_name(&self, cx: &Ctx) -> String {
        cx.transport().name().to_owned()
    }

    async fn echo_complex_object(&self, complex_object: rmpv::Value) -> rmpv::Value {
        complex_object
    }

    async fn send_complex_object(&self) -> ComplexObject {
        ComplexObject {
            string: "hello world".to_owned(),
            int_array: vec![1, 2, 3],
            byte_array: ByteArray(vec![1, 2, 3]),
            guid: "00010203-0405-0607-0706-050403020100".to_owned(),
            date_time: Timestamp::from_unix(946_684_800, 0),
        }
    }

    async fn get_content_type_header(&self, cx: &Ctx) -> Option<String> {
        header(cx, "content-type")
    }

    async fn get_header(&self, cx: &Ctx, header_name: String) -> Option<String> {
        header(cx, &header_name)
    }

    async fn get_cookie(&self, cx: &Ctx, cookie_name: String) -> Option<String> {
        cx.request()
            .headers
            .get_all("cookie")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|cookies| cookies.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == cookie_name)
            .map(|(_, value)| value.to_owned())
    }

    async fn echo_any(&self, value: rmpv::Value) -> rmpv::Value {
        value
    }

    async fn join_group(&self, cx: &Ctx, group: String) -> Result<(), HubError> {
        cx.groups().add_to_group(cx.connection_id(), &group).await?;
        Ok(())
    }

    async fn leave_group(&self, cx: &Ctx, group: String) -> Result<(), HubError> {
        cx.groups()
            .remove_from_group(cx.connection_id(), &group)
            .await?;
        Ok(())
    }

    async fn send_to_group(
        &self,
        cx: &Ctx,
        group: String,
        message: String,
    ) -> Result<(), HubError> {
        let members = cx.clients().group(&group);
        members.group_message(group, message).await?;
        Ok(())
    }

    async fn send_to_others(&self, cx: &Ctx, message: String) -> Result<(), HubError> {
        cx.clients().others().others_message(message).await?;
        Ok(())
    }

    async fn send_to_caller(&self, cx: &Ctx, message: String) -> Result<(), HubError> {
        cx.clients().caller().caller_message(message).await?;
        Ok(())
    }

    async fn send_to_connection(
        &self,
        cx: &Ctx,
        connection_id: String,
        message: String,
    ) -> Result<(), HubError> {
        cx.clients().client(&connection_id).message(message).await?;
        Ok(())
    }

    async fn broadcast(&self, cx: &Ctx, message: String) -> Result<(), HubError> {
        cx.clients().all().broadcast_message(message).await?;
        Ok(())
    }

    async fn count_to(&self, count: i32, delay_ms: u64) -> impl Stream<Item = i32> {
        signalr::stream::unfold(1, move |next| async move {
            if next > count {
                return None;
            }
            if next > 1 {
                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            }
            Some((next, next + 1))
        })
    }

    async fn stream_then_throw(
        &self,
        count: i32,
        message: String,
    ) -> impl Stream<Item = Result<i32, HubError>> {
        let items = (1..=count.max(0)).map(Ok);
        signalr::stream::iter(items.chain(std::iter::once(Err(invalid_operation(message)))))
    }

    async fn abort_connection(&self, cx: &Ctx) {
        cx.abort();
    }

    async fn get_client_result(&self, cx: &Ctx, value: i32) -> Result<i32, HubError> {
        match cx.clients().caller().compute(value).await {
            Ok(result) => Ok(result),
            Err(ClientResultError::Client(text)) => Err(HubError::new(text)),
            Err(other) => Err(other.into()),
        }
    }

    async fn add_to_group(
        &self,
        cx: &Ctx,
        connection_id: String,
        group: String,
    ) -> Result<(), HubError> {
        cx.groups().add_to_group(&connection_id, &group).await?;
        Ok(())
    }

    async fn remove_from_group(
        &self,
        cx: &Ctx,
        connection_id: String,
        group: String,
    ) -> Result<(), HubError> {
        cx.groups()
            .remove_from_group(&connection_id, &group)
            .await?;
        Ok(())
    }

    async fn get_client_result_from(
        &self,
        cx: &Ctx,
        connection_id: String,
        value: i32,
    ) -> Result<i32, HubError> {
        match cx.clients().client(&connection_id).compute(value).await {
            Ok(result) => Ok(result),
            Err(ClientResultError::Client(text)) => Err(HubError::new(text)),
            Err(other) => Err(other.into()),
        }
    }
}

//! Every proxy, group change and client result reaches the lifetime manager as the right
//! call, proven through a stub manager that records what it is asked.

use super::handle::HubHandle;
use super::lifetime::{
    ClientInvocation, ClientTarget, HubConnectionContext, HubLifetimeManager, SerializedHubMessage,
};
use super::{
    BoxFuture, ClientResultError, Ctx, GroupError, HubContext, SendError, SingleClientProxy,
};
use crate::connection::TransportType;
use crate::protocol::{CompletionMessage, HubProtocol, RawValue};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What the stub was asked to do.
#[derive(Debug, Clone, PartialEq)]
enum Call {
    Send { target: ClientTarget, json: String },
    AddToGroup { connection: String, group: String },
    RemoveFromGroup { connection: String, group: String },
    Invoke { connection: String, json: String },
}

/// Records every call; answers client results with `42` unless told to stay silent, and
/// refuses group changes for the group named `refused`.
#[derive(Debug, Default)]
struct RecordingManager {
    calls: Mutex<Vec<Call>>,
    silent: bool,
}

impl RecordingManager {
    fn record(&self, call: Call) {
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(call);
    }
}

fn json_text(message: &SerializedHubMessage<'_>) -> String {
    let bytes = message.serialized(HubProtocol::Json).unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn group_result(group: &str) -> Result<(), GroupError> {
    if group == "refused" {
        return Err(GroupError::Backplane("no acknowledgement".to_owned()));
    }
    Ok(())
}

impl HubLifetimeManager for RecordingManager {
    fn on_connected(&self, _connection: HubConnectionContext) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    fn on_disconnected<'a>(&'a self, _connection_id: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }

    fn send<'a>(
        &'a self,
        target: &'a ClientTarget,
        message: &'a SerializedHubMessage<'a>,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        self.record(Call::Send {
            target: target.clone(),
            json: json_text(message),
        });
        Box::pin(async { Ok(()) })
    }

    fn add_to_group<'a>(
        &'a self,
        connection_id: &'a str,
        group: &'a str,
    ) -> BoxFuture<'a, Result<(), GroupError>> {
        self.record(Call::AddToGroup {
            connection: connection_id.to_owned(),
            group: group.to_owned(),
        });
        Box::pin(async move { group_result(group) })
    }

    fn remove_from_group<'a>(
        &'a self,
        connection_id: &'a str,
        group: &'a str,
    ) -> BoxFuture<'a, Result<(), GroupError>> {
        self.record(Call::RemoveFromGroup {
            connection: connection_id.to_owned(),
            group: group.to_owned(),
        });
        Box::pin(async move { group_result(group) })
    }

    fn invoke_connection<'a>(
        &'a self,
        connection_id: &'a str,
        invocation: ClientInvocation<'a>,
    ) -> BoxFuture<'a, Result<RawValue, ClientResultError>> {
        let bytes = invocation
            .encode(HubProtocol::Json, Some("7"))
            .unwrap_or_default();
        self.record(Call::Invoke {
            connection: connection_id.to_owned(),
            json: String::from_utf8_lossy(&bytes).into_owned(),
        });
        let silent = self.silent;
        Box::pin(async move {
            if silent {
                std::future::pending::<()>().await;
            }
            Ok(RawValue::new(
                HubProtocol::Json,
                bytes::Bytes::from_static(b"42"),
            ))
        })
    }

    fn set_connection_result(&self, _connection_id: &str, _completion: CompletionMessage) -> bool {
        false
    }
}

fn hub_with(manager: Arc<RecordingManager>) -> Arc<HubHandle> {
    Arc::new(HubHandle::new(manager))
}

fn caller(hub: Arc<HubHandle>, connection_id: &str) -> Ctx {
    let (parts, ()) = axum::http::Request::new(()).into_parts();
    Ctx::new(
        connection_id.into(),
        TransportType::WebSockets,
        None,
        hub,
        Arc::new(parts),
        CancellationToken::new(),
        CancellationToken::new(),
    )
}

fn ids(ids: &[&str]) -> Arc<[Arc<str>]> {
    ids.iter().map(|id| Arc::from(*id)).collect()
}

fn invocation_json(target: &str, arguments: &str) -> String {
    format!("{{\"type\":1,\"target\":\"{target}\",\"arguments\":{arguments}}}\x1e")
}

#[tokio::test]
async fn every_proxy_sends_once_to_its_client_target() {
    let manager = Arc::new(RecordingManager::default());
    let hub = hub_with(manager.clone());
    let context = HubContext::new(hub.clone());
    let cx = caller(hub, "me");
    let clients = context.clients();
    let arguments = ("hi", 1);
    clients.all().send("M", &arguments).await.unwrap();
    clients
        .all_except(["a", "b"])
        .send("M", &arguments)
        .await
        .unwrap();
    clients.client("a").send("M", &arguments).await.unwrap();
    clients
        .clients(["a", "b"])
        .send("M", &arguments)
        .await
        .unwrap();
    clients.group("g").send("M", &arguments).await.unwrap();
    clients
        .groups(["g", "h"])
        .send("M", &arguments)
        .await
        .unwrap();
    clients
        .group_except("g", ["a"])
        .send("M", &arguments)
        .await
        .unwrap();
    clients.user("u").send("M", &arguments).await.unwrap();
    clients
        .users(["u", "v"])
        .send("M", &arguments)
        .await
        .unwrap();
    cx.clients().caller().send("M", &arguments).await.unwrap();
    cx.clients().others().send("M", &arguments).await.unwrap();
    cx.clients()
        .others_in_group("g")
        .send("M", &arguments)
        .await
        .unwrap();
    // `()` sends no arguments.
    cx.clients().all().send("N", &()).await.unwrap();

    let json = invocation_json("M", "[\"hi\",1]");
    let expected: Vec<Call> = [
        ClientTarget::All,
        ClientTarget::AllExcept(ids(&["a", "b"])),
        ClientTarget::Connection("a".into()),
        ClientTarget::Connections(ids(&["a", "b"])),
        ClientTarget::Group("g".into()),
        ClientTarget::Groups(ids(&["g", "h"])),
        ClientTarget::GroupExcept("g".into(), ids(&["a"])),
        ClientTarget::User("u".into()),
        ClientTarget::Users(ids(&["u", "v"])),
        ClientTarget::Connection("me".into()),
        ClientTarget::AllExcept(ids(&["me"])),
        ClientTarget::GroupExcept("g".into(), ids(&["me"])),
    ]
    .into_iter()
    .map(|target| Call::Send {
        target,
        json: json.clone(),
    })
    .chain([Call::Send {
        target: ClientTarget::All,
        json: invocation_json("N", "[]"),
    }])
    .collect();
    assert_eq!(*manager.calls.lock().unwrap(), expected);
}

#[tokio::test]
async fn group_changes_reach_the_manager_and_its_errors_reach_the_caller() {
    let manager = Arc::new(RecordingManager::default());
    let hub = hub_with(manager.clone());
    let cx = caller(hub, "me");
    cx.groups().add_to_group("me", "g").await.unwrap();
    cx.groups().remove_from_group("me", "g").await.unwrap();
    let refused = cx.groups().add_to_group("me", "refused").await;
    assert!(
        matches!(&refused, Err(GroupError::Backplane(text)) if text == "no acknowledgement"),
        "{refused:?}"
    );
    assert_eq!(
        *manager.calls.lock().unwrap(),
        [
            Call::AddToGroup {
                connection: "me".into(),
                group: "g".into()
            },
            Call::RemoveFromGroup {
                connection: "me".into(),
                group: "g".into()
            },
            Call::AddToGroup {
                connection: "me".into(),
                group: "refused".into()
            },
        ]
    );
}

#[tokio::test]
async fn a_client_result_is_routed_to_its_connection_and_decoded_by_the_caller() {
    let manager = Arc::new(RecordingManager::default());
    let context = HubContext::new(hub_with(manager.clone()));
    let answer: u32 = context
        .clients()
        .client("a")
        .invoke("Ask", &("question",))
        .await
        .unwrap();
    assert_eq!(answer, 42);
    let wrong: Result<String, _> = context.clients().client("a").invoke("Ask", &()).await;
    assert!(
        matches!(wrong, Err(ClientResultError::Deserialize { .. })),
        "{wrong:?}"
    );
    assert_eq!(
        manager.calls.lock().unwrap()[0],
        Call::Invoke {
            connection: "a".into(),
            json: "{\"type\":1,\"invocationId\":\"7\",\"target\":\"Ask\",\"arguments\":[\"question\"]}\x1e".into()
        }
    );
}

#[tokio::test]
async fn the_client_result_timeout_is_applied_around_any_manager() {
    let manager = Arc::new(RecordingManager {
        silent: true,
        ..RecordingManager::default()
    });
    let hub = hub_with(manager);
    hub.set_client_result_timeout(Some(Duration::from_millis(20)));
    let context = HubContext::new(hub);
    let answer: Result<u32, _> = context.clients().client("a").invoke("Ask", &()).await;
    assert!(
        matches!(answer, Err(ClientResultError::Timeout(limit)) if limit == Duration::from_millis(20)),
        "{answer:?}"
    );
}

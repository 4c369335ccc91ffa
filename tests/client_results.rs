//! Client results fail with a typed error for every way a client can fail to answer.
#![allow(clippy::unwrap_used, missing_docs)]

use futures_util::{SinkExt, StreamExt};
use signalr::prelude::*;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

#[signalr::hub_client]
pub trait Asked {
    async fn count(&self) -> u32;
}

#[signalr::hub]
pub trait Asking {
    async fn who_am_i(&self, cx: &Ctx) -> String;
    async fn ask_me(&self, cx: &Ctx) -> Result<u32, HubError>;
    async fn tally(&self, items: UploadStream<u32>) -> u32;
}

struct Hub;

impl Asking for Hub {
    async fn who_am_i(&self, cx: &Ctx) -> String {
        cx.connection_id().to_owned()
    }

    async fn ask_me(&self, cx: &Ctx) -> Result<u32, HubError> {
        Ok(cx.clients().caller().count().await?)
    }

    async fn tally(&self, items: UploadStream<u32>) -> u32 {
        items
            .filter_map(|item| async move { item.ok() })
            .fold(0, |a, b| async move { a + b })
            .await
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A served hub with a 300 ms client-result timeout, and a connected raw client with its id.
async fn setup() -> (HubContext, Ws, String) {
    let server = Hub
        .into_server()
        .client_result_timeout(Some(Duration::from_millis(300)));
    let context = server.context();
    let app = axum::Router::new().route_hub("/hub", server);
    let listener = signalr::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/hub"))
        .await
        .unwrap();
    ws.send(Message::text(
        "{\"protocol\":\"json\",\"version\":1}\u{1e}{\"type\":1,\"invocationId\":\"1\",\"target\":\"WhoAmI\",\"arguments\":[]}\u{1e}",
    ))
    .await
    .unwrap();
    let mut text = String::new();
    while !text.contains("\"result\"") {
        text.push_str(&ws.next().await.unwrap().unwrap().into_text().unwrap());
    }
    let id = text
        .split("\"result\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    (context, ws, id)
}

/// Reads the server's client-result Invocation and returns its invocation id.
async fn asked_id(ws: &mut Ws) -> String {
    loop {
        let text = ws.next().await.unwrap().unwrap().into_text().unwrap();
        if text.contains("\"target\":\"Count\"") {
            return text
                .split("\"invocationId\":\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap()
                .to_owned();
        }
    }
}

#[tokio::test]
async fn a_client_that_never_answers_times_out() {
    let (context, mut ws, id) = setup().await;
    let asking = tokio::spawn(async move { context.clients().client(&id).count().await });
    asked_id(&mut ws).await;
    let result = tokio::time::timeout(Duration::from_secs(3), asking)
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(result, Err(ClientResultError::Timeout(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_client_answering_with_an_error_gives_its_text() {
    let (context, mut ws, id) = setup().await;
    let asking = tokio::spawn(async move { context.clients().client(&id).count().await });
    let invocation = asked_id(&mut ws).await;
    let answer =
        format!("{{\"type\":3,\"invocationId\":\"{invocation}\",\"error\":\"busy\"}}\u{1e}");
    ws.send(Message::text(answer)).await.unwrap();
    match asking.await.unwrap() {
        Err(ClientResultError::Client(text)) => assert_eq!(text, "busy"),
        other => panic!("expected the client's error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_result_of_the_wrong_type_is_a_deserialize_error() {
    let (context, mut ws, id) = setup().await;
    let asking = tokio::spawn(async move { context.clients().client(&id).count().await });
    let invocation = asked_id(&mut ws).await;
    let answer =
        format!("{{\"type\":3,\"invocationId\":\"{invocation}\",\"result\":\"many\"}}\u{1e}");
    ws.send(Message::text(answer)).await.unwrap();
    let result = asking.await.unwrap();
    assert!(
        matches!(result, Err(ClientResultError::Deserialize { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_client_that_answers_gets_its_value_through() {
    let (context, mut ws, id) = setup().await;
    let asking = tokio::spawn(async move { context.clients().client(&id).count().await });
    let invocation = asked_id(&mut ws).await;
    let answer = format!("{{\"type\":3,\"invocationId\":\"{invocation}\",\"result\":7}}\u{1e}");
    ws.send(Message::text(answer)).await.unwrap();
    assert_eq!(asking.await.unwrap().unwrap(), 7);
}

#[tokio::test]
async fn asking_an_unknown_connection_fails_at_once() {
    let (context, _ws, _id) = setup().await;
    let result = context.clients().client("nobody").count().await;
    assert!(
        matches!(result, Err(ClientResultError::UnknownConnection(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_hub_method_awaiting_its_callers_result_is_answered_past_40_queued_calls() {
    let (_context, mut ws, _id) = setup().await;
    // One invocation slot (the default): AskMe holds it while it awaits the client, and
    // the 40 calls behind it queue up; the client's answer comes after all of them.
    let mut burst = String::from(
        "{\"type\":1,\"invocationId\":\"ask\",\"target\":\"AskMe\",\"arguments\":[]}\u{1e}",
    );
    for i in 0..40 {
        burst.push_str(&format!(
            "{{\"type\":1,\"invocationId\":\"w{i}\",\"target\":\"WhoAmI\",\"arguments\":[]}}\u{1e}"
        ));
    }
    ws.send(Message::text(burst)).await.unwrap();
    let invocation = asked_id(&mut ws).await;
    let answer = format!("{{\"type\":3,\"invocationId\":\"{invocation}\",\"result\":5}}\u{1e}");
    ws.send(Message::text(answer)).await.unwrap();
    let mut received = String::new();
    let all_answered = tokio::time::timeout(Duration::from_secs(5), async {
        while !(received.contains("\"invocationId\":\"ask\",\"result\":5")
            && received.contains("\"invocationId\":\"w39\""))
        {
            let frame = ws.next().await.unwrap().unwrap();
            received.push_str(&frame.into_text().unwrap());
        }
    })
    .await;
    assert!(
        all_answered.is_ok(),
        "the connection is stuck; received so far: {received}"
    );
    for i in 0..40 {
        assert!(
            received.contains(&format!("\"invocationId\":\"w{i}\"")),
            "WhoAmI w{i} was answered"
        );
    }
}

#[tokio::test]
async fn a_client_result_is_never_taken_for_the_end_of_an_upload_stream() {
    let (context, mut ws, id) = setup().await;
    // The official clients number their upload streams from 0.
    ws.send(Message::text(
        "{\"type\":1,\"invocationId\":\"t\",\"target\":\"Tally\",\"arguments\":[],\"streamIds\":[\"0\"]}\u{1e}",
    ))
    .await
    .unwrap();
    let asking = tokio::spawn(async move { context.clients().client(&id).count().await });
    let invocation = asked_id(&mut ws).await;
    let answer = format!("{{\"type\":3,\"invocationId\":\"{invocation}\",\"result\":7}}\u{1e}");
    ws.send(Message::text(answer)).await.unwrap();
    assert_eq!(asking.await.unwrap().unwrap(), 7);
    ws.send(Message::text(
        "{\"type\":2,\"invocationId\":\"0\",\"item\":5}\u{1e}{\"type\":3,\"invocationId\":\"0\"}\u{1e}",
    ))
    .await
    .unwrap();
    let mut text = String::new();
    while !text.contains("\"invocationId\":\"t\"") {
        text.push_str(&ws.next().await.unwrap().unwrap().into_text().unwrap());
    }
    assert!(
        text.contains("{\"type\":3,\"invocationId\":\"t\",\"result\":5}"),
        "the upload kept its item: {text}"
    );
}

//! Streaming both ways, client results and lifecycle hooks compile without warnings.
#![deny(warnings)]

use signalr::prelude::*;

#[signalr::hub_client]
pub trait Floor {
    async fn accept_task(&self, task: String) -> bool;
    async fn confirm(&self) -> Result<u32, String>;
    async fn notify(&self, text: String);
}

#[signalr::hub]
pub trait Sensors {
    async fn counter(&self, count: u32) -> impl Stream<Item = u32>;
    async fn fallible(&self) -> impl Stream<Item = Result<u32, HubError>>;
    async fn may_refuse(&self, ok: bool) -> Result<impl Stream<Item = String>, HubError>;
    async fn sum(&self, numbers: UploadStream<i64>) -> Result<i64, HubError>;
    async fn two_uploads(&self, label: String, a: UploadStream<u8>, b: UploadStream<u8>) -> String;
    async fn ask_caller(&self, cx: &Ctx) -> Result<bool, HubError>;
}

struct Hub;

impl Sensors for Hub {
    async fn on_connected(&self, cx: &Ctx) -> Result<(), HubError> {
        cx.clients().others().notify("joined".into()).await?;
        Ok(())
    }
    async fn on_disconnected(&self, _cx: &Ctx, _reason: &DisconnectReason) {}
    async fn counter(&self, count: u32) -> impl Stream<Item = u32> {
        signalr::stream::iter(0..count)
    }
    async fn fallible(&self) -> impl Stream<Item = Result<u32, HubError>> {
        signalr::stream::iter([Ok(1), Err(HubError::new("broken"))])
    }
    async fn may_refuse(&self, ok: bool) -> Result<impl Stream<Item = String>, HubError> {
        if !ok {
            return Err(HubError::new("refused"));
        }
        Ok(signalr::stream::once(async { "fine".to_owned() }))
    }
    async fn sum(&self, mut numbers: UploadStream<i64>) -> Result<i64, HubError> {
        let mut total = 0;
        while let Some(n) = numbers.next().await {
            total += n?;
        }
        Ok(total)
    }
    async fn two_uploads(&self, label: String, _a: UploadStream<u8>, _b: UploadStream<u8>) -> String {
        label
    }
    async fn ask_caller(&self, cx: &Ctx) -> Result<bool, HubError> {
        let accepted = cx.clients().caller().accept_task("lift".into()).await?;
        let _confirmed: Result<Result<u32, String>, ClientResultError> =
            cx.clients().client(cx.connection_id()).confirm().await;
        Ok(accepted)
    }
}

fn main() {
    let (sender, stream) = stream_channel::<u32>(4);
    drop((sender, stream));
    let _router: axum::Router = axum::Router::new().route_hub("/sensors", Hub.into_server());
}

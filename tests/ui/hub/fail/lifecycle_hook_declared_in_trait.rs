use signalr::prelude::*;

#[signalr::hub]
pub trait Chat {
    async fn on_connected(&self, cx: &Ctx) -> Result<(), HubError>;
}

fn main() {}

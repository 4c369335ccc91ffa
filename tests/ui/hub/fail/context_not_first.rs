use signalr::hub::Ctx;

#[signalr::hub]
pub trait Chat {
    async fn send(&self, text: String, cx: &Ctx);
}

fn main() {}

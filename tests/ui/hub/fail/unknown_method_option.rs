#[signalr::hub]
pub trait Chat {
    #[method(rename = "Send")]
    async fn send(&self, text: String);
}

fn main() {}

#[signalr::hub]
pub trait Chat {
    #[method(name = "")]
    async fn send(&self, text: String);
}

fn main() {}

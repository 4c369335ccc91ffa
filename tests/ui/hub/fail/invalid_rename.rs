#[signalr::hub]
pub trait Chat {
    #[method(name = 42)]
    async fn send(&self, text: String);
}

fn main() {}

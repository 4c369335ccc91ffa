#[signalr::hub]
pub trait Chat {
    async fn send(self, text: String);
}

fn main() {}

#[signalr::hub]
pub trait Chat {
    async fn send(&mut self, text: String);
}

fn main() {}

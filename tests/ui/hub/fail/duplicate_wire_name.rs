#[signalr::hub]
pub trait Chat {
    async fn send_message(&self, text: String);
    #[method(name = "sendmessage")]
    async fn send_other(&self, text: String);
}

fn main() {}

pub struct NotSerializable;

#[signalr::hub_client]
pub trait ChatClient {
    async fn receive(&self, value: NotSerializable);
}

fn main() {}

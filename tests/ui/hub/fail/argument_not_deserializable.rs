pub struct NotDeserializable;

#[signalr::hub]
pub trait Chat {
    async fn send(&self, value: NotDeserializable);
}

fn main() {}

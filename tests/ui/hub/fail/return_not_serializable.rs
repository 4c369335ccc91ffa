pub struct NotSerializable;

#[signalr::hub]
pub trait Chat {
    async fn get(&self) -> NotSerializable;
}

fn main() {}

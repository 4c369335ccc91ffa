#[signalr::hub]
pub trait Chat {
    async fn send<T>(&self, value: T);
}

fn main() {}

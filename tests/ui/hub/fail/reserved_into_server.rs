#[signalr::hub]
pub trait Chat {
    async fn into_server(&self);
}

fn main() {}

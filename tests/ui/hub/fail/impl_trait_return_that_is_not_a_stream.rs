#[signalr::hub]
pub trait Chat {
    async fn names(&self) -> impl Iterator<Item = String>;
}

fn main() {}

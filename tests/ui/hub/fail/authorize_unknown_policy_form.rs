#[signalr::hub]
pub trait Orders {
    #[authorize("admin")]
    async fn cancel(&self, id: u64);
}

fn main() {}

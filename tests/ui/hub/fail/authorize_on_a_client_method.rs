#[signalr::hub_client]
pub trait Screen {
    #[authorize]
    async fn show(&self, text: String);
}

fn main() {}

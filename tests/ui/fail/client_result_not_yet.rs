#[signalr::hub_client]
pub trait ChatClient {
    async fn get_name(&self) -> String;
}

fn main() {}

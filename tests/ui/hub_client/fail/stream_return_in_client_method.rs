use signalr::prelude::*;

#[signalr::hub_client]
pub trait Warehouse {
    async fn readings(&self) -> impl Stream<Item = u32>;
}

fn main() {}

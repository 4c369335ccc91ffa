use signalr::prelude::*;

#[signalr::hub_client]
pub trait Warehouse {
    async fn scans(&self, scans: UploadStream<u64>);
}

fn main() {}

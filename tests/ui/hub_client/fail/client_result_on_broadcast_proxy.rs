use signalr::prelude::*;

#[signalr::hub_client]
pub trait Warehouse {
    async fn accept_task(&self, task: String) -> bool;
}

async fn ask_everyone(context: HubContext) {
    let _ = context.clients().all().accept_task("move".into()).await;
}

fn main() {
    let _ = ask_everyone;
}

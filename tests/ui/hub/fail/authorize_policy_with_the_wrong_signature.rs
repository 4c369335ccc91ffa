fn is_admin(user: &str) -> bool {
    user == "admin"
}

#[signalr::hub]
pub trait Orders {
    #[authorize(is_admin)]
    async fn cancel(&self, id: u64);
}

fn main() {}

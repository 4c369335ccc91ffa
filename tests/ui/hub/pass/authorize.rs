use signalr::prelude::*;

fn is_admin(cx: &AuthorizationContext<'_>) -> bool {
    cx.user_id() == Some("admin")
}

mod policies {
    pub fn small(cx: &signalr::hub::AuthorizationContext<'_>) -> bool {
        cx.arguments().len() < 3
    }
}

#[signalr::hub]
#[authorize]
pub trait Orders {
    async fn list(&self) -> Vec<u64>;
    #[authorize(is_admin)]
    async fn cancel(&self, id: u64);
    #[signalr::authorize(policies::small)]
    #[method(name = "Place")]
    async fn place_order(&self, id: u64);
}

#[authorize(is_admin)]
#[signalr::hub]
pub trait Admin {
    async fn stop(&self);
}

fn main() {}

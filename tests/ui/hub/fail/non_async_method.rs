#[signalr::hub]
pub trait Chat {
    fn send(&self, text: String);
}

fn main() {}

#[signalr::hub]
pub struct Chat;

fn main() {}

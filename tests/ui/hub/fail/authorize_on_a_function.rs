#[signalr::authorize]
fn not_a_hub() {}

fn main() {}

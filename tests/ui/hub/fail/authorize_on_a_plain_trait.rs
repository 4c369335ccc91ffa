#[signalr::authorize]
pub trait NotAHub {
    fn call(&self);
}

fn main() {}

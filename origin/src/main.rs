//! The lasthop-origin binary.
fn main() {}

//! The `ipfs-kit` binary.
fn main() {}

//! A free loopback port for test servers (included with `#[path]` by the test crates that start
//! one).

/// A port nothing listens on right now (bound once, then released).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

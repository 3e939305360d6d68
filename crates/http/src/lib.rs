//! The ipfs-kit HTTP server.

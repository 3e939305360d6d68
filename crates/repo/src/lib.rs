//! Persistent state of the embedded IPFS node.

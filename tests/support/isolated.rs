//! Keep a child process away from the real daemons' and ipfs-kit's own locations (included with
//! `#[path]` by the test crates that run ipfs-kit or a test binary under a temporary `HOME`).

/// Remove the variables that would point a child at real repos, tokens or an external node.
pub(crate) fn scrub_env(cmd: &mut std::process::Command) {
    for v in [
        "IPFS_PATH",
        "IPFS_CLUSTER_PATH",
        "LOTUS_PATH",
        "HF_TOKEN_PATH",
        "HF_HOME",
        "IPFS_KIT_HOME",
        "IPFS_KIT_API",
    ] {
        cmd.env_remove(v);
    }
}

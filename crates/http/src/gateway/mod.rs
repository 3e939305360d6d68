//! The HTTP gateway of the embedded node: the path gateway and trustless gateway responses under
//! `/ipfs/` and `/ipns/`.

use axum::Router;
use ipfs_kit_ops::Kit;

/// The gateway's routes, served on their own listener by `ipfs-kit daemon`.
pub fn router(kit: Kit) -> Router {
    let _ = kit;
    Router::new()
}

//! Configuration of the whole IPFS stack: Kubo, IPFS Cluster service / follow / ctl, Lotus, Lassie, S3,
//! HuggingFace and Storacha.
//!
//! Every kind has the same shape (typed model, defaults, render to exact bytes, parse, validate, secrets,
//! listeners, see [`ConfigKind`]) and one generic [`ConfigStore`] creates, reads, updates, validates, backs up,
//! restores and diffs them, writing files atomically under a lock where the real daemons read them.
//!
//! ```
//! use ipfs_kit_config::{ConfigKind, ConfigStore, Target, Update};
//! let home = tempfile::tempdir().unwrap();
//! let store = ConfigStore::new(home.path());
//! let kubo = Target::new(ConfigKind::Kubo);
//! store.create(&kubo, false).unwrap();
//! let update = Update::Path { path: "Addresses.API".into(), value: "/ip4/127.0.0.1/tcp/5002".into() };
//! store.set(&kubo, &update, false).unwrap();
//! assert_eq!(store.get(&kubo, false).unwrap()["Identity"]["PrivKey"], "<redacted>");
//! assert!(store.validate(&kubo).unwrap().is_empty());
//! ```
#![deny(missing_docs, unreachable_pub)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod doc;
mod error;
pub mod fsio;
pub mod identity;
pub mod kinds;
pub mod maddr;
pub mod ports;
mod store;

pub use doc::{Change, DiffEntry, REDACTED};
pub use error::{Error, Problem, ProblemCode, Result};
pub use identity::Identity;
pub use kinds::{ConfigKind, FileSpec, Layout};
pub use ports::{Conflict, Listener, PortPlan, Proto};
pub use store::{
    BackupInfo, ConfigStatus, ConfigStore, CreateOutcome, DEFAULT_HISTORY, DiffAgainst, SetOutcome,
    Target, Update,
};

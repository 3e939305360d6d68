//! The services of an IPFS stack: the `~/.ipfs_kit/` metadata home, a registry of services (daemons and
//! storage endpoints, one module per kind), a supervisor of real child processes, health probes, resource
//! metrics and alerts, and one bounded event bus for every state change.
#![deny(missing_docs, unreachable_pub)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod alerts;
pub mod cache;
mod error;
pub mod events;
pub mod health;
pub mod home;
pub mod kinds;
pub mod manager;
pub mod metrics;
pub mod process;
pub mod record;
pub mod registry;
pub mod supervisor;

pub use error::{Error, Result};
pub use events::{Event, EventBus, EventKind};
pub use home::Home;
pub use manager::{ServiceStats, ServiceStatus, Services, StartWatch, StorageUse, SystemHealth};
pub use record::{Class, RestartMode, RestartPolicy, ServiceKind, ServiceRecord};
pub use supervisor::{
    Desired, ExitInfo, LaunchSpec, ProcRecord, ProcState, ProcStatus, Supervisor, SupervisorConfig,
};

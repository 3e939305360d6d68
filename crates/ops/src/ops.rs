//! The operations, one module per area of the tool inventory.

use crate::{Catalogue, OpError, OpMeta, Toolset};

mod add;
mod block;
mod cid;
mod cluster;
mod config;
mod dag;
mod dag_stat;
mod files;
mod id;
mod info;
mod key;
mod mfs;
mod name;
mod network;
mod pin;
mod repo;
mod services;
mod stats;

pub use add::*;
pub use block::*;
pub use cid::*;
pub use cluster::*;
pub use config::*;
pub use dag::*;
pub use dag_stat::*;
pub use files::*;
pub use id::*;
pub use info::*;
pub use key::*;
pub use mfs::*;
pub use name::*;
pub use network::*;
pub use pin::*;
pub use repo::*;
pub use services::*;
pub use stats::*;

/// Register every operation.
pub(crate) fn register_all(c: &mut Catalogue) {
    c.register(services::ServiceAdd);
    c.register(services::ServiceRemove);
    c.register(services::ServiceList);
    c.register(services::ServiceStatusOp);
    c.register(services::ServiceStart);
    c.register(services::ServiceStop);
    c.register(services::ServiceRestart);
    c.register(services::ServiceConfigGet);
    c.register(services::ServiceConfigSet);
    c.register(services::ServiceStorage);
    c.register(services::ServiceQuota);
    c.register(services::ServiceLogs);
    c.register(services::SystemHealthOp);
    c.register(services::ServiceStatsOp);
    c.register(services::MonitoringGetMetrics);
    c.register(services::MonitoringCreateAlert);
    c.register(services::MonitoringListAlerts);
    c.register(services::BackendsStats);
    c.register(add::Add);
    c.register(block::BlockGet);
    c.register(block::BlockPut);
    c.register(block::BlockRm);
    c.register(block::BlockStat);
    c.register(cid::CidFormat);
    c.register(cid::CidInfo);
    c.register(cluster::ClusterFollowStatusViaApi);
    c.register(cluster::ClusterPeers);
    c.register(cluster::ClusterPin);
    c.register(cluster::ClusterServiceStatusViaApi);
    c.register(cluster::ClusterStatus);
    c.register(cluster::ClusterUnpin);
    c.register(config::ClusterFollowConfigCreate);
    c.register(config::ClusterFollowConfigGet);
    c.register(config::ClusterFollowConfigSet);
    c.register(config::ClusterServiceConfigCreate);
    c.register(config::ClusterServiceConfigGet);
    c.register(config::ClusterServiceConfigSet);
    c.register(config::ConfigBackup);
    c.register(config::ConfigDiff);
    c.register(config::ConfigGet);
    c.register(config::ConfigHistory);
    c.register(config::ConfigPortPlan);
    c.register(config::ConfigRestore);
    c.register(config::ConfigureDaemon);
    c.register(config::ConnectFollowToLeader);
    c.register(config::ConnectToNetworkedCluster);
    c.register(config::GetDaemonConfigStatus);
    c.register(config::UpdateDaemonConfig);
    c.register(config::ValidateDaemonConfigs);
    c.register(dag::DagExport);
    c.register(dag::DagGet);
    c.register(dag::DagImport);
    c.register(dag::DagPut);
    c.register(dag_stat::DagResolve);
    c.register(dag_stat::DagStat);
    c.register(files::Cat);
    c.register(files::Get);
    c.register(files::Ls);
    c.register(id::Id);
    c.register(info::Version);
    c.register(key::KeyGen);
    c.register(key::KeyListOp);
    c.register(key::KeyRm);
    c.register(mfs::FilesChcid);
    c.register(mfs::FilesCp);
    c.register(mfs::FilesFlush);
    c.register(mfs::FilesLs);
    c.register(mfs::FilesMkdir);
    c.register(mfs::FilesMv);
    c.register(mfs::FilesRead);
    c.register(mfs::FilesRm);
    c.register(mfs::FilesStat);
    c.register(mfs::FilesWrite);
    c.register(name::NamePublish);
    c.register(name::NameResolve);
    c.register(network::DhtFindPeer);
    c.register(network::DhtFindProvs);
    c.register(network::DhtQuery);
    c.register(network::PubsubPeers);
    c.register(network::PubsubPublish);
    c.register(network::PubsubSubscribe);
    c.register(network::SwarmPeers);
    c.register(pin::PinAdd);
    c.register(pin::PinLs);
    c.register(pin::PinRm);
    c.register(pin::PinUpdate);
    c.register(pin::PinVerify);
    c.register(repo::Refs);
    c.register(repo::RefsLocal);
    c.register(repo::RepoGc);
    c.register(repo::RepoStat);
    c.register(repo::RepoVerify);
    c.register(stats::Stats);
}

/// Metadata of an operation that stays on this machine.
const fn op_meta(
    toolset: Toolset,
    title: &'static str,
    description: &'static str,
    read_only: bool,
    destructive: bool,
    idempotent: bool,
) -> OpMeta {
    OpMeta {
        title,
        description,
        toolset,
        read_only,
        destructive,
        idempotent,
        open_world: false,
        aliases: &[],
    }
}

/// Metadata of an IPFS-core operation.
const fn core_meta(
    title: &'static str,
    description: &'static str,
    read_only: bool,
    destructive: bool,
    idempotent: bool,
) -> OpMeta {
    op_meta(
        Toolset::IpfsCore,
        title,
        description,
        read_only,
        destructive,
        idempotent,
    )
}

/// Parse a CID given by a caller, as an input error naming the field.
fn cid_arg(field: &str, s: &str) -> Result<::cid::Cid, OpError> {
    ipfs_kit_content::parse_cid(s).map_err(|e| OpError::from(e).with("field", field))
}

/// Default for list limits: enough for people, bounded for agents.
const DEFAULT_LIST_LIMIT: usize = 1000;

/// A CID version an MFS change may use: 0 or 1 (checked the same way for both nodes).
pub(crate) fn check_cid_version(v: u8) -> Result<u8, OpError> {
    if v > 1 {
        return Err(OpError::invalid(format!(
            "cid_version must be 0 or 1, not {v}"
        )));
    }
    Ok(v)
}

fn default_true() -> bool {
    true
}

//! The generic store over every kind: create, get, set, validate, backup/history/restore, diff.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::doc::{self, DiffEntry};
use crate::error::{Error, Problem, Result};
use crate::fsio::{self, FileLock};
use crate::kinds::{ConfigKind, FileSpec, Layout, cluster};
use crate::ports::PortPlan;

/// Which config: a kind, plus the followed cluster's name for `ipfs_cluster_follow`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Target {
    /// The kind.
    pub kind: ConfigKind,
    /// The instance (cluster name for followers; empty for the others).
    pub instance: String,
}

impl Target {
    /// A singleton kind (everything but followers).
    pub fn new(kind: ConfigKind) -> Target {
        Target {
            kind,
            instance: String::new(),
        }
    }

    /// The follower config of `cluster`.
    pub fn follow(cluster: impl Into<String>) -> Target {
        Target {
            kind: ConfigKind::IpfsClusterFollow,
            instance: cluster.into(),
        }
    }

    fn check(&self) -> Result<()> {
        let ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 100
                && s != "."
                && s != ".."
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        if self.kind.needs_instance() == self.instance.is_empty()
            || (!self.instance.is_empty() && !ok(&self.instance))
        {
            return Err(Error::BadInstance(self.instance.clone()));
        }
        Ok(())
    }

    fn slug(&self) -> String {
        if self.instance.is_empty() {
            self.kind.to_string()
        } else {
            format!("{}@{}", self.kind, self.instance)
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.slug())
    }
}

/// A change for [`ConfigStore::set`].
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// Deep-merge this partial document (objects merge, everything else replaces).
    Merge(Value),
    /// Set one dotted path (`Addresses.API`, `service.cluster.replication_factor_min`) to a value.
    Path {
        /// Dotted path; `\.` escapes a dot in a key.
        path: String,
        /// The new value.
        value: Value,
    },
}

/// What [`ConfigStore::create`] did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CreateOutcome {
    /// Whether files were written (false: it existed and `overwrite` was not asked).
    pub created: bool,
    /// The backup taken of the replaced config, if any.
    pub backup: Option<String>,
    /// The files of the config.
    pub files: Vec<FileSpec>,
}

/// What [`ConfigStore::set`] did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SetOutcome {
    /// The changes (secrets redacted).
    pub changes: Vec<DiffEntry>,
    /// Whether the files were written (false for `validate_only` or when nothing changed).
    pub written: bool,
    /// The backup taken before writing.
    pub backup: Option<String>,
}

/// One saved version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BackupInfo {
    /// Version id (sortable by time).
    pub version: String,
    /// Directory holding the saved files.
    pub path: PathBuf,
}

/// What to diff the current config against.
#[derive(Debug, Clone, PartialEq)]
pub enum DiffAgainst {
    /// A saved version.
    Version(String),
    /// The kind's defaults (identities and secrets always differ).
    Defaults,
    /// Another document (e.g. a proposed one).
    Document(Value),
}

/// Existence and validity of one config, for status views.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ConfigStatus {
    /// Which config.
    pub target: Target,
    /// Whether its main file exists.
    pub exists: bool,
    /// Whether it parses and validates.
    pub valid: bool,
    /// What is wrong (validation problems, or the parse error as one problem).
    pub problems: Vec<Problem>,
    /// Its files.
    pub files: Vec<FileSpec>,
}

/// Reads and writes every kind's config files under one home.
#[derive(Debug, Clone)]
pub struct ConfigStore {
    layout: Layout,
    history_limit: usize,
}

/// How many versions are kept per config unless told otherwise.
pub const DEFAULT_HISTORY: usize = 10;

impl ConfigStore {
    /// A store rooted at `home` (daemon configs under it, kit home `<home>/.ipfs_kit`).
    pub fn new(home: impl Into<PathBuf>) -> ConfigStore {
        ConfigStore {
            layout: Layout::new(home),
            history_limit: DEFAULT_HISTORY,
        }
    }

    /// A store from the environment: `HOME`, `IPFS_KIT_HOME`, `IPFS_PATH`, `IPFS_CLUSTER_PATH` (service),
    /// `LOTUS_PATH`, `HF_TOKEN_PATH` / `HF_HOME`.
    pub fn from_env() -> Result<ConfigStore> {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .ok_or_else(|| Error::Unsupported("HOME is not set".into()))?;
        let mut s = ConfigStore::new(home);
        let var = |n: &str| {
            std::env::var_os(n)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        if let Some(k) = var("IPFS_KIT_HOME") {
            s = s.with_kit_home(k);
        }
        for (kind, name) in [
            (ConfigKind::Kubo, "IPFS_PATH"),
            (ConfigKind::IpfsClusterService, "IPFS_CLUSTER_PATH"),
            (ConfigKind::Lotus, "LOTUS_PATH"),
            (ConfigKind::Huggingface, "HF_TOKEN_PATH"),
        ] {
            if let Some(p) = var(name) {
                s = s.with_path(kind, p);
            }
        }
        if var("HF_TOKEN_PATH").is_none()
            && let Some(hf) = var("HF_HOME")
        {
            s = s.with_path(ConfigKind::Huggingface, hf.join("token"));
        }
        Ok(s)
    }

    /// Puts the kit home somewhere else.
    pub fn with_kit_home(mut self, kit_home: impl Into<PathBuf>) -> ConfigStore {
        self.layout.kit_home = kit_home.into();
        self
    }

    /// Overrides where a kind lives: the directory for Kubo (`$IPFS_PATH`), cluster service, the follower base
    /// folder and Lotus; the file itself for the others.
    pub fn with_path(mut self, kind: ConfigKind, path: impl Into<PathBuf>) -> ConfigStore {
        self.layout.overrides.insert(kind, path.into());
        self
    }

    /// Keeps the last `n` versions of each config (at least 1).
    pub fn with_history_limit(mut self, n: usize) -> ConfigStore {
        self.history_limit = n.max(1);
        self
    }

    /// The layout in use.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The kit home.
    pub fn kit_home(&self) -> &Path {
        &self.layout.kit_home
    }

    /// The files of a config.
    pub fn files(&self, t: &Target) -> Result<Vec<FileSpec>> {
        t.check()?;
        Ok(t.kind.files(&self.layout, &t.instance))
    }

    /// Whether every file of the config exists.
    pub fn exists(&self, t: &Target) -> Result<bool> {
        Ok(self.files(t)?.iter().all(|f| f.path.exists()))
    }

    /// The follower clusters configured under the follower base folder.
    pub fn follower_clusters(&self) -> Vec<String> {
        let base = self
            .layout
            .overrides
            .get(&ConfigKind::IpfsClusterFollow)
            .cloned()
            .unwrap_or_else(|| self.layout.home.join(".ipfs-cluster-follow"));
        let mut out: Vec<String> = std::fs::read_dir(base)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().join("service.json").exists())
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .collect();
        out.sort();
        out
    }

    /// Every existing config (followers included) and the singleton kinds even when absent.
    pub fn targets(&self) -> Vec<Target> {
        let mut out = Vec::new();
        for k in ConfigKind::ALL {
            if k.needs_instance() {
                out.extend(self.follower_clusters().into_iter().map(Target::follow));
            } else {
                out.push(Target::new(k));
            }
        }
        out
    }

    fn lock(&self, t: &Target) -> Result<FileLock> {
        FileLock::acquire(
            &self
                .layout
                .kit_home
                .join("config/locks")
                .join(format!("{}.lock", t.slug())),
        )
    }

    fn read_files(&self, t: &Target) -> Result<BTreeMap<&'static str, (PathBuf, Vec<u8>)>> {
        let mut out = BTreeMap::new();
        for f in self.files(t)? {
            match fsio::read_opt(&f.path)? {
                Some(b) => {
                    out.insert(f.role, (f.path, b));
                }
                None => {
                    return Err(Error::NotFound {
                        kind: t.kind.as_str(),
                        path: f.path,
                    });
                }
            }
        }
        Ok(out)
    }

    /// The current document with nothing redacted (internal).
    fn load(&self, t: &Target) -> Result<(Value, BTreeMap<&'static str, Vec<u8>>)> {
        let files = self.read_files(t)?;
        let doc = t.kind.parse(&files)?;
        Ok((doc, files.into_iter().map(|(r, (_, b))| (r, b)).collect()))
    }

    fn invalid(t: &Target, problems: Vec<Problem>) -> Error {
        Error::Invalid {
            kind: t.kind.as_str(),
            problems,
        }
    }

    /// Validates `doc` and writes every file of `t` atomically (call with the lock held).
    fn write_doc(
        &self,
        t: &Target,
        doc: &Value,
        previous: &BTreeMap<&'static str, Vec<u8>>,
    ) -> Result<()> {
        let problems = t.kind.validate(doc);
        if !problems.is_empty() {
            return Err(Self::invalid(t, problems));
        }
        let rendered = t.kind.render(doc, previous)?;
        let specs = self.files(t)?;
        // render everything before writing anything: a render failure leaves all files untouched
        for (role, bytes) in &rendered {
            if let Some(spec) = specs.iter().find(|s| s.role == *role)
                && previous.get(role) != Some(bytes)
            {
                fsio::write_atomic(&spec.path, bytes, spec.secret)?;
            }
        }
        Ok(())
    }

    /// Writes the kind's defaults if the config does not exist; with `overwrite`, backs the existing one up and
    /// replaces it. Idempotent without `overwrite`.
    pub fn create(&self, t: &Target, overwrite: bool) -> Result<CreateOutcome> {
        t.check()?;
        let doc = t.kind.defaults(&self.layout, &t.instance)?;
        self.create_with(t, doc, overwrite)
    }

    /// [`create`](Self::create) for every kind that needs no instance name (`configure_daemon all`); followers
    /// are created per cluster. Stops at the first error.
    pub fn create_all(&self, overwrite: bool) -> Result<Vec<(Target, CreateOutcome)>> {
        ConfigKind::ALL
            .into_iter()
            .filter(|k| !k.needs_instance())
            .map(|k| {
                let t = Target::new(k);
                self.create(&t, overwrite).map(|o| (t, o))
            })
            .collect()
    }

    /// Like [`create`](Self::create) with a given document (validated first).
    pub fn create_with(&self, t: &Target, doc: Value, overwrite: bool) -> Result<CreateOutcome> {
        t.check()?;
        let _g = self.lock(t)?;
        let files = self.files(t)?;
        let any = files.iter().any(|f| f.path.exists());
        if any && !overwrite {
            return Ok(CreateOutcome {
                created: false,
                backup: None,
                files,
            });
        }
        let problems = t.kind.validate(&doc);
        if !problems.is_empty() {
            return Err(Self::invalid(t, problems));
        }
        let backup = if any {
            Some(self.backup_locked(t)?.version)
        } else {
            None
        };
        let previous: BTreeMap<&'static str, Vec<u8>> = files
            .iter()
            .filter_map(|f| fsio::read_opt(&f.path).ok().flatten().map(|b| (f.role, b)))
            .collect();
        // Lotus keeps the existing file's comments only for edits; a re-create starts from the template
        let previous = if t.kind == ConfigKind::Lotus {
            BTreeMap::new()
        } else {
            previous
        };
        self.write_doc(t, &doc, &previous)?;
        Ok(CreateOutcome {
            created: true,
            backup,
            files,
        })
    }

    /// The current document; secrets are replaced by `"<redacted>"` unless `reveal_secrets`.
    pub fn get(&self, t: &Target, reveal_secrets: bool) -> Result<Value> {
        let (mut doc, _) = self.load(t)?;
        if !reveal_secrets {
            doc::redact(&mut doc, t.kind.secret_paths());
        }
        Ok(doc)
    }

    /// Applies an update under the config's lock (re-reading the current files first, so concurrent updates all
    /// land), validates the result and writes it; a rejected update leaves every file byte-identical. The old
    /// version is backed up first. `validate_only` computes and checks without writing.
    pub fn set(&self, t: &Target, update: &Update, validate_only: bool) -> Result<SetOutcome> {
        t.check()?;
        let _g = self.lock(t)?;
        let (old, previous) = self.load(t)?;
        let mut new = old.clone();
        match update {
            Update::Merge(patch) => {
                if !patch.is_object() {
                    return Err(Error::BadPath {
                        path: String::new(),
                        message: "a merge document must be an object".into(),
                    });
                }
                doc::deep_merge(&mut new, patch)
            }
            Update::Path { path, value } => {
                if value.as_str() != Some(doc::REDACTED) {
                    doc::set_path(&mut new, path, value.clone())?
                }
            }
        }
        let problems = t.kind.validate(&new);
        if !problems.is_empty() {
            return Err(Self::invalid(t, problems));
        }
        let mut changes = doc::diff(&old, &new);
        doc::redact_diff(&mut changes, t.kind.secret_paths());
        if validate_only || changes.is_empty() {
            return Ok(SetOutcome {
                changes,
                written: false,
                backup: None,
            });
        }
        let backup = Some(self.backup_locked(t)?.version);
        self.write_doc(t, &new, &previous)?;
        Ok(SetOutcome {
            changes,
            written: true,
            backup,
        })
    }

    /// Problems of the config on disk (empty = valid); a parse failure is an error.
    pub fn validate(&self, t: &Target) -> Result<Vec<Problem>> {
        let (doc, _) = self.load(t)?;
        Ok(t.kind.validate(&doc))
    }

    /// Existence and validity of every config.
    pub fn status(&self) -> Vec<ConfigStatus> {
        self.targets()
            .into_iter()
            .map(|t| {
                let files = self.files(&t).unwrap_or_default();
                let exists = files.iter().all(|f| f.path.exists());
                let problems = if !exists {
                    vec![]
                } else {
                    match self.validate(&t) {
                        Ok(p) => p,
                        Err(e) => vec![Problem::new(
                            "",
                            crate::ProblemCode::BadValue,
                            e.to_string(),
                        )],
                    }
                };
                ConfigStatus {
                    valid: exists && problems.is_empty(),
                    exists,
                    problems,
                    files,
                    target: t,
                }
            })
            .collect()
    }

    fn history_dir(&self, t: &Target) -> PathBuf {
        self.layout.kit_home.join("config/history").join(t.slug())
    }

    /// Saves the current files as a new version (pruning to the history limit).
    pub fn backup(&self, t: &Target) -> Result<BackupInfo> {
        t.check()?;
        let _g = self.lock(t)?;
        self.backup_locked(t)
    }

    fn backup_locked(&self, t: &Target) -> Result<BackupInfo> {
        let files = self.read_files(t)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let mut rnd = [0u8; 3];
        getrandom::fill(&mut rnd).map_err(|e| Error::Random(e.to_string()))?;
        let version = format!("{now:020}-{}", hex::encode(rnd));
        let dir = self.history_dir(t).join(&version);
        fsio::ensure_dir(&dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for d in [self.history_dir(t), dir.clone()] {
                std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700))
                    .map_err(|e| Error::io("chmod", d, e))?;
            }
        }
        for (role, (_, bytes)) in &files {
            fsio::write_atomic(&dir.join(role), bytes, true)?;
        }
        let all = self.history_locked(t)?;
        if all.len() > self.history_limit {
            for old in &all[self.history_limit..] {
                std::fs::remove_dir_all(&old.path)
                    .map_err(|e| Error::io("remove old backup", &old.path, e))?;
            }
        }
        Ok(BackupInfo { version, path: dir })
    }

    /// Saved versions, newest first.
    pub fn history(&self, t: &Target) -> Result<Vec<BackupInfo>> {
        t.check()?;
        self.history_locked(t)
    }

    fn history_locked(&self, t: &Target) -> Result<Vec<BackupInfo>> {
        let dir = self.history_dir(t);
        let mut out: Vec<BackupInfo> = match std::fs::read_dir(&dir) {
            Ok(rd) => rd
                .flatten()
                .filter(|e| e.path().is_dir())
                .filter_map(|e| {
                    e.file_name().to_str().map(|v| BackupInfo {
                        version: v.to_string(),
                        path: e.path(),
                    })
                })
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
            Err(e) => return Err(Error::io("list backups", dir, e)),
        };
        out.sort_by(|a, b| b.version.cmp(&a.version));
        Ok(out)
    }

    fn load_version(
        &self,
        t: &Target,
        version: &str,
    ) -> Result<(Value, BTreeMap<&'static str, Vec<u8>>)> {
        let info = self
            .history_locked(t)?
            .into_iter()
            .find(|b| b.version == version)
            .ok_or_else(|| Error::NoBackup {
                kind: t.kind.as_str(),
                version: version.to_string(),
            })?;
        let mut files = BTreeMap::new();
        for spec in self.files(t)? {
            let p = info.path.join(spec.role);
            let b = fsio::read_opt(&p)?.ok_or_else(|| Error::NoBackup {
                kind: t.kind.as_str(),
                version: version.to_string(),
            })?;
            files.insert(spec.role, (p, b));
        }
        let doc = t.kind.parse(&files)?;
        Ok((doc, files.into_iter().map(|(r, (_, b))| (r, b)).collect()))
    }

    /// Puts a saved version back (after validating it and backing up the current one).
    pub fn restore(&self, t: &Target, version: &str) -> Result<SetOutcome> {
        t.check()?;
        let _g = self.lock(t)?;
        let (saved, saved_bytes) = self.load_version(t, version)?;
        let problems = t.kind.validate(&saved);
        if !problems.is_empty() {
            return Err(Self::invalid(t, problems));
        }
        let current = self.load(t).ok();
        let backup = match &current {
            Some(_) => Some(self.backup_locked(t)?.version),
            None => None,
        };
        let mut changes = current
            .as_ref()
            .map(|(c, _)| doc::diff(c, &saved))
            .unwrap_or_default();
        doc::redact_diff(&mut changes, t.kind.secret_paths());
        // the saved bytes go back verbatim (comments included)
        let current_bytes = current.map(|(_, b)| b).unwrap_or_default();
        for spec in self.files(t)? {
            if let Some(bytes) = saved_bytes.get(spec.role)
                && current_bytes.get(spec.role) != Some(bytes)
            {
                fsio::write_atomic(&spec.path, bytes, spec.secret)?;
            }
        }
        Ok(SetOutcome {
            changes,
            written: true,
            backup,
        })
    }

    /// Structured diff from `against` to the current config (secrets redacted).
    pub fn diff(&self, t: &Target, against: &DiffAgainst) -> Result<Vec<DiffEntry>> {
        t.check()?;
        let (current, _) = self.load(t)?;
        let other = match against {
            DiffAgainst::Version(v) => self.load_version(t, v)?.0,
            DiffAgainst::Defaults => t.kind.defaults(&self.layout, &t.instance)?,
            DiffAgainst::Document(d) => d.clone(),
        };
        let mut out = doc::diff(&other, &current);
        doc::redact_diff(&mut out, t.kind.secret_paths());
        Ok(out)
    }

    /// Every configured listener of every existing config, with collisions between them.
    pub fn port_plan(&self) -> Result<PortPlan> {
        let mut plan = PortPlan::default();
        for t in self.targets() {
            if !self.exists(&t)? {
                continue;
            }
            // an unreadable config has no listeners to plan; `status` reports why
            if let Ok((doc, _)) = self.load(&t) {
                plan.add_config(&t, &doc);
            }
        }
        Ok(plan)
    }

    /// Creates (or rewrites, keeping the identity) the cluster service config so it joins an existing cluster:
    /// its secret, a bootstrap peer multiaddr ending in `/p2p/<id>`, and trusted peers (the bootstrap peer is
    /// trusted too).
    pub fn connect_to_networked_cluster(
        &self,
        secret: &str,
        bootstrap: &str,
        trusted_peers: &[String],
    ) -> Result<Value> {
        let t = Target::new(ConfigKind::IpfsClusterService);
        self.create(&t, false)?;
        let _g = self.lock(&t)?;
        let (mut doc, previous) = self.load(&t)?;
        cluster::join_networked_cluster(&mut doc, secret, bootstrap, trusted_peers)?;
        self.backup_locked(&t)?;
        self.write_doc(&t, &doc, &previous)?;
        let mut out = doc;
        doc::redact(&mut out, t.kind.secret_paths());
        Ok(out)
    }

    /// Makes the follower config of `cluster` a full config that trusts and bootstraps to `leader`
    /// (a multiaddr ending in `/p2p/<id>`), with the cluster's `secret` (64 hex, or empty for none). Ports avoid
    /// every other configured listener (and so 9094–9097 of a local cluster service).
    pub fn connect_follow_to_leader(
        &self,
        cluster_name: &str,
        leader: &str,
        secret: &str,
    ) -> Result<Value> {
        let t = Target::follow(cluster_name);
        t.check()?;
        let plan = self.port_plan()?;
        let _g = self.lock(&t)?;
        let existing = self.load(&t).ok();
        let dir = self
            .files(&t)?
            .first()
            .and_then(|f| f.path.parent().map(Path::to_path_buf))
            .unwrap_or_default();
        let mut doc = cluster::follow_defaults(cluster_name, &dir)?;
        if let Some((old, _)) = &existing {
            doc["identity"] = old["identity"].clone();
        }
        let port = plan.free_port_from(cluster::FOLLOWER_SWARM_PORT, &t);
        doc["service"]["cluster"]["listen_multiaddress"] = serde_json::json!([
            format!("/ip4/0.0.0.0/tcp/{port}"),
            format!("/ip4/0.0.0.0/udp/{port}/quic")
        ]);
        cluster::join_networked_cluster(&mut doc, secret, leader, &[])?;
        let previous = existing.map(|(_, b)| b).unwrap_or_default();
        if !previous.is_empty() {
            self.backup_locked(&t)?;
        }
        self.write_doc(&t, &doc, &previous)?;
        doc::redact(&mut doc, t.kind.secret_paths());
        Ok(doc)
    }

    /// Makes the follower config of `cluster` a `{"source": url}` pointer (keeping or creating its identity).
    pub fn follow_source(&self, cluster_name: &str, source_url: &str) -> Result<Value> {
        let t = Target::follow(cluster_name);
        t.check()?;
        let _g = self.lock(&t)?;
        let existing = self.load(&t).ok();
        let identity = match &existing {
            Some((old, _)) => old["identity"].clone(),
            None => {
                let id = crate::identity::Identity::generate()?;
                serde_json::json!({ "id": id.peer_id, "private_key": id.private_key })
            }
        };
        let mut doc =
            serde_json::json!({ "service": { "source": source_url }, "identity": identity });
        let previous = existing.map(|(_, b)| b).unwrap_or_default();
        let problems = t.kind.validate(&doc);
        if !problems.is_empty() {
            return Err(Self::invalid(&t, problems));
        }
        if !previous.is_empty() {
            self.backup_locked(&t)?;
        }
        self.write_doc(&t, &doc, &previous)?;
        doc::redact(&mut doc, t.kind.secret_paths());
        Ok(doc)
    }
}

//! Import settings: the resolved [`ImportOptions`] the importer runs with, Kubo's named
//! [`Profile`]s, and [`AddFlags`], the `ipfs add` flags resolved with Kubo's rules.

use std::str::FromStr;

use crate::chunker::ChunkerSpec;
use crate::unixfs::Mtime;
use crate::{Error, HashAlg, Result};

/// Kubo's default (and `unixfs-v0-2015`) links per file node: 8192 / 47.
pub const DEFAULT_MAX_FILE_LINKS: usize = 174;
/// Kubo's default HAMT fanout.
pub const DEFAULT_HAMT_FANOUT: usize = 256;
/// Kubo's default HAMT threshold in bytes (256 KiB).
pub const DEFAULT_HAMT_THRESHOLD: u64 = 262_144;
/// Kubo's default `--inline-limit`.
pub const DEFAULT_INLINE_LIMIT: usize = 32;
/// Largest `--inline-limit` accepted here: our identity multihashes hold at most 64 bytes
/// (Kubo accepts up to 128).
pub const MAX_INLINE_LIMIT: usize = 64;
/// Largest `--max-file-links` accepted (keeps internal file nodes far below the block limit).
pub const MAX_FILE_LINKS_LIMIT: usize = 65_536;

/// File DAG layout (`--trickle` / `Import.UnixFSDAGLayout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// Balanced tree, all leaves at the same depth (Kubo's default).
    #[default]
    Balanced,
    /// Trickle DAG, suited to streaming reads.
    Trickle,
}

/// How a basic directory's size is estimated for the HAMT switch
/// (`Import.UnixFSHAMTDirectorySizeEstimation`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum SizeEstimation {
    /// Σ (name length + CID bytes length): Kubo's legacy default.
    #[default]
    Links,
    /// Exact serialized size of the would-be directory block (`unixfs-v1-2025`).
    Block,
    /// Size is ignored; only `max_directory_links` triggers sharding.
    Disabled,
}

impl FromStr for SizeEstimation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "links" => Ok(SizeEstimation::Links),
            "block" => Ok(SizeEstimation::Block),
            "disabled" => Ok(SizeEstimation::Disabled),
            other => Err(Error::InvalidOption(format!(
                "HAMT size estimation {other:?}: use links, block or disabled"
            ))),
        }
    }
}

/// Resolved settings of one import. `Default` is Kubo's default (= profile `unixfs-v0-2015`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImportOptions {
    /// CID version of dag-pb nodes (0 or 1). Raw leaves are always CIDv1.
    pub cid_version: u8,
    /// Leaves are raw blocks (codec raw) instead of dag-pb UnixFS nodes.
    pub raw_leaves: bool,
    /// Hash function of every block.
    pub hash: HashAlg,
    /// How files are split.
    pub chunker: ChunkerSpec,
    /// File DAG layout.
    pub layout: Layout,
    /// Most links per internal file node.
    pub max_file_links: usize,
    /// A basic directory with more entries becomes a HAMT (0 = no limit).
    pub max_directory_links: usize,
    /// HAMT fanout (power of two, multiple of 8, at most 1024).
    pub hamt_fanout: usize,
    /// A directory whose estimated size is strictly above this becomes a HAMT (0 = never).
    pub hamt_threshold: u64,
    /// How the directory size is estimated.
    pub hamt_size_estimation: SizeEstimation,
    /// Blocks of at most `inline_limit` bytes get identity CIDs (and are not stored).
    pub inline: bool,
    /// Size limit for `inline`.
    pub inline_limit: usize,
    /// Permission bits stored on every file and directory root (`--mode`).
    pub mode: Option<u32>,
    /// Modification time stored on every root (`--mtime`, `--mtime-nsecs`).
    pub mtime: Option<Mtime>,
    /// Store each filesystem entry's own permission bits (`--preserve-mode`).
    pub preserve_mode: bool,
    /// Store each filesystem entry's own modification time (`--preserve-mtime`).
    pub preserve_mtime: bool,
    /// Include entries whose name starts with `.` (`--hidden`).
    pub hidden: bool,
    /// Keep empty directories below the top level (`--empty-dirs`, default true).
    pub empty_dirs: bool,
    /// Follow symlinks instead of storing them (`--dereference-symlinks`).
    pub dereference_symlinks: bool,
    /// Wrap the added paths in one extra directory (`-w`).
    pub wrap_with_directory: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Profile::UnixfsV0_2015.options()
    }
}

impl ImportOptions {
    /// Whether any UnixFS metadata (mode/mtime) can end up on a node.
    pub fn wants_metadata(&self) -> bool {
        self.mode.is_some() || self.mtime.is_some() || self.preserve_mode || self.preserve_mtime
    }

    /// Check every setting; the importer calls this before doing anything.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidOption(m));
        if self.cid_version > 1 {
            return bad(format!("unknown CID version {}", self.cid_version));
        }
        if self.cid_version == 0 && self.hash != HashAlg::Sha2_256 {
            return bad("CIDv0 only supports sha2-256".into());
        }
        if self.hash == HashAlg::Identity {
            return bad("identity is not an import hash function (use inline)".into());
        }
        if !(2..=MAX_FILE_LINKS_LIMIT).contains(&self.max_file_links) {
            return bad(format!(
                "max file links must be between 2 and {MAX_FILE_LINKS_LIMIT}, got {}",
                self.max_file_links
            ));
        }
        let f = self.hamt_fanout;
        if !(f.is_power_of_two() && f.is_multiple_of(8) && f <= 1024) {
            return bad(format!(
                "HAMT fanout must be a power of 2 between 8 and 1024, got {f}"
            ));
        }
        if self.inline && self.inline_limit > MAX_INLINE_LIMIT {
            return bad(format!(
                "inline-limit {} exceeds the maximum of {MAX_INLINE_LIMIT} bytes",
                self.inline_limit
            ));
        }
        if self.raw_leaves && self.wants_metadata() {
            return bad(
                "raw-leaves can't be used with UnixFS metadata like mode or modification time"
                    .into(),
            );
        }
        if let Some(m) = self.mode
            && m > 0o7777
        {
            return bad(format!("mode {m:o} has bits beyond 07777"));
        }
        if let Some(t) = self.mtime
            && t.nanos.is_some_and(|n| n == 0 || n > 999_999_999)
        {
            return bad("mtime nanoseconds must be within 1..=999999999".into());
        }
        let max = self.chunker.max_chunk();
        if max == 0 || max > crate::chunker::CHUNK_SIZE_LIMIT {
            return bad(format!(
                "chunker {} produces invalid chunk sizes",
                self.chunker
            ));
        }
        Ok(())
    }
}

/// Kubo's import profiles (`ipfs init --profile=…` / `ipfs config profile apply`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub enum Profile {
    /// Kubo's historical defaults: CIDv0, 256 KiB chunks, 174 links, `links` estimation.
    #[serde(rename = "unixfs-v0-2015", alias = "legacy-cid-v0")]
    UnixfsV0_2015,
    /// IPIP-499: CIDv1, raw leaves, 1 MiB chunks, 1024 links, `block` estimation.
    #[serde(rename = "unixfs-v1-2025")]
    UnixfsV1_2025,
}

impl Profile {
    /// The profile's name as Kubo spells it.
    pub fn name(self) -> &'static str {
        match self {
            Profile::UnixfsV0_2015 => "unixfs-v0-2015",
            Profile::UnixfsV1_2025 => "unixfs-v1-2025",
        }
    }

    /// Import options of this profile with no flag applied.
    pub fn options(self) -> ImportOptions {
        let v1 = self == Profile::UnixfsV1_2025;
        ImportOptions {
            cid_version: u8::from(v1),
            raw_leaves: v1,
            hash: HashAlg::Sha2_256,
            chunker: ChunkerSpec::Size {
                size: if v1 { 1 << 20 } else { 262_144 },
            },
            layout: Layout::Balanced,
            max_file_links: if v1 { 1024 } else { DEFAULT_MAX_FILE_LINKS },
            max_directory_links: 0,
            hamt_fanout: DEFAULT_HAMT_FANOUT,
            hamt_threshold: DEFAULT_HAMT_THRESHOLD,
            hamt_size_estimation: if v1 {
                SizeEstimation::Block
            } else {
                SizeEstimation::Links
            },
            inline: false,
            inline_limit: DEFAULT_INLINE_LIMIT,
            mode: None,
            mtime: None,
            preserve_mode: false,
            preserve_mtime: false,
            hidden: false,
            empty_dirs: true,
            dereference_symlinks: false,
            wrap_with_directory: false,
        }
    }
}

impl FromStr for Profile {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "unixfs-v0-2015" | "legacy-cid-v0" => Ok(Profile::UnixfsV0_2015),
            "unixfs-v1-2025" => Ok(Profile::UnixfsV1_2025),
            other => Err(Error::InvalidOption(format!(
                "unknown import profile {other:?} (use unixfs-v0-2015, legacy-cid-v0 or unixfs-v1-2025)"
            ))),
        }
    }
}

/// `ipfs add` flags as given (every field optional, `None` = not given), plus the profile the
/// repo was initialised with (which plays the role of Kubo's `Import.*` config).
/// [`AddFlags::resolve`] turns them into [`ImportOptions`] with Kubo's rules. Keys are the
/// snake_case flag names; unknown keys (`only_hash`, `cid_base`, …) are ignored when
/// deserializing, as they do not change how content is imported.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(default)]
pub struct AddFlags {
    /// Import profile standing in for the `Import.*` config (`None` = Kubo defaults).
    pub profile: Option<Profile>,
    /// `--cid-version`.
    pub cid_version: Option<u8>,
    /// `--raw-leaves` (explicit true or false).
    pub raw_leaves: Option<bool>,
    /// `--hash` (`sha2-256`, `sha2-512`, `blake2b-256`, `blake3`).
    pub hash: Option<String>,
    /// `--chunker` (`size-N`, `rabin[-AVG|-MIN-AVG-MAX]`, `buzhash`).
    pub chunker: Option<String>,
    /// `--trickle`.
    pub trickle: Option<bool>,
    /// `--max-file-links`.
    pub max_file_links: Option<usize>,
    /// `--max-directory-links`.
    pub max_directory_links: Option<usize>,
    /// `--max-hamt-fanout`.
    pub max_hamt_fanout: Option<usize>,
    /// `Import.UnixFSHAMTDirectorySizeThreshold` in bytes.
    pub hamt_threshold: Option<u64>,
    /// `Import.UnixFSHAMTDirectorySizeEstimation`.
    pub hamt_size_estimation: Option<SizeEstimation>,
    /// `--inline`.
    pub inline: Option<bool>,
    /// `--inline-limit`.
    pub inline_limit: Option<usize>,
    /// `--mode` as Kubo parses it: `"0644"` is octal, `"644"` decimal; only the bits 0o777 are
    /// stored.
    pub mode: Option<String>,
    /// `--mtime`, seconds since the epoch.
    pub mtime: Option<i64>,
    /// `--mtime-nsecs` (needs `mtime`).
    pub mtime_nsecs: Option<u32>,
    /// `--preserve-mode`.
    pub preserve_mode: Option<bool>,
    /// `--preserve-mtime`.
    pub preserve_mtime: Option<bool>,
    /// `--hidden`.
    pub hidden: Option<bool>,
    /// `--empty-dirs` (default true).
    pub empty_dirs: Option<bool>,
    /// `--dereference-symlinks`.
    pub dereference_symlinks: Option<bool>,
    /// `-w` / `--wrap-with-directory`.
    pub wrap_with_directory: Option<bool>,
}

/// Parse a `--mode` value the way Kubo's command line does (Go `strconv.ParseUint(s, 0, 32)`):
/// `0644` and `0o644` are octal, `0x1a4` hex, `0b…` binary, and a plain `644` is **decimal**.
pub fn parse_mode(s: &str) -> Result<u32> {
    let bad = || Error::InvalidOption(format!("mode {s:?} is not a number"));
    let t = s.trim();
    let (digits, radix) = if let Some(r) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        (r, 16)
    } else if let Some(r) = t.strip_prefix("0o").or_else(|| t.strip_prefix("0O")) {
        (r, 8)
    } else if let Some(r) = t.strip_prefix("0b").or_else(|| t.strip_prefix("0B")) {
        (r, 2)
    } else if t.len() > 1 && t.starts_with('0') {
        (&t[1..], 8)
    } else {
        (t, 10)
    };
    let digits = if radix == 10 {
        digits.to_string()
    } else {
        // Go accepts underscores between digits when a base prefix is present.
        digits.replace('_', "")
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return Err(bad());
    }
    u32::from_str_radix(&digits, radix).map_err(|_| bad())
}

impl AddFlags {
    /// Apply Kubo's rules (`core/commands/add.go`, `core/coreiface/options/unixfs.go`):
    /// flags override the profile; mode/mtime turn raw leaves off (an explicit `raw_leaves=true`
    /// is an error); a non-sha2-256 hash forces CIDv1; CIDv1 implies raw leaves unless raw leaves
    /// were set explicitly (by a flag or by the profile).
    pub fn resolve(&self) -> Result<ImportOptions> {
        let base = self.profile.unwrap_or(Profile::UnixfsV0_2015).options();
        let profile_set = self.profile.is_some();
        let mut o = base.clone();

        if let Some(t) = self.trickle {
            o.layout = if t { Layout::Trickle } else { Layout::Balanced };
        }
        if let Some(c) = &self.chunker {
            o.chunker = c.parse()?;
        }
        if let Some(h) = &self.hash {
            o.hash = h
                .to_ascii_lowercase()
                .parse()
                .map_err(|_| Error::InvalidOption(format!("unrecognized hash function: {h:?}")))?;
        }
        let cid_version = self.cid_version.or(if profile_set {
            Some(base.cid_version)
        } else {
            None
        });
        let mut raw_set = self.raw_leaves.is_some() || profile_set;
        let mut raw = self.raw_leaves.unwrap_or(base.raw_leaves);

        let preserve_mode = self.preserve_mode.unwrap_or(false);
        let preserve_mtime = self.preserve_mtime.unwrap_or(false);
        // Kubo checks the raw number, then keeps only the permission bits (Go's
        // `os.FileMode(mode)` has no setuid/setgid/sticky in its low 12 bits).
        let mode_arg = match &self.mode {
            Some(s) => parse_mode(s)?,
            None => 0,
        };
        let mode = Some(mode_arg & 0o777).filter(|&m| m != 0);
        let mtime = self.mtime.filter(|&s| s != 0);
        if preserve_mode || preserve_mtime || mode_arg != 0 || mtime.is_some() {
            if raw_set && raw {
                return Err(Error::InvalidOption(
                    "raw-leaves can't be used with UnixFS metadata like mode or modification time"
                        .into(),
                ));
            }
            raw_set = true;
            raw = false;
        }
        let nsecs = self.mtime_nsecs.filter(|&n| n != 0);
        o.mtime = match (mtime, nsecs) {
            (Some(seconds), n) => {
                // Go's time.Unix carries whole seconds out of the nanoseconds.
                let n = n.unwrap_or(0);
                Some(Mtime {
                    seconds: seconds.saturating_add(i64::from(n / 1_000_000_000)),
                    nanos: Some(n % 1_000_000_000).filter(|&n| n != 0),
                })
            }
            (None, Some(_)) => {
                return Err(Error::InvalidOption(
                    "option \"mtime-nsecs\" requires \"mtime\" to be provided as well".into(),
                ));
            }
            (None, None) => None,
        };
        o.mode = mode;
        // An explicit value wins over "preserve".
        o.preserve_mode = preserve_mode && o.mode.is_none();
        o.preserve_mtime = preserve_mtime && o.mtime.is_none();

        o.inline = self.inline.unwrap_or(false);
        o.inline_limit = self.inline_limit.unwrap_or(DEFAULT_INLINE_LIMIT);

        o.cid_version = if o.hash != HashAlg::Sha2_256 {
            match cid_version {
                Some(0) => {
                    return Err(Error::InvalidOption("CIDv0 only supports sha2-256".into()));
                }
                Some(1) | None => 1,
                Some(v) => return Err(Error::InvalidOption(format!("unknown CID version {v}"))),
            }
        } else {
            match cid_version {
                None => 0,
                Some(v @ (0 | 1)) => v,
                Some(v) => return Err(Error::InvalidOption(format!("unknown CID version {v}"))),
            }
        };
        o.raw_leaves = if o.cid_version > 0 && !raw_set {
            true
        } else {
            raw
        };

        if let Some(l) = self.max_file_links {
            o.max_file_links = l;
        }
        if let Some(l) = self.max_directory_links {
            o.max_directory_links = l;
        }
        if let Some(f) = self.max_hamt_fanout {
            o.hamt_fanout = f;
        }
        if let Some(t) = self.hamt_threshold {
            o.hamt_threshold = t;
        }
        if let Some(e) = self.hamt_size_estimation {
            o.hamt_size_estimation = e;
        }
        o.hidden = self.hidden.unwrap_or(false);
        o.empty_dirs = self.empty_dirs.unwrap_or(true);
        o.dereference_symlinks = self.dereference_symlinks.unwrap_or(false);
        o.wrap_with_directory = self.wrap_with_directory.unwrap_or(false);
        o.validate()?;
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(json: &str) -> Result<ImportOptions> {
        serde_json::from_str::<AddFlags>(json).unwrap().resolve()
    }

    #[test]
    fn defaults_are_kubo_defaults() {
        let o = flags("{}").unwrap();
        assert_eq!(o, ImportOptions::default());
        assert_eq!(o.cid_version, 0);
        assert!(!o.raw_leaves);
        assert_eq!(o.max_file_links, 174);
    }

    #[test]
    fn cid_version_rules() {
        let o = flags(r#"{"cid_version":1}"#).unwrap();
        assert!(o.raw_leaves);
        let o = flags(r#"{"cid_version":1,"raw_leaves":false}"#).unwrap();
        assert!(!o.raw_leaves);
        let o = flags(r#"{"hash":"blake2b-256"}"#).unwrap();
        assert_eq!((o.cid_version, o.raw_leaves), (1, true));
        let o = flags(r#"{"hash":"blake2b-256","raw_leaves":false}"#).unwrap();
        assert_eq!((o.cid_version, o.raw_leaves), (1, false));
        assert!(flags(r#"{"hash":"sha2-512","cid_version":0}"#).is_err());
        assert!(flags(r#"{"cid_version":2}"#).is_err());
        assert!(flags(r#"{"hash":"md5"}"#).is_err());
        // the v0 profile sets raw leaves explicitly (false), so CIDv1 keeps dag-pb leaves
        let o = flags(r#"{"profile":"legacy-cid-v0","cid_version":1}"#).unwrap();
        assert!(!o.raw_leaves);
    }

    #[test]
    fn metadata_rules() {
        let o = flags(r#"{"mode":"0640","cid_version":1}"#).unwrap();
        assert_eq!((o.mode, o.raw_leaves), (Some(0o640), false));
        assert!(flags(r#"{"mode":"0640","raw_leaves":true}"#).is_err());
        assert!(flags(r#"{"mtime":5,"profile":"unixfs-v1-2025"}"#).is_err());
        assert!(flags(r#"{"mtime_nsecs":5}"#).is_err());
        assert!(flags(r#"{"mode":"0999"}"#).is_err());
        assert_eq!(flags(r#"{"mode":"0o755"}"#).unwrap().mode, Some(0o755));
        // Kubo's base-0 parse: a plain number is decimal; high bits are dropped
        assert_eq!(flags(r#"{"mode":"420"}"#).unwrap().mode, Some(0o644));
        let o = flags(r#"{"mode":"01000"}"#).unwrap();
        assert_eq!((o.mode, o.raw_leaves), (None, false));
        let o = flags(r#"{"mtime":1,"mtime_nsecs":1500000000}"#).unwrap();
        assert_eq!(
            o.mtime,
            Some(Mtime {
                seconds: 2,
                nanos: Some(500_000_000)
            })
        );
        let o = flags(r#"{"mtime":7,"mtime_nsecs":9,"preserve_mtime":true}"#).unwrap();
        assert_eq!(
            o.mtime,
            Some(Mtime {
                seconds: 7,
                nanos: Some(9)
            })
        );
        assert!(!o.preserve_mtime);
    }

    #[test]
    fn ranges() {
        for bad in [
            r#"{"max_hamt_fanout":12}"#,
            r#"{"max_hamt_fanout":4}"#,
            r#"{"max_hamt_fanout":2048}"#,
            r#"{"max_file_links":1}"#,
            r#"{"inline":true,"inline_limit":65}"#,
            r#"{"chunker":"size-0"}"#,
            r#"{"profile":"nope"}"#,
        ] {
            assert!(
                matches!(
                    serde_json::from_str::<AddFlags>(bad).map(|f| f.resolve()),
                    Err(_) | Ok(Err(Error::InvalidOption(_)))
                ),
                "{bad}"
            );
        }
        assert_eq!(flags(r#"{"max_hamt_fanout":8}"#).unwrap().hamt_fanout, 8);
    }

    #[test]
    fn v1_profile() {
        let o = flags(r#"{"profile":"unixfs-v1-2025"}"#).unwrap();
        assert_eq!(o, Profile::UnixfsV1_2025.options());
        assert_eq!(o.chunker, ChunkerSpec::Size { size: 1 << 20 });
        assert_eq!(o.hamt_size_estimation, SizeEstimation::Block);
    }
}

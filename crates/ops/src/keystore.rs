//! The embedded node's keys: Ed25519 key pairs stored the way Kubo's keystore stores them (one file
//! per key, `key_<lower-case unpadded base32 of the name>`, holding the protobuf-encoded private
//! key), mode 0600, written atomically. The node identity is the key named `self`, created on
//! first use.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use cid::Cid;
use libp2p_identity::{Keypair, PeerId, PublicKey};
use multibase::Base;

use crate::{ErrorCode, OpError};

/// The name of the node identity key.
pub const SELF_KEY: &str = "self";
/// Longest key name accepted (its file name stays far below the usual 255-byte limit).
pub const MAX_KEY_NAME: usize = 128;
/// Multicodec `libp2p-key`, the codec of IPNS names printed as CIDs.
pub const LIBP2P_KEY_CODEC: u64 = 0x72;

const FILE_PREFIX: &str = "key_";

/// Serialises key creation and removal inside this process (the repo lock keeps other processes out).
static KEYSTORE_LOCK: Mutex<()> = Mutex::new(());

/// A key: its name and the peer ID of its public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key's name (`self` for the node identity).
    pub name: String,
    /// The peer ID derived from its public key.
    pub peer_id: PeerId,
}

/// The keystore directory of an embedded repo (`<repo>/keystore`).
#[derive(Debug, Clone)]
pub struct Keystore {
    dir: PathBuf,
}

impl Keystore {
    /// The keystore of the repo at `repo_dir` (created with mode 0700 on first write).
    pub fn new(repo_dir: &Path) -> Keystore {
        Keystore {
            dir: repo_dir.join("keystore"),
        }
    }

    /// The keystore directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The node identity, created (Ed25519) and stored on first use.
    pub fn identity(&self) -> Result<Keypair, OpError> {
        let _guard = lock();
        if let Some(k) = self.read(SELF_KEY)? {
            return Ok(k);
        }
        let key = Keypair::generate_ed25519();
        self.store_new(SELF_KEY, &key)?;
        Ok(key)
    }

    /// The key named `name` (`self` is created on first use); [`ErrorCode::NotFound`] when absent.
    pub fn get(&self, name: &str) -> Result<Keypair, OpError> {
        validate_key_name(name)?;
        if name == SELF_KEY {
            return self.identity();
        }
        self.read(name)?.ok_or_else(|| {
            OpError::new(ErrorCode::NotFound, format!("no key named {name:?}")).with("key", name)
        })
    }

    /// Generate a new Ed25519 key named `name`. `self` is reserved; an existing name is
    /// [`ErrorCode::AlreadyExists`].
    pub fn generate(&self, name: &str) -> Result<KeyInfo, OpError> {
        validate_key_name(name)?;
        if name == SELF_KEY {
            return Err(OpError::invalid("cannot create key with name 'self'").with("key", name));
        }
        let _guard = lock();
        let key = Keypair::generate_ed25519();
        self.store_new(name, &key)?;
        Ok(KeyInfo {
            name: name.to_string(),
            peer_id: key.public().to_peer_id(),
        })
    }

    /// Every key: `self` first (created if missing), then the others by name.
    pub fn list(&self) -> Result<Vec<KeyInfo>, OpError> {
        let me = self.identity()?;
        let mut out = vec![KeyInfo {
            name: SELF_KEY.to_string(),
            peer_id: me.public().to_peer_id(),
        }];
        let mut others = Vec::new();
        for name in self.names()? {
            if name == SELF_KEY {
                continue;
            }
            if let Some(k) = self.read(&name)? {
                others.push(KeyInfo {
                    name,
                    peer_id: k.public().to_peer_id(),
                });
            }
        }
        others.sort_by(|a, b| a.name.cmp(&b.name));
        out.extend(others);
        Ok(out)
    }

    /// Remove the key named `name` (not `self`) and return what it was.
    pub fn remove(&self, name: &str) -> Result<KeyInfo, OpError> {
        validate_key_name(name)?;
        if name == SELF_KEY {
            return Err(OpError::invalid("cannot remove key with name 'self'").with("key", name));
        }
        let _guard = lock();
        let key = self.read(name)?.ok_or_else(|| {
            OpError::new(
                ErrorCode::NotFound,
                format!("no key named {name:?} was found"),
            )
            .with("key", name)
        })?;
        let path = self.path_of(name);
        fs::remove_file(&path)
            .map_err(|e| OpError::from(e).with("path", path.display().to_string()))?;
        sync_dir(&self.dir)?;
        Ok(KeyInfo {
            name: name.to_string(),
            peer_id: key.public().to_peer_id(),
        })
    }

    /// The key whose name or peer ID (any form [`parse_peer_id`] accepts) is `key_or_id`.
    pub fn find(&self, key_or_id: &str) -> Result<(String, Keypair), OpError> {
        if validate_key_name(key_or_id).is_ok()
            && (key_or_id == SELF_KEY || self.path_of(key_or_id).exists())
        {
            return Ok((key_or_id.to_string(), self.get(key_or_id)?));
        }
        if let Ok(pid) = parse_peer_id(key_or_id) {
            for info in self.list()? {
                if info.peer_id == pid {
                    let k = self.get(&info.name)?;
                    return Ok((info.name, k));
                }
            }
        }
        Err(OpError::new(
            ErrorCode::NotFound,
            format!("{key_or_id:?} is not a known key name or the peer ID of one"),
        )
        .with("key", key_or_id))
    }

    fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(file_name(name))
    }

    fn names(&self) -> Result<Vec<String>, OpError> {
        let rd = match fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(OpError::from(e).with("path", self.dir.display().to_string())),
        };
        let mut out = Vec::new();
        for entry in rd {
            let entry = entry?;
            if let Some(name) = entry.file_name().to_str().and_then(name_of_file) {
                out.push(name);
            }
        }
        Ok(out)
    }

    fn read(&self, name: &str) -> Result<Option<Keypair>, OpError> {
        let path = self.path_of(name);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(OpError::from(e).with("path", path.display().to_string())),
        };
        Keypair::from_protobuf_encoding(&bytes)
            .map(Some)
            .map_err(|e| {
                OpError::new(
                    ErrorCode::Corrupted,
                    format!("keystore file for {name:?} is not a private key we can read: {e}"),
                )
                .with("path", path.display().to_string())
            })
    }

    /// Write a new key file; never replaces an existing one.
    fn store_new(&self, name: &str, key: &Keypair) -> Result<(), OpError> {
        let bytes = key
            .to_protobuf_encoding()
            .map_err(|e| OpError::new(ErrorCode::Internal, format!("cannot encode key: {e}")))?;
        create_private_dir(&self.dir)?;
        write_atomic(&self.dir, &file_name(name), &bytes, false).map_err(|e| {
            if e.code == ErrorCode::AlreadyExists {
                OpError::new(
                    ErrorCode::AlreadyExists,
                    format!("key with name {name:?} already exists"),
                )
                .with("key", name)
            } else {
                e
            }
        })
    }
}

fn lock() -> std::sync::MutexGuard<'static, ()> {
    KEYSTORE_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Kubo's keystore file name for `name`: `key_` + lower-case unpadded RFC 4648 base32.
pub fn file_name(name: &str) -> String {
    format!("{FILE_PREFIX}{}", Base::Base32Lower.encode(name.as_bytes()))
}

/// The key name a keystore file name stands for, if it is one.
fn name_of_file(file: &str) -> Option<String> {
    let enc = file.strip_prefix(FILE_PREFIX)?;
    let bytes = Base::Base32Lower.decode(enc).ok()?;
    String::from_utf8(bytes).ok()
}

/// Check a key name: not empty, at most [`MAX_KEY_NAME`] bytes, no `/`, no control characters.
pub fn validate_key_name(name: &str) -> Result<(), OpError> {
    let bad =
        |why: &str| OpError::invalid(format!("invalid key name {name:?}: {why}")).with("key", name);
    if name.is_empty() {
        return Err(bad("empty"));
    }
    if name.len() > MAX_KEY_NAME {
        return Err(bad(&format!("longer than {MAX_KEY_NAME} bytes")));
    }
    if name.contains('/') {
        return Err(bad("contains '/'"));
    }
    if name.chars().any(char::is_control) {
        return Err(bad("contains a control character"));
    }
    Ok(())
}

/// A peer ID as Kubo's `id` prints it: base58btc of the multihash (`12D3KooW…`).
pub fn peer_id_b58(pid: &PeerId) -> String {
    pid.to_base58()
}

/// The CIDv1 (`libp2p-key`) of a peer ID.
pub fn peer_cid(pid: &PeerId) -> Cid {
    Cid::new_v1(LIBP2P_KEY_CODEC, *pid.as_ref())
}

/// An IPNS name as Kubo prints it by default: CIDv1 `libp2p-key` in base36 (`k51…`).
pub fn ipns_name(pid: &PeerId) -> String {
    ipns_name_in(pid, Base::Base36Lower)
}

/// An IPNS name as a CIDv1 `libp2p-key` in `base`.
pub fn ipns_name_in(pid: &PeerId, base: Base) -> String {
    peer_cid(pid)
        .to_string_of_base(base)
        .unwrap_or_else(|_| pid.to_base58())
}

/// The multibase of Kubo's `--ipns-base` option (`base36` default, `base32`, `base58btc`, …).
pub fn ipns_base(name: Option<&str>) -> Result<Base, OpError> {
    match name.unwrap_or("base36") {
        "" | "base36" | "k" => Ok(Base::Base36Lower),
        "base32" | "b" => Ok(Base::Base32Lower),
        "base58btc" | "z" => Ok(Base::Base58Btc),
        "base16" | "f" => Ok(Base::Base16Lower),
        other => Err(OpError::invalid(format!(
            "unsupported ipns_base {other:?} (use base36, base32, base58btc or base16)"
        ))
        .with("field", "ipns_base")),
    }
}

/// Parse a peer ID in any form Kubo accepts: base58btc multihash (`12D3KooW…`, `Qm…`) or a CIDv1
/// with codec `libp2p-key` in any multibase (`k51…`, `bafz…`); an `/ipns/` prefix is ignored.
pub fn parse_peer_id(s: &str) -> Result<PeerId, OpError> {
    let t = s.trim();
    let t = t.strip_prefix("/ipns/").unwrap_or(t);
    let t = t.trim_end_matches('/');
    let bad = |why: String| {
        OpError::invalid(format!(
            "{:?} is not a peer ID: {why}",
            s.chars().take(100).collect::<String>()
        ))
        .with("peer_id", s.chars().take(100).collect::<String>())
    };
    if let Ok(pid) = t.parse::<PeerId>() {
        return Ok(pid);
    }
    let cid = t.parse::<Cid>().map_err(|e| bad(e.to_string()))?;
    if cid.codec() != LIBP2P_KEY_CODEC {
        return Err(bad(format!(
            "a CID with codec 0x{:x}, not libp2p-key (0x72)",
            cid.codec()
        )));
    }
    PeerId::from_multihash(*cid.hash())
        .map_err(|_| bad("its multihash is neither identity nor sha2-256".into()))
}

/// The public key a peer ID inlines (identity multihash), if it does.
pub fn public_key_of(pid: &PeerId) -> Option<PublicKey> {
    let mh = pid.as_ref();
    if mh.code() != 0 {
        return None;
    }
    PublicKey::try_decode_protobuf(mh.digest()).ok()
}

fn create_private_dir(dir: &Path) -> Result<(), OpError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
        .map_err(|e| OpError::from(e).with("path", dir.display().to_string()))?;
    if let Some(parent) = dir.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Write `bytes` to `dir/name` atomically with mode 0600: a temp file, fsync, then rename
/// (`replace`) or hard link (refusing an existing file), then fsync of the directory.
pub(crate) fn write_atomic(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    replace: bool,
) -> Result<(), OpError> {
    let with_path =
        |e: std::io::Error, p: &Path| OpError::from(e).with("path", p.display().to_string());
    let tmp = dir.join(format!(".tmp-{name}-{}", std::process::id()));
    let target = dir.join(name);
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let result = (|| {
        let mut f = opts.open(&tmp).map_err(|e| with_path(e, &tmp))?;
        f.write_all(bytes).map_err(|e| with_path(e, &tmp))?;
        f.sync_all().map_err(|e| with_path(e, &tmp))?;
        drop(f);
        if replace {
            fs::rename(&tmp, &target).map_err(|e| with_path(e, &target))
        } else {
            let linked = fs::hard_link(&tmp, &target).map_err(|e| with_path(e, &target));
            let _ = fs::remove_file(&tmp);
            linked
        }
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<(), OpError> {
    #[cfg(unix)]
    {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| OpError::from(e).with("path", dir.display().to_string()))?;
    }
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubo_file_names() {
        assert_eq!(file_name("self"), "key_onswyzq");
        assert_eq!(name_of_file("key_onswyzq").as_deref(), Some("self"));
        assert_eq!(name_of_file("other"), None);
    }
}

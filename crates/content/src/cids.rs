use std::str::FromStr;

use cid::{Cid, Version};
use multibase::Base;

use crate::{Error, HashAlg, Result};

/// IPLD codecs the embedded node understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Codec {
    /// raw bytes (0x55).
    Raw,
    /// dag-pb (0x70), UnixFS's codec.
    DagPb,
    /// dag-cbor (0x71).
    DagCbor,
    /// dag-json (0x0129).
    DagJson,
}

impl Codec {
    /// Every codec, for listings and tests.
    pub const ALL: [Codec; 4] = [Codec::Raw, Codec::DagPb, Codec::DagCbor, Codec::DagJson];

    /// Multicodec code.
    pub fn code(self) -> u64 {
        match self {
            Codec::Raw => 0x55,
            Codec::DagPb => 0x70,
            Codec::DagCbor => 0x71,
            Codec::DagJson => 0x0129,
        }
    }

    /// Multicodec name (`raw`, `dag-pb`, …).
    pub fn name(self) -> &'static str {
        match self {
            Codec::Raw => "raw",
            Codec::DagPb => "dag-pb",
            Codec::DagCbor => "dag-cbor",
            Codec::DagJson => "dag-json",
        }
    }

    /// The codec for a multicodec code.
    pub fn from_code(code: u64) -> Result<Self> {
        Codec::ALL
            .into_iter()
            .find(|c| c.code() == code)
            .ok_or(Error::UnsupportedCodec(code))
    }

    /// The codec of a CID.
    pub fn of(cid: &Cid) -> Result<Self> {
        Codec::from_code(cid.codec())
    }
}

impl FromStr for Codec {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Codec::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| Error::InvalidOption(format!("unknown codec {s:?}")))
    }
}

impl std::fmt::Display for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Multibase encodings offered for printing CIDs (`--cid-base`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CidBase {
    /// The CID's natural base: base58btc for v0, base32 for v1.
    #[default]
    Default,
    /// base32 lower case (`b…`).
    Base32,
    /// base58btc (`z…` for v1, bare `Qm…` for v0).
    Base58btc,
    /// base36 lower case (`k…`).
    Base36,
}

impl FromStr for CidBase {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "" | "default" => CidBase::Default,
            "base32" | "b" => CidBase::Base32,
            "base58btc" | "z" => CidBase::Base58btc,
            "base36" | "k" => CidBase::Base36,
            other => {
                return Err(Error::InvalidOption(format!(
                    "unsupported --cid-base {other:?} (use base32, base58btc or base36)"
                )));
            }
        })
    }
}

/// Print a CID the way Kubo does with `--cid-base`: a v0 CID asked for in a base other than
/// base58btc is shown as its v1 equivalent.
pub fn format_cid(cid: &Cid, base: CidBase) -> String {
    let base = match base {
        CidBase::Default => return cid.to_string(),
        CidBase::Base32 => Base::Base32Lower,
        CidBase::Base58btc => {
            if cid.version() == Version::V0 {
                return cid.to_string();
            }
            Base::Base58Btc
        }
        CidBase::Base36 => Base::Base36Lower,
    };
    let v1 = if cid.version() == Version::V0 {
        Cid::new_v1(cid.codec(), *cid.hash())
    } else {
        *cid
    };
    v1.to_string_of_base(base)
        .unwrap_or_else(|_| v1.to_string())
}

/// Parse a CID string (any multibase, or a bare base58 v0), with a clear error.
pub fn parse_cid(s: &str) -> Result<Cid> {
    let s = s.trim();
    let shown = || s.chars().take(100).collect::<String>();
    if s.is_empty() {
        return Err(Error::InvalidCid {
            input: String::new(),
            reason: "empty".into(),
        });
    }
    Cid::from_str(s).map_err(|e| Error::InvalidCid {
        input: shown(),
        reason: e.to_string(),
    })
}

/// The CID of `data` under the given version, codec and hash. CIDv0 requires dag-pb + sha2-256.
pub fn block_cid(version: u8, codec: Codec, hash: HashAlg, data: &[u8]) -> Result<Cid> {
    block_cid_parts(version, codec, hash, &[data])
}

/// [`block_cid`] of the concatenation of `parts` (a block framed around shared buffers).
pub fn block_cid_parts(version: u8, codec: Codec, hash: HashAlg, parts: &[&[u8]]) -> Result<Cid> {
    let mh = hash.digest_parts(parts)?;
    match version {
        0 => {
            if codec != Codec::DagPb || hash != HashAlg::Sha2_256 {
                return Err(Error::InvalidOption(
                    "CIDv0 only supports dag-pb with sha2-256".into(),
                ));
            }
            Cid::new_v0(mh).map_err(|e| Error::InvalidOption(e.to_string()))
        }
        1 => Ok(Cid::new_v1(codec.code(), mh)),
        v => Err(Error::InvalidOption(format!("unknown CID version {v}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v0_printed_in_base32_becomes_v1() {
        let cid = parse_cid("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH").unwrap();
        let s = format_cid(&cid, CidBase::Base32);
        assert!(s.starts_with("bafybei"), "{s}");
        assert_eq!(parse_cid(&s).unwrap().hash(), cid.hash());
        assert!(format_cid(&cid, CidBase::Base36).starts_with('k'));
        assert_eq!(format_cid(&cid, CidBase::Base58btc), cid.to_string());
    }

    #[test]
    fn bad_cids_are_errors() {
        for bad in [
            "",
            "Qm",
            "bafy!!!",
            "zzzz",
            "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQ",
        ] {
            assert!(
                matches!(parse_cid(bad), Err(Error::InvalidCid { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn v0_needs_dag_pb_sha256() {
        assert!(block_cid(0, Codec::Raw, HashAlg::Sha2_256, b"x").is_err());
        assert!(block_cid(0, Codec::DagPb, HashAlg::Blake3, b"x").is_err());
        assert!(block_cid(2, Codec::DagPb, HashAlg::Sha2_256, b"x").is_err());
    }
}

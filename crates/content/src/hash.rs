use std::str::FromStr;

use multihash::Multihash;
use sha2::Digest;

use crate::{Error, Result};

/// Largest digest we produce (sha2-512).
pub(crate) const MAX_DIGEST: usize = 64;

/// Multihash with room for every digest we produce.
pub type Mh = Multihash<MAX_DIGEST>;

/// Hash functions `ipfs add --hash` accepts here.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum HashAlg {
    /// sha2-256 (0x12), the default.
    #[default]
    #[serde(rename = "sha2-256")]
    Sha2_256,
    /// sha2-512 (0x13).
    #[serde(rename = "sha2-512")]
    Sha2_512,
    /// blake2b-256 (0xb220).
    #[serde(rename = "blake2b-256")]
    Blake2b256,
    /// blake3 with a 32-byte digest (0x1e).
    Blake3,
    /// identity (0x00): the "digest" is the data itself (inlined CIDs).
    Identity,
}

impl HashAlg {
    /// Every algorithm, for listings and tests.
    pub const ALL: [HashAlg; 5] = [
        HashAlg::Sha2_256,
        HashAlg::Sha2_512,
        HashAlg::Blake2b256,
        HashAlg::Blake3,
        HashAlg::Identity,
    ];

    /// The multicodec code of this hash function.
    pub fn code(self) -> u64 {
        match self {
            HashAlg::Sha2_256 => 0x12,
            HashAlg::Sha2_512 => 0x13,
            HashAlg::Blake2b256 => 0xb220,
            HashAlg::Blake3 => 0x1e,
            HashAlg::Identity => 0x00,
        }
    }

    /// The name Kubo uses for it (`sha2-256`, `blake2b-256`, …).
    pub fn name(self) -> &'static str {
        match self {
            HashAlg::Sha2_256 => "sha2-256",
            HashAlg::Sha2_512 => "sha2-512",
            HashAlg::Blake2b256 => "blake2b-256",
            HashAlg::Blake3 => "blake3",
            HashAlg::Identity => "identity",
        }
    }

    /// The algorithm for a multihash code, if we support it.
    pub fn from_code(code: u64) -> Option<Self> {
        HashAlg::ALL.into_iter().find(|h| h.code() == code)
    }

    /// Hash the concatenation of `parts` into a multihash, without joining them (a block
    /// framed around shared buffers). Identity data longer than 64 bytes is refused.
    pub fn digest_parts(self, parts: &[&[u8]]) -> Result<Mh> {
        let wrap = |d: &[u8]| {
            Mh::wrap(self.code(), d)
                .map_err(|e| Error::UnsupportedHash(format!("{}: {e}", self.name())))
        };
        match self {
            HashAlg::Sha2_256 => {
                let mut h = sha2::Sha256::new();
                parts.iter().for_each(|p| h.update(p));
                wrap(&h.finalize())
            }
            HashAlg::Sha2_512 => {
                let mut h = sha2::Sha512::new();
                parts.iter().for_each(|p| h.update(p));
                wrap(&h.finalize())
            }
            HashAlg::Blake2b256 => {
                let mut h = blake2b_simd::Params::new().hash_length(32).to_state();
                parts.iter().for_each(|p| {
                    h.update(p);
                });
                wrap(h.finalize().as_bytes())
            }
            HashAlg::Blake3 => {
                let mut h = blake3::Hasher::new();
                parts.iter().for_each(|p| {
                    h.update(p);
                });
                wrap(h.finalize().as_bytes())
            }
            HashAlg::Identity => match parts {
                [one] => wrap(one),
                _ => wrap(&parts.concat()),
            },
        }
    }

    /// Hash `data` into a multihash. Identity data longer than 64 bytes is refused.
    pub fn digest(self, data: &[u8]) -> Result<Mh> {
        self.digest_parts(&[data])
    }
}

impl FromStr for HashAlg {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        HashAlg::ALL
            .into_iter()
            .find(|h| h.name() == s)
            .ok_or_else(|| Error::UnsupportedHash(s.to_string()))
    }
}

impl std::fmt::Display for HashAlg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for h in HashAlg::ALL {
            assert_eq!(h.name().parse::<HashAlg>().unwrap(), h);
            assert_eq!(HashAlg::from_code(h.code()), Some(h));
        }
        assert!("md5".parse::<HashAlg>().is_err());
    }

    #[test]
    fn sha256_of_empty() {
        let mh = HashAlg::Sha2_256.digest(b"").unwrap();
        assert_eq!(
            hex(mh.digest()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn identity_is_bounded() {
        assert!(HashAlg::Identity.digest(&[0u8; 64]).is_ok());
        assert!(HashAlg::Identity.digest(&[0u8; 65]).is_err());
    }

    #[test]
    fn parts_hash_like_the_whole() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        for h in HashAlg::ALL {
            let whole = h.digest(&data[..40]).unwrap();
            let split = h.digest_parts(&[&data[..3], &[], &data[3..17], &data[17..40]]);
            assert_eq!(split.unwrap(), whole, "{h}");
            if h != HashAlg::Identity {
                let whole = h.digest(&data).unwrap();
                let parts: Vec<&[u8]> = data.chunks(129).collect();
                assert_eq!(h.digest_parts(&parts).unwrap(), whole, "{h}");
            }
        }
        assert!(
            HashAlg::Identity
                .digest_parts(&[&[0u8; 40], &[0u8; 25]])
                .is_err()
        );
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}

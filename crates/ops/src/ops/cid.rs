//! CID tools that need no node: `ipfs_cid_format` (Kubo's `cid format`) and `ipfs_cid_info`
//! (Kubo's `cid bases|codecs|hashes`, limited to what ipfs-kit supports).

use cid::{Cid, Version};
use ipfs_kit_content::{Codec, HashAlg};
use multibase::Base;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::core_meta;
use crate::{Kit, OpContext, OpError, OpMeta, Operation};

/// Most CIDs formatted in one call.
const MAX_CIDS: usize = 10_000;

/// Multibases by go-multibase name (data: the multibase table; names and prefixes as Kubo prints them).
const BASES: [(&str, Base); 23] = [
    ("base2", Base::Base2),
    ("base8", Base::Base8),
    ("base10", Base::Base10),
    ("base16", Base::Base16Lower),
    ("base16upper", Base::Base16Upper),
    ("base32", Base::Base32Lower),
    ("base32upper", Base::Base32Upper),
    ("base32pad", Base::Base32PadLower),
    ("base32padupper", Base::Base32PadUpper),
    ("base32hex", Base::Base32HexLower),
    ("base32hexupper", Base::Base32HexUpper),
    ("base32hexpad", Base::Base32HexPadLower),
    ("base32hexpadupper", Base::Base32HexPadUpper),
    ("base32z", Base::Base32Z),
    ("base36", Base::Base36Lower),
    ("base36upper", Base::Base36Upper),
    ("base58flickr", Base::Base58Flickr),
    ("base58btc", Base::Base58Btc),
    ("base64", Base::Base64),
    ("base64pad", Base::Base64Pad),
    ("base64url", Base::Base64Url),
    ("base64urlpad", Base::Base64UrlPad),
    ("base256emoji", Base::Base256Emoji),
];

/// Codecs ipfs-kit understands, plus `libp2p-key` (IPNS names), by multicodec name.
fn codecs() -> Vec<(&'static str, u64)> {
    let mut v: Vec<(&'static str, u64)> = Codec::ALL.iter().map(|c| (c.name(), c.code())).collect();
    v.push(("libp2p-key", crate::keystore::LIBP2P_KEY_CODEC));
    v
}

fn base_name(b: Base) -> String {
    BASES
        .iter()
        .find(|(_, x)| *x == b)
        .map(|(n, _)| n.to_string())
        .unwrap_or_else(|| format!("base?{}", b.code()))
}

fn base_by_name(s: &str) -> Option<Base> {
    if let Some((_, b)) = BASES.iter().find(|(n, _)| *n == s) {
        return Some(*b);
    }
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Base::from_code(c).ok().filter(|b| *b != Base::Identity),
        _ => None,
    }
}

fn codec_name(code: u64) -> String {
    codecs()
        .into_iter()
        .find(|(_, c)| *c == code)
        .map(|(n, _)| n.to_string())
        .unwrap_or_else(|| format!("Code({code})"))
}

fn hash_name(code: u64) -> String {
    HashAlg::from_code(code)
        .map(|h| h.name().to_string())
        .unwrap_or_else(|| format!("hash?{code}"))
}

/// A CID printed in `base`: CIDv0 only in base58btc, bare.
fn cid_string(c: &Cid, base: Base) -> Result<String, String> {
    if c.version() == Version::V0 {
        if base != Base::Base58Btc {
            return Err("invalid base encoding: CIDv0 is always base58btc".into());
        }
        return Ok(c.to_string());
    }
    c.to_string_of_base(base).map_err(|e| e.to_string())
}

fn encode(base: Base, data: &[u8], strip: bool) -> String {
    let s = multibase::encode(base, data);
    if strip {
        s.chars().skip(1).collect()
    } else {
        s
    }
}

/// Kubo's `cid format` specifiers (go-cidutil), applied to one CID.
fn format_one(fmt: &str, base: Base, c: &Cid) -> Result<String, FormatError> {
    let mh = c.hash();
    let version = match c.version() {
        Version::V0 => 0,
        Version::V1 => 1,
    };
    let mut out = String::new();
    let mut chars = fmt.chars();
    while let Some(ch) = chars.next() {
        if ch != '%' {
            out.push(ch);
            continue;
        }
        let Some(spec) = chars.next() else {
            return Err(FormatError::Spec("premature end of format string".into()));
        };
        match spec {
            '%' => out.push('%'),
            'b' => out.push_str(&base_name(base)),
            'B' => out.push(base.code()),
            'v' => out.push_str(&format!("cidv{version}")),
            'V' => out.push_str(&version.to_string()),
            'c' => out.push_str(&codec_name(c.codec())),
            'C' => out.push_str(&c.codec().to_string()),
            'h' => out.push_str(&hash_name(mh.code())),
            'H' => out.push_str(&mh.code().to_string()),
            'L' => out.push_str(&mh.size().to_string()),
            'm' | 'M' => out.push_str(&encode(base, &mh.to_bytes(), spec == 'M')),
            'd' | 'D' => out.push_str(&encode(base, mh.digest(), spec == 'D')),
            's' => out.push_str(&cid_string(c, base).map_err(FormatError::Cid)?),
            'S' => out.push_str(&encode(base, &c.to_bytes(), true)),
            'P' => out.push_str(&format!(
                "cidv{version}-{}-{}-{}",
                codec_name(c.codec()),
                hash_name(mh.code()),
                mh.size()
            )),
            other => {
                return Err(FormatError::Spec(format!(
                    "unrecognized specifier in format string: %{other}"
                )));
            }
        }
    }
    Ok(out)
}

enum FormatError {
    /// The format string is wrong: the whole call fails.
    Spec(String),
    /// This CID cannot be printed so.
    Cid(String),
}

/// `ipfs_cid_format`.
#[derive(Debug, Clone, Copy)]
pub struct CidFormat;

/// Input of `ipfs_cid_format`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CidFormatInput {
    /// The CIDs.
    pub cids: Vec<String>,
    /// printf-style format (default `%s`): `%%` literal %, `%b` multibase name, `%B` multibase
    /// prefix, `%v` version string (`cidv1`), `%V` version number, `%c` codec name, `%C` codec code,
    /// `%h` hash name, `%H` hash code, `%L` digest length, `%m`/`%M` multihash in base %b
    /// with/without multibase prefix, `%d`/`%D` digest likewise, `%s`/`%S` the CID likewise,
    /// `%P` prefix `%v-%c-%h-%L`.
    #[serde(default = "default_format")]
    pub format: String,
    /// Convert to this CID version (`0` or `1`).
    pub version: Option<String>,
    /// Convert to this codec (multicodec name, e.g. `raw`, `dag-pb`).
    pub codec: Option<String>,
    /// Print in this multibase (name such as `base32`, `base36`, `base58btc`, or its prefix letter).
    pub base: Option<String>,
}

fn default_format() -> String {
    "%s".into()
}

/// One formatted CID.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CidFormatResult {
    /// The CID as given.
    pub cid: String,
    /// The formatted text, when it could be formatted.
    pub formatted: Option<String>,
    /// Why it could not be, otherwise.
    pub error: Option<String>,
}

/// Output of `ipfs_cid_format`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CidFormatOutput {
    /// One result per input CID, in order.
    pub results: Vec<CidFormatResult>,
}

impl Operation for CidFormat {
    const NAME: &'static str = "ipfs_cid_format";
    type Input = CidFormatInput;
    type Output = CidFormatOutput;

    fn meta(&self) -> OpMeta {
        core_meta(
            "Format CIDs",
            "Convert CIDs between versions, codecs and multibases and print them with a printf-style \
             format, as Kubo's `cid format` (no node involved).",
            true,
            false,
            true,
        )
    }

    async fn run(
        &self,
        _kit: &Kit,
        input: CidFormatInput,
        _cx: &OpContext,
    ) -> Result<CidFormatOutput, OpError> {
        if input.cids.len() > MAX_CIDS {
            return Err(
                OpError::invalid(format!("more than {MAX_CIDS} CIDs")).with("limit", MAX_CIDS)
            );
        }
        if !input.format.contains('%') {
            return Err(
                OpError::invalid(format!("invalid format string: {:?}", input.format))
                    .with("field", "format"),
            );
        }
        let new_codec = match input.codec.as_deref().filter(|c| !c.is_empty()) {
            None => None,
            Some(name) => Some(
                codecs()
                    .into_iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, c)| c)
                    .ok_or_else(|| {
                        OpError::invalid(format!("unknown or unsupported codec {name:?}"))
                            .with("field", "codec")
                    })?,
            ),
        };
        let new_base = match input.base.as_deref().filter(|b| !b.is_empty()) {
            None => None,
            Some(b) => Some(base_by_name(b).ok_or_else(|| {
                OpError::invalid(format!("unknown multibase {b:?}")).with("field", "base")
            })?),
        };
        let to_version = match input.version.as_deref().unwrap_or("") {
            "" => new_base.map(|_| 1),
            "0" => {
                if new_codec.is_some_and(|c| c != Codec::DagPb.code()) {
                    return Err(OpError::invalid(
                        "cannot convert to CIDv0 with any codec other than dag-pb",
                    ));
                }
                if new_base.is_some_and(|b| b != Base::Base58Btc) {
                    return Err(OpError::invalid(
                        "cannot convert to CIDv0 with any multibase other than the implicit base58btc",
                    ));
                }
                Some(0)
            }
            "1" => Some(1),
            v => {
                return Err(OpError::invalid(format!("invalid cid version: {v:?}"))
                    .with("field", "version"));
            }
        };
        let mut results = Vec::with_capacity(input.cids.len());
        for given in input.cids {
            let mut res = CidFormatResult {
                cid: given.clone(),
                formatted: None,
                error: None,
            };
            let step = (|| -> Result<(Cid, Base), String> {
                let mut c = ipfs_kit_content::parse_cid(&given).map_err(|e| e.to_string())?;
                if let Some(codec) = new_codec
                    && codec != c.codec()
                {
                    c = Cid::new_v1(codec, *c.hash());
                }
                match to_version {
                    Some(0) => {
                        if c.codec() != Codec::DagPb.code() {
                            return Err("can't convert non-dag-pb nodes to cidv0".into());
                        }
                        c = Cid::new_v0(*c.hash()).map_err(|e| e.to_string())?;
                    }
                    Some(_) => c = Cid::new_v1(c.codec(), *c.hash()),
                    None => {}
                }
                let base = match new_base {
                    Some(b) => b,
                    None if c.version() == Version::V0 => Base::Base58Btc,
                    None => input_base(&given),
                };
                Ok((c, base))
            })();
            match step {
                Ok((c, base)) => match format_one(&input.format, base, &c) {
                    Ok(s) => res.formatted = Some(s),
                    Err(FormatError::Cid(e)) => res.error = Some(e),
                    Err(FormatError::Spec(e)) => {
                        return Err(OpError::invalid(e).with("field", "format"));
                    }
                },
                Err(e) => res.error = Some(e),
            }
            results.push(res);
        }
        Ok(CidFormatOutput { results })
    }
}

/// The multibase a CID string was written in (base58btc for a bare CIDv0).
fn input_base(s: &str) -> Base {
    let s = s.trim();
    if s.len() == 46 && s.starts_with("Qm") {
        return Base::Base58Btc;
    }
    s.chars()
        .next()
        .and_then(|c| Base::from_code(c).ok())
        .unwrap_or(Base::Base32Lower)
}

/// What `ipfs_cid_info` lists.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CidInfoKind {
    /// Multibases.
    Bases,
    /// Codecs.
    Codecs,
    /// Hash functions.
    Hashes,
}

/// `ipfs_cid_info`.
#[derive(Debug, Clone, Copy)]
pub struct CidInfo;

/// Input of `ipfs_cid_info`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CidInfoInput {
    /// `bases`, `codecs` or `hashes`.
    pub kind: CidInfoKind,
}

/// One multibase, codec or hash function.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CidInfoEntry {
    /// Its name (`base32`, `dag-pb`, `sha2-256`).
    pub name: String,
    /// Its code (for a multibase, the code point of its prefix character).
    pub code: u64,
    /// The multibase prefix character (bases only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

/// Output of `ipfs_cid_info`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CidInfoOutput {
    /// The entries, ordered by code.
    pub entries: Vec<CidInfoEntry>,
}

impl Operation for CidInfo {
    const NAME: &'static str = "ipfs_cid_info";
    type Input = CidInfoInput;
    type Output = CidInfoOutput;

    fn meta(&self) -> OpMeta {
        core_meta(
            "CID building blocks",
            "List the multibases, codecs or hash functions ipfs-kit supports (Kubo's `cid bases|codecs|hashes`).",
            true,
            false,
            true,
        )
    }

    async fn run(
        &self,
        _kit: &Kit,
        input: CidInfoInput,
        _cx: &OpContext,
    ) -> Result<CidInfoOutput, OpError> {
        let mut entries: Vec<CidInfoEntry> = match input.kind {
            CidInfoKind::Bases => BASES
                .iter()
                .map(|(n, b)| CidInfoEntry {
                    name: n.to_string(),
                    code: u64::from(u32::from(b.code())),
                    prefix: Some(b.code().to_string()),
                })
                .collect(),
            CidInfoKind::Codecs => codecs()
                .into_iter()
                .map(|(n, c)| CidInfoEntry {
                    name: n.to_string(),
                    code: c,
                    prefix: None,
                })
                .collect(),
            CidInfoKind::Hashes => HashAlg::ALL
                .iter()
                .map(|h| CidInfoEntry {
                    name: h.name().to_string(),
                    code: h.code(),
                    prefix: None,
                })
                .collect(),
        };
        entries.sort_by_key(|e| e.code);
        Ok(CidInfoOutput { entries })
    }
}

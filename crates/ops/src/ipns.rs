//! Signed IPNS records (the IPNS record spec, `application/vnd.ipfs.ipns-record`): creation with a
//! V2 signature over `"ipns-signature:" + data` (and, with V1 compatibility as Kubo does by
//! default, the legacy V1 fields and signature), verification, the embedded node's record store
//! (`<repo>/ipns/<k51… name>`), publishing with Kubo's sequence rules and local resolution.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ipld_core::ipld::Ipld;
use libp2p_identity::{Keypair, PeerId, PublicKey};

use crate::keystore::{self, Keystore};
use crate::{ErrorCode, OpError};

/// Largest record accepted or produced (the spec's limit).
pub const MAX_RECORD_SIZE: usize = 10 * 1024;
/// Kubo's default record lifetime (boxo `ipns.DefaultRecordLifetime`).
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(48 * 3600);
/// Kubo's default TTL (boxo `ipns.DefaultRecordTTL`), capped to the lifetime.
pub const DEFAULT_TTL: Duration = Duration::from_secs(5 * 60);
/// Most `/ipns/` hops followed by a recursive resolution.
pub const MAX_RESOLVE_DEPTH: usize = 32;

const SIG_V2_PREFIX: &[u8] = b"ipns-signature:";

/// Serialises read-sequence-write of records in this process (the repo lock keeps others out).
static PUBLISH_LOCK: Mutex<()> = Mutex::new(());

/// Why a record was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Over [`MAX_RECORD_SIZE`].
    #[error("IPNS record of {0} bytes is over the 10 KiB limit")]
    TooLarge(usize),
    /// Not a well-formed `IpnsEntry` or its `data` is not the expected DAG-CBOR.
    #[error("malformed IPNS record: {0}")]
    Malformed(String),
    /// The V2 signature does not verify with the name's key.
    #[error("IPNS record signature does not verify")]
    BadSignature,
    /// The V1 fields do not match the signed data.
    #[error("IPNS record V1 field {0} does not match the signed data")]
    V1Mismatch(&'static str),
    /// The embedded public key is not the name's.
    #[error("IPNS record's public key does not match the name")]
    WrongKey,
    /// The name's key cannot be found (not inlined in the name, not embedded in the record).
    #[error("no public key for this name in the record or the name")]
    NoPublicKey,
    /// The validity type is not 0 (EOL).
    #[error("unsupported IPNS validity type {0}")]
    UnsupportedValidity(i128),
    /// Past its end of life.
    #[error("IPNS record expired at {0}")]
    Expired(String),
}

impl From<RecordError> for OpError {
    fn from(e: RecordError) -> Self {
        let code = match e {
            RecordError::Expired(_) => ErrorCode::NotFound,
            _ => ErrorCode::Corrupted,
        };
        let mut err = OpError::new(code, e.to_string());
        if let RecordError::Expired(at) = &e {
            err = err.with("expired_at", at.clone());
        }
        err
    }
}

/// The fields of a verified record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The value: a path such as `/ipfs/<cid>` or `/ipns/<name>`.
    pub value: String,
    /// End of life, RFC 3339 with nanoseconds as written in the record.
    pub validity: String,
    /// End of life as a time.
    pub eol: SystemTime,
    /// Sequence number.
    pub sequence: u64,
    /// TTL in nanoseconds.
    pub ttl_ns: u64,
    /// Whether the V1 fields and signature are present.
    pub v1: bool,
}

/// The decoded protobuf `IpnsEntry`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Entry {
    value: Option<Vec<u8>>,
    signature_v1: Option<Vec<u8>>,
    validity_type: Option<u64>,
    validity: Option<Vec<u8>>,
    sequence: Option<u64>,
    ttl: Option<u64>,
    pub_key: Option<Vec<u8>>,
    signature_v2: Option<Vec<u8>>,
    data: Option<Vec<u8>>,
}

/// Create a signed record for `value`. With `v1compat` the V1 fields and `signatureV1` are set too
/// (Kubo's default). The public key is embedded only when the peer ID cannot inline it.
pub fn create_record(
    key: &Keypair,
    value: &str,
    sequence: u64,
    eol: SystemTime,
    ttl: Duration,
    v1compat: bool,
) -> Result<Vec<u8>, OpError> {
    let validity = format_rfc3339(eol);
    let ttl_ns = u64::try_from(ttl.as_nanos()).unwrap_or(u64::MAX);
    let data = cbor_data(value.as_bytes(), validity.as_bytes(), sequence, ttl_ns);
    let sign = |msg: &[u8]| {
        key.sign(msg)
            .map_err(|e| OpError::new(ErrorCode::Internal, format!("cannot sign IPNS record: {e}")))
    };
    let mut msg = SIG_V2_PREFIX.to_vec();
    msg.extend_from_slice(&data);
    let mut entry = Entry {
        signature_v2: Some(sign(&msg)?),
        data: Some(data),
        ..Entry::default()
    };
    if v1compat {
        entry.value = Some(value.as_bytes().to_vec());
        entry.validity_type = Some(0);
        entry.validity = Some(validity.as_bytes().to_vec());
        entry.sequence = Some(sequence);
        entry.ttl = Some(ttl_ns);
        entry.signature_v1 = Some(sign(&v1_signed_bytes(
            value.as_bytes(),
            validity.as_bytes(),
        ))?);
    }
    let pid = key.public().to_peer_id();
    if keystore::public_key_of(&pid).is_none() {
        entry.pub_key = Some(key.public().encode_protobuf());
    }
    let bytes = encode_entry(&entry);
    if bytes.len() > MAX_RECORD_SIZE {
        return Err(OpError::invalid(format!(
            "the record would be {} bytes, over the 10 KiB limit (value too long)",
            bytes.len()
        )));
    }
    Ok(bytes)
}

/// Verify a record for `name` at time `now`: size, V2 signature with the name's key (inlined in
/// the name or embedded and matching it), V1 fields matching the signed data when present, and
/// end of life.
pub fn verify_record(bytes: &[u8], name: &PeerId, now: SystemTime) -> Result<Record, RecordError> {
    if bytes.len() > MAX_RECORD_SIZE {
        return Err(RecordError::TooLarge(bytes.len()));
    }
    let entry = decode_entry(bytes)?;
    let (Some(sig2), Some(data)) = (&entry.signature_v2, &entry.data) else {
        return Err(RecordError::Malformed(
            "no signatureV2 or data (V1-only records are refused)".into(),
        ));
    };
    let pk = match &entry.pub_key {
        Some(pkb) => {
            let pk = PublicKey::try_decode_protobuf(pkb)
                .map_err(|e| RecordError::Malformed(format!("pubKey: {e}")))?;
            if pk.to_peer_id() != *name {
                return Err(RecordError::WrongKey);
            }
            pk
        }
        None => keystore::public_key_of(name).ok_or(RecordError::NoPublicKey)?,
    };
    let mut msg = SIG_V2_PREFIX.to_vec();
    msg.extend_from_slice(data);
    if !pk.verify(&msg, sig2) {
        return Err(RecordError::BadSignature);
    }
    let fields = parse_cbor_data(data)?;
    let v1 = entry.signature_v1.is_some() || entry.value.is_some();
    if v1 {
        if entry.value.as_deref() != Some(&fields.value[..]) {
            return Err(RecordError::V1Mismatch("value"));
        }
        if entry.validity.as_deref() != Some(&fields.validity[..]) {
            return Err(RecordError::V1Mismatch("validity"));
        }
        if i128::from(entry.validity_type.unwrap_or(0)) != fields.validity_type {
            return Err(RecordError::V1Mismatch("validityType"));
        }
        if entry.sequence.unwrap_or(0) != fields.sequence {
            return Err(RecordError::V1Mismatch("sequence"));
        }
        if entry.ttl.unwrap_or(0) != fields.ttl {
            return Err(RecordError::V1Mismatch("ttl"));
        }
    }
    if fields.validity_type != 0 {
        return Err(RecordError::UnsupportedValidity(fields.validity_type));
    }
    let validity = String::from_utf8(fields.validity)
        .map_err(|_| RecordError::Malformed("Validity is not ASCII".into()))?;
    let eol = parse_rfc3339(&validity)
        .ok_or_else(|| RecordError::Malformed(format!("Validity {validity:?} is not RFC 3339")))?;
    if now > eol {
        return Err(RecordError::Expired(validity));
    }
    let value = record_value(fields.value)?;
    Ok(Record {
        value,
        validity,
        eol,
        sequence: fields.sequence,
        ttl_ns: fields.ttl,
        v1,
    })
}

/// The value as a path: old records may hold binary CID bytes instead of `/ipfs/<cid>`, and an
/// empty value means the empty identity CID (as boxo reads them).
fn record_value(raw: Vec<u8>) -> Result<String, RecordError> {
    if raw.is_empty() {
        return Ok("/ipfs/bafkqaaa".to_string());
    }
    if raw.first() != Some(&b'/')
        && let Ok(cid) = cid::Cid::try_from(&raw[..])
    {
        return Ok(format!(
            "/ipfs/{}",
            ipfs_kit_content::format_cid(&cid, ipfs_kit_content::CidBase::Base32)
        ));
    }
    let text = String::from_utf8(raw)
        .map_err(|_| RecordError::Malformed("Value is not a UTF-8 path".into()))?;
    if !text.starts_with('/') {
        return Err(RecordError::Malformed(format!(
            "Value {text:?} is not a content path"
        )));
    }
    Ok(text)
}

/// The sequence number of a record, read without verifying it (to continue a key's sequence).
fn record_sequence(bytes: &[u8]) -> Option<(u64, String)> {
    let entry = decode_entry(bytes).ok()?;
    let fields = parse_cbor_data(entry.data.as_deref()?).ok()?;
    Some((fields.sequence, String::from_utf8(fields.value).ok()?))
}

/// The bytes `signatureV1` signs: value, validity, and the validity type's name (`EOL`).
fn v1_signed_bytes(value: &[u8], validity: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(value.len() + validity.len() + 3);
    v.extend_from_slice(value);
    v.extend_from_slice(validity);
    v.extend_from_slice(b"EOL");
    v
}

/// The DAG-CBOR `data` map, keys in DAG-CBOR order (length first, then bytewise):
/// TTL, Value, Sequence, Validity, ValidityType.
fn cbor_data(value: &[u8], validity: &[u8], sequence: u64, ttl_ns: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + value.len() + validity.len());
    cbor_head(&mut out, 5, 5);
    cbor_text(&mut out, "TTL");
    cbor_head(&mut out, 0, ttl_ns);
    cbor_text(&mut out, "Value");
    cbor_bytes(&mut out, value);
    cbor_text(&mut out, "Sequence");
    cbor_head(&mut out, 0, sequence);
    cbor_text(&mut out, "Validity");
    cbor_bytes(&mut out, validity);
    cbor_text(&mut out, "ValidityType");
    cbor_head(&mut out, 0, 0);
    out
}

fn cbor_head(out: &mut Vec<u8>, major: u8, v: u64) {
    let m = major << 5;
    if v < 24 {
        out.push(m | v as u8);
    } else if v <= 0xff {
        out.extend_from_slice(&[m | 24, v as u8]);
    } else if v <= 0xffff {
        out.push(m | 25);
        out.extend_from_slice(&(v as u16).to_be_bytes());
    } else if v <= 0xffff_ffff {
        out.push(m | 26);
        out.extend_from_slice(&(v as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

fn cbor_text(out: &mut Vec<u8>, s: &str) {
    cbor_head(out, 3, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn cbor_bytes(out: &mut Vec<u8>, b: &[u8]) {
    cbor_head(out, 2, b.len() as u64);
    out.extend_from_slice(b);
}

struct DataFields {
    value: Vec<u8>,
    validity: Vec<u8>,
    validity_type: i128,
    sequence: u64,
    ttl: u64,
}

fn parse_cbor_data(data: &[u8]) -> Result<DataFields, RecordError> {
    let ipld = ipfs_kit_content::dag::decode(ipfs_kit_content::Codec::DagCbor, data)
        .map_err(|e| RecordError::Malformed(format!("data is not DAG-CBOR: {e}")))?;
    let Ipld::Map(m) = ipld else {
        return Err(RecordError::Malformed("data is not a map".into()));
    };
    let bytes = |k: &str| match m.get(k) {
        Some(Ipld::Bytes(b)) => Ok(b.clone()),
        _ => Err(RecordError::Malformed(format!(
            "data has no bytes field {k}"
        ))),
    };
    let int = |k: &str| match m.get(k) {
        Some(Ipld::Integer(i)) => Ok(*i),
        _ => Err(RecordError::Malformed(format!(
            "data has no integer field {k}"
        ))),
    };
    let uint = |k: &str| {
        int(k).and_then(|i| {
            u64::try_from(i)
                .map_err(|_| RecordError::Malformed(format!("{k} is negative or too big")))
        })
    };
    Ok(DataFields {
        value: bytes("Value")?,
        validity: bytes("Validity")?,
        validity_type: int("ValidityType")?,
        sequence: uint("Sequence")?,
        ttl: uint("TTL")?,
    })
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes_field(out: &mut Vec<u8>, field: u64, b: &[u8]) {
    put_varint(out, field << 3 | 2);
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn put_uint_field(out: &mut Vec<u8>, field: u64, v: u64) {
    put_varint(out, field << 3);
    put_varint(out, v);
}

/// Protobuf encoding, fields in number order (as Go's `proto.Marshal` writes them).
fn encode_entry(e: &Entry) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(v) = &e.value {
        put_bytes_field(&mut out, 1, v);
    }
    if let Some(v) = &e.signature_v1 {
        put_bytes_field(&mut out, 2, v);
    }
    if let Some(v) = e.validity_type {
        put_uint_field(&mut out, 3, v);
    }
    if let Some(v) = &e.validity {
        put_bytes_field(&mut out, 4, v);
    }
    if let Some(v) = e.sequence {
        put_uint_field(&mut out, 5, v);
    }
    if let Some(v) = e.ttl {
        put_uint_field(&mut out, 6, v);
    }
    if let Some(v) = &e.pub_key {
        put_bytes_field(&mut out, 7, v);
    }
    if let Some(v) = &e.signature_v2 {
        put_bytes_field(&mut out, 8, v);
    }
    if let Some(v) = &e.data {
        put_bytes_field(&mut out, 9, v);
    }
    out
}

fn get_varint(buf: &[u8], pos: &mut usize) -> Result<u64, RecordError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf
            .get(*pos)
            .ok_or_else(|| RecordError::Malformed("truncated varint".into()))?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(RecordError::Malformed("varint too long".into()))
}

fn decode_entry(buf: &[u8]) -> Result<Entry, RecordError> {
    let mut e = Entry::default();
    let mut pos = 0;
    while pos < buf.len() {
        let tag = get_varint(buf, &mut pos)?;
        let (field, wire) = (tag >> 3, tag & 7);
        match wire {
            0 => {
                let v = get_varint(buf, &mut pos)?;
                match field {
                    3 => e.validity_type = Some(v),
                    5 => e.sequence = Some(v),
                    6 => e.ttl = Some(v),
                    _ => {}
                }
            }
            2 => {
                let len = usize::try_from(get_varint(buf, &mut pos)?)
                    .map_err(|_| RecordError::Malformed("length too big".into()))?;
                let end = pos
                    .checked_add(len)
                    .filter(|&e| e <= buf.len())
                    .ok_or_else(|| RecordError::Malformed("field past the end".into()))?;
                let v = buf[pos..end].to_vec();
                pos = end;
                match field {
                    1 => e.value = Some(v),
                    2 => e.signature_v1 = Some(v),
                    4 => e.validity = Some(v),
                    7 => e.pub_key = Some(v),
                    8 => e.signature_v2 = Some(v),
                    9 => e.data = Some(v),
                    _ => {}
                }
            }
            1 => {
                pos = pos
                    .checked_add(8)
                    .filter(|&p| p <= buf.len())
                    .ok_or_else(|| RecordError::Malformed("truncated fixed64".into()))?
            }
            5 => {
                pos = pos
                    .checked_add(4)
                    .filter(|&p| p <= buf.len())
                    .ok_or_else(|| RecordError::Malformed("truncated fixed32".into()))?
            }
            w => return Err(RecordError::Malformed(format!("unsupported wire type {w}"))),
        }
        if field == 0 {
            return Err(RecordError::Malformed("field number 0".into()));
        }
    }
    Ok(e)
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// UTC time as Go's `time.RFC3339Nano` prints it (trailing zeros of the fraction dropped).
pub fn format_rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (y, mo, da) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    let mut s = format!(
        "{y:04}-{mo:02}-{da:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    let nanos = d.subsec_nanos();
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Parse RFC 3339 (`2026-11-23T15:04:05.123Z`, offsets `±hh:mm` allowed); `None` when malformed
/// or before 1970.
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let t = s.get(r)?;
        if !t.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    };
    let (y, mo, d, h, mi, se) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut nanos = 0u32;
    if let Some(r) = rest.strip_prefix('.') {
        let digits = r.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        let frac: u32 = r[..digits].parse().ok()?;
        nanos = frac * 10u32.pow(9 - digits as u32);
        rest = &r[digits..];
    }
    let offset: i64 = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) && &o[3..4] == ":" => {
            let oh: i64 = o[1..3].parse().ok()?;
            let om: i64 = o[4..6].parse().ok()?;
            let v = oh * 3600 + om * 60;
            if o.starts_with('-') { -v } else { v }
        }
        _ => return None,
    };
    let days = days_from_civil(i64::from(y), mo, d);
    let secs = days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(se) - offset;
    let secs = u64::try_from(secs).ok()?;
    UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
}

/// Parse a Go duration string (`300ms`, `1.5h`, `2h45m`; units ns, us/µs, ms, s, m, h).
/// Negative durations are refused.
pub fn parse_go_duration(s: &str) -> Result<Duration, OpError> {
    let bad = |why: &str| OpError::invalid(format!("invalid duration {s:?}: {why}"));
    let mut rest = s.trim();
    if let Some(r) = rest.strip_prefix('+') {
        rest = r;
    }
    if rest.starts_with('-') {
        return Err(bad("negative"));
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(bad("empty"));
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let n = rest
            .bytes()
            .take_while(|c| c.is_ascii_digit() || *c == b'.')
            .count();
        if n == 0 {
            return Err(bad("expected a number"));
        }
        let value: f64 = rest[..n].parse().map_err(|_| bad("bad number"))?;
        rest = &rest[n..];
        let u = rest
            .bytes()
            .take_while(|c| !c.is_ascii_digit() && *c != b'.')
            .count();
        let unit = &rest[..u];
        rest = &rest[u..];
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => return Err(bad("missing unit")),
            _ => return Err(bad(&format!("unknown unit {unit:?}"))),
        };
        total += value * scale;
    }
    if !total.is_finite() || total > 9.2e9 {
        return Err(bad("out of range"));
    }
    Ok(Duration::from_secs_f64(total))
}

/// Where an embedded repo keeps IPNS records: `<repo>/ipns/<k51… name>`.
#[derive(Debug, Clone)]
pub struct RecordStore {
    dir: PathBuf,
}

impl RecordStore {
    /// The record store of the repo at `repo_dir`.
    pub fn new(repo_dir: &Path) -> RecordStore {
        RecordStore {
            dir: repo_dir.join("ipns"),
        }
    }

    /// The file holding the record of `name`.
    pub fn path(&self, name: &PeerId) -> PathBuf {
        self.dir.join(keystore::ipns_name(name))
    }

    /// The stored record bytes of `name`, if any.
    pub fn get(&self, name: &PeerId) -> Result<Option<Vec<u8>>, OpError> {
        let p = self.path(name);
        match std::fs::metadata(&p) {
            Ok(m) if m.len() > MAX_RECORD_SIZE as u64 => {
                return Err(RecordError::TooLarge(m.len() as usize).into());
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(OpError::from(e).with("path", p.display().to_string())),
        }
        match std::fs::read(&p) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(OpError::from(e).with("path", p.display().to_string())),
        }
    }

    /// Store the record of `name` (atomically, replacing the previous one).
    pub fn put(&self, name: &PeerId, record: &[u8]) -> Result<(), OpError> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| OpError::from(e).with("path", self.dir.display().to_string()))?;
        keystore::write_atomic(&self.dir, &keystore::ipns_name(name), record, true)
    }
}

/// Options of [`publish`], with Kubo's defaults.
#[derive(Debug, Clone)]
pub struct PublishOptions {
    /// How long the record is valid.
    pub lifetime: Duration,
    /// Caching hint; `None` for Kubo's default (5 min, capped to the lifetime).
    pub ttl: Option<Duration>,
    /// An explicit sequence number (must be above the current one).
    pub sequence: Option<u64>,
    /// Also write the V1 fields and signature.
    pub v1compat: bool,
}

impl Default for PublishOptions {
    fn default() -> Self {
        PublishOptions {
            lifetime: DEFAULT_LIFETIME,
            ttl: None,
            sequence: None,
            v1compat: true,
        }
    }
}

/// What [`publish`] wrote.
#[derive(Debug, Clone)]
pub struct Published {
    /// The key's peer ID (the IPNS name).
    pub name: PeerId,
    /// The value published.
    pub value: String,
    /// The record's sequence number.
    pub sequence: u64,
    /// The record bytes.
    pub record: Vec<u8>,
}

/// Sign and store a record pointing `name`'s key at `value`, continuing the key's sequence as
/// Kubo does: the previous sequence, plus one when the value changed; an explicit sequence must be
/// above the previous one.
pub fn publish(
    store: &RecordStore,
    key: &Keypair,
    value: &str,
    opts: &PublishOptions,
) -> Result<Published, OpError> {
    if opts.lifetime.is_zero() {
        return Err(
            OpError::invalid("lifetime must be greater than zero").with("field", "lifetime")
        );
    }
    let ttl = match opts.ttl {
        Some(t) if t > opts.lifetime => {
            return Err(OpError::invalid(format!(
                "ttl ({t:?}) must not be greater than lifetime ({:?})",
                opts.lifetime
            ))
            .with("field", "ttl"));
        }
        Some(t) => t,
        None => DEFAULT_TTL.min(opts.lifetime),
    };
    let name = key.public().to_peer_id();
    let _guard = PUBLISH_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let previous = store.get(&name)?.as_deref().and_then(record_sequence);
    let sequence = match (previous, opts.sequence) {
        (Some((cur, _)), Some(s)) if s <= cur => {
            return Err(OpError::invalid(format!(
                "sequence {s} must be higher than the current sequence {cur}"
            ))
            .with("field", "sequence")
            .with("current", cur));
        }
        (None, Some(0)) => {
            return Err(
                OpError::invalid("an explicit sequence must be above 0").with("field", "sequence")
            );
        }
        (_, Some(s)) => s,
        (Some((cur, prev_value)), None) => {
            if prev_value == value {
                cur
            } else {
                cur.checked_add(1)
                    .ok_or_else(|| OpError::invalid("sequence number exhausted"))?
            }
        }
        (None, None) => 0,
    };
    let eol = SystemTime::now()
        .checked_add(opts.lifetime)
        .ok_or_else(|| OpError::invalid("lifetime out of range").with("field", "lifetime"))?;
    let record = create_record(key, value, sequence, eol, ttl, opts.v1compat)?;
    store.put(&name, &record)?;
    Ok(Published {
        name,
        value: value.to_string(),
        sequence,
        record,
    })
}

/// Resolve `/ipns/<name>[/rest]` from the local record store: verify the record and, when
/// `recursive`, follow `/ipns/` values up to [`MAX_RESOLVE_DEPTH`] hops.
pub fn resolve(store: &RecordStore, name: &str, recursive: bool) -> Result<String, OpError> {
    let mut current = normalize_ipns_path(name)?;
    for _ in 0..MAX_RESOLVE_DEPTH {
        let body = &current["/ipns/".len()..];
        let (first, rest) = match body.split_once('/') {
            Some((f, r)) => (f, Some(r)),
            None => (body, None),
        };
        let (_, record) = local_record(store, first)?;
        let mut next = record.value.trim_end_matches('/').to_string();
        if let Some(r) = rest.filter(|r| !r.is_empty()) {
            next.push('/');
            next.push_str(r);
        }
        if !recursive || !next.starts_with("/ipns/") {
            return Ok(next);
        }
        current = next;
    }
    Err(OpError::invalid(format!(
        "more than {MAX_RESOLVE_DEPTH} /ipns/ hops: giving up (a cycle?)"
    ))
    .with("name", name))
}

/// The signed record of `name` (an IPNS key name, `k51…` or a peer ID) from the local store, as
/// stored, once it verifies; [`ErrorCode::NotFound`] for a name this node did not publish.
pub fn local_record(store: &RecordStore, name: &str) -> Result<(Vec<u8>, Record), OpError> {
    let pid = keystore::parse_peer_id(name).map_err(|_| {
        OpError::new(
            ErrorCode::DaemonUnavailable,
            format!(
                "{name:?} is not an IPNS key name; resolving DNSLink names needs a networked node \
                 (run with --api pointing at Kubo)"
            ),
        )
        .with("name", name)
    })?;
    let bytes = store.get(&pid)?.ok_or_else(|| {
        OpError::new(
            ErrorCode::NotFound,
            format!(
                "no IPNS record for {} on this node: the embedded node resolves only names it \
                 published (use --api with Kubo to resolve others)",
                keystore::ipns_name(&pid)
            ),
        )
        .with("name", keystore::ipns_name(&pid))
    })?;
    let record = verify_record(&bytes, &pid, SystemTime::now())
        .map_err(|e| OpError::from(e).with("name", keystore::ipns_name(&pid)))?;
    Ok((bytes, record))
}

/// `/ipns/<name>[/rest]` for a bare name or an `/ipns/` path.
fn normalize_ipns_path(name: &str) -> Result<String, OpError> {
    let n = name.trim();
    if n.is_empty() {
        return Err(OpError::invalid("empty IPNS name"));
    }
    if let Some(r) = n.strip_prefix("/ipns/") {
        if r.is_empty() {
            return Err(OpError::invalid("empty IPNS name"));
        }
        return Ok(n.trim_end_matches('/').to_string());
    }
    if n.starts_with('/') {
        return Err(OpError::invalid(format!("{n:?} is not an /ipns/ path")).with("name", n));
    }
    Ok(format!("/ipns/{}", n.trim_end_matches('/')))
}

/// The records and keys of an embedded repo: `(keystore, record store)`.
pub fn local(repo_dir: &Path) -> (Keystore, RecordStore) {
    (Keystore::new(repo_dir), RecordStore::new(repo_dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_like_go() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 0);
        assert_eq!(format_rfc3339(t), "2023-11-14T22:13:20Z");
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 120_000_000);
        assert_eq!(format_rfc3339(t), "2023-11-14T22:13:20.12Z");
        assert_eq!(parse_rfc3339("2023-11-14T22:13:20.12Z"), Some(t));
        assert_eq!(parse_rfc3339("2023-11-14T23:13:20.12+01:00"), Some(t));
        assert_eq!(
            format_rfc3339(UNIX_EPOCH + Duration::new(0, 1)),
            "1970-01-01T00:00:00.000000001Z"
        );
        assert!(parse_rfc3339("2023-11-14 22:13:20Z").is_none());
    }

    #[test]
    fn go_durations() {
        assert_eq!(
            parse_go_duration("48h").unwrap(),
            Duration::from_secs(48 * 3600)
        );
        assert_eq!(
            parse_go_duration("1h30m").unwrap(),
            Duration::from_secs(5400)
        );
        assert_eq!(
            parse_go_duration("1.5h").unwrap(),
            Duration::from_secs(5400)
        );
        assert_eq!(
            parse_go_duration("300ms").unwrap(),
            Duration::from_millis(300)
        );
        for bad in ["", "5", "-1h", "7d", "h"] {
            assert!(parse_go_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn binary_cid_values_read_as_paths() {
        let key = Keypair::generate_ed25519();
        let cid =
            ipfs_kit_content::parse_cid("QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR").unwrap();
        let eol = SystemTime::now() + Duration::from_secs(60);
        let validity = format_rfc3339(eol);
        let data = cbor_data(&cid.to_bytes(), validity.as_bytes(), 1, 0);
        let mut msg = SIG_V2_PREFIX.to_vec();
        msg.extend_from_slice(&data);
        let entry = Entry {
            signature_v2: Some(key.sign(&msg).unwrap()),
            data: Some(data),
            ..Entry::default()
        };
        let r = verify_record(
            &encode_entry(&entry),
            &key.public().to_peer_id(),
            SystemTime::now(),
        )
        .unwrap();
        assert_eq!(
            r.value,
            "/ipfs/bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
        );
        assert!(!r.v1);
    }

    #[test]
    fn cbor_data_is_canonical_dag_cbor() {
        let data = cbor_data(b"/ipfs/x", b"2023-11-14T22:13:20Z", 300, 1);
        let back = ipfs_kit_content::dag::decode(ipfs_kit_content::Codec::DagCbor, &data).unwrap();
        let again = ipfs_kit_content::dag::encode(ipfs_kit_content::Codec::DagCbor, &back).unwrap();
        assert_eq!(again, data);
    }
}

//! Parsing a gateway request: content path, response format (`?format=` or `Accept`), CAR
//! parameters and the conditional/range headers.

use axum::extract::Request;
use axum::http::header;
use cid::Cid;
use ipfs_kit_content::export::{DagScope, EntityBytes};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use super::GwError;

/// Characters kept as they are by [`path_escape`]: RFC 3986 unreserved.
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encode everything but unreserved characters.
pub(crate) fn path_escape(s: &str) -> String {
    utf8_percent_encode(s, ESCAPED).to_string()
}

/// `/ipfs/` or `/ipns/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Namespace {
    Ipfs,
    Ipns,
}

/// The codec-shaped responses (`?format=dag-json` …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CodecFormat {
    DagJson,
    DagCbor,
    Json,
    Cbor,
}

impl CodecFormat {
    pub(crate) fn media_type(self) -> &'static str {
        match self {
            CodecFormat::DagJson => "application/vnd.ipld.dag-json",
            CodecFormat::DagCbor => "application/vnd.ipld.dag-cbor",
            CodecFormat::Json => "application/json",
            CodecFormat::Cbor => "application/cbor",
        }
    }

    /// The short name used in `Etag`s and file names.
    pub(crate) fn short(self) -> &'static str {
        match self {
            CodecFormat::DagJson => "dag-json",
            CodecFormat::DagCbor => "dag-cbor",
            CodecFormat::Json => "json",
            CodecFormat::Cbor => "cbor",
        }
    }
}

/// CAR response parameters (URL parameters win over the `Accept` media-type parameters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CarParams {
    /// `dfs` or `unk` (we always write depth-first; `unk` is echoed when asked, as boxo does).
    pub(crate) order: &'static str,
    pub(crate) dups: bool,
    pub(crate) scope: DagScope,
    pub(crate) range: Option<EntityBytes>,
}

/// The response type asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Format {
    /// Deserialized UnixFS (path gateway).
    Default,
    Raw,
    Car(CarParams),
    Tar,
    Codec(CodecFormat),
    IpnsRecord,
}

/// Everything the gateway needs from a request.
#[derive(Debug)]
pub(crate) struct GwRequest {
    pub(crate) method_head: bool,
    pub(crate) namespace: Namespace,
    /// The root CID (for `/ipns/`, set once the name is resolved).
    pub(crate) root: Option<Cid>,
    pub(crate) ipns_name: Option<String>,
    /// Decoded path segments below the root.
    pub(crate) segments: Vec<String>,
    pub(crate) trailing_slash: bool,
    /// The decoded content path (`X-Ipfs-Path`).
    pub(crate) content_path: String,
    /// The request path as sent (for redirects).
    pub(crate) raw_path: String,
    pub(crate) raw_query: Option<String>,
    query: Vec<(String, String)>,
    pub(crate) format: Format,
    pub(crate) if_none_match: Option<String>,
    pub(crate) range: Option<String>,
    pub(crate) only_if_cached: bool,
}

fn decode_component(s: &str, plus_is_space: bool) -> Result<String, GwError> {
    let s = if plus_is_space {
        s.replace('+', " ")
    } else {
        s.to_string()
    };
    percent_decode_str(&s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| GwError::bad_request("the path or query is not valid percent-encoded UTF-8"))
}

fn parse_query(q: &str) -> Result<Vec<(String, String)>, GwError> {
    let mut out = Vec::new();
    for pair in q.split('&').filter(|p| !p.is_empty()).take(64) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.push((decode_component(k, true)?, decode_component(v, true)?));
    }
    Ok(out)
}

/// One `Accept` entry: media type and parameters, lower-cased.
fn accept_entries(accept: &str) -> impl Iterator<Item = (String, Vec<(String, String)>)> + '_ {
    accept.split(',').take(32).map(|entry| {
        let mut parts = entry.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let params = parts
            .filter_map(|p| {
                let (k, v) = p.split_once('=')?;
                Some((
                    k.trim().to_ascii_lowercase(),
                    v.trim().trim_matches('"').to_string(),
                ))
            })
            .collect();
        (media, params)
    })
}

/// The format an `Accept` media type names (`None` for anything else, e.g. `text/html`).
fn format_of_media(media: &str) -> Option<&'static str> {
    Some(match media {
        "application/vnd.ipld.raw" => "raw",
        "application/vnd.ipld.car" => "car",
        "application/x-tar" => "tar",
        "application/vnd.ipld.dag-json" => "dag-json",
        "application/vnd.ipld.dag-cbor" => "dag-cbor",
        "application/json" => "json",
        "application/cbor" => "cbor",
        "application/vnd.ipfs.ipns-record" => "ipns-record",
        _ => return None,
    })
}

impl GwRequest {
    /// Parse method, path, query and headers; malformed input is a 400 (404 for paths outside
    /// `/ipfs/` and `/ipns/`).
    pub(crate) fn parse(req: &Request) -> Result<GwRequest, GwError> {
        let raw_path = req.uri().path().to_string();
        let (namespace, rest) = if let Some(r) = raw_path.strip_prefix("/ipfs/") {
            (Namespace::Ipfs, r)
        } else if let Some(r) = raw_path.strip_prefix("/ipns/") {
            (Namespace::Ipns, r)
        } else {
            return Err(GwError::new(
                axum::http::StatusCode::NOT_FOUND,
                "not a content path: ask for /ipfs/{cid}[/path] or /ipns/{name}[/path]",
            ));
        };
        let mut parts = rest.split('/');
        let first = decode_component(parts.next().unwrap_or(""), false)?;
        if first.is_empty() {
            return Err(GwError::bad_request("no CID or name after the namespace"));
        }
        let mut segments = Vec::new();
        let mut trailing_slash = false;
        let tail: Vec<&str> = parts.collect();
        let n = tail.len();
        for (i, raw) in tail.into_iter().enumerate() {
            if raw.is_empty() {
                trailing_slash = i + 1 == n;
                continue;
            }
            let seg = decode_component(raw, false)?;
            if seg.contains('/') || seg.contains('\\') {
                return Err(GwError::bad_request(format!(
                    "path segment {seg:?} contains an encoded slash"
                )));
            }
            if seg == "." || seg == ".." {
                return Err(GwError::bad_request(
                    "`.` and `..` segments are not allowed in a content path",
                ));
            }
            if seg.contains('\0') {
                return Err(GwError::bad_request("a path segment contains a NUL byte"));
            }
            segments.push(seg);
        }
        let (root, ipns_name) =
            match namespace {
                Namespace::Ipfs => (
                    Some(ipfs_kit_content::parse_cid(&first).map_err(|e| {
                        GwError::bad_request(format!("invalid CID in the path: {e}"))
                    })?),
                    None,
                ),
                Namespace::Ipns => (None, Some(first.clone())),
            };
        let ns = match namespace {
            Namespace::Ipfs => "ipfs",
            Namespace::Ipns => "ipns",
        };
        let mut content_path = format!("/{ns}/{first}");
        for s in &segments {
            content_path.push('/');
            content_path.push_str(s);
        }
        if trailing_slash {
            content_path.push('/');
        }
        let raw_query = req.uri().query().map(str::to_string);
        let query = parse_query(raw_query.as_deref().unwrap_or(""))?;
        let headers = req.headers();
        let header_text = |name: header::HeaderName| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let only_if_cached = headers
            .get_all(header::CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| {
                v.split(',')
                    .any(|d| d.trim().eq_ignore_ascii_case("only-if-cached"))
            });
        let mut greq = GwRequest {
            method_head: req.method() == axum::http::Method::HEAD,
            namespace,
            root,
            ipns_name,
            segments,
            trailing_slash,
            content_path,
            raw_path,
            raw_query,
            query,
            format: Format::Default,
            if_none_match: header_text(header::IF_NONE_MATCH),
            range: header_text(header::RANGE),
            only_if_cached,
        };
        greq.format = greq.pick_format(header_text(header::ACCEPT).as_deref())?;
        Ok(greq)
    }

    /// The first value of query parameter `key`.
    pub(crate) fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn pick_format(&self, accept: Option<&str>) -> Result<Format, GwError> {
        let mut accept_params: Vec<(String, String)> = Vec::new();
        let name = match self.query("format") {
            Some(f) => match f {
                "raw" | "car" | "tar" | "dag-json" | "dag-cbor" | "json" | "cbor"
                | "ipns-record" => f.to_string(),
                other => {
                    return Err(GwError::bad_request(format!(
                        "unknown format {other:?}: expected raw, car, tar, dag-json, dag-cbor, json, cbor or ipns-record"
                    )));
                }
            },
            None => {
                let found = accept.and_then(|a| {
                    accept_entries(a).find_map(|(m, p)| format_of_media(&m).map(|f| (f, p)))
                });
                match found {
                    Some((f, p)) => {
                        accept_params = p;
                        f.to_string()
                    }
                    None => return Ok(Format::Default),
                }
            }
        };
        Ok(match name.as_str() {
            "raw" => Format::Raw,
            "car" => Format::Car(self.car_params(&accept_params)?),
            "tar" => Format::Tar,
            "dag-json" => Format::Codec(CodecFormat::DagJson),
            "dag-cbor" => Format::Codec(CodecFormat::DagCbor),
            "json" => Format::Codec(CodecFormat::Json),
            "cbor" => Format::Codec(CodecFormat::Cbor),
            _ => Format::IpnsRecord,
        })
    }

    fn car_params(&self, accept: &[(String, String)]) -> Result<CarParams, GwError> {
        let from_accept = |k: &str| accept.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let pick = |url: &str, media: &str| {
            self.query(url)
                .filter(|v| !v.is_empty())
                .or_else(|| from_accept(media))
                .unwrap_or("")
                .to_string()
        };
        match pick("car-version", "version").as_str() {
            "" | "1" => {}
            v => {
                return Err(GwError::bad_request(format!(
                    "unsupported CAR version {v:?}: only version=1 is supported"
                )));
            }
        }
        let order = match pick("car-order", "order").as_str() {
            "" | "dfs" => "dfs",
            "unk" => "unk",
            o => {
                return Err(GwError::bad_request(format!(
                    "unsupported CAR order {o:?}: expected dfs or unk"
                )));
            }
        };
        let dups = match pick("car-dups", "dups").as_str() {
            "" | "n" => false,
            "y" => true,
            d => {
                return Err(GwError::bad_request(format!(
                    "unsupported CAR dups {d:?}: expected y or n"
                )));
            }
        };
        let scope = match self.query("dag-scope") {
            None => DagScope::All,
            Some(s) => s
                .parse()
                .map_err(|e: ipfs_kit_content::Error| GwError::bad_request(e.to_string()))?,
        };
        let range = match self.query("entity-bytes") {
            None => None,
            Some(r) => Some(
                r.parse()
                    .map_err(|e: ipfs_kit_content::Error| GwError::bad_request(e.to_string()))?,
            ),
        };
        Ok(CarParams {
            order,
            dups,
            scope,
            range,
        })
    }

    /// The file name for `Content-Disposition` and type guessing: `?filename=`, else the last
    /// path segment (none for a bare root).
    pub(crate) fn file_name(&self) -> Option<String> {
        self.query("filename")
            .filter(|f| !f.is_empty())
            .map(str::to_string)
            .or_else(|| self.segments.last().cloned())
    }
}

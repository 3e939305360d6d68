//! s3cmd's `~/.s3cfg`: INI sections of `key = value` strings; the document is `{section: {key: value}}`.

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::error::{Error, Problem, ProblemCode, Result};

/// Secret values.
pub const SECRETS: &[&str] = &["*.secret_key", "*.access_token", "*.gpg_passphrase"];

// s3cmd options whose values are Python booleans
const BOOL_KEYS: &[&str] = &[
    "use_https",
    "signature_v2",
    "check_ssl_certificate",
    "check_ssl_hostname",
    "encrypt",
    "guess_mime_type",
    "human_readable_sizes",
    "preserve_attrs",
    "progress_meter",
    "recursive",
    "skip_existing",
    "requester_pays",
];

/// An s3cmd config for AWS S3 with empty credentials.
pub fn defaults() -> Result<Value> {
    Ok(json!({ "default": {
        "access_key": "",
        "secret_key": "",
        "access_token": "",
        "host_base": "s3.amazonaws.com",
        "host_bucket": "%(bucket)s.s3.amazonaws.com",
        "bucket_location": "US",
        "use_https": "True",
        "check_ssl_certificate": "True",
        "signature_v2": "False"
    }}))
}

/// `[section]` then `key = value` lines, in document order.
pub fn render(doc: &Value) -> Result<Vec<u8>> {
    let problems = validate(doc);
    if !problems.is_empty() {
        return Err(Error::Invalid {
            kind: "s3",
            problems,
        });
    }
    let mut out = String::new();
    for (section, keys) in doc.as_object().into_iter().flatten() {
        out.push_str(&format!("[{section}]\n"));
        for (k, v) in keys.as_object().into_iter().flatten() {
            out.push_str(&format!("{k} = {}\n", v.as_str().unwrap_or_default()));
        }
        out.push('\n');
    }
    Ok(out.into_bytes())
}

/// Reads INI; `#`/`;` lines are comments, keys before any section are an error.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Value> {
    let err = |n: usize, m: &str| Error::Parse {
        path: path.to_path_buf(),
        message: format!("line {n}: {m}"),
    };
    let text = std::str::from_utf8(bytes).map_err(|_| err(0, "not UTF-8"))?;
    let mut doc = Map::new();
    let mut current: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
            continue;
        }
        if let Some(name) = l.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            doc.entry(name.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            current = Some(name.to_string());
            continue;
        }
        let (k, v) = l
            .split_once('=')
            .ok_or_else(|| err(i + 1, "expected key = value"))?;
        let section = current
            .as_ref()
            .ok_or_else(|| err(i + 1, "key outside a [section]"))?;
        if let Some(Value::Object(m)) = doc.get_mut(section) {
            m.insert(k.trim().to_string(), Value::String(v.trim().to_string()));
        }
    }
    Ok(Value::Object(doc))
}

/// Sections of string values; booleans are `True`/`False`; host_base is a host[:port] without scheme.
pub fn validate(doc: &Value) -> Vec<Problem> {
    let mut p = Vec::new();
    let Some(sections) = doc.as_object() else {
        return vec![Problem::new(
            "",
            ProblemCode::WrongType,
            "expected {section: {key: value}}",
        )];
    };
    for (section, keys) in sections {
        if section.is_empty() || section.contains([']', '[', '\n']) {
            p.push(Problem::new(
                section.clone(),
                ProblemCode::BadValue,
                "bad section name",
            ));
        }
        let Some(keys) = keys.as_object() else {
            p.push(Problem::new(
                section.clone(),
                ProblemCode::WrongType,
                "a section is an object of strings",
            ));
            continue;
        };
        for (k, v) in keys {
            let path = format!("{section}.{k}");
            let Some(s) = v.as_str() else {
                p.push(Problem::new(
                    path,
                    ProblemCode::WrongType,
                    "s3cfg values are strings",
                ));
                continue;
            };
            if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                p.push(Problem::new(
                    path.clone(),
                    ProblemCode::UnknownKey,
                    format!("{k:?} is not an s3cmd option name"),
                ));
            }
            if s.contains(['\n', '\r']) {
                p.push(Problem::new(
                    path.clone(),
                    ProblemCode::BadValue,
                    "values are single-line",
                ));
            }
            if BOOL_KEYS.contains(&k.as_str()) && !matches!(s, "True" | "False") {
                p.push(Problem::new(
                    path.clone(),
                    ProblemCode::WrongType,
                    format!("{s:?} is not True or False"),
                ));
            }
            if k == "host_base"
                && (s.is_empty()
                    || s.contains("://")
                    || url::Url::parse(&format!("https://{s}")).is_err())
            {
                p.push(Problem::new(
                    path.clone(),
                    ProblemCode::BadUrl,
                    format!("{s:?} is not host[:port]"),
                ));
            }
        }
    }
    p
}

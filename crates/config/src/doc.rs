//! Operations on config documents (JSON values): deep merge, dotted paths, diff, redaction, type checks.

use serde_json::{Map, Value};

use crate::error::{Error, Problem, ProblemCode, Result};

/// The text that stands in for a secret in redacted output.
pub const REDACTED: &str = "<redacted>";

/// Splits a dotted path; `\.` escapes a dot inside a key (`DNS.Resolvers.eth\.`).
pub fn split_path(path: &str) -> Result<Vec<String>> {
    let mut out = vec![String::new()];
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => out.last_mut().map(|s| s.push(n)).unwrap_or(()),
                None => {
                    return Err(Error::BadPath {
                        path: path.into(),
                        message: "trailing '\\'".into(),
                    });
                }
            },
            '.' => out.push(String::new()),
            c => out.last_mut().map(|s| s.push(c)).unwrap_or(()),
        }
    }
    if path.is_empty() || out.iter().any(String::is_empty) {
        return Err(Error::BadPath {
            path: path.into(),
            message: "empty segment".into(),
        });
    }
    Ok(out)
}

/// Reads the value at a dotted path.
pub fn get_path<'a>(doc: &'a Value, path: &str) -> Result<&'a Value> {
    let mut cur = doc;
    for seg in split_path(path)? {
        cur = match cur {
            Value::Object(m) => m.get(&seg),
            Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        }
        .ok_or_else(|| Error::BadPath {
            path: path.into(),
            message: format!("no key {seg:?}"),
        })?;
    }
    Ok(cur)
}

/// Sets the value at a dotted path, creating intermediate objects; array elements by index.
pub fn set_path(doc: &mut Value, path: &str, value: Value) -> Result<()> {
    let segs = split_path(path)?;
    let mut cur = doc;
    for (i, seg) in segs.iter().enumerate() {
        let last = i + 1 == segs.len();
        cur = match cur {
            Value::Object(m) => {
                if last {
                    m.insert(seg.clone(), value);
                    return Ok(());
                }
                m.entry(seg.clone())
                    .or_insert_with(|| Value::Object(Map::new()))
            }
            Value::Array(a) => {
                let idx = seg
                    .parse::<usize>()
                    .ok()
                    .filter(|i| *i < a.len())
                    .ok_or_else(|| Error::BadPath {
                        path: path.into(),
                        message: format!("{seg:?} is not an index of a {}-element list", a.len()),
                    })?;
                if last {
                    a[idx] = value;
                    return Ok(());
                }
                &mut a[idx]
            }
            _ => {
                return Err(Error::BadPath {
                    path: path.into(),
                    message: format!("{seg:?} is inside a non-object"),
                });
            }
        };
    }
    Ok(())
}

/// Deep-merges `patch` into `doc`: objects merge key by key, anything else (lists, scalars, null) replaces.
/// A string equal to [`REDACTED`] keeps the current value, so a redacted `get` can be edited and sent back.
pub fn deep_merge(doc: &mut Value, patch: &Value) {
    // recursion depth is bounded by the patch, which serde_json parses with a 128-level limit
    merge_iter(doc, patch);
}

fn merge_iter(doc: &mut Value, patch: &Value) {
    match (doc, patch) {
        (Value::Object(d), Value::Object(p)) => {
            for (k, v) in p {
                if v.as_str() == Some(REDACTED) && d.contains_key(k) {
                    continue;
                }
                match d.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => {
                        merge_iter(existing, v)
                    }
                    _ => {
                        d.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (d, p) => {
            if p.as_str() != Some(REDACTED) {
                *d = p.clone();
            }
        }
    }
}

/// Whether `path` (dotted) matches a pattern where `*` matches one segment.
pub fn path_matches(pattern: &str, path: &[String]) -> bool {
    let pat: Vec<&str> = pattern.split('.').collect();
    pat.len() == path.len() && pat.iter().zip(path).all(|(p, s)| *p == "*" || p == s)
}

/// Replaces every value at a secret path (non-empty strings only) with [`REDACTED`].
pub fn redact(doc: &mut Value, secret_paths: &[&str]) {
    fn walk(v: &mut Value, path: &mut Vec<String>, secrets: &[&str]) {
        match v {
            Value::Object(m) => {
                for (k, child) in m.iter_mut() {
                    path.push(k.clone());
                    walk(child, path, secrets);
                    path.pop();
                }
            }
            Value::String(s) if !s.is_empty() && secrets.iter().any(|p| path_matches(p, path)) => {
                *s = REDACTED.to_string();
            }
            _ => {}
        }
    }
    walk(doc, &mut Vec::new(), secret_paths);
}

/// One difference between two documents.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DiffEntry {
    /// Dotted path.
    pub path: String,
    /// `added`, `removed` or `changed`.
    pub change: Change,
    /// Value before (absent when added).
    pub old: Option<Value>,
    /// Value after (absent when removed).
    pub new: Option<Value>,
}

/// The kind of a difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Only in the new document.
    Added,
    /// Only in the old document.
    Removed,
    /// In both, with different values.
    Changed,
}

/// Structured diff of `old` → `new`; objects compared key by key, lists and scalars as wholes.
pub fn diff(old: &Value, new: &Value) -> Vec<DiffEntry> {
    let mut out = Vec::new();
    let mut stack: Vec<(String, &Value, &Value)> = vec![(String::new(), old, new)];
    while let Some((path, a, b)) = stack.pop() {
        match (a, b) {
            (Value::Object(ma), Value::Object(mb)) => {
                for (k, va) in ma {
                    let p = join_path(&path, k);
                    match mb.get(k) {
                        Some(vb) => stack.push((p, va, vb)),
                        None => out.push(DiffEntry {
                            path: p,
                            change: Change::Removed,
                            old: Some(va.clone()),
                            new: None,
                        }),
                    }
                }
                for (k, vb) in mb {
                    if !ma.contains_key(k) {
                        out.push(DiffEntry {
                            path: join_path(&path, k),
                            change: Change::Added,
                            old: None,
                            new: Some(vb.clone()),
                        });
                    }
                }
            }
            (a, b) if a != b => out.push(DiffEntry {
                path,
                change: Change::Changed,
                old: Some(a.clone()),
                new: Some(b.clone()),
            }),
            _ => {}
        }
    }
    out.sort_by(|x, y| x.path.cmp(&y.path));
    out
}

fn join_path(base: &str, key: &str) -> String {
    let key = key.replace('.', "\\.");
    if base.is_empty() {
        key
    } else {
        format!("{base}.{key}")
    }
}

/// Redacts the values of diff entries whose path is secret, and the secrets inside added/removed objects.
pub fn redact_diff(entries: &mut [DiffEntry], secret_paths: &[&str]) {
    for e in entries {
        let segs = split_path(&e.path).unwrap_or_default();
        let matches_prefix = |ps: &[&str]| ps.iter().zip(&segs).all(|(p, s)| *p == "*" || p == s);
        let exact = secret_paths.iter().any(|p| {
            let ps: Vec<&str> = p.split('.').collect();
            ps.len() == segs.len() && matches_prefix(&ps)
        });
        // patterns reaching below this entry, relative to it
        let below: Vec<String> = secret_paths
            .iter()
            .filter_map(|p| {
                let ps: Vec<&str> = p.split('.').collect();
                (ps.len() > segs.len() && matches_prefix(&ps[..segs.len()]))
                    .then(|| ps[segs.len()..].join("."))
            })
            .collect();
        let below: Vec<&str> = below.iter().map(String::as_str).collect();
        for v in [&mut e.old, &mut e.new].into_iter().flatten() {
            if exact && !v.is_object() {
                *v = Value::String(REDACTED.into());
            } else if !below.is_empty() {
                redact(v, &below);
            }
        }
    }
}

/// JSON type name for messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

/// Compares the value types of `doc` with a reference skeleton (the kind's defaults): every key present in both
/// must have the skeleton's type (`null` in the skeleton means "optional, any type"; integers are accepted where
/// the skeleton has a float; `multi` paths accept a string or a list of strings). Unknown keys are reported only
/// at the top level, and only when `closed_depth0`.
pub fn typecheck(
    doc: &Value,
    skeleton: &Value,
    multi: &[&str],
    closed_depth0: bool,
    problems: &mut Vec<Problem>,
) {
    let mut stack: Vec<(Vec<String>, &Value, &Value)> = vec![(Vec::new(), doc, skeleton)];
    while let Some((path, d, s)) = stack.pop() {
        let dotted = path.join(".");
        let is_multi = multi.iter().any(|m| path_matches(m, &path));
        match (d, s) {
            (_, Value::Null) => {}
            (Value::Object(md), Value::Object(ms)) => {
                for (k, vd) in md {
                    let mut p = path.clone();
                    p.push(k.clone());
                    match ms.get(k) {
                        Some(vs) => stack.push((p, vd, vs)),
                        None if path.is_empty() && closed_depth0 => problems.push(Problem::new(
                            p.join("."),
                            ProblemCode::UnknownKey,
                            format!("unknown key {k:?}"),
                        )),
                        None => {}
                    }
                }
            }
            (Value::Array(ad), Value::Array(as_)) => {
                if let Some(first) = as_.first() {
                    for (i, item) in ad.iter().enumerate() {
                        let mut p = path.clone();
                        p.push(i.to_string());
                        stack.push((p, item, first));
                    }
                }
            }
            (Value::Array(ad), Value::String(_))
                if is_multi && !ad.iter().all(Value::is_string) =>
            {
                problems.push(Problem::new(
                    dotted,
                    ProblemCode::WrongType,
                    "expected a string or a list of strings",
                ));
            }
            (Value::Array(_), Value::String(_)) if is_multi => {}
            (Value::String(_), Value::Array(_)) if is_multi => {}
            (Value::Number(nd), Value::Number(ns))
                if !(ns.is_f64() || nd.is_i64() || nd.is_u64()) =>
            {
                problems.push(Problem::new(
                    dotted,
                    ProblemCode::WrongType,
                    "expected an integer",
                ));
            }
            (Value::Number(_), Value::Number(_)) => {}
            (d, s) if std::mem::discriminant(d) != std::mem::discriminant(s) => {
                problems.push(Problem::new(
                    dotted,
                    ProblemCode::WrongType,
                    format!("expected {}, found {}", type_name(s), type_name(d)),
                ))
            }
            _ => {}
        }
    }
}

/// The set of dotted key paths of a document (objects only; lists are leaves), for key-set comparisons.
pub fn key_paths(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack: Vec<(String, &Value)> = vec![(String::new(), doc)];
    while let Some((p, v)) = stack.pop() {
        if let Value::Object(m) = v {
            for (k, c) in m {
                let cp = join_path(&p, k);
                out.push(cp.clone());
                stack.push((cp, c));
            }
        }
    }
    out.sort();
    out
}

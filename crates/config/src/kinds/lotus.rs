//! Lotus: `~/.lotus/config.toml` (`$LOTUS_PATH`), edited with `toml_edit` so comments and layout survive.

use serde_json::{Map, Value};
use toml_edit::{DocumentMut, Item, Table};

use crate::doc;
use crate::error::{Error, Problem, ProblemCode, Result};
use crate::kinds::{check_maddr, check_maddrs, is_go_duration};

/// Secret values.
pub const SECRETS: &[&str] = &[
    "Pubsub.TracerSourceAuth",
    "Pubsub.ElasticSearchTracer",
    "Wallet.RemoteBackend",
];

// `lotus config default` output (filecoin-project/lotus documentation/en/default-lotus-config.toml), kept with its
// comments; every `#Key = value` default line is made live on creation so the file states every key.
const TEMPLATE: &str = include_str!("../../assets/lotus-default-config.toml");

/// Uncomments `  #Key = value` lines (identifier keys only; `#example-subsystem` stays an example).
pub fn template_text() -> String {
    let mut out = String::with_capacity(TEMPLATE.len());
    for line in TEMPLATE.lines() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let live = trimmed.strip_prefix('#').filter(|rest| {
            let key_len = rest
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            key_len > 0
                && rest.as_bytes()[0].is_ascii_uppercase()
                && rest[key_len..].starts_with(" = ")
        });
        match live {
            Some(rest) => {
                out.push_str(indent);
                out.push_str(rest);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// The default document (all keys live).
pub fn defaults() -> Result<Value> {
    crate::kinds::parse_toml(
        std::path::Path::new("lotus-default-config.toml"),
        template_text().as_bytes(),
    )
}

fn to_toml(path: &str, v: &Value) -> Result<toml_edit::Value> {
    let bad = |m: &str| Error::Invalid {
        kind: "lotus",
        problems: vec![Problem::new(path, ProblemCode::WrongType, m.to_string())],
    };
    Ok(match v {
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.into(),
            (None, Some(f)) if n.is_f64() => f.into(),
            _ => return Err(bad("integer out of TOML range")),
        },
        Value::String(s) => s.as_str().into(),
        Value::Array(a) => {
            let mut arr = toml_edit::Array::new();
            for (i, x) in a.iter().enumerate() {
                arr.push(to_toml(&format!("{path}.{i}"), x)?);
            }
            toml_edit::Value::Array(arr)
        }
        Value::Object(m) => {
            let mut t = toml_edit::InlineTable::new();
            for (k, x) in m {
                t.insert(k, to_toml(&format!("{path}.{k}"), x)?);
            }
            toml_edit::Value::InlineTable(t)
        }
        Value::Null => return Err(bad("TOML has no null")),
    })
}

fn sync_table(t: &mut Table, obj: &Map<String, Value>, path: &str) -> Result<()> {
    let stale: Vec<String> = t
        .iter()
        .map(|(k, _)| k.to_string())
        .filter(|k| !obj.contains_key(k))
        .collect();
    for k in stale {
        t.remove(&k);
    }
    for (k, v) in obj {
        let kp = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        match v {
            Value::Object(m) if !matches!(t.get(k), Some(Item::Value(_))) => {
                if !matches!(t.get(k), Some(Item::Table(_))) {
                    t.insert(k, Item::Table(Table::new()));
                }
                if let Some(Item::Table(sub)) = t.get_mut(k) {
                    sync_table(sub, m, &kp)?;
                }
            }
            _ => {
                let new = to_toml(&kp, v)?;
                match t.get_mut(k) {
                    Some(Item::Value(old)) => {
                        if old.to_string().trim() != new.to_string().trim()
                            || std::mem::discriminant(old) != std::mem::discriminant(&new)
                        {
                            let decor = old.decor().clone();
                            *old = new;
                            *old.decor_mut() = decor;
                        }
                    }
                    _ => {
                        t.insert(k, Item::Value(new));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Applies `doc` onto the previous file (or the default template), changing only what differs.
pub fn render(doc: &Value, previous: Option<&[u8]>) -> Result<Vec<u8>> {
    let base = match previous {
        Some(b) => String::from_utf8_lossy(b).into_owned(),
        None => template_text(),
    };
    let mut d: DocumentMut = base
        .parse()
        .map_err(|e: toml_edit::TomlError| Error::Parse {
            path: "config.toml".into(),
            message: e.to_string(),
        })?;
    let obj = doc.as_object().ok_or_else(|| Error::Invalid {
        kind: "lotus",
        problems: vec![Problem::new(
            "",
            ProblemCode::WrongType,
            "a Lotus config is a table",
        )],
    })?;
    sync_table(d.as_table_mut(), obj, "")?;
    Ok(d.to_string().into_bytes())
}

/// Keys and types as the default config; addresses and durations.
pub fn validate(v: &Value) -> Vec<Problem> {
    let mut p = Vec::new();
    let Ok(skeleton) = defaults() else {
        return vec![Problem::new(
            "",
            ProblemCode::BadValue,
            "built-in Lotus template does not parse",
        )];
    };
    doc::typecheck(v, &skeleton, &[], true, &mut p);
    let known = doc::key_paths(&skeleton);
    for k in doc::key_paths(v) {
        let open = k.starts_with("Logging.SubsystemLevels.");
        let parent_reported = p
            .iter()
            .any(|q| q.code == ProblemCode::UnknownKey && k.starts_with(&format!("{}.", q.path)));
        if !open && !parent_reported && known.binary_search(&k).is_err() {
            p.push(Problem::new(
                k.clone(),
                ProblemCode::UnknownKey,
                format!("unknown key {k:?}"),
            ));
        }
    }
    if let Some(a) = v.pointer("/API/ListenAddress") {
        check_maddr("API.ListenAddress", a, false, &mut p);
    }
    for key in [
        "ListenAddresses",
        "AnnounceAddresses",
        "NoAnnounceAddresses",
    ] {
        if let Some(a) = v.pointer(&format!("/Libp2p/{key}")) {
            check_maddrs(&format!("Libp2p.{key}"), a, false, false, &mut p);
        }
    }
    for (key, ptr) in [
        ("API.Timeout", "/API/Timeout"),
        ("Libp2p.ConnMgrGrace", "/Libp2p/ConnMgrGrace"),
        ("Events.FilterTTL", "/Events/FilterTTL"),
    ] {
        if let Some(s) = v.pointer(ptr).and_then(Value::as_str)
            && !is_go_duration(s)
        {
            p.push(Problem::new(
                key,
                ProblemCode::BadValue,
                format!("{s:?} is not a duration"),
            ));
        }
    }
    p
}

/// API and libp2p listeners.
pub fn listen_addresses(v: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(a) = v.pointer("/API/ListenAddress").and_then(Value::as_str) {
        out.push(("API.ListenAddress".to_string(), a.to_string()));
    }
    if let Some(l) = v
        .pointer("/Libp2p/ListenAddresses")
        .and_then(Value::as_array)
    {
        for (i, a) in l.iter().enumerate() {
            if let Some(a) = a.as_str() {
                out.push((format!("Libp2p.ListenAddresses.{i}"), a.to_string()));
            }
        }
    }
    out
}

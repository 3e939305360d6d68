//! Resources: `ipfs://{cid}{/path}` (file bytes or a directory listing) and the kit's config files.

use std::path::{Component, Path, PathBuf};

use base64::Engine;
use ipfs_kit_ops::{ErrorCode, Kit, OpContext, OpError};
use rmcp::ErrorData;
use rmcp::model::{
    ListResourceTemplatesResult, ListResourcesResult, ReadResourceResult, Resource,
    ResourceContents, ResourceTemplate,
};
use serde_json::{Value, json};

use crate::{CallError, McpServer};

/// Where the kit keeps configuration, relative to its home; listed as `ipfs-kit://config/…`.
const CONFIG_DIRS: &[&str] = &["config", "services"];
/// Most config files listed.
const MAX_CONFIG_FILES: usize = 200;
/// Largest config file read.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;
/// Most directory entries in one listing resource.
const MAX_LISTING: u64 = 1000;
/// Key fragments whose values are secrets.
const SECRET_KEYS: &[&str] = &[
    "secret",
    "token",
    "password",
    "passwd",
    "privkey",
    "private_key",
    "privatekey",
    "api_key",
    "apikey",
    "credential",
];

const CONFIG_SCHEME: &str = "ipfs-kit://config/";

/// The resource templates.
pub(crate) fn templates() -> ListResourceTemplatesResult {
    ListResourceTemplatesResult::with_all_items(vec![
        ResourceTemplate::new("ipfs://{cid}{/path}", "ipfs")
            .with_title("IPFS content")
            .with_description(
                "A UnixFS file (its bytes, up to 512 KiB: text or blob by content) or a directory \
                 (a JSON listing of up to 1000 entries) on the embedded node.",
            ),
    ])
}

/// The kit's config files.
pub(crate) async fn list(kit: &Kit) -> Result<ListResourcesResult, ErrorData> {
    let home = kit.home().to_path_buf();
    let files = tokio::task::spawn_blocking(move || config_files(&home))
        .await
        .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
    let resources = files
        .into_iter()
        .map(|(rel, size)| {
            Resource::new(format!("{CONFIG_SCHEME}{rel}"), rel.clone())
                .with_title(format!("ipfs-kit config: {rel}"))
                .with_mime_type(mime_for(&rel))
                .with_size(size)
        })
        .collect();
    Ok(ListResourcesResult::with_all_items(resources))
}

/// Config files under the home's config directories, as (relative path, size), sorted, bounded.
fn config_files(home: &Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for dir in CONFIG_DIRS {
        let mut stack = vec![home.join(dir)];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in entries.flatten() {
                if out.len() >= MAX_CONFIG_FILES {
                    break;
                }
                let Ok(ft) = e.file_type() else { continue };
                let path = e.path();
                if ft.is_dir() && stack.len() < 64 {
                    stack.push(path);
                } else if ft.is_file()
                    && let Ok(rel) = path.strip_prefix(home)
                    && let Some(rel) = rel.to_str()
                {
                    let size = e.metadata().map(|m| m.len()).unwrap_or(0);
                    out.push((rel.replace('\\', "/"), size));
                }
            }
        }
    }
    out.sort();
    out
}

fn mime_for(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("json") => "application/json",
        Some("toml") => "application/toml",
        Some("yaml" | "yml") => "application/yaml",
        _ => "text/plain",
    }
}

/// Read a resource.
pub(crate) async fn read(server: &McpServer, uri: &str) -> Result<ReadResourceResult, ErrorData> {
    if let Some(rest) = uri.strip_prefix("ipfs://") {
        read_ipfs(server, uri, rest).await
    } else if let Some(rel) = uri.strip_prefix(CONFIG_SCHEME) {
        read_config(server.kit(), uri, rel).await
    } else {
        Err(ErrorData::resource_not_found(
            format!("no such resource {uri:?}"),
            Some(json!({"uri": uri})),
        ))
    }
}

async fn read_config(kit: &Kit, uri: &str, rel: &str) -> Result<ReadResourceResult, ErrorData> {
    let not_found = || {
        ErrorData::resource_not_found(
            format!("no such resource {uri:?}"),
            Some(json!({"uri": uri})),
        )
    };
    let rel_path = PathBuf::from(rel);
    let inside = rel_path
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
        && rel_path
            .components()
            .next()
            .is_some_and(|c| CONFIG_DIRS.iter().any(|d| c.as_os_str() == *d));
    if !inside {
        return Err(not_found());
    }
    let path = kit.home().join(&rel_path);
    let bytes = tokio::task::spawn_blocking(move || -> std::io::Result<Option<Vec<u8>>> {
        let meta = std::fs::symlink_metadata(&path)?;
        if !meta.is_file() || meta.len() > MAX_CONFIG_BYTES {
            return Ok(None);
        }
        std::fs::read(&path).map(Some)
    })
    .await
    .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
    let bytes = match bytes {
        Ok(Some(b)) => b,
        _ => return Err(not_found()),
    };
    let text = String::from_utf8_lossy(&bytes);
    let text = redact_secrets(rel, &text);
    Ok(ReadResourceResult::new(vec![
        ResourceContents::text(text, uri).with_mime_type(mime_for(rel)),
    ]))
}

/// Replace secret values in a config file's text (keys containing `secret`, `token`,
/// `password`, `private_key`, …) with `"[REDACTED]"`. JSON is redacted structurally; TOML, YAML
/// and other `key = value` / `key: value` text line by line.
pub fn redact_secrets(name: &str, text: &str) -> String {
    let is_secret = |k: &str| {
        let k = k.to_ascii_lowercase().replace('-', "_");
        SECRET_KEYS.iter().any(|s| k.contains(s))
    };
    if name.ends_with(".json")
        && let Ok(mut v) = serde_json::from_str::<Value>(text)
    {
        let mut stack = vec![&mut v];
        while let Some(node) = stack.pop() {
            match node {
                Value::Object(m) => {
                    for (k, val) in m.iter_mut() {
                        if is_secret(k) && !val.is_object() && !val.is_array() {
                            *val = Value::from("[REDACTED]");
                        } else {
                            stack.push(val);
                        }
                    }
                }
                Value::Array(a) => stack.extend(a.iter_mut()),
                _ => {}
            }
        }
        return serde_json::to_string_pretty(&v).unwrap_or_default();
    }
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let sep = line.find(['=', ':']);
        match sep {
            Some(i)
                if is_secret(line[..i].trim().trim_matches('"'))
                    && !line[i + 1..].trim().is_empty() =>
            {
                out.push_str(&line[..=i]);
                out.push_str(" \"[REDACTED]\"");
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

async fn read_ipfs(
    server: &McpServer,
    uri: &str,
    rest: &str,
) -> Result<ReadResourceResult, ErrorData> {
    let path = format!("/ipfs/{}", rest.trim_end_matches('/'));
    let cx = OpContext::default();
    let cat = server
        .call("ipfs_cat", json!({"path": path, "encoding": "base64"}), &cx)
        .await;
    match cat {
        Ok(out) => {
            let data = out["content"].as_str().unwrap_or_default();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
            let truncated = out["truncated"].as_bool().unwrap_or(false);
            let contents = match String::from_utf8(bytes) {
                Ok(text) if !text.contains('\0') => {
                    ResourceContents::text(text, uri).with_mime_type("text/plain")
                }
                _ => ResourceContents::blob(data.to_string(), uri)
                    .with_mime_type("application/octet-stream"),
            };
            let mut meta = rmcp::model::MetaObject::new();
            meta.insert("io.ipfs-kit/file_size".into(), out["file_size"].clone());
            meta.insert("io.ipfs-kit/truncated".into(), Value::from(truncated));
            Ok(ReadResourceResult::new(vec![contents.with_meta(meta)]))
        }
        // Not a file: a directory gives its listing.
        Err(CallError::Op(e)) if e.code == ErrorCode::InvalidInput => {
            let ls = server
                .call("ipfs_ls", json!({"path": path, "limit": MAX_LISTING}), &cx)
                .await
                .map_err(|e| resource_error(uri, e))?;
            let text = serde_json::to_string_pretty(&ls)
                .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
            Ok(ReadResourceResult::new(vec![
                ResourceContents::text(text, uri).with_mime_type("application/json"),
            ]))
        }
        Err(e) => Err(resource_error(uri, e)),
    }
}

fn resource_error(uri: &str, e: CallError) -> ErrorData {
    match e {
        CallError::UnknownTool(t) => ErrorData::internal_error(
            format!("reading {uri} needs the tool {t}, which this server hides"),
            None,
        ),
        CallError::Op(e) => resource_op_error(uri, &e),
    }
}

fn resource_op_error(uri: &str, e: &OpError) -> ErrorData {
    let data = Some(e.to_json());
    match e.code {
        ErrorCode::NotFound => ErrorData::resource_not_found(e.message.clone(), data),
        ErrorCode::InvalidCid | ErrorCode::InvalidPath | ErrorCode::InvalidInput => {
            ErrorData::invalid_params(format!("{uri}: {}", e.message), data)
        }
        _ => ErrorData::internal_error(e.message.clone(), data),
    }
}

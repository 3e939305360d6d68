//! `ipfs-kit config …`: daemon configs through the `config` toolset's operations.

use std::io::{BufWriter, Write};

use clap::Subcommand;
use ipfs_kit_ops::{ErrorCode, Kit, OpContext, OpError};
use serde_json::{Map, Value, json};

use super::call;
use crate::output::print_json;

/// `ipfs-kit config`: create, read, change, check, version and plan the configs of every daemon.
///
/// KIND is `kubo`, `ipfs_cluster_service`, `ipfs_cluster_follow@<cluster>` (or `--cluster`),
/// `ipfs_cluster_ctl`, `lotus`, `lassie`, `s3`, `huggingface` or `storacha`.
#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Write default configs (fresh identities and secrets) unless they exist.
    Create {
        /// A kind, or `all` (every kind but followers, which are per cluster).
        kind: String,
        /// The followed cluster's name (followers).
        #[arg(long)]
        cluster: Option<String>,
        /// Replace existing configs (each is backed up first).
        #[arg(long)]
        overwrite: bool,
        /// Followers: point at a published template (`http(s)://…`, `/ipns/…`) instead of a full config.
        #[arg(long, value_name = "URL")]
        source: Option<String>,
    },
    /// Print a config as JSON (secrets redacted).
    Get {
        /// The kind.
        kind: String,
        /// The followed cluster's name (followers).
        #[arg(long)]
        cluster: Option<String>,
        /// Print private keys, tokens and secrets too.
        #[arg(long)]
        reveal_secrets: bool,
    },
    /// Change a config: `set KIND DOTTED.PATH VALUE` (VALUE is JSON, else a string) or `set KIND --merge JSON`.
    Set {
        /// The kind.
        kind: String,
        /// Dotted path of the value (`Addresses.API`).
        #[arg(required_unless_present = "merge")]
        path: Option<String>,
        /// The new value: JSON (`5`, `true`, `["/ip4/…"]`), or a plain string.
        #[arg(required_unless_present = "merge")]
        value: Option<String>,
        /// A partial JSON document deep-merged into the config.
        #[arg(long, value_name = "JSON", conflicts_with_all = ["path", "value"])]
        merge: Option<String>,
        /// The followed cluster's name (followers).
        #[arg(long)]
        cluster: Option<String>,
        /// Check the change (validation, port collisions) and show it without writing.
        #[arg(long)]
        validate_only: bool,
    },
    /// Check configs (one kind, or all); fails when any is invalid.
    Validate {
        /// A kind, or `all` (default).
        #[arg(default_value = "all")]
        kind: String,
        /// The followed cluster's name (followers).
        #[arg(long)]
        cluster: Option<String>,
    },
    /// Which configs exist, where, and whether they are valid.
    Status,
    /// Save the current files of a config as a new version.
    Backup {
        /// The kind.
        kind: String,
        /// The followed cluster's name (followers).
        #[arg(long)]
        cluster: Option<String>,
    },
    /// List the saved versions of a config, newest first.
    History {
        /// The kind.
        kind: String,
        /// The followed cluster's name (followers).
        #[arg(long)]
        cluster: Option<String>,
    },
    /// Put a saved version back (the current one is backed up first).
    Restore {
        /// The kind.
        kind: String,
        /// The version (see `config history`).
        #[arg(value_name = "VERSION")]
        saved: String,
        /// The followed cluster's name (followers).
        #[arg(long)]
        cluster: Option<String>,
    },
    /// Show what differs from the defaults or a saved version (secrets redacted).
    Diff {
        /// The kind.
        kind: String,
        /// `defaults`, `latest` or a version id.
        #[arg(long, default_value = "defaults")]
        against: String,
        /// The followed cluster's name (followers).
        #[arg(long)]
        cluster: Option<String>,
    },
    /// Every configured listener of every daemon, with collisions and suggested ports.
    Ports {
        /// Only the listeners of this kind (`all`: every one).
        #[arg(default_value = "all")]
        kind: String,
        /// Do not try-bind the addresses to find sockets already open.
        #[arg(long)]
        no_live: bool,
    },
    /// Make the Cluster service config join an existing cluster.
    Join {
        /// A peer of the cluster: a multiaddr ending in /p2p/<peer id>.
        #[arg(long)]
        bootstrap: String,
        /// The cluster's secret (64 hex characters).
        #[arg(long)]
        secret: String,
        /// More peer IDs to trust (comma separated).
        #[arg(long, value_delimiter = ',')]
        trust: Vec<String>,
    },
    /// Make a follower config trust and bootstrap to a leader.
    Follow {
        /// The followed cluster's name.
        cluster: String,
        /// The leader: a multiaddr ending in /p2p/<peer id>.
        #[arg(long)]
        leader: String,
        /// The cluster's secret (64 hex characters).
        #[arg(long, default_value = "")]
        secret: String,
    },
}

/// `kind` and `cluster` of a KIND argument (`ipfs_cluster_follow@name` or `--cluster name`).
fn select(kind: &str, cluster: Option<String>) -> anyhow::Result<(String, Option<String>)> {
    match kind.split_once('@') {
        Some((_, _)) if cluster.is_some() => Err(OpError::invalid(
            "give the cluster either as KIND@CLUSTER or with --cluster, not both",
        )
        .into()),
        Some((k, c)) => Ok((k.to_string(), Some(c.to_string()))),
        None => Ok((kind.to_string(), cluster)),
    }
}

fn with_target(mut input: Value, kind: &str, cluster: Option<String>) -> anyhow::Result<Value> {
    let (kind, cluster) = select(kind, cluster)?;
    if let Value::Object(m) = &mut input {
        m.insert("kind".into(), kind.into());
        if let Some(c) = cluster {
            m.insert("cluster".into(), c.into());
        }
    }
    Ok(input)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn write_changes(w: &mut impl Write, changes: &Value) -> std::io::Result<()> {
    for c in changes.as_array().into_iter().flatten() {
        let path = c["path"].as_str().unwrap_or_default();
        match c["change"].as_str() {
            Some("added") => writeln!(w, "+ {path} = {}", text(&c["new"]))?,
            Some("removed") => writeln!(w, "- {path} (was {})", text(&c["old"]))?,
            _ => writeln!(w, "~ {path}: {} -> {}", text(&c["old"]), text(&c["new"]))?,
        }
    }
    Ok(())
}

fn write_updated(w: &mut impl Write, out: &Value, validate_only: bool) -> std::io::Result<()> {
    write_changes(w, &out["changes"])?;
    let target = out["target"].as_str().unwrap_or_default();
    if validate_only {
        writeln!(w, "{target}: valid, not written")
    } else if out["written"] == true {
        match out["backup"].as_str() {
            Some(b) => writeln!(w, "{target}: written (previous version saved as {b})"),
            None => writeln!(w, "{target}: written"),
        }
    } else {
        writeln!(w, "{target}: nothing to change")
    }
}

fn write_ports(w: &mut impl Write, out: &Value, kind: &str) -> std::io::Result<()> {
    let wanted = |owner: &str| {
        kind == "all" || owner == kind || owner.split_once('@').is_some_and(|(k, _)| k == kind)
    };
    let rows: Vec<[String; 5]> = out["listeners"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| wanted(l["owner"].as_str().unwrap_or_default()))
        .map(|l| {
            [
                text(&l["owner"]),
                text(&l["key"]),
                text(&l["proto"]),
                text(&l["port"]),
                text(&l["address"]),
            ]
        })
        .collect();
    let header = ["OWNER", "KEY", "PROTO", "PORT", "ADDRESS"].map(String::from);
    let mut width = [0usize; 5];
    for r in std::iter::once(&header).chain(&rows) {
        for (i, cell) in r.iter().enumerate() {
            width[i] = width[i].max(cell.len());
        }
    }
    for r in std::iter::once(&header).chain(&rows) {
        let line = r
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = width[i]))
            .collect::<Vec<_>>()
            .join("  ");
        writeln!(w, "{}", line.trim_end())?;
    }
    let conflicts: Vec<&Value> = out["conflicts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| {
            wanted(c["listener"]["owner"].as_str().unwrap_or_default())
                || wanted(c["with"]["owner"].as_str().unwrap_or_default())
        })
        .collect();
    if conflicts.is_empty() {
        writeln!(w, "\nno conflicts")?;
    } else {
        writeln!(w, "\nCONFLICTS")?;
        for c in conflicts {
            let l = &c["listener"];
            let with = match c["with"].is_null() {
                true => "a socket already open on this host".to_string(),
                false => format!("{} {}", text(&c["with"]["owner"]), text(&c["with"]["key"])),
            };
            writeln!(
                w,
                "{} {} ({} {}) collides with {with}: suggested port {}",
                text(&l["owner"]),
                text(&l["key"]),
                text(&l["proto"]),
                text(&l["port"]),
                text(&c["suggested_port"])
            )?;
        }
    }
    Ok(())
}

fn write_states(w: &mut impl Write, out: &Value) -> std::io::Result<()> {
    for c in out["configs"].as_array().into_iter().flatten() {
        let target = text(&c["target"]);
        let state = match (c["exists"] == true, c["valid"] == true) {
            (false, _) => "missing",
            (true, true) => "ok",
            (true, false) => "INVALID",
        };
        // the file people edit, not the identity beside it
        let files = c["files"].as_array().map(Vec::as_slice).unwrap_or_default();
        let main = files
            .iter()
            .find(|f| f["secret"] == false)
            .or(files.first())
            .and_then(|f| f["path"].as_str())
            .unwrap_or_default();
        writeln!(w, "{state:<8} {target:<32} {main}")?;
        for p in c["problems"].as_array().into_iter().flatten() {
            let path = p["path"]
                .as_str()
                .filter(|s| !s.is_empty())
                .unwrap_or("<root>");
            writeln!(
                w,
                "         {path}: {} [{}]",
                text(&p["message"]),
                text(&p["code"])
            )?;
        }
    }
    Ok(())
}

/// A CLI value: JSON when it parses, else the plain string (`/ip4/127.0.0.1/tcp/5001`).
fn cli_value(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_string()))
}

pub(crate) async fn run(kit: &Kit, cmd: ConfigCommand, json: bool) -> anyhow::Result<()> {
    let cx = OpContext::default();
    let mut w = BufWriter::new(std::io::stdout().lock());
    match cmd {
        ConfigCommand::Create {
            kind,
            cluster,
            overwrite,
            source,
        } => {
            let (kind, cluster) = select(&kind, cluster)?;
            let out = match source {
                Some(src) => {
                    let cluster = cluster.ok_or_else(|| {
                        OpError::invalid("--source is for followers: give the cluster's name")
                    })?;
                    let one = call(
                        kit,
                        "cluster_follow_config_create",
                        json!({"cluster": cluster, "source": src, "overwrite": overwrite}),
                        &cx,
                    )
                    .await?;
                    json!({ "configs": [one] })
                }
                None => {
                    let input = with_target(json!({ "overwrite": overwrite }), &kind, cluster)?;
                    call(kit, "configure_daemon", input, &cx).await?
                }
            };
            if json {
                return print_json(&out);
            }
            for c in out["configs"].as_array().into_iter().flatten() {
                let state = if c["created"] == true {
                    "created"
                } else {
                    "exists"
                };
                let files: Vec<String> = c["files"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|f| text(&f["path"]))
                    .collect();
                writeln!(
                    w,
                    "{state:<8} {:<32} {}",
                    text(&c["target"]),
                    files.join(" ")
                )?;
            }
        }
        ConfigCommand::Get {
            kind,
            cluster,
            reveal_secrets,
        } => {
            let input = with_target(json!({ "reveal_secrets": reveal_secrets }), &kind, cluster)?;
            let out = call(kit, "config_get", input, &cx).await?;
            if json {
                return print_json(&out);
            }
            serde_json::to_writer_pretty(&mut w, &out["config"])?;
            writeln!(w)?;
        }
        ConfigCommand::Set {
            kind,
            path,
            value,
            merge,
            cluster,
            validate_only,
        } => {
            let mut input = Map::new();
            match merge {
                Some(m) => {
                    let doc: Value = serde_json::from_str(&m).map_err(|e| {
                        OpError::invalid(format!("--merge is not JSON: {e}")).with("field", "merge")
                    })?;
                    input.insert("merge".into(), doc);
                }
                None => {
                    input.insert("path".into(), path.unwrap_or_default().into());
                    input.insert("value".into(), cli_value(&value.unwrap_or_default()));
                }
            }
            input.insert("validate_only".into(), validate_only.into());
            let input = with_target(Value::Object(input), &kind, cluster)?;
            let out = call(kit, "update_daemon_config", input, &cx).await?;
            if json {
                return print_json(&out);
            }
            write_updated(&mut w, &out, validate_only)?;
        }
        ConfigCommand::Validate { kind, cluster } => {
            let input = with_target(json!({}), &kind, cluster)?;
            let out = call(kit, "validate_daemon_configs", input, &cx).await?;
            if json {
                print_json(&out)?;
            } else {
                write_states(&mut w, &out)?;
            }
            if out["valid"] != true {
                w.flush()?;
                anyhow::bail!(OpError::new(
                    ErrorCode::ConfigInvalid,
                    "some configs are invalid"
                ));
            }
        }
        ConfigCommand::Status => {
            let out = call(kit, "get_daemon_config_status", json!({}), &cx).await?;
            if json {
                return print_json(&out);
            }
            write_states(&mut w, &out)?;
        }
        ConfigCommand::Backup { kind, cluster } => {
            let out = call(
                kit,
                "config_backup",
                with_target(json!({}), &kind, cluster)?,
                &cx,
            )
            .await?;
            if json {
                return print_json(&out);
            }
            writeln!(
                w,
                "{}: saved as {}",
                text(&out["target"]),
                text(&out["version"])
            )?;
        }
        ConfigCommand::History { kind, cluster } => {
            let out = call(
                kit,
                "config_history",
                with_target(json!({}), &kind, cluster)?,
                &cx,
            )
            .await?;
            if json {
                return print_json(&out);
            }
            for v in out["versions"].as_array().into_iter().flatten() {
                writeln!(w, "{}", text(&v["version"]))?;
            }
        }
        ConfigCommand::Restore {
            kind,
            saved,
            cluster,
        } => {
            let input = with_target(json!({ "version": saved }), &kind, cluster)?;
            let out = call(kit, "config_restore", input, &cx).await?;
            if json {
                return print_json(&out);
            }
            write_updated(&mut w, &out, false)?;
        }
        ConfigCommand::Diff {
            kind,
            against,
            cluster,
        } => {
            let input = with_target(json!({ "against": against }), &kind, cluster)?;
            let out = call(kit, "config_diff", input, &cx).await?;
            if json {
                return print_json(&out);
            }
            write_changes(&mut w, &out["changes"])?;
            if out["changes"].as_array().is_none_or(|c| c.is_empty()) {
                writeln!(w, "no differences from {}", text(&out["against"]))?;
            }
        }
        ConfigCommand::Ports { kind, no_live } => {
            let out = call(kit, "config_port_plan", json!({ "live": !no_live }), &cx).await?;
            if json {
                return print_json(&out);
            }
            write_ports(&mut w, &out, &kind)?;
        }
        ConfigCommand::Join {
            bootstrap,
            secret,
            trust,
        } => {
            let input = json!({"bootstrap": bootstrap, "secret": secret, "trusted_peers": trust});
            let out = call(kit, "connect_to_networked_cluster", input, &cx).await?;
            if json {
                return print_json(&out);
            }
            writeln!(
                w,
                "{}: joins the cluster through {bootstrap}",
                text(&out["target"])
            )?;
        }
        ConfigCommand::Follow {
            cluster,
            leader,
            secret,
        } => {
            let input = json!({"cluster": cluster, "leader": leader, "secret": secret});
            let out = call(kit, "connect_follow_to_leader", input, &cx).await?;
            if json {
                return print_json(&out);
            }
            let listen = out["config"]["service"]["cluster"]["listen_multiaddress"].clone();
            writeln!(
                w,
                "{}: follows {leader}; listens on {}",
                text(&out["target"]),
                text(&listen)
            )?;
        }
    }
    Ok(w.flush()?)
}

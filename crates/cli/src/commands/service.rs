//! `ipfs-kit service …` and `ipfs-kit status`: the services toolset's operations.

use std::io::{BufWriter, Write};

use clap::Subcommand;
use ipfs_kit_ops::{Kit, OpContext, OpError};
use serde_json::{Map, Value, json};

use super::call;
use crate::output::{print_json, wait_bar};

/// `ipfs-kit service`: register, start, stop and watch daemons and storage services.
#[derive(Debug, Subcommand)]
pub(crate) enum ServiceCommand {
    /// Register a service: `service add NAME KIND [--set key=value]… [--binary P] [-- ARGS…]`.
    Add {
        /// Unique name.
        name: String,
        /// ipfs, ipfs_cluster_service, ipfs_cluster_follow, lotus, lassie, ipfs_kit, s3, storacha,
        /// huggingface, ftp, sftp or github (`service kinds` lists their settings).
        kind: String,
        /// A setting, `key=value` (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// The program to run instead of the kind's default.
        #[arg(long)]
        binary: Option<std::path::PathBuf>,
        /// An environment variable for the daemon, `NAME=value` (repeatable).
        #[arg(long = "env", value_name = "NAME=VALUE")]
        env: Vec<String>,
        /// Restart policy: never, on-failure (default) or always.
        #[arg(long, value_name = "MODE")]
        restart: Option<String>,
        /// Start it whenever `ipfs-kit daemon` starts.
        #[arg(long)]
        autostart: bool,
        /// Services that must run first (comma separated).
        #[arg(long, value_delimiter = ',')]
        depends_on: Vec<String>,
        /// Arguments instead of the kind's defaults (after `--`).
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Remove a service (a running daemon is stopped first).
    Rm {
        /// The service.
        name: String,
    },
    /// List services and their process state.
    #[command(alias = "ls")]
    List,
    /// Every kind that can be registered, with its settings.
    Kinds,
    /// Status and health of one service, or of every service.
    Status {
        /// The service (every service when absent).
        name: Option<String>,
        /// Probe now instead of using a status younger than 5 s.
        #[arg(long)]
        fresh: bool,
    },
    /// Start a daemon (dependencies first) and wait until it is healthy.
    Start {
        /// The service.
        name: String,
    },
    /// Stop a daemon.
    Stop {
        /// The service.
        name: String,
    },
    /// Stop and start a daemon.
    Restart {
        /// The service.
        name: String,
    },
    /// Print a service's record and the daemon config it reads (secrets redacted).
    Config {
        /// The service.
        name: String,
    },
    /// Change a service's settings (`key=value`, `key=` removes) or fields (`--field restart.mode=always`).
    Set {
        /// The service.
        name: String,
        /// Settings, `key=value`.
        settings: Vec<String>,
        /// Record fields, `field=JSON` (`autostart=true`, `quota_bytes=1000000`).
        #[arg(long = "field", value_name = "FIELD=JSON")]
        fields: Vec<String>,
    },
    /// Bytes used by a service's data on this host.
    Storage {
        /// The service.
        name: String,
    },
    /// Read or set (`--set BYTES`, 0 removes) a service's storage quota.
    Quota {
        /// The service.
        name: String,
        /// The new quota in bytes.
        #[arg(long = "set", value_name = "BYTES")]
        set_bytes: Option<u64>,
    },
    /// The newest lines of a daemon's log.
    Logs {
        /// The service.
        name: String,
        /// How many lines.
        #[arg(short = 'n', long, default_value_t = 100)]
        lines: usize,
    },
}

fn pairs(items: &[String], what: &str) -> anyhow::Result<Map<String, Value>> {
    let mut m = Map::new();
    for s in items {
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| OpError::invalid(format!("{what} {s:?}: use key=value")))?;
        m.insert(
            k.to_string(),
            if v.is_empty() {
                Value::Null
            } else {
                Value::String(v.to_string())
            },
        );
    }
    Ok(m)
}

pub(crate) async fn run(kit: &Kit, cmd: ServiceCommand, json: bool) -> anyhow::Result<()> {
    let cx = OpContext::default();
    let mut w = BufWriter::new(std::io::stdout().lock());
    let named = |name: &str| json!({ "name": name });
    match cmd {
        ServiceCommand::Add {
            name,
            kind,
            set,
            binary,
            env,
            restart,
            autostart,
            depends_on,
            args,
        } => {
            let mut input = json!({
                "name": name, "kind": kind, "settings": Value::Object(pairs(&set, "setting")?),
                "autostart": autostart, "depends_on": depends_on,
            });
            let env: Map<String, Value> = pairs(&env, "env")?
                .into_iter()
                .map(|(k, v)| (k, if v.is_null() { json!("") } else { v }))
                .collect();
            input["env"] = Value::Object(env);
            if let Some(b) = binary {
                input["binary"] = json!(b);
            }
            if !args.is_empty() {
                input["args"] = json!(args);
            }
            if let Some(m) = restart {
                input["restart"] = json!({ "mode": m });
            }
            let out = call(kit, "service_add", input, &cx).await?;
            if json {
                return print_json(&out);
            }
            writeln!(
                w,
                "added {} service {}",
                out["service"]["kind"].as_str().unwrap_or_default(),
                out["service"]["name"].as_str().unwrap_or_default()
            )?;
        }
        ServiceCommand::Rm { name } => {
            let out = call(kit, "service_remove", named(&name), &cx).await?;
            if json {
                return print_json(&out);
            }
            writeln!(w, "removed {name}")?;
        }
        ServiceCommand::List | ServiceCommand::Kinds => {
            let kinds_only = matches!(cmd, ServiceCommand::Kinds);
            let out = call(kit, "service_list", json!({}), &cx).await?;
            if json {
                return print_json(if kinds_only { &out["kinds"] } else { &out });
            }
            if kinds_only {
                for k in out["kinds"].as_array().into_iter().flatten() {
                    writeln!(
                        w,
                        "{:<22} {:<8} {}",
                        k["kind"].as_str().unwrap_or_default(),
                        k["class"].as_str().unwrap_or_default(),
                        k["summary"].as_str().unwrap_or_default()
                    )?;
                    for s in k["settings"].as_array().into_iter().flatten() {
                        writeln!(
                            w,
                            "    {}{}  {}",
                            s["key"].as_str().unwrap_or_default(),
                            if s["required"] == true {
                                " (required)"
                            } else {
                                ""
                            },
                            s["doc"].as_str().unwrap_or_default()
                        )?;
                    }
                }
            } else {
                for s in out["services"].as_array().into_iter().flatten() {
                    writeln!(
                        w,
                        "{:<24} {:<22} {:<10} {}",
                        s["service"]["name"].as_str().unwrap_or_default(),
                        s["service"]["kind"].as_str().unwrap_or_default(),
                        s["process"].as_str().unwrap_or("-"),
                        s["pid"].as_u64().map(|p| p.to_string()).unwrap_or_default()
                    )?;
                }
                for d in out["damaged"].as_array().into_iter().flatten() {
                    writeln!(w, "damaged: {}", d.as_str().unwrap_or_default())?;
                }
            }
        }
        ServiceCommand::Status { name, fresh } => {
            let out = call(
                kit,
                "service_status",
                json!({ "name": name, "fresh": fresh }),
                &cx,
            )
            .await?;
            if json {
                return print_json(&out);
            }
            for s in out["services"].as_array().into_iter().flatten() {
                status_line(&mut w, s)?;
            }
        }
        ServiceCommand::Start { name } => lifecycle(kit, "service_start", &name, json).await?,
        ServiceCommand::Stop { name } => lifecycle(kit, "service_stop", &name, json).await?,
        ServiceCommand::Restart { name } => lifecycle(kit, "service_restart", &name, json).await?,
        ServiceCommand::Config { name } => {
            let out = call(kit, "service_config_get", named(&name), &cx).await?;
            return print_json(&out);
        }
        ServiceCommand::Set {
            name,
            settings,
            fields,
        } => {
            let mut f = Map::new();
            for s in &fields {
                let (k, v) = s
                    .split_once('=')
                    .ok_or_else(|| OpError::invalid(format!("field {s:?}: use field=JSON")))?;
                let v = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()));
                match k.split_once('.') {
                    Some((outer, inner)) => {
                        let e = f.entry(outer.to_string()).or_insert_with(|| json!({}));
                        e[inner] = v;
                    }
                    None => {
                        f.insert(k.to_string(), v);
                    }
                }
            }
            let out = call(
                kit,
                "service_config_set",
                json!({ "name": name, "settings": pairs(&settings, "setting")?, "fields": f }),
                &cx,
            )
            .await?;
            return print_json(&out);
        }
        ServiceCommand::Storage { name } => {
            let out = call(kit, "service_storage", named(&name), &cx).await?;
            storage_line(&mut w, &name, &out, json)?;
        }
        ServiceCommand::Quota { name, set_bytes } => {
            let out = call(
                kit,
                "service_quota",
                json!({ "name": name, "set_bytes": set_bytes }),
                &cx,
            )
            .await?;
            storage_line(&mut w, &name, &out, json)?;
        }
        ServiceCommand::Logs { name, lines } => {
            let out = call(
                kit,
                "service_logs",
                json!({ "name": name, "lines": lines }),
                &cx,
            )
            .await?;
            if json {
                return print_json(&out);
            }
            for l in out["lines"].as_array().into_iter().flatten() {
                writeln!(w, "{}", l.as_str().unwrap_or_default())?;
            }
        }
    }
    Ok(w.flush()?)
}

/// Start, stop or restart: a spinner while the daemon comes up, and Ctrl-C gives up on the wait
/// (the daemon being started is then stopped, as an MCP client's cancellation does).
async fn lifecycle(kit: &Kit, op: &str, name: &str, json: bool) -> anyhow::Result<()> {
    let bar = wait_bar(
        !json,
        &format!("waiting for {name} to answer its health probe"),
    );
    let b = bar.clone();
    let cx = OpContext::with_progress(move |p| {
        if let Some(t) = p.total {
            b.set_length(t);
        }
        b.set_position(p.done);
    });
    let run = call(kit, op, json!({ "name": name }), &cx);
    tokio::pin!(run);
    let out = tokio::select! {
        out = &mut run => out,
        _ = tokio::signal::ctrl_c() => {
            cx.cancel();
            run.await
        }
    };
    bar.finish_and_clear();
    let out = out?;
    if json {
        return print_json(&out);
    }
    let mut w = std::io::stdout().lock();
    status_line(&mut w, &out)
}

fn storage_line(w: &mut impl Write, name: &str, out: &Value, json: bool) -> anyhow::Result<()> {
    if json {
        return print_json(out);
    }
    write!(
        w,
        "{}: {} bytes in {} files under {}",
        name,
        out["used_bytes"],
        out["files"],
        out["path"].as_str().unwrap_or_default()
    )?;
    if let Some(q) = out["quota_bytes"].as_u64() {
        write!(
            w,
            "; quota {q} bytes ({:.1} % used)",
            out["quota_used_percent"].as_f64().unwrap_or(0.0)
        )?;
    }
    writeln!(w)?;
    Ok(())
}

fn status_line(w: &mut impl Write, s: &Value) -> anyhow::Result<()> {
    let p = &s["process"];
    let mut extra = Vec::new();
    if let Some(pid) = p["pid"].as_u64() {
        extra.push(format!("pid {pid}"));
    }
    if let Some(r) = p["restarts"].as_u64().filter(|&r| r > 0) {
        extra.push(format!("{r} restarts"));
    }
    if let Some(d) = s["health"]["detail"].as_str() {
        extra.push(d.to_string());
    }
    writeln!(
        w,
        "{:<24} {:<12} score {:>3}  {}",
        s["name"].as_str().unwrap_or_default(),
        s["status"].as_str().unwrap_or_default(),
        s["score"],
        extra.join(", ")
    )?;
    Ok(())
}

/// `ipfs-kit status`: the health of the whole stack.
pub(crate) async fn status(kit: &Kit, fresh: bool, json: bool) -> anyhow::Result<()> {
    let out = call(
        kit,
        "system_health",
        json!({ "fresh": fresh }),
        &OpContext::default(),
    )
    .await?;
    if json {
        return print_json(&out);
    }
    let mut w = BufWriter::new(std::io::stdout().lock());
    writeln!(
        w,
        "stack: {} (score {})",
        out["status"].as_str().unwrap_or_default(),
        out["score"]
    )?;
    for s in out["services"].as_array().into_iter().flatten() {
        status_line(&mut w, s)?;
    }
    for d in out["damaged"].as_array().into_iter().flatten() {
        writeln!(w, "damaged: {}", d.as_str().unwrap_or_default())?;
    }
    Ok(w.flush()?)
}

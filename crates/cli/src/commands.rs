//! Each command translates its flags into a catalogue input, runs the operation, and prints the output
//! in Kubo's text format or as JSON.

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use ipfs_kit_ops::{Catalogue, Kit, OpContext, Selection};
use serde_json::{Value, json};

use crate::cli::{Cli, Command, ToolCommand};
use crate::output::print_json;

pub(crate) use config::ConfigCommand;
pub(crate) use service::ServiceCommand;

mod config;
mod content;
mod daemon;
mod files;
mod mcp;
mod service;

/// Largest JSON input `tool call -` reads from standard input (files go by path, not inline).
const MAX_TOOL_INPUT: u64 = 64 * 1024 * 1024;

/// Where the kit lives: `--home`, `IPFS_KIT_HOME`, or `~/.ipfs_kit`.
fn home_dir(cli_home: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(h) = cli_home {
        return Ok(h);
    }
    let home = std::env::var_os("HOME").context("HOME is not set; pass --home")?;
    Ok(PathBuf::from(home).join(".ipfs_kit"))
}

/// Run one operation by name with a JSON input.
pub(crate) async fn call(
    kit: &Kit,
    name: &str,
    input: Value,
    cx: &OpContext,
) -> anyhow::Result<Value> {
    let catalogue = Catalogue::standard();
    let op = catalogue.require(name)?;
    Ok(op.call(kit, input, cx).await?)
}

pub(crate) async fn run(cli: Cli) -> anyhow::Result<()> {
    let json = cli.json;
    if let Command::Tool(ToolCommand::List {
        toolsets,
        read_only,
    }) = &cli.command
    {
        return tool_list(toolsets, *read_only, json);
    }
    let selection = Selection {
        api: cli.api.clone(),
        embedded: cli.embedded,
        // A second daemon must not drive the first one: it reports the locked repo instead.
        follow_daemon: !matches!(cli.command, Command::Daemon(_)),
    };
    let home = home_dir(cli.home)?;
    // services and status never take the repo lock: a service may be the daemon that needs it
    let kit = if matches!(cli.command, Command::Service(_) | Command::Status { .. }) {
        Kit::detached(&home)
    } else {
        let (kit, source) = Kit::select(&home, &selection)?;
        if cli.debug
            && let Some(k) = kit.kubo()
        {
            eprintln!("using the node at {} ({})", k.base_url(), source.why());
        }
        kit
    };
    match cli.command {
        Command::Tool(ToolCommand::Call { name, input }) => {
            let input = match input.as_deref() {
                None => json!({}),
                Some("-") => {
                    let mut s = String::new();
                    std::io::stdin()
                        .take(MAX_TOOL_INPUT + 1)
                        .read_to_string(&mut s)?;
                    if s.len() as u64 > MAX_TOOL_INPUT {
                        anyhow::bail!(ipfs_kit_ops::OpError::invalid(format!(
                            "the input is over {MAX_TOOL_INPUT} bytes"
                        )));
                    }
                    serde_json::from_str(&s).context("the input is not JSON")?
                }
                Some(s) => serde_json::from_str(s).context("the input is not JSON")?,
            };
            let out = call(&kit, &name, input, &OpContext::default()).await?;
            print_json(&out)
        }
        Command::Tool(ToolCommand::List { .. }) => Ok(()),
        Command::Mcp(args) => mcp::run(kit, args).await,
        Command::Daemon(args) => daemon::run(kit, args).await,
        Command::Files(f) => files::run(&kit, f, json).await,
        Command::Config(c) => config::run(&kit, c, json).await,
        Command::Service(c) => service::run(&kit, c, json).await,
        Command::Status { fresh } => service::status(&kit, fresh, json).await,
        other => content::run(&kit, other, json).await,
    }
}

fn tool_list(toolsets: &[String], read_only: bool, json: bool) -> anyhow::Result<()> {
    let catalogue = Catalogue::standard();
    let wanted: Vec<_> = ipfs_kit_ops::Toolset::ALL
        .into_iter()
        .filter(|t| toolsets.is_empty() || toolsets.iter().any(|n| n == t.name()))
        .collect();
    if let Some(bad) = toolsets.iter().find(|n| {
        !ipfs_kit_ops::Toolset::ALL
            .iter()
            .any(|t| t.name() == n.as_str())
    }) {
        anyhow::bail!(ipfs_kit_ops::OpError::invalid(format!(
            "unknown toolset {bad:?}"
        )));
    }
    let tools = catalogue.describe(Some(&wanted), read_only);
    if json {
        return print_json(&tools);
    }
    let mut w = std::io::BufWriter::new(std::io::stdout().lock());
    for t in tools {
        writeln!(w, "{:<32} {}", t.name, t.meta.title)?;
    }
    Ok(w.flush()?)
}

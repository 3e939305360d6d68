//! The Kubo-style content commands: add, cat, get, ls, pin, repo, block, dag, refs.

use std::io::{BufWriter, IsTerminal, Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use base64::Engine;
use ipfs_kit_ops::{Kit, OpContext, OpError, stream};
use serde_json::{Value, json};

use super::call;
use crate::cli::{AddArgs, BlockCommand, Command, DagCommand, PinCommand, RefsArgs, RepoCommand};
use crate::output::{byte_bar, outln, print_json};

/// Listing limit the CLI asks for: everything (the catalogue's default limit is for agents).
const ALL: u64 = u32::MAX as u64;

pub(crate) async fn run(kit: &Kit, cmd: Command, json: bool) -> anyhow::Result<()> {
    match cmd {
        Command::Add(a) => add(kit, a, json).await,
        Command::Cat {
            path,
            offset,
            length,
            progress,
        } => cat(kit, path, offset, length, progress).await,
        Command::Get {
            path,
            output,
            progress,
        } => {
            let output = output.unwrap_or_else(|| {
                PathBuf::from(
                    path.trim_end_matches('/')
                        .rsplit('/')
                        .next()
                        .unwrap_or(&path),
                )
            });
            let bar = byte_bar(Some(progress && std::io::stderr().is_terminal()), None);
            let b = bar.clone();
            let cx = OpContext::with_progress(move |p| {
                if let Some(t) = p.total {
                    b.set_length(t);
                }
                b.set_position(p.done);
            });
            if !json {
                eprintln!("Saving file(s) to {}", output.display());
            }
            let out = call(
                kit,
                "ipfs_get",
                json!({"path": path, "output": output}),
                &cx,
            )
            .await?;
            bar.finish_and_clear();
            if json {
                print_json(&out)?;
            }
            Ok(())
        }
        Command::Ls { path } => {
            let out = call(
                kit,
                "ipfs_ls",
                json!({"path": path, "limit": ALL}),
                &OpContext::default(),
            )
            .await?;
            if json {
                return print_json(&out);
            }
            let mut w = BufWriter::new(std::io::stdout().lock());
            for e in out["entries"].as_array().into_iter().flatten() {
                // Kubo shows `-` for a directory's size and a trailing `/` on its name.
                if e["type"] == "directory" {
                    writeln!(w, "{} - {}/", str_of(&e["cid"]), str_of(&e["name"]))?;
                } else {
                    let (cid, name) = (str_of(&e["cid"]), str_of(&e["name"]));
                    writeln!(w, "{cid} {} {name}", e["size"])?;
                }
            }
            Ok(w.flush()?)
        }
        Command::Pin(p) => pin(kit, p, json).await,
        Command::Repo(r) => repo(kit, r, json).await,
        Command::Block(b) => block(kit, b, json).await,
        Command::Dag(d) => dag(kit, d, json).await,
        Command::Refs(r) => refs(kit, r, json).await,
        Command::Tool(_)
        | Command::Mcp(_)
        | Command::Files(_)
        | Command::Daemon(_)
        | Command::Config(_)
        | Command::Service(_)
        | Command::Status { .. } => {
            unreachable!("handled by the caller")
        }
    }
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

async fn add(kit: &Kit, a: AddArgs, json: bool) -> anyhow::Result<()> {
    let stdin = a.paths.is_empty() || a.paths.iter().any(|p| p.as_os_str() == "-");
    let mut input = json!({
        "recursive": a.recursive,
        "only_hash": a.only_hash,
        "cid_version": a.cid_version,
        "raw_leaves": a.raw_leaves,
        "chunker": a.chunker,
        "hash": a.hash,
        "max_file_links": a.max_file_links,
        "max_directory_links": a.max_directory_links,
        "max_hamt_fanout": a.max_hamt_fanout,
        "inline_limit": a.inline_limit,
        "mode": a.mode,
        "mtime": a.mtime,
        "mtime_nsecs": a.mtime_nsecs,
        "profile": a.profile,
        "cid_base": a.cid_base,
        "to_files": a.to_files,
    });
    let o = input.as_object_mut().context("input is an object")?;
    for (k, on) in [
        ("trickle", a.trickle),
        ("wrap_with_directory", a.wrap_with_directory),
        ("hidden", a.hidden),
        ("inline", a.inline),
        ("preserve_mode", a.preserve_mode),
        ("preserve_mtime", a.preserve_mtime),
        ("dereference_symlinks", a.dereference_symlinks),
    ] {
        if on {
            o.insert(k.into(), json!(true));
        }
    }
    if let Some(pin) = a.pin {
        o.insert("pin".into(), json!(pin));
    }
    o.retain(|_, v| !v.is_null());
    if stdin {
        if a.paths.len() > 1 {
            anyhow::bail!(OpError::invalid(
                "standard input (-) cannot be mixed with paths"
            ));
        }
    } else {
        o.insert("paths".into(), json!(a.paths));
    }
    let total = if !stdin && a.paths.len() == 1 {
        std::fs::metadata(&a.paths[0])
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len())
    } else {
        None
    };
    let bar = byte_bar(
        if a.quiet || a.quieter {
            Some(false)
        } else {
            a.progress
        },
        total,
    );
    let b = bar.clone();
    let mut cx = OpContext::with_progress(move |p| b.set_position(p.done));
    if stdin {
        // Read by the operation as a stream; Kubo names the entry by its CID.
        cx = cx.with_stream(Box::new(std::io::stdin()));
    }
    let out = call(kit, "ipfs_add", input, &cx).await;
    bar.finish_and_clear();
    let out = out?;
    if json {
        return print_json(&out);
    }
    let mut w = BufWriter::new(std::io::stdout().lock());
    if a.quieter {
        writeln!(w, "{}", str_of(&out["root"]))?;
    } else {
        for e in out["entries"].as_array().into_iter().flatten() {
            if a.quiet {
                writeln!(w, "{}", str_of(&e["cid"]))?;
            } else {
                writeln!(w, "added {} {}", str_of(&e["cid"]), str_of(&e["name"]))?;
            }
        }
    }
    Ok(w.flush()?)
}

/// `cat` streams straight from the node to stdout (the operation returns bounded JSON ranges).
async fn cat(
    kit: &Kit,
    path: String,
    offset: u64,
    length: Option<u64>,
    progress: bool,
) -> anyhow::Result<()> {
    let bar = byte_bar(Some(progress && std::io::stderr().is_terminal()), None);
    let b = bar.clone();
    let cx = OpContext::with_progress(move |p| {
        if let Some(t) = p.total {
            b.set_length(t);
        }
        b.set_position(p.done);
    });
    kit.blocking(move |kit| {
        let mut out = std::io::stdout().lock();
        stream::cat(&kit, &path, offset, length, &mut out, &cx)?;
        Ok(out.flush()?)
    })
    .await?;
    bar.finish_and_clear();
    Ok(())
}

async fn pin(kit: &Kit, p: PinCommand, json: bool) -> anyhow::Result<()> {
    let cx = OpContext::default();
    match p {
        PinCommand::Add { paths, recursive } => {
            let out = call(
                kit,
                "ipfs_pin_add",
                json!({"paths": paths, "recursive": recursive}),
                &cx,
            )
            .await?;
            if json {
                return print_json(&out);
            }
            let how = if recursive { "recursively" } else { "directly" };
            for c in out["pins"].as_array().into_iter().flatten() {
                outln!("pinned {} {how}", str_of(c));
            }
        }
        PinCommand::Rm { paths, recursive } => {
            let out = call(
                kit,
                "ipfs_pin_rm",
                json!({"paths": paths, "recursive": recursive}),
                &cx,
            )
            .await?;
            if json {
                return print_json(&out);
            }
            for c in out["pins"].as_array().into_iter().flatten() {
                outln!("unpinned {}", str_of(c));
            }
        }
        PinCommand::Ls { paths, kind, quiet } => {
            let out = call(
                kit,
                "ipfs_pin_ls",
                json!({"paths": paths, "type": kind, "limit": ALL}),
                &cx,
            )
            .await?;
            if json {
                return print_json(&out);
            }
            let mut w = BufWriter::new(std::io::stdout().lock());
            for e in out["pins"].as_array().into_iter().flatten() {
                if quiet {
                    writeln!(w, "{}", str_of(&e["cid"]))?;
                } else {
                    writeln!(w, "{} {}", str_of(&e["cid"]), str_of(&e["type"]))?;
                }
            }
            w.flush()?;
        }
        PinCommand::Update { from, to, unpin } => {
            let out = call(
                kit,
                "ipfs_pin_update",
                json!({"from": from, "to": to, "unpin": unpin}),
                &cx,
            )
            .await?;
            if json {
                return print_json(&out);
            }
            outln!(
                "updated {} to {}",
                str_of(&out["pins"][0]),
                str_of(&out["pins"][1])
            );
        }
        PinCommand::Verify { verbose, quiet } => {
            let out = call(kit, "ipfs_pin_verify", json!({"verbose": verbose}), &cx).await?;
            if json && out["ok"] != true {
                // One JSON document: the error shape, with the report in its context.
                anyhow::bail!(
                    OpError::new(ipfs_kit_ops::ErrorCode::Corrupted, "some pins are broken")
                        .with("pins", out["pins"].clone())
                );
            }
            if json {
                print_json(&out)?;
            } else {
                for p in out["pins"].as_array().into_iter().flatten() {
                    if p["ok"] == true {
                        if !quiet {
                            outln!("{} ok", str_of(&p["cid"]));
                        }
                        continue;
                    }
                    if quiet {
                        outln!("{}", str_of(&p["cid"]));
                        continue;
                    }
                    outln!("{} broken", str_of(&p["cid"]));
                    for b in p["bad_nodes"].as_array().into_iter().flatten() {
                        outln!("  {}: {}", str_of(&b["cid"]), str_of(&b["error"]));
                    }
                }
            }
            if out["ok"] != true {
                anyhow::bail!(OpError::new(
                    ipfs_kit_ops::ErrorCode::Corrupted,
                    "some pins are broken"
                ));
            }
        }
    }
    Ok(())
}

async fn repo(kit: &Kit, r: RepoCommand, json: bool) -> anyhow::Result<()> {
    match r {
        RepoCommand::Gc { quiet } if !json && kit.repo().is_ok() => {
            // The embedded node: each removed block is printed as the sweep removes it, however
            // many there are (the operation's report lists at most 10,000).
            kit.blocking(move |kit| {
                let mut w = BufWriter::new(std::io::stdout().lock());
                let mut failed = None;
                ipfs_kit_ops::gc_embedded(&kit, &OpContext::default(), &mut |c| {
                    let r = if quiet {
                        writeln!(w, "{c}")
                    } else {
                        writeln!(w, "removed {c}")
                    };
                    if let Err(e) = r {
                        failed.get_or_insert(e);
                    }
                })?;
                match failed {
                    Some(e) => Err(e.into()),
                    None => Ok(w.flush()?),
                }
            })
            .await?;
        }
        RepoCommand::Gc { quiet } => {
            let out = call(kit, "ipfs_repo_gc", json!({}), &OpContext::default()).await?;
            if json {
                return print_json(&out);
            }
            let mut w = BufWriter::new(std::io::stdout().lock());
            for c in out["removed"].as_array().into_iter().flatten() {
                if quiet {
                    writeln!(w, "{}", str_of(c))?;
                } else {
                    writeln!(w, "removed {}", str_of(c))?;
                }
            }
            w.flush()?;
        }
        RepoCommand::Stat { human } => {
            let out = call(kit, "ipfs_repo_stat", json!({}), &OpContext::default()).await?;
            if json {
                return print_json(&out);
            }
            let size = |v: &Value| {
                let n = v.as_u64().unwrap_or(0);
                if human {
                    format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
                } else {
                    n.to_string()
                }
            };
            outln!("NumObjects: {}", out["num_objects"]);
            outln!("RepoSize:   {}", size(&out["repo_size"]));
            outln!("StorageMax: {}", size(&out["storage_max"]));
            outln!("RepoPath:   {}", str_of(&out["repo_path"]));
            outln!("Version:    {}", str_of(&out["version"]));
        }
        RepoCommand::Verify => {
            let out = call(kit, "ipfs_repo_verify", json!({}), &OpContext::default()).await?;
            if json && out["ok"] != true {
                anyhow::bail!(
                    OpError::new(
                        ipfs_kit_ops::ErrorCode::Corrupted,
                        "the repo has corrupted blocks"
                    )
                    .with("checked", out["checked"].clone())
                    .with("corrupted", out["corrupted"].clone())
                );
            }
            if json {
                print_json(&out)?;
            } else {
                for b in out["corrupted"].as_array().into_iter().flatten() {
                    outln!(
                        "block {} corrupted: {}",
                        str_of(&b["cid"]),
                        str_of(&b["error"])
                    );
                }
                if out["ok"] == true {
                    outln!("verified repo integrity ({} blocks)", out["checked"]);
                }
            }
            if out["ok"] != true {
                anyhow::bail!(OpError::new(
                    ipfs_kit_ops::ErrorCode::Corrupted,
                    "the repo has corrupted blocks"
                ));
            }
        }
    }
    Ok(())
}

fn read_input(file: Option<&PathBuf>) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    match file {
        Some(f) => {
            buf = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
        }
        None => {
            // Bounded: nothing legitimate sent to block/dag put is larger than a block.
            std::io::stdin()
                .take(ipfs_kit_ops::HARD_BLOCK_LIMIT as u64 + 1)
                .read_to_end(&mut buf)?;
        }
    }
    Ok(buf)
}

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

async fn block(kit: &Kit, b: BlockCommand, json: bool) -> anyhow::Result<()> {
    let cx = OpContext::default();
    match b {
        BlockCommand::Put {
            files,
            cid_codec,
            hash,
            pin,
        } => {
            let inputs: Vec<Option<&PathBuf>> = if files.is_empty() {
                vec![None]
            } else {
                files.iter().map(Some).collect()
            };
            for f in inputs {
                let data = read_input(f)?;
                let out = call(
                    kit,
                    "ipfs_block_put",
                    json!({"data_base64": b64(&data), "cid_codec": cid_codec, "hash": hash, "pin": pin}),
                    &cx,
                )
                .await?;
                if json {
                    print_json(&out)?;
                } else {
                    outln!("{}", str_of(&out["cid"]));
                }
            }
        }
        BlockCommand::Get { cid } => {
            let out = call(kit, "ipfs_block_get", json!({"cid": cid}), &cx).await?;
            if json {
                return print_json(&out);
            }
            let data = base64::engine::general_purpose::STANDARD
                .decode(str_of(&out["data_base64"]))
                .context("block bytes")?;
            let mut o = std::io::stdout().lock();
            o.write_all(&data)?;
            o.flush()?;
        }
        BlockCommand::Stat { cid } => {
            let out = call(kit, "ipfs_block_stat", json!({"cid": cid}), &cx).await?;
            if json {
                return print_json(&out);
            }
            outln!("Key: {}\nSize: {}", str_of(&out["cid"]), out["size"]);
        }
        BlockCommand::Rm { cids, force, quiet } => {
            let out = call(
                kit,
                "ipfs_block_rm",
                json!({"cids": cids, "force": force}),
                &cx,
            )
            .await?;
            if json {
                return print_json(&out);
            }
            if !quiet {
                for c in out["removed"].as_array().into_iter().flatten() {
                    outln!("removed {}", str_of(c));
                }
            }
        }
    }
    Ok(())
}

async fn dag(kit: &Kit, d: DagCommand, json: bool) -> anyhow::Result<()> {
    let cx = OpContext::default();
    match d {
        DagCommand::Put {
            file,
            store_codec,
            input_codec,
            hash,
            pin,
        } => {
            let data = read_input(file.as_ref())?;
            let out = call(
                kit,
                "ipfs_dag_put",
                json!({"data_base64": b64(&data), "store_codec": store_codec, "input_codec": input_codec,
                       "hash": hash, "pin": pin}),
                &cx,
            )
            .await?;
            if json {
                return print_json(&out);
            }
            outln!("{}", str_of(&out["cid"]));
        }
        DagCommand::Get { path, output_codec } => {
            let out = call(
                kit,
                "ipfs_dag_get",
                json!({"path": path, "output_codec": output_codec}),
                &cx,
            )
            .await?;
            if json {
                return print_json(&out);
            }
            // The node's bytes in the asked codec, exactly as Kubo's `dag get` writes them.
            let data = base64::engine::general_purpose::STANDARD
                .decode(str_of(&out["data_base64"]))
                .context("encoded node")?;
            let mut o = std::io::stdout().lock();
            o.write_all(&data)?;
            o.flush()?;
        }
        DagCommand::Export { root, progress } => {
            let bar = byte_bar(Some(progress && std::io::stderr().is_terminal()), None);
            let b = bar.clone();
            let cx = OpContext::with_progress(move |p| b.set_position(p.done));
            kit.blocking(move |kit| {
                let mut w = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
                stream::dag_export(&kit, &root, &mut w, &cx)?;
                Ok(w.flush()?)
            })
            .await?;
            bar.finish_and_clear();
        }
        DagCommand::Import { files, pin_roots } => {
            let files = if files.is_empty() {
                vec![PathBuf::from("/dev/stdin")]
            } else {
                files
            };
            let out = call(
                kit,
                "ipfs_dag_import",
                json!({"paths": files, "pin_roots": pin_roots}),
                &cx,
            )
            .await?;
            if json {
                return print_json(&out);
            }
            for r in out["roots"].as_array().into_iter().flatten() {
                if r["pinned"] == true {
                    outln!("Pinned root\t{}\tsuccess", str_of(&r["cid"]));
                } else {
                    outln!("Root\t{}", str_of(&r["cid"]));
                }
            }
        }
    }
    Ok(())
}

async fn refs(kit: &Kit, r: RefsArgs, json: bool) -> anyhow::Result<()> {
    let cx = OpContext::default();
    let mut outs = Vec::new();
    if r.paths.len() == 1 && r.paths[0] == "local" {
        outs.push(call(kit, "ipfs_refs_local", json!({"limit": ALL}), &cx).await?);
    } else {
        for p in &r.paths {
            let max_depth = if r.max_depth < 0 {
                Value::Null
            } else {
                json!(r.max_depth)
            };
            outs.push(
                call(
                    kit,
                    "ipfs_refs",
                    json!({"path": p, "recursive": r.recursive || r.max_depth >= 0, "unique": r.unique,
                           "max_depth": max_depth, "limit": ALL}),
                    &cx,
                )
                .await?,
            );
        }
    }
    let mut w = BufWriter::new(std::io::stdout().lock());
    for out in outs {
        if json {
            serde_json::to_writer(&mut w, &out)?;
            writeln!(w)?;
            continue;
        }
        for c in out["refs"].as_array().into_iter().flatten() {
            writeln!(w, "{}", str_of(c))?;
        }
    }
    Ok(w.flush()?)
}

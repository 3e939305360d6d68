//! `ipfs-kit files …`: the mutable filesystem, in Kubo's idiom, through the `ipfs_files_*` operations.

use std::io::{BufWriter, Write};

use ipfs_kit_ops::{Kit, OpContext, OpError, stream};
use serde_json::{Value, json};

use super::call;
use crate::cli::FilesCommand;
use crate::output::{outln, print_json};

/// Listing limit the CLI asks for: everything.
const ALL: u64 = u32::MAX as u64;

pub(crate) async fn run(kit: &Kit, cmd: FilesCommand, json: bool) -> anyhow::Result<()> {
    let cx = OpContext::default();
    let quiet = |out: Value| if json { print_json(&out) } else { Ok(()) };
    match cmd {
        FilesCommand::Mkdir {
            path,
            parents,
            cid_version,
        } => quiet(
            call(
                kit,
                "ipfs_files_mkdir",
                json!({"path": path, "parents": parents, "cid_version": cid_version}),
                &cx,
            )
            .await?,
        ),
        FilesCommand::Ls { path, long } => {
            let out = call(
                kit,
                "ipfs_files_ls",
                json!({"path": path, "long": long, "limit": ALL}),
                &cx,
            )
            .await?;
            if json {
                return print_json(&out);
            }
            let mut w = BufWriter::new(std::io::stdout().lock());
            for e in out["entries"].as_array().into_iter().flatten() {
                let name = e["name"].as_str().unwrap_or_default();
                if long {
                    // Kubo: `name[/]\tCID\tsize`, a `/` marking directories.
                    let slash = if e["type"] == 1 { "/" } else { "" };
                    let hash = e["hash"].as_str().unwrap_or_default();
                    writeln!(w, "{name}{slash}\t{hash}\t{}", e["size"])?;
                } else {
                    writeln!(w, "{name}")?;
                }
            }
            Ok(w.flush()?)
        }
        FilesCommand::Stat { path, hash, size } => {
            let out = call(kit, "ipfs_files_stat", json!({"path": path}), &cx).await?;
            if json {
                return print_json(&out);
            }
            let h = out["hash"].as_str().unwrap_or_default();
            if hash {
                outln!("{h}");
            } else if size {
                outln!("{}", out["size"]);
            } else {
                outln!(
                    "{h}\nSize: {}\nCumulativeSize: {}\nChildBlocks: {}\nType: {}",
                    out["size"],
                    out["cumulative_size"],
                    out["blocks"],
                    out["type"].as_str().unwrap_or_default()
                );
            }
            Ok(())
        }
        FilesCommand::Write {
            path,
            data,
            offset,
            create,
            parents,
            truncate,
            count,
            cid_version,
            hash,
            raw_leaves,
        } => {
            let mut stream: ipfs_kit_ops::InputStream = match data {
                Some(p) if p.as_os_str() != "-" => Box::new(
                    std::fs::File::open(&p)
                        .map_err(|e| OpError::from(e).with("path", p.display().to_string()))?,
                ),
                _ => Box::new(std::io::stdin()),
            };
            if let Some(n) = count {
                stream = Box::new(std::io::Read::take(stream, n));
            }
            let mut input = json!({
                "path": path, "offset": offset, "create": create, "parents": parents,
                "truncate": truncate, "cid_version": cid_version, "hash": hash,
                "raw_leaves": raw_leaves,
            });
            if let Some(o) = input.as_object_mut() {
                o.retain(|_, v| !v.is_null());
            }
            let cx = OpContext::default().with_stream(stream);
            quiet(call(kit, "ipfs_files_write", input, &cx).await?)
        }
        FilesCommand::Read {
            path,
            offset,
            count,
        } => {
            // Streams from the node to stdout (the operation answers bounded JSON ranges).
            kit.blocking(move |kit| {
                let mut out = std::io::stdout().lock();
                stream::files_read(&kit, &path, offset, count, &mut out, &OpContext::default())?;
                Ok(out.flush()?)
            })
            .await?;
            Ok(())
        }
        FilesCommand::Rm {
            paths,
            recursive,
            force,
        } => {
            // Like Kubo: every path is removed that can be, then the first failure is the answer.
            let mut first_err = None;
            let mut outs = Vec::new();
            for path in &paths {
                let input = json!({"path": path, "recursive": recursive, "force": force});
                match call(kit, "ipfs_files_rm", input, &cx).await {
                    Ok(out) => outs.push(out),
                    Err(e) => {
                        first_err.get_or_insert(e);
                    }
                }
            }
            match first_err {
                Some(e) => Err(e),
                None if outs.len() == 1 => quiet(outs.remove(0)),
                None => quiet(Value::Array(outs)),
            }
        }
        FilesCommand::Cp { from, to, parents } => quiet(
            call(
                kit,
                "ipfs_files_cp",
                json!({"from": from, "to": to, "parents": parents}),
                &cx,
            )
            .await?,
        ),
        FilesCommand::Mv { from, to } => {
            quiet(call(kit, "ipfs_files_mv", json!({"from": from, "to": to}), &cx).await?)
        }
        FilesCommand::Flush { path } => {
            let out = call(kit, "ipfs_files_flush", json!({"path": path}), &cx).await?;
            if json {
                return print_json(&out);
            }
            outln!("{}", out["cid"].as_str().unwrap_or_default());
            Ok(())
        }
        FilesCommand::Chcid { path, cid_version } => quiet(
            call(
                kit,
                "ipfs_files_chcid",
                json!({"path": path, "cid_version": cid_version}),
                &cx,
            )
            .await?,
        ),
    }
}

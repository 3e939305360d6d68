use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ipfs_kit_ops::OpError;

/// Print an error the way every face does: text on stderr, or the JSON error shape with `--json`.
pub(crate) fn report_error(e: &anyhow::Error) -> ExitCode {
    // The reader hung up (`| head`): nothing to tell it, and nobody to tell.
    if e.chain().any(is_broken_pipe) {
        return ExitCode::FAILURE;
    }
    let json = std::env::args().any(|a| a == "--json");
    if let Some(op) = e.downcast_ref::<OpError>() {
        if json {
            let _ = writeln!(std::io::stdout(), "{}", op.to_json());
        } else {
            // I/O errors carry the path in their context only; people need it in the text.
            match op.context.get("path").and_then(|p| p.as_str()) {
                Some(path) if !op.message.contains(path) => eprintln!("Error: {path}: {op}"),
                _ => eprintln!("Error: {op}"),
            }
        }
    } else if json {
        let v = serde_json::json!({"status": "error", "error": format!("{e:#}"), "error_code": "INTERNAL", "context": {}});
        let _ = writeln!(std::io::stdout(), "{v}");
    } else {
        eprintln!("Error: {e:#}");
    }
    ExitCode::FAILURE
}

fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    let pipe = Some(std::io::ErrorKind::BrokenPipe);
    e.downcast_ref::<std::io::Error>().map(|io| io.kind()) == pipe
        || e.downcast_ref::<serde_json::Error>()
            .and_then(|j| j.io_error_kind())
            == pipe
}

/// `println!` that returns the write error (a closed pipe) instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)?;
    }};
}
pub(crate) use outln;

/// Print one JSON value on its own line.
pub(crate) fn print_json(v: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, v)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// A byte-progress bar on stderr, hidden when stderr is not a terminal (or when not wanted).
pub(crate) fn byte_bar(wanted: Option<bool>, total: Option<u64>) -> ProgressBar {
    let show = wanted.unwrap_or_else(|| std::io::stderr().is_terminal());
    if !show {
        return ProgressBar::hidden();
    }
    let bar = match total {
        Some(t) => ProgressBar::new(t),
        None => ProgressBar::no_length(),
    };
    bar.set_draw_target(ProgressDrawTarget::stderr());
    let style = if total.is_some() {
        ProgressStyle::with_template(
            "{bar:40.cyan/blue} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
        )
    } else {
        ProgressStyle::with_template("{spinner} {bytes} {binary_bytes_per_sec}")
    };
    if let Ok(style) = style {
        bar.set_style(style);
    }
    bar
}

/// A spinner on stderr for a wait counted in milliseconds against a limit (a daemon coming up
/// until its start timeout); hidden when stderr is not a terminal or the output is JSON.
pub(crate) fn wait_bar(wanted: bool, what: &str) -> ProgressBar {
    if !wanted || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::no_length();
    bar.set_draw_target(ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} {msg}: {pos}/{len} ms (Ctrl-C gives up)")
    {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    bar
}

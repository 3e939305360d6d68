//! The `ipfs-kit` binary: Kubo-style commands over the operation catalogue.

mod cli;
mod commands;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    tune_allocator();
    let args = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("IPFS_KIT_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new(if args.debug {
                    "ipfs_kit=debug,ipfs_kit_ops=debug,ipfs_kit_clients=debug,warn"
                } else {
                    "warn"
                })
            }),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(commands::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => output::report_error(&e),
    }
}

/// Keep glibc's allocator from handing freed heap back to the kernel at every turn.
///
/// The daemon's RPC `add` keeps each buffer hyper reads from the socket (~400 KiB) until the
/// importer has stored the leaves cut from it, on other threads. With glibc's defaults, a free
/// heap top above a moving threshold (twice the largest freed mmap chunk, ~800 KiB here) goes
/// back to the kernel, and the next buffers fault their pages in and zero them again: ~18,000
/// page faults and ~10 % of the daemon's CPU per 256 MiB add (measured with
/// `GLIBC_TUNABLES` set to these values before this call existed). Fixed thresholds: blocks
/// up to 4 MiB come from the heap, and up to 32 MiB of free heap top stays mapped per arena.
/// (A trim threshold alone is worse: setting it switches off the moving mmap threshold, so
/// every such buffer is its own `mmap`.)
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn tune_allocator() {
    // SAFETY: `mallopt` only changes the allocator's parameters; glibc takes its own lock, so
    // any thread may call it at any time. A refused value (return 0) leaves glibc's default,
    // which is correct, only slower.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 32 << 20);
    }
}

/// Other allocators need no tuning here.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Run, configure and watch a whole IPFS stack from one binary.
#[derive(Debug, Parser)]
#[command(name = "ipfs-kit", version, about, propagate_version = true)]
pub(crate) struct Cli {
    /// The kit's home directory (repo, configs, logs).
    #[arg(long, global = true, env = "IPFS_KIT_HOME", value_name = "DIR")]
    pub(crate) home: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Drive an external Kubo-compatible node at this RPC API address (multiaddr, URL or
    /// host:port) instead of the embedded node; also `[ipfs] api` in <home>/config/kit.toml.
    #[arg(long, global = true, env = "IPFS_KIT_API", value_name = "ADDR")]
    pub(crate) api: Option<String>,
    /// Use the embedded node's repo whatever --api, IPFS_KIT_API or the config file say (a
    /// repo held by a running daemon is then reported locked).
    #[arg(long, global = true)]
    pub(crate) embedded: bool,
    /// Say on stderr which node is used and why (and log at debug level).
    #[arg(short = 'D', long, global = true)]
    pub(crate) debug: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Add a file, a directory tree or standard input to the node.
    Add(AddArgs),
    /// Show the bytes of a file.
    Cat {
        /// CID or /ipfs/ path of the file.
        path: String,
        /// Byte offset to start at.
        #[arg(short, long, default_value_t = 0)]
        offset: u64,
        /// Number of bytes to read at most.
        #[arg(short, long)]
        length: Option<u64>,
        /// Show a progress bar on the terminal.
        #[arg(long)]
        progress: bool,
    },
    /// Write a file or directory tree to disk.
    Get {
        /// CID or /ipfs/ path.
        path: String,
        /// Where to write it (default: the CID or last path segment, in the current directory).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Show a progress bar on the terminal.
        #[arg(long)]
        progress: bool,
    },
    /// List a directory.
    Ls {
        /// CID or /ipfs/ path of the directory.
        path: String,
    },
    /// Pin objects so GC keeps them.
    #[command(subcommand)]
    Pin(PinCommand),
    /// The repository: garbage collection, statistics, integrity.
    #[command(subcommand)]
    Repo(RepoCommand),
    /// Raw blocks.
    #[command(subcommand)]
    Block(BlockCommand),
    /// IPLD DAG nodes and CAR files.
    #[command(subcommand)]
    Dag(DagCommand),
    /// List the links of a DAG.
    Refs(RefsArgs),
    /// The mutable filesystem (MFS): directories and files kept under one persisted root.
    #[command(subcommand)]
    Files(FilesCommand),
    /// The operation catalogue: list tools and call any of them with JSON input.
    #[command(subcommand)]
    Tool(ToolCommand),
    /// Serve the catalogue as an MCP server: stdio (default) or streamable HTTP (`--http`).
    Mcp(McpArgs),
    /// Run the node as a daemon: Kubo's RPC API (with /mcp and /api/tools) and the gateway.
    Daemon(DaemonArgs),
    /// Daemon configs (Kubo, IPFS Cluster, Lotus, Lassie, S3, HuggingFace, Storacha): create, get, set,
    /// validate, back up, restore, diff, and the port plan.
    #[command(subcommand)]
    Config(crate::commands::ConfigCommand),
    /// Services: register, start, stop, restart and watch daemons (Kubo, Cluster, Lotus, Lassie,
    /// ipfs-kit) and storage services (S3, Storacha, HuggingFace, FTP, SFTP, GitHub).
    #[command(subcommand)]
    Service(crate::commands::ServiceCommand),
    /// The health of the whole stack: every service's status and one score.
    Status {
        /// Probe every service now instead of using statuses younger than 5 s.
        #[arg(long)]
        fresh: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct DaemonArgs {
    /// Where the RPC API listens: a multiaddr or host:port (port 0 picks a free one).
    #[arg(long, value_name = "ADDR", default_value = ipfs_kit_http::daemon::DEFAULT_API_ADDR)]
    pub(crate) api_addr: String,
    /// Where the gateway listens: a multiaddr or host:port.
    #[arg(long, value_name = "ADDR", default_value = ipfs_kit_http::daemon::DEFAULT_GATEWAY_ADDR)]
    pub(crate) gateway_addr: String,
    /// File holding the bearer token clients must send (else env IPFS_KIT_TOKEN); required for
    /// non-loopback addresses.
    #[arg(long, value_name = "FILE")]
    pub(crate) token_file: Option<PathBuf>,
    /// Extra Host names the listeners accept (besides loopback and the bound address).
    #[arg(long, value_delimiter = ',')]
    pub(crate) allow_host: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct McpArgs {
    /// Only tools of these toolsets (comma separated).
    #[arg(long, value_delimiter = ',')]
    pub(crate) toolsets: Vec<String>,
    /// Only these tools (comma separated; aliases allowed).
    #[arg(long, value_delimiter = ',')]
    pub(crate) tools: Vec<String>,
    /// Never these tools (comma separated).
    #[arg(long, value_delimiter = ',')]
    pub(crate) exclude_tools: Vec<String>,
    /// Expose only tools that change nothing (write tools are absent).
    #[arg(long)]
    pub(crate) read_only: bool,
    /// Serve streamable HTTP at /mcp (and the REST API) on this address instead of stdio.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:8765")]
    pub(crate) http: Option<std::net::SocketAddr>,
    /// File holding the bearer token HTTP clients must send (else env IPFS_KIT_TOKEN).
    #[arg(long, value_name = "FILE")]
    pub(crate) token_file: Option<PathBuf>,
    /// Extra Host names the HTTP server accepts (besides loopback and the bound address).
    #[arg(long, value_delimiter = ',')]
    pub(crate) allow_host: Vec<String>,
    /// Serve the MCP conformance suite's fixture tools too (for its test harness only).
    #[arg(long, hide = true)]
    pub(crate) conformance_fixtures: bool,
}

#[derive(Debug, Args)]
pub(crate) struct AddArgs {
    /// Files or directories to add; none (or `-`) reads standard input.
    pub(crate) paths: Vec<PathBuf>,
    /// Add directory paths recursively.
    #[arg(short, long)]
    pub(crate) recursive: bool,
    /// Print only the final CID of each argument.
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// Print only the final CID.
    #[arg(short = 'Q', long)]
    pub(crate) quieter: bool,
    /// Only compute CIDs, store nothing.
    #[arg(short = 'n', long)]
    pub(crate) only_hash: bool,
    /// Wrap the added files in a directory.
    #[arg(short = 'w', long)]
    pub(crate) wrap_with_directory: bool,
    /// Include files whose names start with a dot.
    #[arg(short = 'H', long)]
    pub(crate) hidden: bool,
    /// Pin what was added (default true).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub(crate) pin: Option<bool>,
    /// Import profile: unixfs-v0-2015 (default) or unixfs-v1-2025.
    #[arg(long)]
    pub(crate) profile: Option<String>,
    /// CID version (0 or 1); 1 implies raw leaves.
    #[arg(long)]
    pub(crate) cid_version: Option<u8>,
    /// Use raw blocks for leaves.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub(crate) raw_leaves: Option<bool>,
    /// Chunking algorithm: size-N, rabin[-MIN-AVG-MAX], buzhash.
    #[arg(short = 's', long)]
    pub(crate) chunker: Option<String>,
    /// Use the trickle DAG layout.
    #[arg(short = 't', long)]
    pub(crate) trickle: bool,
    /// Hash function: sha2-256, sha2-512, blake2b-256, blake3.
    #[arg(long)]
    pub(crate) hash: Option<String>,
    /// Maximum links per file node.
    #[arg(long)]
    pub(crate) max_file_links: Option<usize>,
    /// Maximum links per basic directory before sharding.
    #[arg(long)]
    pub(crate) max_directory_links: Option<usize>,
    /// HAMT fanout.
    #[arg(long)]
    pub(crate) max_hamt_fanout: Option<usize>,
    /// Inline small blocks into identity CIDs.
    #[arg(long)]
    pub(crate) inline: bool,
    /// Largest block to inline, in bytes.
    #[arg(long)]
    pub(crate) inline_limit: Option<usize>,
    /// Store the files' permission bits.
    #[arg(long)]
    pub(crate) preserve_mode: bool,
    /// Store the files' modification times.
    #[arg(long)]
    pub(crate) preserve_mtime: bool,
    /// Permission bits to store (octal).
    #[arg(long)]
    pub(crate) mode: Option<String>,
    /// Modification time to store (seconds since the epoch).
    #[arg(long)]
    pub(crate) mtime: Option<i64>,
    /// Nanoseconds part of --mtime.
    #[arg(long)]
    pub(crate) mtime_nsecs: Option<u32>,
    /// Follow symlinks instead of storing them.
    #[arg(long)]
    pub(crate) dereference_symlinks: bool,
    /// Multibase for printed CIDs (base32, base58btc, base36).
    #[arg(long)]
    pub(crate) cid_base: Option<String>,
    /// Also link the added entries into the MFS: into this existing directory when the path ends
    /// with `/`, else under this new name.
    #[arg(long, value_name = "MFS_PATH")]
    pub(crate) to_files: Option<String>,
    /// Show a progress bar (default: when stderr is a terminal).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub(crate) progress: Option<bool>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum PinCommand {
    /// Pin objects (recursively by default).
    Add {
        /// CIDs or paths.
        #[arg(required = true)]
        paths: Vec<String>,
        /// Pin the whole DAG (default true).
        #[arg(short, long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "true", value_name = "BOOL")]
        recursive: bool,
    },
    /// Remove pins.
    Rm {
        /// CIDs or paths.
        #[arg(required = true)]
        paths: Vec<String>,
        /// Remove recursive pins (default true).
        #[arg(short, long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "true", value_name = "BOOL")]
        recursive: bool,
    },
    /// List pins.
    Ls {
        /// Only these CIDs.
        paths: Vec<String>,
        /// direct, indirect, recursive or all.
        #[arg(short = 't', long = "type", default_value = "all")]
        kind: String,
        /// Print only CIDs.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Move a recursive pin from one root to another.
    Update {
        /// Old root.
        from: String,
        /// New root.
        to: String,
        /// Remove the old pin (default true).
        #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "true", value_name = "BOOL")]
        unpin: bool,
    },
    /// Check that every pinned DAG is complete and uncorrupted.
    Verify {
        /// Also list pins that are fine.
        #[arg(long)]
        verbose: bool,
        /// Print only bad CIDs.
        #[arg(short, long)]
        quiet: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum RepoCommand {
    /// Remove every block not reachable from a pin.
    Gc {
        /// Print only CIDs.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Repository size and object count.
    Stat {
        /// Print sizes in MiB.
        #[arg(long)]
        human: bool,
    },
    /// Re-hash every block and report corruption.
    Verify,
}

#[derive(Debug, Subcommand)]
pub(crate) enum BlockCommand {
    /// Store raw bytes from files or standard input as blocks.
    Put {
        /// Files (none = standard input).
        files: Vec<PathBuf>,
        /// Codec of the block (raw, dag-pb, dag-cbor, dag-json).
        #[arg(long, default_value = "raw")]
        cid_codec: String,
        /// Hash function.
        #[arg(long = "mhtype", default_value = "sha2-256")]
        hash: String,
        /// Pin the block.
        #[arg(long)]
        pin: bool,
    },
    /// Write a block's bytes to standard output.
    Get {
        /// CID.
        cid: String,
    },
    /// Show a block's size.
    Stat {
        /// CID.
        cid: String,
    },
    /// Remove blocks.
    Rm {
        /// CIDs.
        #[arg(required = true)]
        cids: Vec<String>,
        /// Ignore missing blocks.
        #[arg(short, long)]
        force: bool,
        /// Print nothing on success.
        #[arg(short, long)]
        quiet: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum DagCommand {
    /// Store an IPLD node read from a file or standard input.
    Put {
        /// File (none = standard input).
        file: Option<PathBuf>,
        /// Codec to store it as.
        #[arg(long, default_value = "dag-cbor")]
        store_codec: String,
        /// Codec of the input.
        #[arg(long, default_value = "dag-json")]
        input_codec: String,
        /// Hash function.
        #[arg(long, default_value = "sha2-256")]
        hash: String,
        /// Pin the node.
        #[arg(long)]
        pin: bool,
    },
    /// Show an IPLD node (dag-json by default).
    Get {
        /// CID with an optional path.
        path: String,
        /// Output codec (dag-json, dag-cbor, raw).
        #[arg(long, default_value = "dag-json")]
        output_codec: String,
    },
    /// Write a DAG as a CARv1 stream to standard output.
    Export {
        /// Root CID.
        root: String,
        /// Show a progress bar.
        #[arg(short, long)]
        progress: bool,
    },
    /// Import blocks from CAR files (v1 or v2) and pin their roots.
    Import {
        /// CAR files (none = standard input).
        files: Vec<PathBuf>,
        /// Pin the roots (default true).
        #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "true", value_name = "BOOL")]
        pin_roots: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct RefsArgs {
    /// Root CIDs or paths; `local` lists every local block.
    #[arg(required = true)]
    pub(crate) paths: Vec<String>,
    /// Follow links recursively.
    #[arg(short, long)]
    pub(crate) recursive: bool,
    /// Print each CID once.
    #[arg(short, long)]
    pub(crate) unique: bool,
    /// Stop at this depth (-1 = unlimited).
    #[arg(long, default_value_t = -1, allow_hyphen_values = true)]
    pub(crate) max_depth: i64,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ToolCommand {
    /// List the operations of the catalogue.
    List {
        /// Only these toolsets (comma separated).
        #[arg(long, value_delimiter = ',')]
        toolsets: Vec<String>,
        /// Only read-only tools.
        #[arg(long)]
        read_only: bool,
    },
    /// Call one operation with a JSON input and print its JSON output.
    Call {
        /// Tool name (or alias).
        name: String,
        /// JSON input (default `{}`; `-` reads standard input).
        input: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum FilesCommand {
    /// Make a directory.
    Mkdir {
        /// Absolute MFS path.
        path: String,
        /// Create missing parents; an existing directory is not an error.
        #[arg(short, long)]
        parents: bool,
        /// CID version of the new directories (0 or 1).
        #[arg(long, default_value_t = 0)]
        cid_version: u8,
    },
    /// List a directory.
    Ls {
        /// Absolute MFS path (default /).
        #[arg(default_value = "/")]
        path: String,
        /// Show CIDs and sizes.
        #[arg(short, long)]
        long: bool,
    },
    /// Show a path's CID, sizes and type.
    Stat {
        /// Absolute MFS path (default /).
        #[arg(default_value = "/")]
        path: String,
        /// Print only the CID.
        #[arg(long)]
        hash: bool,
        /// Print only the size.
        #[arg(long)]
        size: bool,
    },
    /// Write standard input (or a file) into an MFS file.
    Write {
        /// Absolute MFS path of the file.
        path: String,
        /// Local file to read instead of standard input (`-` = standard input).
        data: Option<PathBuf>,
        /// Byte offset to write at.
        #[arg(short, long, default_value_t = 0)]
        offset: u64,
        /// Create the file if it does not exist.
        #[arg(short = 'e', long)]
        create: bool,
        /// Create missing parent directories.
        #[arg(short, long)]
        parents: bool,
        /// Truncate the file to zero bytes before writing.
        #[arg(short, long)]
        truncate: bool,
        /// Write at most this many bytes of the input.
        #[arg(short = 'n', long)]
        count: Option<u64>,
        /// CID version of a file this creates (0 or 1; 1 implies raw leaves).
        #[arg(long)]
        cid_version: Option<u8>,
        /// Hash function of a file this creates (e.g. blake2b-256; implies CID version 1).
        #[arg(long)]
        hash: Option<String>,
        /// Use raw blocks for new leaves (default: only in CIDv1 files).
        #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
        raw_leaves: Option<bool>,
    },
    /// Write a file's bytes to standard output.
    Read {
        /// Absolute MFS path of the file.
        path: String,
        /// Byte offset to start at.
        #[arg(short, long, default_value_t = 0)]
        offset: u64,
        /// Number of bytes to read at most.
        #[arg(short = 'n', long)]
        count: Option<u64>,
    },
    /// Remove files or directories (every path is tried; the first failure is reported at the end).
    Rm {
        /// Absolute MFS paths.
        #[arg(required = true)]
        paths: Vec<String>,
        /// Remove directories recursively.
        #[arg(short, long)]
        recursive: bool,
        /// Remove even a directory without -r.
        #[arg(long)]
        force: bool,
    },
    /// Copy an MFS path or an /ipfs/ path to a new MFS path.
    Cp {
        /// Source: MFS path or /ipfs/CID[/path].
        from: String,
        /// Destination MFS path (must not exist).
        to: String,
        /// Create missing parent directories.
        #[arg(short, long)]
        parents: bool,
    },
    /// Move or rename an MFS path.
    Mv {
        /// Source MFS path.
        from: String,
        /// Destination MFS path (an existing directory receives it).
        to: String,
    },
    /// Print the CID of an MFS path (changes are already durable).
    Flush {
        /// Absolute MFS path (default /).
        #[arg(default_value = "/")]
        path: String,
    },
    /// Rewrite a directory with another CID version.
    Chcid {
        /// Absolute MFS path of a directory (default /).
        #[arg(default_value = "/")]
        path: String,
        /// The CID version (0 or 1).
        #[arg(long)]
        cid_version: u8,
    },
}

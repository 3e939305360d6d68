use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{ErrorCode, Kit, OpError};

/// Groups of tools, named after the sections of the tool inventory; faces filter on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Toolset {
    /// IPFS core: add, cat, pins, blocks, DAGs, repo.
    IpfsCore,
    /// Operations that need a networked node.
    IpfsNetwork,
    /// The mutable filesystem.
    Mfs,
    /// The virtual filesystem.
    Vfs,
    /// Multi-backend storage.
    Mbfs,
    /// The operation journal.
    Journal,
    /// IPFS Cluster.
    Cluster,
    /// Daemon configuration.
    Config,
    /// Services and monitoring.
    Services,
    /// Retrieval, data and search.
    Retrieval,
}

impl Toolset {
    /// Every toolset, in display order.
    pub const ALL: [Toolset; 10] = [
        Toolset::IpfsCore,
        Toolset::IpfsNetwork,
        Toolset::Mfs,
        Toolset::Vfs,
        Toolset::Mbfs,
        Toolset::Journal,
        Toolset::Cluster,
        Toolset::Config,
        Toolset::Services,
        Toolset::Retrieval,
    ];

    /// The snake_case name used on the command line and in MCP.
    pub fn name(self) -> &'static str {
        match self {
            Toolset::IpfsCore => "ipfs_core",
            Toolset::IpfsNetwork => "ipfs_network",
            Toolset::Mfs => "mfs",
            Toolset::Vfs => "vfs",
            Toolset::Mbfs => "mbfs",
            Toolset::Journal => "journal",
            Toolset::Cluster => "cluster",
            Toolset::Config => "config",
            Toolset::Services => "services",
            Toolset::Retrieval => "retrieval",
        }
    }
}

/// Static description of an operation: what faces show and how they may expose it.
#[derive(Debug, Clone, Serialize)]
pub struct OpMeta {
    /// Short human title.
    pub title: &'static str,
    /// What it does, written for a model and a person.
    pub description: &'static str,
    /// The toolset it belongs to.
    pub toolset: Toolset,
    /// It changes nothing.
    pub read_only: bool,
    /// It may remove or overwrite data.
    pub destructive: bool,
    /// Repeating it with the same input has no further effect.
    pub idempotent: bool,
    /// It talks to something outside this machine's ipfs-kit state (a daemon, a network).
    pub open_world: bool,
    /// Older names that resolve to it.
    pub aliases: &'static [&'static str],
}

/// One unit of progress reported by a long operation.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Progress {
    /// Work done so far (bytes, blocks, …: see `unit`).
    pub done: u64,
    /// Total work when known.
    pub total: Option<u64>,
    /// What is counted: `bytes`, `blocks`, `pins`.
    pub unit: &'static str,
}

type ProgressFn = dyn Fn(&Progress) + Send + Sync;

/// A byte stream a face attaches to a call (CLI standard input, an HTTP request body).
pub type InputStream = Box<dyn std::io::Read + Send>;

/// Per-call context: progress reporting, cancellation, and an optional input stream.
#[derive(Clone, Default)]
pub struct OpContext {
    progress: Option<Arc<ProgressFn>>,
    cancel: Arc<AtomicBool>,
    stream: Arc<std::sync::Mutex<Option<InputStream>>>,
}

impl std::fmt::Debug for OpContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpContext")
            .field("progress", &self.progress.is_some())
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl OpContext {
    /// A context that reports progress to `f`.
    pub fn with_progress(f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        OpContext {
            progress: Some(Arc::new(f)),
            ..OpContext::default()
        }
    }

    /// Attach a byte stream for operations that read one (e.g. `ipfs_add` of standard input).
    pub fn with_stream(self, stream: InputStream) -> Self {
        if let Ok(mut s) = self.stream.lock() {
            *s = Some(stream);
        }
        self
    }

    /// Take the attached stream, if any (only the first caller gets it).
    pub fn take_stream(&self) -> Option<InputStream> {
        self.stream.lock().ok().and_then(|mut s| s.take())
    }

    /// Report progress (no-op when nobody listens).
    pub fn progress(&self, done: u64, total: Option<u64>, unit: &'static str) {
        if let Some(f) = &self.progress {
            f(&Progress { done, total, unit });
        }
    }

    /// Whether a progress listener is attached.
    pub fn wants_progress(&self) -> bool {
        self.progress.is_some()
    }

    /// Ask the operation to stop; it returns [`ErrorCode::Cancelled`] at its next check.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// Whether cancellation was requested.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    /// The flag itself, for blocking code that polls it.
    pub fn cancel_flag(&self) -> &AtomicBool {
        &self.cancel
    }

    /// The shared flag, for code that keeps its own handle.
    pub fn cancel_arc(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.cancel)
    }

    /// Error out when cancelled.
    pub fn check(&self) -> Result<(), OpError> {
        if self.is_cancelled() {
            Err(OpError::new(ErrorCode::Cancelled, "operation cancelled"))
        } else {
            Ok(())
        }
    }
}

/// A capability of ipfs-kit, defined once and exposed by every face.
pub trait Operation: Send + Sync + 'static {
    /// snake_case name, at most 40 characters, no dots (`ipfs_add`).
    const NAME: &'static str;
    /// Typed input.
    type Input: DeserializeOwned + JsonSchema + Send;
    /// Typed output.
    type Output: Serialize + JsonSchema + Send;
    /// Title, description, toolset and hints.
    fn meta(&self) -> OpMeta;
    /// Do it.
    fn run(
        &self,
        kit: &Kit,
        input: Self::Input,
        cx: &OpContext,
    ) -> impl Future<Output = Result<Self::Output, OpError>> + Send;
}

/// A boxed future returned by type-erased operations.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An [`Operation`] with its types erased to JSON, as the catalogue holds it.
pub trait DynOperation: Send + Sync {
    /// Its name.
    fn name(&self) -> &'static str;
    /// Its metadata.
    fn meta(&self) -> OpMeta;
    /// JSON Schema of the input (a plain object schema, no `$schema`).
    fn input_schema(&self) -> Value;
    /// JSON Schema of the output.
    fn output_schema(&self) -> Value;
    /// Run with a JSON input, giving a JSON output.
    fn call<'a>(
        &'a self,
        kit: &'a Kit,
        input: Value,
        cx: &'a OpContext,
    ) -> BoxFuture<'a, Result<Value, OpError>>;
}

impl<T: Operation> DynOperation for T {
    fn name(&self) -> &'static str {
        T::NAME
    }
    fn meta(&self) -> OpMeta {
        Operation::meta(self)
    }
    fn input_schema(&self) -> Value {
        object_schema::<T::Input>(true)
    }
    fn output_schema(&self) -> Value {
        object_schema::<T::Output>(false)
    }
    fn call<'a>(
        &'a self,
        kit: &'a Kit,
        input: Value,
        cx: &'a OpContext,
    ) -> BoxFuture<'a, Result<Value, OpError>> {
        Box::pin(async move {
            let input = if input.is_null() {
                Value::Object(Default::default())
            } else {
                input
            };
            let typed: T::Input = serde_json::from_value(input).map_err(|e| {
                OpError::invalid(format!("invalid input for {}: {e}", T::NAME))
                    .with("tool", T::NAME)
            })?;
            let out = self.run(kit, typed, cx).await?;
            serde_json::to_value(out).map_err(|e| {
                OpError::new(ErrorCode::Internal, format!("cannot serialise output: {e}"))
            })
        })
    }
}

/// A self-contained JSON Schema for `T`: subschemas inlined, no `$schema`, top-level `type: object`.
fn object_schema<T: JsonSchema>(for_input: bool) -> Value {
    let settings = schemars::generate::SchemaSettings::draft2020_12().with(|s| {
        s.inline_subschemas = true;
        s.meta_schema = None;
    });
    let settings = if for_input {
        settings.for_deserialize()
    } else {
        settings.for_serialize()
    };
    let schema = settings.into_generator().into_root_schema_for::<T>();
    let mut v = schema.to_value();
    if let Value::Object(m) = &mut v {
        m.remove("$schema");
        m.remove("title");
        m.insert("type".into(), Value::String("object".into()));
    }
    v
}

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use ipfs_kit_ops::{Catalogue, Kit, OpContext, OpError};
#[allow(deprecated)] // SetLevelRequestParams: logging is deprecated by SEP-2577
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CompleteRequestMethod,
    CompleteRequestParams, CompleteResult, ContentBlock, CustomRequest, CustomResult,
    GetPromptRequestParams, GetPromptResponse, Implementation, JsonObject, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ProgressNotificationParam, ProgressToken, ProtocolVersion, ReadResourceRequestParams,
    ReadResourceResponse, Resource, ServerCapabilities, ServerConfig, SetLevelRequestMethod,
    SetLevelRequestParams, SubscribeRequestMethod, SubscribeRequestParams, Tool, ToolAnnotations,
    UnsubscribeRequestMethod, UnsubscribeRequestParams,
};
use rmcp::service::{NotificationContext, RequestContext};
use rmcp::{ErrorData, Peer, RoleServer, ServerHandler, ServiceExt};
use serde_json::Value;

use crate::{CallError, Error, ToolFilter};

/// Protocol revisions this server speaks, oldest first. `initialize` negotiates the newest one
/// that has a handshake (2025-11-25); 2026-07-28 is served through per-request `_meta`.
pub const SUPPORTED_VERSIONS: &[ProtocolVersion] = &[
    ProtocolVersion::V_2025_03_26,
    ProtocolVersion::V_2025_06_18,
    ProtocolVersion::V_2025_11_25,
    ProtocolVersion::V_2026_07_28,
];

/// Text blocks longer than this are replaced by a summary (and a `resource_link` when the output
/// names a CID); the full output stays in `structuredContent`.
const TEXT_INLINE_MAX: usize = 64 * 1024;

/// Smallest interval between two progress notifications of one call.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// Progress notifications waiting to be sent for one call; more are dropped (progress is lossy).
const PROGRESS_QUEUE: usize = 8;

/// Most live sessions remembered for `notifications/tools/list_changed`.
const MAX_PEERS: usize = 1024;

/// The future an [`ExtraTool`] handler returns.
pub type ExtraToolFuture = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<CallToolResult, ErrorData>> + Send + 'static>,
>;

/// The handler of an [`ExtraTool`]: its arguments and the request context (peer, progress token,
/// cancellation).
pub type ExtraToolHandler =
    Arc<dyn Fn(JsonObject, RequestContext<RoleServer>) -> ExtraToolFuture + Send + Sync>;

/// A tool that is not an operation of the catalogue (the conformance fixtures). Never part of
/// the default tool list: only served when [`McpOptions::conformance_fixtures`] is on.
#[derive(Clone)]
pub struct ExtraTool {
    /// Its MCP definition (name, schemas, annotations).
    pub tool: Tool,
    /// What it does when called.
    pub handler: ExtraToolHandler,
}

impl std::fmt::Debug for ExtraTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtraTool")
            .field("name", &self.tool.name)
            .finish()
    }
}

/// How an [`McpServer`] is set up.
#[derive(Debug, Clone)]
pub struct McpOptions {
    /// Which tools are exposed.
    pub filter: ToolFilter,
    /// Serve the conformance fixture tools as well (hidden flag, off by default).
    pub conformance_fixtures: bool,
    /// Tools per `tools/list` page.
    pub page_size: usize,
}

impl Default for McpOptions {
    fn default() -> Self {
        McpOptions {
            filter: ToolFilter::all(),
            conformance_fixtures: false,
            page_size: 500,
        }
    }
}

/// The MCP server: rmcp's `ServerHandler` over the operation catalogue. Cheap to clone; clones
/// share the filter, the sessions and the counters (one clone per HTTP session).
#[derive(Clone)]
pub struct McpServer {
    shared: Arc<Shared>,
}

struct Shared {
    kit: Kit,
    catalogue: Catalogue,
    fixtures: bool,
    extras: Vec<ExtraTool>,
    subscriptions: crate::conformance::Subscriptions,
    page_size: usize,
    filter: RwLock<ToolFilter>,
    /// The visible tools, in name order; rebuilt when the filter changes.
    tools: RwLock<Arc<Vec<Tool>>>,
    peers: Mutex<Vec<Peer<RoleServer>>>,
    in_flight: AtomicUsize,
}

impl std::fmt::Debug for McpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServer")
            .field("tools", &self.tools().len())
            .field("in_flight", &self.calls_in_flight())
            .finish()
    }
}

impl McpServer {
    /// A server over `catalogue`, running operations against `kit`.
    pub fn new(kit: Kit, catalogue: Catalogue, options: McpOptions) -> Self {
        let fixtures = options.conformance_fixtures;
        let extras = if fixtures {
            crate::conformance::fixture_tools()
        } else {
            Vec::new()
        };
        let tools = build_tools(&catalogue, &extras, &options.filter);
        McpServer {
            shared: Arc::new(Shared {
                kit,
                catalogue,
                fixtures,
                extras,
                subscriptions: Default::default(),
                page_size: options.page_size.max(1),
                filter: RwLock::new(options.filter),
                tools: RwLock::new(Arc::new(tools)),
                peers: Mutex::new(Vec::new()),
                in_flight: AtomicUsize::new(0),
            }),
        }
    }

    /// The kit operations run against.
    pub fn kit(&self) -> &Kit {
        &self.shared.kit
    }

    /// The catalogue the tools come from.
    pub fn catalogue(&self) -> &Catalogue {
        &self.shared.catalogue
    }

    /// The current filter.
    pub fn filter(&self) -> ToolFilter {
        self.shared
            .filter
            .read()
            .map(|f| f.clone())
            .unwrap_or_default()
    }

    /// The visible tools, in the order `tools/list` gives them.
    pub fn tools(&self) -> Arc<Vec<Tool>> {
        self.shared
            .tools
            .read()
            .map(|t| Arc::clone(&t))
            .unwrap_or_default()
    }

    /// Replace the filter. When the set of visible tools changes, every connected session gets
    /// `notifications/tools/list_changed`. Returns whether it changed.
    pub async fn set_filter(&self, filter: ToolFilter) -> bool {
        let tools = build_tools(&self.shared.catalogue, &self.shared.extras, &filter);
        let changed = {
            let mut current = match self.shared.tools.write() {
                Ok(t) => t,
                Err(poisoned) => poisoned.into_inner(),
            };
            let changed = **current != tools;
            *current = Arc::new(tools);
            changed
        };
        if let Ok(mut f) = self.shared.filter.write() {
            *f = filter;
        }
        if changed {
            let peers: Vec<_> = match self.shared.peers.lock() {
                Ok(mut peers) => {
                    peers.retain(|p| !p.is_transport_closed());
                    peers.clone()
                }
                Err(_) => Vec::new(),
            };
            for peer in peers {
                if let Err(e) = peer.notify_tool_list_changed().await {
                    tracing::debug!(error = %e, "could not send tools/list_changed");
                }
            }
        }
        changed
    }

    /// Tool calls running now.
    pub fn calls_in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    /// Descriptions of the visible catalogue operations (what `GET /api/tools` lists).
    pub fn describe(&self) -> Vec<ipfs_kit_ops::ToolInfo> {
        let filter = self.filter();
        self.shared
            .catalogue
            .describe(None, false)
            .into_iter()
            .filter(|t| filter.allows(t.name, &t.meta))
            .collect()
    }

    /// Run a visible catalogue operation (by name or alias) with a JSON input: what REST calls.
    pub async fn call(&self, name: &str, input: Value, cx: &OpContext) -> Result<Value, CallError> {
        let op = self.visible_op(name)?;
        let _guard = InFlight::enter(&self.shared.in_flight);
        Ok(op.call(&self.shared.kit, input, cx).await?)
    }

    fn visible_op(&self, name: &str) -> Result<Arc<dyn ipfs_kit_ops::DynOperation>, CallError> {
        let op = self
            .shared
            .catalogue
            .get(name)
            .ok_or_else(|| CallError::UnknownTool(name.to_string()))?;
        if self.filter().allows(op.name(), &op.meta()) {
            Ok(Arc::clone(op))
        } else {
            Err(CallError::UnknownTool(name.to_string()))
        }
    }

    /// The extra tool `name`, when it is served.
    fn visible_extra(&self, name: &str) -> Option<ExtraTool> {
        if self.shared.catalogue.get(name).is_some() || !self.tools().iter().any(|t| t.name == name)
        {
            return None;
        }
        self.shared
            .extras
            .iter()
            .find(|e| e.tool.name == name)
            .cloned()
    }

    async fn call_catalogue(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
        context: &RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let op = match self.visible_op(name) {
            Ok(op) => op,
            Err(e) => return Err(ErrorData::invalid_params(e.to_string(), None)),
        };
        let input = Value::Object(arguments.unwrap_or_default());
        let (cx, forwarder) = match context.meta.get_progress_token() {
            Some(token) => progress_context(token, context.peer.clone()),
            None => (OpContext::default(), None),
        };
        let _guard = InFlight::enter(&self.shared.in_flight);
        let kit = self.shared.kit.clone();
        let result = {
            let run = op.call(&kit, input, &cx);
            tokio::pin!(run);
            tokio::select! {
                r = &mut run => r,
                () = context.ct.cancelled() => {
                    // The operation notices at its next check and returns CANCELLED; wait for it
                    // so nothing keeps running after the call is gone.
                    cx.cancel();
                    run.await
                }
            }
        };
        drop(cx);
        if let Some(f) = forwarder {
            // The forwarder ends once every sender is gone; bounded wait for the last updates.
            let _ = tokio::time::timeout(Duration::from_secs(1), f).await;
        }
        Ok(match result {
            Ok(out) => success_result(out),
            Err(e) => error_result(&e),
        })
    }
}

struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn enter(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        InFlight(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An OpContext whose progress goes out as `notifications/progress` with `token`, through a
/// bounded queue drained by a task (the callback runs on worker threads and must not block).
fn progress_context(
    token: ProgressToken,
    peer: Peer<RoleServer>,
) -> (OpContext, Option<tokio::task::JoinHandle<()>>) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<ipfs_kit_ops::Progress>(PROGRESS_QUEUE);
    let last = Mutex::new(None::<Instant>);
    let cx = OpContext::with_progress(move |p| {
        let due = match last.lock() {
            Ok(mut last) => {
                let finished = p.total.is_some_and(|t| p.done >= t);
                let due = finished || last.is_none_or(|l| l.elapsed() >= PROGRESS_INTERVAL);
                if due {
                    *last = Some(Instant::now());
                }
                due
            }
            Err(_) => false,
        };
        if due {
            let _ = tx.try_send(p.clone());
        }
    });
    let forwarder = tokio::spawn(async move {
        let mut sent = None::<u64>;
        while let Some(p) = rx.recv().await {
            // MCP requires progress to increase.
            if sent.is_some_and(|s| p.done <= s) {
                continue;
            }
            sent = Some(p.done);
            let mut param =
                ProgressNotificationParam::new(token.clone(), p.done as f64).with_message(p.unit);
            if let Some(total) = p.total {
                param = param.with_total(total as f64);
            }
            if let Err(e) = peer.notify_progress(param).await {
                tracing::debug!(error = %e, "could not send progress");
                break;
            }
        }
    });
    (cx, Some(forwarder))
}

/// A successful call: the output as `structuredContent` and as a text block.
fn success_result(out: Value) -> CallToolResult {
    let text = out.to_string();
    let mut content = Vec::new();
    if text.len() <= TEXT_INLINE_MAX {
        content.push(ContentBlock::text(text));
    } else {
        content.push(ContentBlock::text(format!(
            "The output is {} bytes of JSON; it is given in full as structured content.",
            text.len()
        )));
        if let Some(cid) = out.get("cid").and_then(Value::as_str) {
            content.push(ContentBlock::resource_link(
                Resource::new(format!("ipfs://{cid}"), cid.to_string())
                    .with_description("The content this output describes"),
            ));
        }
    }
    let mut result = CallToolResult::success(content);
    result.structured_content = Some(out);
    result
}

/// A failed call: `isError`, the catalogue's error JSON as `structuredContent`, readable text.
pub(crate) fn error_result(e: &OpError) -> CallToolResult {
    let json = e.to_json();
    let code = json["error_code"]
        .as_str()
        .unwrap_or("INTERNAL")
        .to_string();
    let mut text = format!("{code}: {}", e.message);
    if !e.context.is_empty() {
        text.push_str(&format!(" ({})", Value::Object(e.context.clone())));
    }
    let mut result = CallToolResult::error(vec![ContentBlock::text(text)]);
    result.structured_content = Some(json);
    result
}

/// The visible tools in name order: catalogue operations and extras together.
fn build_tools(catalogue: &Catalogue, extras: &[ExtraTool], filter: &ToolFilter) -> Vec<Tool> {
    let mut tools: Vec<Tool> = catalogue
        .iter()
        .filter(|op| filter.allows(op.name(), &op.meta()))
        .map(|op| {
            let meta = op.meta();
            let annotations = ToolAnnotations::with_title(meta.title)
                .read_only(meta.read_only)
                .destructive(meta.destructive)
                .idempotent(meta.idempotent)
                .open_world(meta.open_world);
            let mut tool = Tool::new(
                op.name(),
                meta.description,
                Arc::new(as_object(op.input_schema())),
            )
            .with_title(meta.title)
            .with_raw_output_schema(Arc::new(as_object(op.output_schema())))
            .with_annotations(annotations);
            if !meta.aliases.is_empty() {
                let mut m = rmcp::model::MetaObject::new();
                m.insert(
                    "io.ipfs-kit/aliases".into(),
                    Value::from(meta.aliases.to_vec()),
                );
                tool = tool.with_meta(m);
            }
            tool
        })
        .collect();
    // The catalogue iterates in name order; fixtures follow, in their own fixed order.
    for t in extras.iter().map(|e| &e.tool) {
        {
            let read_only = t
                .annotations
                .as_ref()
                .and_then(|a| a.read_only_hint)
                .unwrap_or(false);
            if filter.allows_extra(&t.name, read_only) && catalogue.get(&t.name).is_none() {
                tools.push(t.clone());
            }
        }
    }
    tools
}

fn as_object(v: Value) -> JsonObject {
    match v {
        Value::Object(m) => m,
        _ => {
            let mut m = JsonObject::new();
            m.insert("type".into(), Value::from("object"));
            m
        }
    }
}

const INSTRUCTIONS: &str = "ipfs-kit: an embedded IPFS node whose CIDs match Kubo's. Add content with \
ipfs_add (inline `content` or local `paths`), read it with ipfs_cat (bounded byte ranges) or ipfs_ls, \
pin with ipfs_pin_add. Errors come back as structured JSON with an `error_code`. Resources: \
ipfs://{cid}{/path} reads files and directory listings. Prompts describe common workflows.";

#[allow(deprecated)] // logging and resources/subscribe serve the 2025 conformance scenarios
impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        let capabilities = if self.shared.fixtures {
            ServerCapabilities::builder()
                .enable_logging()
                .enable_completions()
                .enable_prompts()
                .enable_resources()
                .enable_resources_subscribe()
                .enable_tools()
                .enable_tool_list_changed()
                .build()
        } else {
            ServerCapabilities::builder()
                .enable_prompts()
                .enable_resources()
                .enable_tools()
                .enable_tool_list_changed()
                .build()
        };
        ServerConfig::new(capabilities)
            .with_protocol_version(ProtocolVersion::V_2025_11_25)
            .with_server_info(
                Implementation::new("ipfs-kit", env!("CARGO_PKG_VERSION")).with_title("ipfs-kit"),
            )
            .with_instructions(INSTRUCTIONS)
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(SUPPORTED_VERSIONS)
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        if let Ok(mut peers) = self.shared.peers.lock() {
            peers.retain(|p| !p.is_transport_closed());
            if peers.len() < MAX_PEERS {
                peers.push(context.peer);
            } else {
                tracing::warn!("too many MCP sessions; this one gets no tools/list_changed");
            }
        }
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let tools = self.tools();
        let start = match request.and_then(|r| r.cursor) {
            None => 0,
            Some(cursor) => {
                let after = cursor.strip_prefix("after:").ok_or_else(|| {
                    ErrorData::invalid_params(format!("invalid cursor {cursor:?}"), None)
                })?;
                // A cursor names the last tool of the previous page; if that tool is gone the
                // list changed (the client got tools/list_changed) and must start again.
                tools
                    .iter()
                    .position(|t| t.name == after)
                    .map(|i| i + 1)
                    .ok_or_else(|| {
                        ErrorData::invalid_params(
                            format!("stale cursor {cursor:?}: the tool list changed, list again"),
                            None,
                        )
                    })?
            }
        };
        let page: Vec<Tool> = tools
            .iter()
            .skip(start)
            .take(self.shared.page_size)
            .cloned()
            .collect();
        let next_cursor = if start + page.len() < tools.len() {
            page.last().map(|t| format!("after:{}", t.name))
        } else {
            None
        };
        let mut result = ListToolsResult::with_all_items(page);
        result.next_cursor = next_cursor;
        Ok(result)
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools().iter().find(|t| t.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if let Some(extra) = self.visible_extra(&request.name) {
            let _guard = InFlight::enter(&self.shared.in_flight);
            return (extra.handler)(request.arguments.unwrap_or_default(), context)
                .await
                .map(Into::into);
        }
        self.call_catalogue(&request.name, request.arguments, &context)
            .await
            .map(Into::into)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let mut result = crate::resources::list(self.kit()).await?;
        if self.shared.fixtures {
            result.resources.extend(crate::conformance::resources());
        }
        Ok(result)
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let mut result = crate::resources::templates();
        if self.shared.fixtures {
            result
                .resource_templates
                .extend(crate::conformance::resource_templates());
        }
        Ok(result)
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        if self.shared.fixtures
            && let Some(r) = crate::conformance::read_resource(&request.uri)
        {
            return r.map(Into::into);
        }
        crate::resources::read(self, &request.uri)
            .await
            .map(Into::into)
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let mut result = crate::prompts::list();
        if self.shared.fixtures {
            result.prompts.extend(crate::conformance::prompts());
        }
        Ok(result)
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        if self.shared.fixtures
            && let Some(r) =
                crate::conformance::get_prompt(&request.name, request.arguments.as_ref())
        {
            return r.map(Into::into);
        }
        crate::prompts::get(&request.name, request.arguments.as_ref()).map(Into::into)
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        if !self.shared.fixtures {
            return Err(ErrorData::method_not_found::<SubscribeRequestMethod>());
        }
        self.shared
            .subscriptions
            .subscribe(&request.uri, &context.peer)
            .await
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        if !self.shared.fixtures {
            return Err(ErrorData::method_not_found::<UnsubscribeRequestMethod>());
        }
        self.shared
            .subscriptions
            .unsubscribe(&request.uri, &context.peer)
            .await
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        if !self.shared.fixtures {
            return Err(ErrorData::method_not_found::<SetLevelRequestMethod>());
        }
        let level = serde_json::to_value(request.level)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        crate::conformance::set_level(&level, &context.peer).await
    }

    /// rmcp decodes a request whose params do not fit the method's type as a custom request; for
    /// the spec's own methods that is an invalid-params error (-32602), not an unknown method.
    async fn on_custom_request(
        &self,
        request: CustomRequest,
        _context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, ErrorData> {
        const SPEC_METHODS: &[&str] = &[
            "initialize",
            "ping",
            "server/discover",
            "tools/list",
            "tools/call",
            "resources/list",
            "resources/templates/list",
            "resources/read",
            "resources/subscribe",
            "resources/unsubscribe",
            "prompts/list",
            "prompts/get",
            "logging/setLevel",
            "completion/complete",
        ];
        if SPEC_METHODS.contains(&request.method.as_str()) {
            Err(ErrorData::invalid_params(
                format!("invalid params for {}", request.method),
                None,
            ))
        } else {
            Err(ErrorData::new(
                rmcp::model::ErrorCode::METHOD_NOT_FOUND,
                request.method,
                None,
            ))
        }
    }

    async fn complete(
        &self,
        _request: CompleteRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        if !self.shared.fixtures {
            return Err(ErrorData::method_not_found::<CompleteRequestMethod>());
        }
        crate::conformance::complete()
    }
}

/// Serve MCP over this process's stdin/stdout until the client closes stdin. Stdout carries
/// JSON-RPC only: log through `tracing` to stderr.
pub async fn serve_stdio(server: McpServer) -> Result<(), Error> {
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| Error::Init(e.to_string()))?;
    running
        .waiting()
        .await
        .map_err(|e| Error::Task(e.to_string()))?;
    Ok(())
}

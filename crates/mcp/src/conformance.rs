//! Fixtures the official MCP conformance suite (npm `@modelcontextprotocol/conformance`, the version pinned in
//! tests/mcp/package.json) calls by name: tools `test_*` and `json_schema_2020_12_tool`, resources `test://…`,
//! prompts `test_*`, plus the logging, subscription and completion answers its scenarios expect. They do what
//! the suite's reference server does (real notifications, real server-to-client requests), and exist only
//! behind the hidden `ipfs-kit mcp --conformance-fixtures` flag: never in the default tool set.
//!
//! Contract with the server handler (crates/mcp/src/server.rs; kept here so both sides read one text), each
//! only when `conformance_fixtures` is on:
//! - tools: [`fixture_tools`] gives [`ExtraTool`]s, listed with the catalogue's tools and called by name;
//! - `resources/list` appends [`resources`]; `resources/templates/list` appends [`resource_templates`];
//!   `resources/read` tries [`read_resource`] first (`None` for any URI that is not `test://`);
//! - `prompts/list` appends [`prompts`]; `prompts/get` tries [`get_prompt`] first (`None` for other names);
//! - `resources/subscribe` / `resources/unsubscribe` go to one [`Subscriptions`]; `logging/setLevel` to
//!   [`set_level`]; `completion/complete` to [`complete`];
//! - the capabilities add `logging`, `completions` and `resources.subscribe`.
#![allow(deprecated)]
// sampling, elicitation and logging are what the 2025-11-25 scenarios exercise

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{
    CallToolResult, ClientResult, CompleteResult, GetPromptResult, JsonObject,
    LoggingMessageNotificationParam, ProgressNotificationParam, Prompt, ReadResourceResult,
    Resource, ResourceTemplate, ServerRequest, Tool,
};
use rmcp::service::{Peer, RequestContext};
use rmcp::{ErrorData, RoleServer};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::{ExtraTool, ExtraToolHandler};

/// A 1×1 red PNG, as the suite's reference server sends.
const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
/// A minimal WAV file.
const WAV_TINY: &str = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";
/// At most this many subscribed URIs are remembered.
const MAX_SUBSCRIPTIONS: usize = 1024;
/// How long a server-to-client request (sampling, elicitation) may wait for the client.
const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A complete result (`resultType: "complete"`, which 2026-07-28 requires; rmcp strips it for older peers).
fn complete_result<T: DeserializeOwned>(mut v: Value) -> Result<T, ErrorData> {
    if let Value::Object(m) = &mut v {
        m.insert("resultType".into(), json!("complete"));
    }
    wire(v)
}

/// Build an rmcp type from its wire JSON: the fixtures are written exactly as the spec shows them.
fn wire<T: DeserializeOwned>(v: Value) -> Result<T, ErrorData> {
    serde_json::from_value(v)
        .map_err(|e| ErrorData::internal_error(format!("conformance fixture: {e}"), None))
}

fn empty_object() -> Value {
    json!({"type": "object", "properties": {}})
}

/// The fixture tools, in a fixed order.
pub(crate) fn tools() -> Vec<Tool> {
    let mut out = Vec::new();
    let plain = [
        ("test_simple_text", "Tests simple text content response"),
        ("test_image_content", "Tests image content response"),
        ("test_audio_content", "Tests audio content response"),
        (
            "test_embedded_resource",
            "Tests embedded resource content response",
        ),
        (
            "test_multiple_content_types",
            "Tests response with multiple content types (text, image, resource)",
        ),
        (
            "test_tool_with_logging",
            "Tests tool that emits log messages during execution",
        ),
        (
            "test_tool_with_progress",
            "Tests tool that reports progress notifications",
        ),
        ("test_error_handling", "Tests error response handling"),
        (
            "test_reconnection",
            "Tests SSE stream disconnection and client reconnection (SEP-1699)",
        ),
        (
            "test_elicitation_sep1034_defaults",
            "Tests elicitation with default values per SEP-1034",
        ),
        (
            "test_elicitation_sep1330_enums",
            "Tests elicitation with enum schemas per SEP-1330",
        ),
    ];
    for (name, description) in plain {
        out.push(json!({"name": name, "description": description, "inputSchema": empty_object()}));
    }
    out.push(json!({
        "name": "test_sampling",
        "description": "Tests server-initiated sampling (LLM completion request)",
        "inputSchema": {"type": "object", "properties": {
            "prompt": {"type": "string", "description": "The prompt to send to the LLM"}}, "required": ["prompt"]},
    }));
    out.push(json!({
        "name": "test_elicitation",
        "description": "Tests server-initiated elicitation (user input request)",
        "inputSchema": {"type": "object", "properties": {
            "message": {"type": "string", "description": "The message to show the user"}}, "required": ["message"]},
    }));
    // SEP-1613: the schema must reach the client with $schema, $defs and additionalProperties intact.
    out.push(json!({
        "name": "json_schema_2020_12_tool",
        "description": "Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)",
        "inputSchema": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "$defs": {"address": {"type": "object", "properties": {
                "street": {"type": "string"}, "city": {"type": "string"}}}},
            "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"}},
            "additionalProperties": false,
        },
    }));
    out.into_iter().filter_map(|v| wire(v).ok()).collect()
}

/// The fixture tools as the server serves them behind `--conformance-fixtures`.
pub(crate) fn fixture_tools() -> Vec<ExtraTool> {
    tools()
        .into_iter()
        .map(|tool| {
            let name = tool.name.to_string();
            let handler: ExtraToolHandler = Arc::new(move |args, cx| {
                let name = name.clone();
                Box::pin(async move {
                    call_tool(&name, Some(&args), &cx).await.unwrap_or_else(|| {
                        Err(ErrorData::internal_error(
                            format!("fixture {name} has no implementation"),
                            None,
                        ))
                    })
                })
            });
            ExtraTool { tool, handler }
        })
        .collect()
}

fn text_result(text: impl Into<String>) -> Result<CallToolResult, ErrorData> {
    complete_result(json!({"content": [{"type": "text", "text": text.into()}]}))
}

async fn log(peer: &Peer<RoleServer>, level: &str, data: Value) {
    if let Ok(param) = wire::<LoggingMessageNotificationParam>(
        json!({"level": level, "logger": "conformance-test-server", "data": data}),
    ) {
        // A client that went away is not the tool's failure.
        let _ = peer.notify_logging_message(param).await;
    }
}

/// Send a server-to-client request given as wire JSON, bounded in time.
async fn ask_client(peer: &Peer<RoleServer>, request: Value) -> Result<Value, String> {
    let request: ServerRequest = wire(request).map_err(|e| e.message.to_string())?;
    match tokio::time::timeout(CLIENT_REQUEST_TIMEOUT, peer.send_request(request)).await {
        Err(_) => Err("the client did not answer in time".into()),
        Ok(Err(e)) => Err(e.to_string()),
        Ok(Ok(result)) => serde_json::to_value::<ClientResult>(result).map_err(|e| e.to_string()),
    }
}

/// Run a fixture tool; `None` when `name` is not one (the caller goes on to the catalogue).
pub(crate) async fn call_tool(
    name: &str,
    args: Option<&JsonObject>,
    cx: &RequestContext<RoleServer>,
) -> Option<Result<CallToolResult, ErrorData>> {
    let arg = |k: &str| {
        args.and_then(|a| a.get(k))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let result = match name {
        "test_simple_text" => text_result("This is a simple text response for testing."),
        "test_image_content" => complete_result(
            json!({"content": [{"type": "image", "data": PNG_1X1, "mimeType": "image/png"}]}),
        ),
        "test_audio_content" => complete_result(
            json!({"content": [{"type": "audio", "data": WAV_TINY, "mimeType": "audio/wav"}]}),
        ),
        "test_embedded_resource" => {
            complete_result(json!({"content": [{"type": "resource", "resource": {
            "uri": "test://embedded-resource", "mimeType": "text/plain",
            "text": "This is an embedded resource content."}}]}))
        }
        "test_multiple_content_types" => complete_result(json!({"content": [
            {"type": "text", "text": "Multiple content types test:"},
            {"type": "image", "data": PNG_1X1, "mimeType": "image/png"},
            {"type": "resource", "resource": {"uri": "test://mixed-content-resource",
                "mimeType": "application/json", "text": "{\"test\":\"data\",\"value\":123}"}},
        ]})),
        "test_tool_with_logging" => {
            log(&cx.peer, "info", json!("Tool execution started")).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            log(&cx.peer, "info", json!("Tool processing data")).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            log(&cx.peer, "info", json!("Tool execution completed")).await;
            text_result("Tool with logging executed successfully")
        }
        "test_tool_with_progress" => {
            let token = cx.meta.get_progress_token();
            for step in [0, 50, 100] {
                if let Some(token) = &token
                    && let Ok(p) = wire::<ProgressNotificationParam>(json!({
                        "progressToken": token, "progress": step, "total": 100,
                        "message": format!("Completed step {step} of 100")}))
                {
                    let _ = cx.peer.notify_progress(p).await;
                }
                if step < 100 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            let shown = token
                .and_then(|t| serde_json::to_value(t).ok())
                .map(|v| match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                })
                .unwrap_or_else(|| "no progress token".into());
            text_result(shown)
        }
        "test_error_handling" => {
            complete_result(json!({"isError": true, "content": [{"type": "text",
            "text": "This tool intentionally returns an error for testing"}]}))
        }
        "test_reconnection" => {
            // rmcp gives a handler no way to close its own SSE stream mid-call; the result simply follows.
            tokio::time::sleep(Duration::from_millis(100)).await;
            text_result(
                "Reconnection test completed successfully. If you received this, the client properly \
                 reconnected after stream closure.",
            )
        }
        "test_sampling" => {
            let asked = ask_client(
                &cx.peer,
                json!({"method": "sampling/createMessage", "params": {
                "messages": [{"role": "user", "content": {"type": "text", "text": arg("prompt")}}],
                "maxTokens": 100}}),
            )
            .await;
            match asked {
                Ok(v) => {
                    let text = v["content"]["text"].as_str().unwrap_or("No response");
                    text_result(format!("LLM response: {text}"))
                }
                Err(e) => text_result(format!("Sampling not supported or error: {e}")),
            }
        }
        "test_elicitation" => {
            let asked = ask_client(&cx.peer, json!({"method": "elicitation/create", "params": {
                "message": arg("message"),
                "requestedSchema": {"type": "object", "properties": {
                    "response": {"type": "string", "description": "User's response"}}, "required": ["response"]}}}))
            .await;
            match asked {
                Ok(v) => text_result(format!(
                    "User response: action={}, content={}",
                    v["action"].as_str().unwrap_or(""),
                    v.get("content").cloned().unwrap_or(json!({}))
                )),
                Err(e) => text_result(format!("Elicitation not supported or error: {e}")),
            }
        }
        "test_elicitation_sep1034_defaults" => {
            let asked = ask_client(&cx.peer, json!({"method": "elicitation/create", "params": {
                "message": "Please review and update the form fields with defaults",
                "requestedSchema": {"type": "object", "properties": {
                    "name": {"type": "string", "description": "User name", "default": "John Doe"},
                    "age": {"type": "integer", "description": "User age", "default": 30},
                    "score": {"type": "number", "description": "User score", "default": 95.5},
                    "status": {"type": "string", "description": "User status",
                        "enum": ["active", "inactive", "pending"], "default": "active"},
                    "verified": {"type": "boolean", "description": "Verification status", "default": true}},
                    "required": []}}}))
            .await;
            elicitation_outcome(asked)
        }
        "test_elicitation_sep1330_enums" => {
            let asked = ask_client(&cx.peer, json!({"method": "elicitation/create", "params": {
                "message": "Please select options from the enum fields",
                "requestedSchema": {"type": "object", "properties": {
                    "untitledSingle": {"type": "string", "description": "Select one option",
                        "enum": ["option1", "option2", "option3"]},
                    "titledSingle": {"type": "string", "description": "Select one option with titles",
                        "oneOf": [{"const": "value1", "title": "First Option"},
                                  {"const": "value2", "title": "Second Option"},
                                  {"const": "value3", "title": "Third Option"}]},
                    "legacyEnum": {"type": "string", "description": "Select one option (legacy)",
                        "enum": ["opt1", "opt2", "opt3"],
                        "enumNames": ["Option One", "Option Two", "Option Three"]},
                    "untitledMulti": {"type": "array", "description": "Select multiple options",
                        "minItems": 1, "maxItems": 3,
                        "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
                    "titledMulti": {"type": "array", "description": "Select multiple options with titles",
                        "minItems": 1, "maxItems": 3,
                        "items": {"anyOf": [{"const": "value1", "title": "First Choice"},
                                            {"const": "value2", "title": "Second Choice"},
                                            {"const": "value3", "title": "Third Choice"}]}}},
                    "required": []}}}))
            .await;
            elicitation_outcome(asked)
        }
        "json_schema_2020_12_tool" => text_result(format!(
            "JSON Schema 2020-12 tool called with: {}",
            args.map(|a| Value::Object(a.clone())).unwrap_or(json!({}))
        )),
        _ => return None,
    };
    Some(result)
}

fn elicitation_outcome(asked: Result<Value, String>) -> Result<CallToolResult, ErrorData> {
    match asked {
        Ok(v) => text_result(format!(
            "Elicitation completed: action={}, content={}",
            v["action"].as_str().unwrap_or(""),
            v.get("content").cloned().unwrap_or(json!({}))
        )),
        Err(e) => text_result(format!("Elicitation not supported or error: {e}")),
    }
}

/// The fixture resources.
pub(crate) fn resources() -> Vec<Resource> {
    [
        json!({"uri": "test://static-text", "name": "static-text", "title": "Static Text Resource",
               "description": "A static text resource for testing", "mimeType": "text/plain"}),
        json!({"uri": "test://static-binary", "name": "static-binary", "title": "Static Binary Resource",
               "description": "A static binary resource (image) for testing", "mimeType": "image/png"}),
        json!({"uri": "test://watched-resource", "name": "watched-resource", "title": "Watched Resource",
               "description": "A resource clients may subscribe to", "mimeType": "text/plain"}),
    ]
    .into_iter()
    .filter_map(|v| wire(v).ok())
    .collect()
}

/// The fixture resource templates.
pub(crate) fn resource_templates() -> Vec<ResourceTemplate> {
    wire(json!({"uriTemplate": "test://template/{id}/data", "name": "template",
                "title": "Resource Template", "description": "A resource template with parameter substitution",
                "mimeType": "application/json"}))
    .into_iter()
    .collect()
}

/// Read a fixture resource; `None` for any URI that is not `test://`.
pub(crate) fn read_resource(uri: &str) -> Option<Result<ReadResourceResult, ErrorData>> {
    let rest = uri.strip_prefix("test://")?;
    let contents = match rest {
        "static-text" => json!({"uri": uri, "mimeType": "text/plain",
                                "text": "This is the content of the static text resource."}),
        "static-binary" => json!({"uri": uri, "mimeType": "image/png", "blob": PNG_1X1}),
        "watched-resource" => {
            json!({"uri": uri, "mimeType": "text/plain", "text": "Watched resource content"})
        }
        _ => match rest
            .strip_prefix("template/")
            .and_then(|r| r.strip_suffix("/data"))
            .filter(|id| !id.is_empty() && !id.contains('/'))
        {
            Some(id) => json!({"uri": uri, "mimeType": "application/json", "text": json!({
                "id": id, "templateTest": true, "data": format!("Data for ID: {id}")}).to_string()}),
            None => {
                return Some(Err(ErrorData::resource_not_found(
                    format!("no such resource: {uri}"),
                    Some(json!({"uri": uri})),
                )));
            }
        },
    };
    Some(complete_result(json!({"contents": [contents]})))
}

/// The fixture prompts.
pub(crate) fn prompts() -> Vec<Prompt> {
    [
        json!({"name": "test_simple_prompt", "title": "Simple Test Prompt",
               "description": "A simple prompt without arguments"}),
        json!({"name": "test_prompt_with_arguments", "title": "Prompt With Arguments",
               "description": "A prompt with required arguments", "arguments": [
                   {"name": "arg1", "description": "First test argument", "required": true},
                   {"name": "arg2", "description": "Second test argument", "required": true}]}),
        json!({"name": "test_prompt_with_embedded_resource", "title": "Prompt With Embedded Resource",
               "description": "A prompt that includes an embedded resource", "arguments": [
                   {"name": "resourceUri", "description": "URI of the resource to embed", "required": true}]}),
        json!({"name": "test_prompt_with_image", "title": "Prompt With Image",
               "description": "A prompt that includes image content"}),
    ]
    .into_iter()
    .filter_map(|v| wire(v).ok())
    .collect()
}

/// Render a fixture prompt; `None` when `name` is not one.
pub(crate) fn get_prompt(
    name: &str,
    args: Option<&JsonObject>,
) -> Option<Result<GetPromptResult, ErrorData>> {
    let arg = |k: &str| -> Result<String, ErrorData> {
        args.and_then(|a| a.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| ErrorData::invalid_params(format!("missing argument {k}"), None))
    };
    let messages = match name {
        "test_simple_prompt" => json!([{"role": "user", "content": {"type": "text",
            "text": "This is a simple prompt for testing."}}]),
        "test_prompt_with_arguments" => {
            let (a1, a2) = match (arg("arg1"), arg("arg2")) {
                (Ok(a1), Ok(a2)) => (a1, a2),
                (Err(e), _) | (_, Err(e)) => return Some(Err(e)),
            };
            json!([{"role": "user", "content": {"type": "text",
                "text": format!("Prompt with arguments: arg1='{a1}', arg2='{a2}'")}}])
        }
        "test_prompt_with_embedded_resource" => {
            let uri = match arg("resourceUri") {
                Ok(u) => u,
                Err(e) => return Some(Err(e)),
            };
            json!([
                {"role": "user", "content": {"type": "resource", "resource": {"uri": uri,
                    "mimeType": "text/plain", "text": "Embedded resource content for testing."}}},
                {"role": "user", "content": {"type": "text", "text": "Please process the embedded resource above."}},
            ])
        }
        "test_prompt_with_image" => json!([
            {"role": "user", "content": {"type": "image", "data": PNG_1X1, "mimeType": "image/png"}},
            {"role": "user", "content": {"type": "text", "text": "Please analyze the image above."}},
        ]),
        _ => return None,
    };
    Some(complete_result(json!({"messages": messages})))
}

/// Resource subscriptions of one server (bounded).
#[derive(Debug, Default)]
pub(crate) struct Subscriptions {
    uris: Mutex<BTreeSet<String>>,
}

impl Subscriptions {
    /// Remember `uri` and log it to the client, as the reference server does.
    pub(crate) async fn subscribe(
        &self,
        uri: &str,
        peer: &Peer<RoleServer>,
    ) -> Result<(), ErrorData> {
        {
            let mut uris = self.uris.lock().unwrap_or_else(|e| e.into_inner());
            if uris.len() >= MAX_SUBSCRIPTIONS && !uris.contains(uri) {
                return Err(ErrorData::invalid_params(
                    format!("at most {MAX_SUBSCRIPTIONS} subscriptions"),
                    None,
                ));
            }
            uris.insert(uri.to_string());
        }
        log(
            peer,
            "info",
            json!(format!("Subscribed to resource: {uri}")),
        )
        .await;
        Ok(())
    }

    /// Forget `uri`.
    pub(crate) async fn unsubscribe(
        &self,
        uri: &str,
        peer: &Peer<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.uris
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(uri);
        log(
            peer,
            "info",
            json!(format!("Unsubscribed from resource: {uri}")),
        )
        .await;
        Ok(())
    }
}

/// `logging/setLevel`: acknowledge with a log message at the new level's floor.
pub(crate) async fn set_level(level: &str, peer: &Peer<RoleServer>) -> Result<(), ErrorData> {
    log(peer, "info", json!(format!("Log level set to: {level}"))).await;
    Ok(())
}

/// `completion/complete`: no suggestions (the fixtures have no completable arguments).
pub(crate) fn complete() -> Result<CompleteResult, ErrorData> {
    complete_result(json!({"completion": {"values": [], "total": 0, "hasMore": false}}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_build_from_their_wire_json() {
        assert_eq!(tools().len(), 14);
        assert_eq!(fixture_tools().len(), 14);
        assert_eq!(resources().len(), 3);
        assert_eq!(resource_templates().len(), 1);
        assert_eq!(prompts().len(), 4);
        let schema = &tools()[13].input_schema;
        assert!(schema.contains_key("$schema") && schema.contains_key("$defs"));
        assert!(complete().is_ok());
    }

    #[test]
    fn resources_read_and_templates_substitute() {
        let r = read_resource("test://template/123/data").unwrap().unwrap();
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["contents"][0]["uri"], "test://template/123/data");
        assert!(
            v["contents"][0]["text"]
                .as_str()
                .unwrap()
                .contains("Data for ID: 123")
        );
        assert!(read_resource("test://nope").unwrap().is_err());
        assert!(read_resource("ipfs://bafy").is_none());
    }

    #[test]
    fn prompts_render_and_check_arguments() {
        let mut args = JsonObject::new();
        args.insert("arg1".into(), json!("a"));
        assert!(
            get_prompt("test_prompt_with_arguments", Some(&args))
                .unwrap()
                .is_err()
        );
        args.insert("arg2".into(), json!("b"));
        let p = get_prompt("test_prompt_with_arguments", Some(&args))
            .unwrap()
            .unwrap();
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(
            v["messages"][0]["content"]["text"],
            "Prompt with arguments: arg1='a', arg2='b'"
        );
        assert!(get_prompt("ipfs_publish", None).is_none());
    }
}

//! The REST mirror: the same catalogue, inputs, outputs and error shape as the MCP tools.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use ipfs_kit_mcp::{CallError, McpServer};
use ipfs_kit_ops::{ErrorCode, OpContext, OpError};
use serde_json::{Value, json};

pub(crate) fn routes(server: McpServer) -> Router {
    Router::new()
        .route("/api/tools", get(list))
        .route("/api/tools/{name}", post(call))
        .route("/api/mcp/{name}", post(call))
        .with_state(server)
}

async fn list(State(server): State<McpServer>) -> Json<Value> {
    Json(json!({"tools": server.describe()}))
}

/// The HTTP status for an error code: 400 bad input, 404 unknown tool or missing thing, 409 a
/// conflict with the current state (locked repo, existing target, port in use), 499 cancelled,
/// 501 unsupported, 503 a needed daemon is down, 500 everything else.
pub fn status_for(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidInput
        | ErrorCode::InvalidCid
        | ErrorCode::InvalidPath
        | ErrorCode::ConfigInvalid => StatusCode::BAD_REQUEST,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::AlreadyExists | ErrorCode::RepoLocked | ErrorCode::PortInUse => {
            StatusCode::CONFLICT
        }
        ErrorCode::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        ErrorCode::Unsupported => StatusCode::NOT_IMPLEMENTED,
        ErrorCode::DaemonUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        // the daemon behind us refused our credentials: a gateway error, not our own 401
        ErrorCode::DaemonUnauthorized => StatusCode::BAD_GATEWAY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn error_response(e: &OpError) -> Response {
    (status_for(e.code), Json(e.to_json())).into_response()
}

async fn call(State(server): State<McpServer>, Path(name): Path<String>, body: Bytes) -> Response {
    let input = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => return error_response(&OpError::invalid("the input must be a JSON object")),
            Err(e) => {
                return error_response(&OpError::invalid(format!("the input is not JSON: {e}")));
            }
        }
    };
    match server.call(&name, input, &OpContext::default()).await {
        Ok(out) => (StatusCode::OK, Json(out)).into_response(),
        Err(CallError::UnknownTool(n)) => error_response(
            &OpError::new(ErrorCode::NotFound, format!("unknown tool {n:?}")).with("tool", n),
        ),
        Err(CallError::Op(e)) => error_response(&e),
    }
}

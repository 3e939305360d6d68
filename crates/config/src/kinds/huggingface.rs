//! The HuggingFace token file (`$HF_HOME/token`, default `~/.cache/huggingface/token`): the token, nothing else.

use std::path::Path;

use serde_json::{Value, json};

use crate::error::{Error, Problem, ProblemCode, Result};
use crate::kinds::typed;

/// Secret values.
pub const SECRETS: &[&str] = &["token"];

/// The token file's content.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HuggingfaceToken {
    /// The access token (`hf_…`); empty = none.
    pub token: String,
}

/// No token yet.
pub fn defaults() -> Result<Value> {
    Ok(json!({ "token": "" }))
}

/// The file holds the token bytes only, as `huggingface-cli login` writes it.
pub fn render(doc: &Value) -> Result<Vec<u8>> {
    let t: HuggingfaceToken = serde_json::from_value(doc.clone()).map_err(|e| Error::Invalid {
        kind: "huggingface",
        problems: vec![Problem::new("token", ProblemCode::WrongType, e.to_string())],
    })?;
    Ok(t.token.into_bytes())
}

/// Reads the token (surrounding whitespace is ignored, as huggingface_hub does).
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Value> {
    let s = std::str::from_utf8(bytes).map_err(|e| Error::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(json!({ "token": s.trim() }))
}

/// A token is printable ASCII without whitespace.
pub fn validate(doc: &Value) -> Vec<Problem> {
    let mut p = Vec::new();
    if let Some(t) = typed::<HuggingfaceToken>(doc, &mut p)
        && !t.token.bytes().all(|b| b.is_ascii_graphic())
    {
        p.push(Problem::new(
            "token",
            ProblemCode::BadValue,
            "token must be printable ASCII without whitespace",
        ));
    }
    p
}

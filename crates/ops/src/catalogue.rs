use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::{DynOperation, ErrorCode, OpError, OpMeta, Toolset};

/// Every operation of ipfs-kit, by name, in a deterministic (sorted) order.
#[derive(Clone)]
pub struct Catalogue {
    ops: BTreeMap<&'static str, Arc<dyn DynOperation>>,
    aliases: BTreeMap<&'static str, &'static str>,
}

/// What faces list for one operation.
#[derive(Debug, Clone, Serialize)]
pub struct ToolInfo {
    /// Tool name.
    pub name: &'static str,
    /// Metadata.
    #[serde(flatten)]
    pub meta: OpMeta,
    /// Input JSON Schema.
    pub input_schema: Value,
    /// Output JSON Schema.
    pub output_schema: Value,
}

impl std::fmt::Debug for Catalogue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.ops.keys()).finish()
    }
}

impl Catalogue {
    /// An empty catalogue.
    pub fn empty() -> Self {
        Catalogue {
            ops: BTreeMap::new(),
            aliases: BTreeMap::new(),
        }
    }

    /// The catalogue with every operation ipfs-kit has.
    pub fn standard() -> Self {
        let mut c = Catalogue::empty();
        crate::ops::register_all(&mut c);
        c
    }

    /// Add an operation. Panics on a duplicate or malformed name: that is a programming error
    /// caught by the catalogue's own tests.
    pub fn register<T: DynOperation + 'static>(&mut self, op: T) {
        let name = op.name();
        assert!(
            !name.is_empty()
                && name.len() <= 40
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "bad operation name {name:?}"
        );
        let meta = op.meta();
        assert!(
            self.ops.insert(name, Arc::new(op)).is_none(),
            "duplicate operation {name}"
        );
        for alias in meta.aliases {
            assert!(
                self.aliases.insert(alias, name).is_none(),
                "duplicate alias {alias}"
            );
        }
    }

    /// Look up by name or alias.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn DynOperation>> {
        self.ops
            .get(name)
            .or_else(|| self.aliases.get(name).and_then(|n| self.ops.get(n)))
    }

    /// Look up, or an error naming the unknown tool.
    pub fn require(&self, name: &str) -> Result<&Arc<dyn DynOperation>, OpError> {
        self.get(name).ok_or_else(|| {
            OpError::new(ErrorCode::NotFound, format!("unknown tool {name:?}")).with("tool", name)
        })
    }

    /// Operations in name order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn DynOperation>> {
        self.ops.values()
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Alias → tool name pairs.
    pub fn aliases(&self) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        self.aliases.iter().map(|(a, n)| (*a, *n))
    }

    /// Descriptions of every operation, optionally only those of some toolsets or only read-only ones.
    pub fn describe(&self, toolsets: Option<&[Toolset]>, read_only: bool) -> Vec<ToolInfo> {
        self.iter()
            .filter(|op| {
                let m = op.meta();
                toolsets.is_none_or(|t| t.contains(&m.toolset)) && (!read_only || m.read_only)
            })
            .map(|op| ToolInfo {
                name: op.name(),
                meta: op.meta(),
                input_schema: op.input_schema(),
                output_schema: op.output_schema(),
            })
            .collect()
    }
}

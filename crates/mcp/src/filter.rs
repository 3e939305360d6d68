use std::collections::BTreeSet;

use ipfs_kit_ops::{Catalogue, OpMeta, Toolset};

use crate::Error;

/// Which catalogue tools a face exposes: toolsets, an allow-list, a deny-list and read-only mode.
/// Tools outside the filter are absent (not listed, and unknown when called), not merely refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolFilter {
    toolsets: Option<BTreeSet<Toolset>>,
    tools: Option<BTreeSet<String>>,
    exclude: BTreeSet<String>,
    read_only: bool,
}

impl ToolFilter {
    /// Every tool.
    pub fn all() -> Self {
        ToolFilter::default()
    }

    /// Build from command-line lists (`--toolsets`, `--tools`, `--exclude-tools`, `--read-only`).
    /// Empty lists mean "no restriction"; names may be aliases; unknown names are an error.
    pub fn parse(
        catalogue: &Catalogue,
        toolsets: &[String],
        tools: &[String],
        exclude: &[String],
        read_only: bool,
    ) -> Result<Self, Error> {
        let mut filter = ToolFilter::all().read_only(read_only);
        if !toolsets.is_empty() {
            let mut set = Vec::new();
            for name in toolsets {
                let t = Toolset::ALL
                    .into_iter()
                    .find(|t| t.name() == name.as_str())
                    .ok_or_else(|| {
                        let known: Vec<_> = Toolset::ALL.iter().map(|t| t.name()).collect();
                        Error::InvalidFilter(format!(
                            "unknown toolset {name:?} (known: {})",
                            known.join(", ")
                        ))
                    })?;
                set.push(t);
            }
            filter = filter.with_toolsets(set);
        }
        let canonical = |name: &String| {
            catalogue
                .get(name)
                .map(|op| op.name().to_string())
                .ok_or_else(|| Error::InvalidFilter(format!("unknown tool {name:?}")))
        };
        if !tools.is_empty() {
            filter = filter.with_tools(tools.iter().map(canonical).collect::<Result<Vec<_>, _>>()?);
        }
        if !exclude.is_empty() {
            filter = filter.excluding(
                exclude
                    .iter()
                    .map(canonical)
                    .collect::<Result<Vec<_>, _>>()?,
            );
        }
        Ok(filter)
    }

    /// Only tools of these toolsets.
    pub fn with_toolsets(mut self, toolsets: impl IntoIterator<Item = Toolset>) -> Self {
        self.toolsets = Some(toolsets.into_iter().collect());
        self
    }

    /// Only these tools (canonical names).
    pub fn with_tools(mut self, tools: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.tools = Some(tools.into_iter().map(Into::into).collect());
        self
    }

    /// Never these tools (canonical names).
    pub fn excluding(mut self, tools: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.exclude.extend(tools.into_iter().map(Into::into));
        self
    }

    /// Only tools that change nothing.
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// Whether read-only mode is on.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Whether the tool `name` with metadata `meta` is exposed.
    pub fn allows(&self, name: &str, meta: &OpMeta) -> bool {
        self.toolsets
            .as_ref()
            .is_none_or(|t| t.contains(&meta.toolset))
            && self.tools.as_ref().is_none_or(|t| t.contains(name))
            && !self.exclude.contains(name)
            && (!self.read_only || meta.read_only)
    }

    /// Whether an extra (non-catalogue) tool is exposed: allow/deny lists and read-only apply;
    /// toolsets do not (extras belong to none).
    pub(crate) fn allows_extra(&self, name: &str, read_only: bool) -> bool {
        self.tools.as_ref().is_none_or(|t| t.contains(name))
            && !self.exclude.contains(name)
            && (!self.read_only || read_only)
    }
}

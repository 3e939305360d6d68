//! Prompts: short workflows that tell an agent which tools to use, in which order.

use rmcp::ErrorData;
use rmcp::model::{
    GetPromptResult, JsonObject, ListPromptsResult, Prompt, PromptArgument, PromptMessage, Role,
};

struct PromptDef {
    name: &'static str,
    title: &'static str,
    description: &'static str,
    argument: (&'static str, &'static str),
    text: &'static str,
}

const PROMPTS: &[PromptDef] = &[
    PromptDef {
        name: "publish_directory",
        title: "Publish a directory and pin it",
        description: "Add a local directory to the node, pin it, and report its CID and contents.",
        argument: ("path", "Local directory to publish"),
        text: "Publish the local directory {arg} on IPFS:\n\
               1. Call ipfs_add with {\"paths\": [\"{arg}\"], \"recursive\": true, \"pin\": true}.\n\
               2. Take the CID of the last item of `items` (the directory root).\n\
               3. Call ipfs_ls with that CID and list what was published.\n\
               4. Call ipfs_pin_ls with that CID to confirm it is pinned recursively.\n\
               Report the root CID, the gateway path /ipfs/<cid>, and the entries.",
    },
    PromptDef {
        name: "inspect_cid",
        title: "Inspect a CID",
        description: "Find out what a CID is: its kind, size, links, and whether it is pinned and complete.",
        argument: ("cid", "CID or /ipfs/ path to inspect"),
        text: "Inspect {arg} on the embedded node:\n\
               1. Call ipfs_block_stat to see whether its root block is stored and how big it is.\n\
               2. Call ipfs_ls on it: a directory lists its entries; a file lists its chunks.\n\
               3. For a file, call ipfs_cat with a small `length` (e.g. 1024) to preview it.\n\
               4. Call ipfs_pin_ls with it to see whether it is pinned, and how.\n\
               5. Call ipfs_refs with `recursive: true` to count its blocks if needed.\n\
               Summarise: kind, size, pin state, and anything missing (errors name the missing CID).",
    },
    PromptDef {
        name: "export_car",
        title: "Export a DAG as a CAR file",
        description: "Write a pinned DAG to a CAR file so it can be moved to another node.",
        argument: ("cid", "Root CID to export"),
        text: "Export the DAG rooted at {arg}:\n\
               1. Call ipfs_pin_verify or ipfs_refs with `recursive: true` to check it is complete.\n\
               2. Call ipfs_dag_export with the root and an output path ending in .car.\n\
               3. Report the path, the number of blocks and bytes written.",
    },
];

/// Every prompt.
pub(crate) fn list() -> ListPromptsResult {
    ListPromptsResult::with_all_items(
        PROMPTS
            .iter()
            .map(|p| {
                Prompt::new(
                    p.name,
                    Some(p.description),
                    Some(vec![
                        PromptArgument::new(p.argument.0)
                            .with_description(p.argument.1)
                            .with_required(true),
                    ]),
                )
                .with_title(p.title)
            })
            .collect(),
    )
}

/// One prompt, filled in.
pub(crate) fn get(
    name: &str,
    arguments: Option<&JsonObject>,
) -> Result<GetPromptResult, ErrorData> {
    let p = PROMPTS
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| ErrorData::invalid_params(format!("unknown prompt {name:?}"), None))?;
    let arg = arguments
        .and_then(|a| a.get(p.argument.0))
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ErrorData::invalid_params(
                format!("prompt {name} needs the argument {:?}", p.argument.0),
                None,
            )
        })?;
    Ok(GetPromptResult::new(vec![PromptMessage::new_text(
        Role::User,
        p.text.replace("{arg}", arg),
    )])
    .with_description(p.description))
}

"""Drive ipfs-kit's MCP server with the official Python MCP SDK (pinned in requirements.txt).

Two ways in:
  client_check.py stdio --bin PATH --home DIR      spawn `ipfs-kit --home DIR mcp` (the SDK's stdio client)
  client_check.py http  --url http://127.0.0.1:P   an already running `ipfs-kit mcp --http` (streamable HTTP)

Common options: --mode auto|legacy (how the SDK negotiates: `auto` probes `server/discover` first and falls back to
`initialize`, as real SDK users get; `legacy` forces the `initialize` handshake), --expect-tools a,b,c (every
operation of the catalogue must be listed), --work DIR (scratch files the server reads by path).

Prints one line per check (`PASS name` / `FAIL name: why`), then `N passed, N failed`; exits 1 on any failure.
Nothing is skipped: a check that cannot run is a failure.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import time
import traceback
from typing import Any

import anyio
import httpx2 as httpx
from mcp import Client, MCPError, StdioServerParameters

# Kubo's CID for the bytes "hello world\n" (`echo "hello world" | ipfs add`): a vector from outside this project.
HELLO = "hello world\n"
HELLO_CID = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
ACCEPTED_VERSIONS = {"2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"}


class Report:
    """Collects check outcomes; every check is named and counted."""

    def __init__(self) -> None:
        self.passed: list[str] = []
        self.failed: list[tuple[str, str]] = []
        self.facts: dict[str, Any] = {}

    def check(self, name: str, ok: bool, why: str = "") -> bool:
        if ok:
            self.passed.append(name)
            print(f"PASS {name}", flush=True)
        else:
            self.failed.append((name, why))
            print(f"FAIL {name}: {why}", flush=True)
        return ok

    def fact(self, key: str, value: Any) -> None:
        self.facts[key] = value
        print(f"FACT {key} = {json.dumps(value)}", flush=True)


def raw_cid_v1(data: bytes) -> str:
    """CIDv1, raw codec, sha2-256, base32 — computed here from the bytes (for a block no one stored)."""
    digest = hashlib.sha256(data).digest()
    raw = bytes([0x01, 0x55, 0x12, 0x20]) + digest
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


def dump(model: Any) -> Any:
    return model.model_dump(by_alias=True, exclude_none=True, mode="json")


def text_blocks(result: Any) -> list[str]:
    return [c.text for c in result.content if getattr(c, "type", None) == "text"]


async def expect_tool_error(r: Report, client: Client, name: str, tool: str, args: dict, codes: set[str]) -> None:
    """A call that must come back as `isError: true` with the catalogue's structured error."""
    try:
        res = await client.call_tool(tool, args)
    except MCPError as e:
        r.check(name, False, f"protocol error {e.error.code} {e.error.message!r} instead of isError result")
        return
    sc = res.structured_content or {}
    texts = text_blocks(res)
    ok = (
        res.is_error is True
        and sc.get("status") == "error"
        and sc.get("error_code") in codes
        and isinstance(sc.get("error"), str)
        and sc.get("error") != ""
        and isinstance(sc.get("context"), dict)
        and any(t.strip() for t in texts)
    )
    r.check(name, ok, f"isError={res.is_error} structured={sc} text={texts} (want error_code in {sorted(codes)})")


async def check_tools(r: Report, client: Client, expect: list[str]) -> dict[str, Any]:
    tools: list[Any] = []
    cursor = None
    pages = 0
    while True:
        page = await client.list_tools(cursor=cursor)
        pages += 1
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor or pages > 100:
            break
    r.fact("tools_listed", len(tools))
    r.fact("tools_list_pages", pages)
    names = [t.name for t in tools]
    r.check("tools/list: names unique", len(set(names)) == len(names), f"{names}")
    again = [t.name for t in (await client.list_tools()).tools]
    r.check(
        "tools/list: deterministic order",
        pages > 1 or again == names,
        f"first {names[:5]}… second {again[:5]}…",
    )
    missing = [n for n in expect if n not in names]
    r.check("tools/list: every catalogue operation is a tool", not missing, f"missing {missing}")
    fixtures = [n for n in names if n.startswith("test_") or n == "json_schema_2020_12_tool"]
    r.check("tools/list: no conformance fixtures by default", not fixtures, f"{fixtures}")

    bad: list[str] = []
    for t in tools:
        d = dump(t)
        schema = d.get("inputSchema", {})
        problems = []
        if not re.fullmatch(r"[a-z0-9_]{1,40}", t.name):
            problems.append("name")
        if not (t.description or "").strip():
            problems.append("description")
        if not (d.get("title") or (d.get("annotations") or {}).get("title")):
            problems.append("title")
        if schema.get("type") != "object":
            problems.append("inputSchema.type")
        for k in ("oneOf", "anyOf", "allOf", "$schema"):
            if k in schema:
                problems.append(f"inputSchema.{k}")
        out = d.get("outputSchema")
        if not out or out.get("type") != "object":
            problems.append("outputSchema")
        ann = d.get("annotations") or {}
        for hint in ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"):
            if not isinstance(ann.get(hint), bool):
                problems.append(f"annotations.{hint}")
        if problems:
            bad.append(f"{t.name}: {problems}")
    r.check("tools/list: every tool has title, description, object schemas and all four hints", not bad, "; ".join(bad))

    by_name = {t.name: dump(t) for t in tools}
    hints = {
        "ipfs_cat": (True, False),
        "ipfs_ls": (True, False),
        "ipfs_version": (True, False),
        "ipfs_add": (False, False),
        "ipfs_repo_gc": (False, True),
        "ipfs_block_rm": (False, True),
        "ipfs_pin_rm": (False, True),
    }
    wrong = []
    for name, (ro, destructive) in hints.items():
        ann = (by_name.get(name) or {}).get("annotations") or {}
        if ann.get("readOnlyHint") is not ro or ann.get("destructiveHint") is not destructive:
            wrong.append(f"{name}: {ann}")
    r.check("tools/list: hints match what the operations do", not wrong, "; ".join(wrong))
    cat_props = by_name.get("ipfs_cat", {}).get("inputSchema", {}).get("properties", {})
    r.check(
        "tools/list: ipfs_cat input schema names its fields",
        {"path", "offset", "length", "encoding"} <= set(cat_props),
        f"{sorted(cat_props)}",
    )
    return by_name


async def check_calls(r: Report, client: Client, work: str) -> dict[str, str]:
    cids: dict[str, str] = {}
    v = await client.call_tool("ipfs_version", {})
    r.check(
        "ipfs_version: structured version and a text block",
        not v.is_error and isinstance((v.structured_content or {}).get("version"), str) and bool(text_blocks(v)),
        f"{dump(v)}",
    )

    add = await client.call_tool("ipfs_add", {"content": HELLO})
    sc = add.structured_content or {}
    r.check("ipfs_add content: Kubo's CID", not add.is_error and sc.get("root") == HELLO_CID, f"{dump(add)}")
    texts = text_blocks(add)
    same = False
    for t in texts:
        try:
            same = same or json.loads(t) == sc
        except ValueError:
            pass
    r.check("ipfs_add: a text block carries the same result", bool(texts) and same, f"{texts}")
    cids["hello"] = sc.get("root", HELLO_CID)

    cat = await client.call_tool("ipfs_cat", {"path": cids["hello"]})
    csc = cat.structured_content or {}
    r.check(
        "ipfs_cat: the bytes that were added",
        not cat.is_error and csc.get("content") == HELLO and csc.get("file_size") == len(HELLO),
        f"{dump(cat)}",
    )

    blob = os.urandom(1 << 20)
    add = await client.call_tool(
        "ipfs_add",
        {"content_base64": base64.b64encode(blob).decode(), "cid_version": 1, "raw_leaves": True},
    )
    root = (add.structured_content or {}).get("root", "")
    r.check("ipfs_add content_base64 (1 MiB): CIDv1", not add.is_error and root.startswith("bafy"), f"{root!r}")
    cids["blob"] = root
    got = bytearray()
    off = 0
    while off < len(blob) and root:
        part = await client.call_tool(
            "ipfs_cat", {"path": f"/ipfs/{root}", "offset": off, "length": 300_000, "encoding": "base64"}
        )
        psc = part.structured_content or {}
        if part.is_error or not psc.get("length"):
            break
        got += base64.b64decode(psc["content"])
        off += psc["length"]
    r.check("ipfs_cat byte ranges (base64): the 1 MiB read back exactly", bytes(got) == blob, f"{len(got)} bytes")

    await expect_tool_error(r, client, "error: malformed CID", "ipfs_cat", {"path": "not-a-cid!"},
                            {"INVALID_CID", "INVALID_PATH"})
    await expect_tool_error(r, client, "error: wrong argument type", "ipfs_cat", {"path": 42}, {"INVALID_INPUT"})
    await expect_tool_error(r, client, "error: missing required argument", "ipfs_cat", {}, {"INVALID_INPUT"})
    await expect_tool_error(r, client, "error: absent block", "ipfs_cat",
                            {"path": raw_cid_v1(b"never stored " + os.urandom(16))}, {"NOT_FOUND"})
    await expect_tool_error(r, client, "error: add of a missing path", "ipfs_add",
                            {"paths": [os.path.join(work, "does-not-exist")]}, {"NOT_FOUND"})
    try:
        res = await client.call_tool("no_such_tool", {})
        r.check("error: unknown tool is JSON-RPC -32602", False, f"got a result {dump(res)}")
    except MCPError as e:
        r.check("error: unknown tool is JSON-RPC -32602", e.error.code == -32602, f"code {e.error.code}")
    # The session still works after all of that.
    v = await client.call_tool("ipfs_version", {})
    r.check("session keeps serving after errors", not v.is_error, f"{dump(v)}")
    return cids


async def check_progress(r: Report, client: Client, work: str) -> None:
    size = 24 << 20
    path = os.path.join(work, "progress.bin")
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            chunk = os.urandom(min(left, 1 << 20))
            digest.update(chunk)
            f.write(chunk)
            left -= len(chunk)
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    res = await client.call_tool("ipfs_add", {"paths": [path]}, progress_callback=on_progress)
    root = (res.structured_content or {}).get("root", "")
    r.fact("progress_notifications", len(seen))
    r.check("progress: ipfs_add of 24 MiB succeeds", not res.is_error and bool(root), f"{dump(res)}"[:500])
    r.check("progress: notifications arrive for a progress token", len(seen) >= 2, f"{seen[:5]}")
    mono = all(b[0] > a[0] for a, b in zip(seen, seen[1:]))
    r.check("progress: values strictly increase", mono, f"{[s[0] for s in seen][:20]}")
    bounded = all(t is None or p <= t for p, t, _ in seen)
    r.check("progress: never past total", bounded, f"{seen[-3:]}")
    if seen and seen[-1][1] is not None:
        r.check("progress: total is the file size", seen[-1][1] == size, f"{seen[-1]}")
    # One call with ipfs_cat's default length: its answer (4 MiB, base64) must reach the client whole. The
    # Python SDK refuses SSE events over 1 MiB by default, so a server must keep answers under that or link.
    try:
        first = await client.call_tool("ipfs_cat", {"path": root, "encoding": "base64"})
        r.check("ipfs_cat with the default length reaches the client", not first.is_error, f"{dump(first)}"[:300])
    except MCPError as e:
        r.check("ipfs_cat with the default length reaches the client", False, f"{e.error.code} {e.error.message}")
    back = hashlib.sha256()
    off = 0
    while off < size and root:
        part = await client.call_tool(
            "ipfs_cat", {"path": root, "offset": off, "length": 512 << 10, "encoding": "base64"}
        )
        psc = part.structured_content or {}
        if part.is_error or not psc.get("length"):
            break
        back.update(base64.b64decode(psc["content"]))
        off += psc["length"]
    r.check("progress: the 24 MiB file reads back exactly", back.digest() == digest.digest(), f"read {off} bytes")


async def check_cancel(r: Report, client: Client, work: str) -> None:
    """`notifications/cancelled` (sent by the SDK when a call is abandoned) stops a long add."""
    size = 256 << 20
    path = os.path.join(work, "cancel.bin")
    with open(path, "wb") as f:
        for _ in range(size >> 20):
            f.write(os.urandom(1 << 20))
    pins_before = (await client.call_tool("ipfs_pin_ls", {})).structured_content
    started = anyio.Event()
    finished: list[Any] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        started.set()

    async def add() -> None:
        # 1 KiB chunks: 262,144 leaves, so the add runs long enough to be cancelled midway.
        res = await client.call_tool("ipfs_add", {"paths": [path], "chunker": "size-1024", "cid_version": 1},
                                     progress_callback=on_progress)
        finished.append(res)

    with anyio.move_on_after(120):
        async with anyio.create_task_group() as tg:
            tg.start_soon(add)
            await started.wait()
            tg.cancel_scope.cancel()
    r.check("cancel: the add was still running when cancelled", not finished, "it finished first")
    t0 = time.monotonic()
    v = await client.call_tool("ipfs_version", {})
    r.check("cancel: the server answers at once afterwards", not v.is_error and time.monotonic() - t0 < 5,
            f"{time.monotonic() - t0:.1f} s")
    await anyio.sleep(0.5)
    a = (await client.call_tool("ipfs_repo_stat", {})).structured_content or {}
    await anyio.sleep(1.5)
    b = (await client.call_tool("ipfs_repo_stat", {})).structured_content or {}
    r.fact("cancel_objects_after", [a.get("num_objects"), b.get("num_objects")])
    r.check("cancel: the add stopped writing blocks", a.get("num_objects") == b.get("num_objects"),
            f"num_objects {a.get('num_objects')} then {b.get('num_objects')}")
    pins_after = (await client.call_tool("ipfs_pin_ls", {})).structured_content
    r.check("cancel: the cancelled add pinned nothing", pins_before == pins_after, f"{pins_before} -> {pins_after}")


async def check_resources(r: Report, client: Client, work: str, cids: dict[str, str]) -> None:
    templates = await client.list_resource_templates()
    uris = [t.uri_template for t in templates.resource_templates]
    r.fact("resource_templates", uris)
    r.check("resources: an ipfs:// template is listed", any(u.startswith("ipfs://") for u in uris), f"{uris}")

    res = await client.read_resource(f"ipfs://{cids['hello']}")
    contents = [dump(c) for c in res.contents]
    data = b""
    if contents:
        c = contents[0]
        data = c["text"].encode() if "text" in c else base64.b64decode(c.get("blob", ""))
    r.check("resources: ipfs://CID reads the file's bytes", data == HELLO.encode(), f"{contents}"[:400])

    tree = os.path.join(work, "tree")
    os.makedirs(os.path.join(tree, "sub"), exist_ok=True)
    with open(os.path.join(tree, "a.txt"), "w") as f:
        f.write("alpha\n")
    with open(os.path.join(tree, "sub", "b.txt"), "w") as f:
        f.write("beta\n")
    add = await client.call_tool("ipfs_add", {"paths": [tree], "recursive": True})
    root = (add.structured_content or {}).get("root", "")
    r.check("ipfs_add of a directory tree", not add.is_error and bool(root), f"{dump(add)}"[:400])
    res = await client.read_resource(f"ipfs://{root}/sub/b.txt")
    c = dump(res.contents[0]) if res.contents else {}
    data = c["text"].encode() if "text" in c else base64.b64decode(c.get("blob", ""))
    r.check("resources: ipfs://CID/path reads a file inside a directory", data == b"beta\n", f"{c}"[:400])
    res = await client.read_resource(f"ipfs://{root}")
    listing = json.dumps([dump(c) for c in res.contents])
    r.check("resources: ipfs://CID of a directory lists it", "a.txt" in listing and "sub" in listing, listing[:400])
    try:
        res = await client.read_resource(f"ipfs://{raw_cid_v1(b'absent ' + os.urandom(8))}")
        r.check("resources: absent content is an error, not invented data", False, f"got {dump(res)}"[:300])
    except MCPError as e:
        r.check("resources: absent content is an error, not invented data", True)
        r.fact("resource_absent_error_code", e.error.code)


async def check_prompts(r: Report, client: Client) -> None:
    prompts = (await client.list_prompts()).prompts
    r.fact("prompts", [p.name for p in prompts])
    r.check("prompts: at least one is offered", len(prompts) >= 1, "none")
    for p in prompts:
        args = {a.name: "/tmp" for a in (p.arguments or []) if a.required}
        try:
            got = await client.get_prompt(p.name, args)
            r.check(f"prompts: {p.name} renders", len(got.messages) >= 1, f"{dump(got)}"[:300])
        except MCPError as e:
            r.check(f"prompts: {p.name} renders", False, f"{e.error.code} {e.error.message}")


async def run_session(r: Report, client: Client, args: argparse.Namespace) -> None:
    r.fact("protocol_version", client.protocol_version)
    r.check("negotiated a supported protocol version", client.protocol_version in ACCEPTED_VERSIONS,
            client.protocol_version)
    if args.mode == "legacy":
        r.check("initialize negotiates 2025-11-25", client.protocol_version == "2025-11-25", client.protocol_version)
    info = client.server_info
    r.fact("server_info", dump(info) if info else None)
    caps = dump(client.server_capabilities)
    r.fact("capabilities", caps)
    r.check("capabilities: tools, resources and prompts", {"tools", "resources", "prompts"} <= set(caps), f"{caps}")
    if client.protocol_version < "2026-07-28":  # ping is gone from 2026-07-28 on
        try:
            await client.send_ping()
            r.check("ping", True)
        except MCPError as e:
            r.check("ping", False, f"{e.error.code} {e.error.message}")
    expect = [n for n in args.expect_tools.split(",") if n]
    cids = {"hello": HELLO_CID}
    sections = [
        ("tools/list", lambda: check_tools(r, client, expect)),
        ("tool calls", lambda: check_calls(r, client, args.work)),
        ("progress", lambda: check_progress(r, client, args.work)),
        ("cancellation", lambda: check_cancel(r, client, args.work)),
        ("resources", lambda: check_resources(r, client, args.work, cids)),
        ("prompts", lambda: check_prompts(r, client)),
    ]
    for name, section in sections:
        try:
            out = await section()
            if name == "tool calls":
                cids.update(out)
        except Exception as e:  # one broken section must not hide the others' results
            traceback.print_exc()
            r.check(f"{name}: section ran to the end", False, f"{type(e).__name__}: {e}")


def check_stdio_raw(r: Report, args: argparse.Namespace) -> None:
    """Below the SDK: every stdout line is JSON-RPC, and bad lines get errors, not a dead server."""
    lines = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        "{ this is not json",
        {"jsonrpc": "2.0", "id": 2, "method": "no/such/method", "params": {}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "ipfs_cat", "arguments": "nope"}},
        {"jsonrpc": "2.0", "id": 4, "method": "tools/list", "params": {}},
    ]
    payload = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    proc = subprocess.run(
        [args.bin, "--home", args.home, "mcp"], input=payload.encode(), capture_output=True, timeout=60
    )
    out = proc.stdout.decode(errors="replace").splitlines()
    parsed = []
    junk = []
    for line in out:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            junk.append(line)
    r.check("stdio raw: stdout carries JSON-RPC only", not junk and bool(parsed), f"junk {junk[:3]}")
    by_id = {m.get("id"): m for m in parsed if isinstance(m, dict)}
    r.check("stdio raw: initialize answered", "result" in by_id.get(1, {}), f"{by_id.get(1)}"[:300])
    r.check("stdio raw: unknown method is -32601", by_id.get(2, {}).get("error", {}).get("code") == -32601,
            f"{by_id.get(2)}")
    three = by_id.get(3, {})
    r.check("stdio raw: non-object arguments are rejected",
            three.get("error", {}).get("code") == -32602 or three.get("result", {}).get("isError") is True,
            f"{three}"[:300])
    r.check("stdio raw: still serving after a malformed line", "result" in by_id.get(4, {}),
            f"ids answered {sorted(k for k in by_id if k is not None)}; exit {proc.returncode}; "
            f"stderr tail {proc.stderr.decode(errors='replace')[-300:]!r}")
    r.check("stdio raw: exits cleanly at end of input", proc.returncode == 0, f"exit {proc.returncode}")


def check_http_raw(r: Report, args: argparse.Namespace, expect: list[str]) -> None:
    """Below the SDK: DNS-rebinding defences, robustness, and the REST mirror of the same registry."""
    url = args.url.rstrip("/")
    base = url.rsplit("/mcp", 1)[0]
    host = httpx.URL(url).netloc.decode()
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}}
    hdrs = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    with httpx.Client(timeout=30) as h:
        resp = h.post(url, json=init, headers={**hdrs, "Origin": "http://evil.example"})
        r.check("http: a disallowed Origin is 403", resp.status_code == 403, f"{resp.status_code} {resp.text[:200]}")
        resp = h.post(url, json=init, headers={**hdrs, "Host": "evil.example"})
        r.check("http: a foreign Host header is rejected", resp.status_code in (403, 421),
                f"{resp.status_code} {resp.text[:200]}")
        resp = h.post(url, json=init, headers={**hdrs, "Origin": f"http://{host}"})
        r.check("http: the server's own Origin is allowed", resp.status_code == 200,
                f"{resp.status_code} {resp.text[:200]}")
        resp = h.post(url, content=b"{ not json", headers=hdrs)
        r.check("http: malformed JSON is a 4xx", 400 <= resp.status_code < 500, f"{resp.status_code}")
        resp = h.post(url, json=init, headers=hdrs)
        r.check("http: still serving after bad requests", resp.status_code == 200, f"{resp.status_code}")

        resp = h.get(f"{base}/api/tools")
        listed: list[str] = []
        if resp.status_code == 200:
            body = resp.json()
            items = body if isinstance(body, list) else body.get("tools", [])
            listed = [t.get("name") for t in items if isinstance(t, dict)]
        r.check("rest: GET /api/tools lists every catalogue operation",
                resp.status_code == 200 and all(n in listed for n in expect),
                f"{resp.status_code} missing {[n for n in expect if n not in listed]}")
        resp = h.post(f"{base}/api/tools/ipfs_add", json={"content": HELLO})
        root = resp.json().get("root") if resp.status_code == 200 else None
        r.check("rest: POST /api/tools/ipfs_add gives Kubo's CID", root == HELLO_CID,
                f"{resp.status_code} {resp.text[:300]}")
        resp = h.post(f"{base}/api/mcp/ipfs_cat", json={"path": HELLO_CID})
        r.check("rest: POST /api/mcp/ipfs_cat (alias route) reads it back",
                resp.status_code == 200 and resp.json().get("content") == HELLO,
                f"{resp.status_code} {resp.text[:300]}")
        resp = h.post(f"{base}/api/tools/ipfs_cat", json={"path": "not-a-cid!"})
        body = resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {}
        r.check("rest: errors have the catalogue's shape",
                400 <= resp.status_code < 500 and body.get("status") == "error"
                and body.get("error_code") in {"INVALID_CID", "INVALID_PATH"} and isinstance(body.get("context"), dict),
                f"{resp.status_code} {resp.text[:300]}")
        resp = h.post(f"{base}/api/tools/no_such_tool", json={})
        r.check("rest: unknown tool is 404 NOT_FOUND",
                resp.status_code == 404 and resp.json().get("error_code") == "NOT_FOUND",
                f"{resp.status_code} {resp.text[:300]}")
        resp = h.post(f"{base}/api/tools/ipfs_version", json={}, headers={"Origin": "http://evil.example"})
        r.check("rest: a disallowed Origin is 403 here too", resp.status_code == 403, f"{resp.status_code}")


async def main_async(args: argparse.Namespace, r: Report) -> None:
    if args.transport == "stdio":
        server: Any = StdioServerParameters(command=args.bin, args=["--home", args.home, "mcp"])
    else:
        server = args.url
    async with Client(server, mode=args.mode, read_timeout_seconds=120) as client:
        await run_session(r, client, args)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("transport", choices=["stdio", "http"])
    p.add_argument("--bin")
    p.add_argument("--home")
    p.add_argument("--url")
    p.add_argument("--mode", default="auto", choices=["auto", "legacy"])
    p.add_argument("--expect-tools", default="")
    p.add_argument("--work", required=True)
    args = p.parse_args()
    if args.transport == "stdio" and not (args.bin and args.home):
        p.error("stdio needs --bin and --home")
    if args.transport == "http" and not args.url:
        p.error("http needs --url")
    r = Report()
    try:
        anyio.run(main_async, args, r)
    except BaseException as e:  # the report must say why the session died, whatever it was
        traceback.print_exc()
        r.check("session: the SDK session ended cleanly", False, f"{type(e).__name__}: {e}")
    try:
        if args.transport == "stdio":
            check_stdio_raw(r, args)
        else:
            check_http_raw(r, args, [n for n in args.expect_tools.split(",") if n])
    except Exception as e:
        traceback.print_exc()
        r.check("raw checks ran to the end", False, f"{type(e).__name__}: {e}")
    print(f"{len(r.passed)} passed, {len(r.failed)} failed")
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())

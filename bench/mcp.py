#!/usr/bin/env python3
"""MCP server latency: tools/list and a cheap tool call, over stdio and streamable HTTP, measured raw.

Raw JSON-RPC (one process pipe; one HTTP keep-alive connection) so the figures are the server's, not a client
SDK's. `http` is a 2025-11-25 session (initialize, Mcp-Session-Id); `http-2026` is 2026-07-28, stateless.
Each request is sent only after the previous answer arrived (latency, not throughput).
Targets (issue 3): tools/list <= 5 ms, cheap call (`ipfs_version`) <= 1 ms p50.

Usage: python3 bench/mcp.py [--iterations 2000] [--bin target/release/ipfs-kit] [--smoke]
Builds ipfs-kit in release mode unless --bin is given. Standard library only.
"""
import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INIT = {
    "protocolVersion": "2025-11-25",
    "capabilities": {},
    "clientInfo": {"name": "ipfs-kit-bench", "version": "0"},
}


def pct(samples, p):
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def summary(name, samples_s):
    ms = [x * 1000 for x in samples_s]
    return {
        "what": name,
        "n": len(ms),
        "p50_ms": round(pct(ms, 50), 3),
        "p99_ms": round(pct(ms, 99), 3),
        "max_ms": round(max(ms), 3),
    }


class Stdio:
    """`ipfs-kit mcp` on a pipe: newline-delimited JSON-RPC."""

    def __init__(self, kit, home):
        self.p = subprocess.Popen(
            [kit, "--home", home, "mcp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.next_id = 0

    def request(self, method, params):
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}
        self.p.stdin.write(json.dumps(msg).encode() + b"\n")
        self.p.stdin.flush()
        while True:
            line = self.p.stdout.readline()
            if not line:
                sys.exit(f"stdio server closed the pipe during {method}")
            reply = json.loads(line)
            if reply.get("id") == self.next_id:
                return reply

    def notify(self, method):
        self.p.stdin.write(json.dumps({"jsonrpc": "2.0", "method": method}).encode() + b"\n")
        self.p.stdin.flush()

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=30)


class Http:
    """Streamable HTTP on one keep-alive connection; answers may be JSON or one SSE event.

    `modern`: protocol 2026-07-28, stateless (no initialize, no session; each request carries `_meta` and the
    `Mcp-Method` / `Mcp-Name` headers)."""

    def __init__(self, port, modern=False):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.session = None
        self.protocol = "2026-07-28" if modern else None
        self.modern = modern
        self.next_id = 0

    def _post(self, body):
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        }
        if self.session:
            headers["Mcp-Session-Id"] = self.session
        if self.protocol:
            headers["MCP-Protocol-Version"] = self.protocol
        if self.modern and "id" in body:
            headers["Mcp-Method"] = body["method"]
            if "name" in body["params"]:
                headers["Mcp-Name"] = body["params"]["name"]
        self.conn.request("POST", "/mcp", body=json.dumps(body), headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status >= 400:
            sys.exit(f"HTTP {resp.status} for {body.get('method')}: {data[:300]!r}")
        sid = resp.getheader("Mcp-Session-Id")
        if sid:
            self.session = sid
        return resp.getheader("Content-Type", ""), data

    def request(self, method, params):
        self.next_id += 1
        if self.modern:
            params = dict(params, _meta={
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientInfo": INIT["clientInfo"],
                "io.modelcontextprotocol/clientCapabilities": {},
            })
        ctype, data = self._post({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        if ctype.startswith("text/event-stream"):
            for line in data.decode().splitlines():
                if line.startswith("data:") and line[5:].strip():
                    reply = json.loads(line[5:])
                    if reply.get("id") == self.next_id:
                        return reply
            sys.exit(f"no answer to {method} in the SSE stream: {data[:300]!r}")
        return json.loads(data)

    def notify(self, method):
        self._post({"jsonrpc": "2.0", "method": method})

    def close(self):
        if self.session:
            self.conn.request("DELETE", "/mcp", headers={"Mcp-Session-Id": self.session})
            self.conn.getresponse().read()
        self.conn.close()


def measure(client, iterations):
    if not getattr(client, "modern", False):
        init = client.request("initialize", INIT)
        if "result" not in init:
            sys.exit(f"initialize failed: {init}")
        if hasattr(client, "protocol"):
            client.protocol = init["result"].get("protocolVersion")
        client.notify("notifications/initialized")
    rows = []
    for name, method, params, n in (
        ("tools/list", "tools/list", {}, max(10, iterations // 10)),
        ("tools/call ipfs_version", "tools/call", {"name": "ipfs_version", "arguments": {}}, iterations),
    ):
        for _ in range(min(50, n)):  # warm-up
            client.request(method, params)
        samples = []
        for _ in range(n):
            t0 = time.perf_counter()
            reply = client.request(method, params)
            samples.append(time.perf_counter() - t0)
            if "result" not in reply or reply["result"].get("isError"):
                sys.exit(f"{name} failed: {json.dumps(reply)[:300]}")
        rows.append(summary(name, samples))
    return rows


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, deadline_s=30):
    t_end = time.monotonic() + deadline_s
    while time.monotonic() < t_end:
        if proc.poll() is not None:
            sys.exit(f"ipfs-kit mcp --http exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    sys.exit("ipfs-kit mcp --http did not start listening")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iterations", type=int, default=2000)
    ap.add_argument("--bin", default=None, help="ipfs-kit binary (default: build target/release/ipfs-kit)")
    ap.add_argument("--smoke", action="store_true", help="a few iterations, to keep the script working")
    args = ap.parse_args()
    iterations = 20 if args.smoke else args.iterations
    kit = args.bin
    if kit is None:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "ipfs-kit"], cwd=ROOT, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        kit = os.path.join(target, "release", "ipfs-kit")
    home = tempfile.mkdtemp(prefix="ipfs-kit-bench-mcp-")
    rows = []
    try:
        stdio = Stdio(kit, os.path.join(home, "stdio"))
        try:
            rows += [dict(r, transport="stdio") for r in measure(stdio, iterations)]
        finally:
            stdio.close()
        port = free_port()
        server = subprocess.Popen(
            [kit, "--home", os.path.join(home, "http"), "mcp", "--http", f"127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_listening(port, server)
            for label, modern in (("http", False), ("http-2026", True)):
                client = Http(port, modern)
                try:
                    rows += [dict(r, transport=label) for r in measure(client, iterations)]
                finally:
                    client.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    targets = {"tools/list": ("p50_ms", 5.0), "tools/call ipfs_version": ("p50_ms", 1.0)}
    print(f"{'transport':<9} {'what':<26} {'n':>6} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}  target")
    for r in rows:
        key, limit = targets[r["what"]]
        verdict = "ok" if r[key] <= limit else "MISSED"
        print(f"{r['transport']:<9} {r['what']:<26} {r['n']:>6} {r['p50_ms']:>9.3f} {r['p99_ms']:>9.3f} "
              f"{r['max_ms']:>9.3f}  p50 <= {limit} ms: {verdict}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Daemon benchmark: `ipfs-kit daemon` next to the js-ipfs daemon (npm ipfs@0.66.1), in one run.

For a random file (256 MiB by default) it prints, for each daemon: RPC add (multipart upload with curl,
pinned), RPC cat and gateway GET throughput from the page cache; for ipfs-kit also CLI add of the same size,
the bar RPC add is held to, and RPC add with ipfs-kit's own client (`ipfs-kit --api … add`). Then requests/s under load (wrk, 32 connections) of `POST /api/v0/version`
and of `GET` of a 1 KiB file through the gateway. curl and wrk share this machine's cores with the
daemons, so the figures are what one box does end to end.

Usage: python3 bench/daemon.py [--size-mib 256] [--runs 3] [--dir /work] [--no-js]
Builds ipfs-kit in release mode, installs the pinned js-ipfs (tests/jsipfs) when missing, and wrk
from Debian's packages when missing (needs root).
"""
import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JSIPFS = os.path.join(ROOT, "tests", "jsipfs")
MIB = 1024 * 1024
OWN = "RPC add (ipfs-kit --api add)"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{what} never listened on {port}")


def run(cmd, **kw):
    kw.setdefault("stdout", subprocess.PIPE)
    p = subprocess.run(cmd, stderr=subprocess.PIPE, **kw)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr.decode(errors='replace')}")
    return p.stdout


def timed(cmd, **kw):
    t0 = time.perf_counter()
    out = run(cmd, **kw)
    return time.perf_counter() - t0, out


def children_cpu():
    """CPU seconds (user + system) of the finished child processes so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def proc_cpu(pid):
    """CPU seconds (user + system) of a running process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


class Daemon:
    def __init__(self, name, api, gateway, proc):
        self.name, self.api, self.gateway, self.proc = name, api, gateway, proc

    def rpc(self, command, query=""):
        return f"http://127.0.0.1:{self.api}/api/v0/{command}{'?' + query if query else ''}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_kit(kit, home, log):
    api, gw = free_port(), free_port()
    proc = subprocess.Popen([kit, "--home", home, "daemon", "--api-addr", f"127.0.0.1:{api}",
                             "--gateway-addr", f"127.0.0.1:{gw}"],
                            stdout=log, stderr=log)
    wait_port(api, proc, "ipfs-kit daemon")
    wait_port(gw, proc, "ipfs-kit daemon gateway")
    return Daemon("ipfs-kit daemon", api, gw, proc)


def start_js(repo, log):
    jsipfs = os.path.join(JSIPFS, "node_modules", ".bin", "jsipfs")
    env = dict(os.environ, IPFS_PATH=repo)
    run([jsipfs, "init", "--profile", "test"], env=env)
    api, gw = free_port(), free_port()
    run([jsipfs, "config", "Addresses.API", f"/ip4/127.0.0.1/tcp/{api}"], env=env)
    run([jsipfs, "config", "Addresses.Gateway", f"/ip4/127.0.0.1/tcp/{gw}"], env=env)
    run([jsipfs, "config", "--json", "Addresses.Swarm", "[]"], env=env)
    run([jsipfs, "config", "--json", "Bootstrap", "[]"], env=env)
    proc = subprocess.Popen([jsipfs, "daemon", "--offline"], env=env, stdout=log, stderr=log)
    wait_port(api, proc, "js-ipfs daemon", timeout=120)
    wait_port(gw, proc, "js-ipfs gateway", timeout=60)
    return Daemon("js-ipfs 0.66.1 daemon", api, gw, proc)


def wrk(url, post, seconds):
    script = []
    if post:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write('wrk.method = "POST"\n')
            script = ["-s", f.name]
    out = run(["wrk", "-t2", "-c32", f"-d{seconds}s"] + script + [url]).decode()
    for s in script[1:]:
        os.remove(s)
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        sys.exit(f"wrk saw {errors.group(1)} error responses from {url}")
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=256)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default=None, help="work directory (default: a temp dir)")
    ap.add_argument("--wrk-seconds", type=int, default=10)
    ap.add_argument("--no-js", action="store_true", help="skip the js-ipfs daemon")
    args = ap.parse_args()
    size = args.size_mib * MIB

    run(["cargo", "build", "--release", "-q", "-p", "ipfs-kit"], cwd=ROOT)
    kit = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "ipfs-kit")
    if shutil.which("wrk") is None:
        run(["apt-get", "install", "-y", "-q", "wrk"], env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    if not args.no_js and not os.path.exists(os.path.join(JSIPFS, "node_modules", ".bin", "jsipfs")):
        run(["npm", "ci", "--no-audit", "--no-fund"], cwd=JSIPFS)

    work = tempfile.mkdtemp(prefix="ipfs-kit-bench-daemon-", dir=args.dir)
    daemons = []
    try:
        # One distinct file per run, so every add stores new blocks.
        files = []
        for i in range(args.runs):
            path = os.path.join(work, f"data{i}.bin")
            with open(path, "wb") as f:
                left = size
                while left:
                    n = min(left, 16 * MIB)
                    f.write(os.urandom(n))
                    left -= n
            files.append(path)
        small = os.path.join(work, "small.txt")
        with open(small, "wb") as f:
            f.write(os.urandom(1024))
        # Written back before anything is timed: otherwise the first adds share the disk with 1+ GiB of
        # the inputs' own dirty pages.
        os.sync()
        for p in files + [small]:
            run(["cat", p], stdout=subprocess.DEVNULL)
        log = open(os.path.join(work, "daemons.log"), "wb")

        rows = []
        mbps = lambda dt: size / MIB / dt  # noqa: E731

        # ipfs-kit's three adds of each file back to back, in a rotating order, so that whatever the disk and
        # the VM do over the run weighs on all three alike: CLI add into an embedded repo (the bar RPC add is
        # held to), RPC add with curl, and RPC add with ipfs-kit's own client (what `ipfs-kit add` does while a
        # daemon holds the repo). Each has a repo of its own, so every add stores new blocks.
        kit_d = start_kit(kit, os.path.join(work, "kit-home"), log)
        daemons.append(kit_d)
        own = start_kit(kit, os.path.join(work, "kit-home-own"), log)
        cli_home = os.path.join(work, "cli-home")
        cpu = {w: 0.0 for w in ["CLI add", "RPC add: daemon", "RPC add: curl", "RPC add (own client): daemon",
                                "RPC add (own client): client"]}
        times = {"cli": [], "curl": [], "own": []}
        kit_cids = []

        def cli_add(p):
            c0 = children_cpu()
            times["cli"].append(mbps(timed([kit, "--home", cli_home, "--embedded", "add", "-Q", p])[0]))
            cpu["CLI add"] += children_cpu() - c0

        def curl_add(p):
            d0, c0 = proc_cpu(kit_d.proc.pid), children_cpu()
            dt, out = timed(["curl", "-sS", "-f", "-X", "POST", "-F", f"file=@{p}",
                             kit_d.rpc("add", "pin=true&quieter=true")])
            cpu["RPC add: daemon"] += proc_cpu(kit_d.proc.pid) - d0
            cpu["RPC add: curl"] += children_cpu() - c0
            kit_cids.append(json.loads(out.decode().strip().splitlines()[-1])["Hash"])
            times["curl"].append(mbps(dt))

        def own_add(p):
            d0, c0 = proc_cpu(own.proc.pid), children_cpu()
            times["own"].append(mbps(timed([kit, "--api", f"/ip4/127.0.0.1/tcp/{own.api}", "add", "-Q", p])[0]))
            cpu["RPC add (own client): daemon"] += proc_cpu(own.proc.pid) - d0
            cpu["RPC add (own client): client"] += children_cpu() - c0

        try:
            steps = [cli_add, curl_add, own_add]
            for i, p in enumerate(files):
                for step in steps[i % 3:] + steps[:i % 3]:
                    step(p)
        finally:
            own.stop()
        shutil.rmtree(cli_home)
        cpu = {w: c / len(files) for w, c in cpu.items()}
        rows.append(("ipfs-kit CLI", "add (persistent, synced)", median(times["cli"])))
        rows.append(("ipfs-kit daemon", OWN, median(times["own"])))

        if not args.no_js:
            daemons.append(start_js(os.path.join(work, "js-repo"), log))

        req = {}
        for d in daemons:
            if d is kit_d:
                adds, cids = times["curl"], kit_cids
            else:
                adds, cids = [], []
                for p in files:
                    dt, out = timed(["curl", "-sS", "-f", "-X", "POST", "-F", f"file=@{p}",
                                     d.rpc("add", "pin=true&quieter=true")])
                    cids.append(json.loads(out.decode().strip().splitlines()[-1])["Hash"])
                    adds.append(mbps(dt))
            if len(set(cids)) != len(cids):
                sys.exit(f"{d.name}: distinct files gave equal CIDs {cids}")
            rows.append((d.name, "RPC add (multipart, pinned)", median(adds)))
            cid = cids[0]
            cat_url = d.rpc("cat", f"arg={cid}")
            run(["curl", "-sS", "-f", "-X", "POST", "-o", "/dev/null", cat_url])  # warm
            cats = [mbps(timed(["curl", "-sS", "-f", "-X", "POST", "-o", "/dev/null", cat_url])[0])
                    for _ in range(args.runs)]
            rows.append((d.name, "RPC cat (page cache)", median(cats)))
            gw_url = f"http://127.0.0.1:{d.gateway}/ipfs/{cid}"
            run(["curl", "-sS", "-f", "-o", "/dev/null", gw_url])  # warm
            gws = [mbps(timed(["curl", "-sS", "-f", "-o", "/dev/null", gw_url])[0]) for _ in range(args.runs)]
            rows.append((d.name, "gateway GET (page cache)", median(gws)))
            small_cid = json.loads(run(["curl", "-sS", "-f", "-X", "POST", "-F", f"file=@{small}",
                                        d.rpc("add", "quieter=true")]).decode().strip().splitlines()[-1])["Hash"]
            req[(d.name, "POST /api/v0/version")] = wrk(d.rpc("version"), True, args.wrk_seconds)
            req[(d.name, "GET 1 KiB file, gateway")] = wrk(f"http://127.0.0.1:{d.gateway}/ipfs/{small_cid}",
                                                          False, args.wrk_seconds)

        print(f"\nfile: {args.size_mib} MiB of random bytes, default add options; median of {args.runs} runs")
        print(f"machine: {os.cpu_count()} cores (shared by daemon, curl and wrk)\n")
        print(f"{'program':<24} {'work':<30} {'MiB/s':>9}")
        for prog, w, s in rows:
            print(f"{prog:<24} {w:<30} {s:>9.0f}")
        print(f"\n{'program':<24} {'requests (wrk -t2 -c32)':<30} {'req/s':>9}")
        for (prog, w), s in req.items():
            print(f"{prog:<24} {w:<30} {s:>9.0f}")
        get = {(p, w): s for p, w, s in rows}
        k = "ipfs-kit daemon"
        print()
        bar = get[('ipfs-kit CLI', 'add (persistent, synced)')]
        print(f"RPC add / CLI add = {100 * get[(k, 'RPC add (multipart, pinned)')] / bar:.0f} % with curl, "
              f"{100 * get[(k, OWN)] / bar:.0f} % with ipfs-kit's own client")
        # Both adds are CPU-bound on a small machine: what each costs, and what curl takes from the cores.
        print("CPU per add (user + system): " + ", ".join(f"{w} {s * 1000:.0f} ms" for w, s in cpu.items()))
        if not args.no_js:
            j = daemons[1].name
            for w in ["RPC add (multipart, pinned)", "RPC cat (page cache)", "gateway GET (page cache)"]:
                print(f"{w}: ipfs-kit / js-ipfs = {get[(k, w)] / get[(j, w)]:.1f}x")
            for w in ["POST /api/v0/version", "GET 1 KiB file, gateway"]:
                print(f"{w}: ipfs-kit / js-ipfs = {req[(k, w)] / req[(j, w)]:.1f}x")
    finally:
        for d in daemons:
            d.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

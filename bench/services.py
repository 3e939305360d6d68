#!/usr/bin/env python3
"""Services benchmark: the supervisor's own overhead with 10 real supervised daemons, and cached vs fresh
status latency through the real faces, in one run.

With a temporary home it starts the supervisor, `ipfs-kit daemon` (which runs the services' reconcile loop
every 250 ms and the health/metrics round every 10 s), and measures its CPU % (utime+stime from
/proc/<pid>/stat) and RSS over --seconds with no services. It then registers 10 `ipfs-kit daemon`s as
`ipfs_kit` services (each its own home, API and gateway port on 127.0.0.1), starts each with
`ipfs-kit service start` (which returns once the daemon's health probe answers) and measures the
supervisor again over the same window while it watches the 10. Then:
- `POST /api/tools/service_status` on the supervisor's API (bearer token, keep-alive, as a client would):
  `{"name"}` (the metadata cache, 5 s TTL) and `{"name", "fresh": true}` (runs the health probe), p50/p99;
- `ipfs-kit service status NAME` as a process, wall time per run;
- the in-process figure from `cargo bench -p ipfs-kit-services --bench status_cache`;
- `kill -9` of one supervised daemon and the time until its fresh status is healthy again, restarted by
  its policy (on-failure).
Everything is stopped at the end (`service stop` for each, SIGTERM to the supervisor), also on failure.

Usage: python3 bench/services.py [--services 10] [--seconds 30] [--calls 500] [--cli-runs 20] [--no-cargo-bench]
Builds ipfs-kit in release mode (CARGO_TARGET_DIR is honoured). Only the standard library is used.
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stdout.decode(errors='replace')}{p.stderr.decode(errors='replace')}")
    return p.stdout


def pct(xs, q):
    xs = sorted(xs)
    return xs[round((len(xs) - 1) * q)]


def ms(s):
    return f"{s * 1000:.2f} ms"


def proc_stat(pid):
    """(utime + stime in seconds, RSS in bytes) of a process, all its threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 of proc(5): utime is 14, stime 15, rss (pages) 24
    return (int(fields[11]) + int(fields[12])) / CLK_TCK, int(fields[21]) * PAGE


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def measure(pid, seconds, others=()):
    """CPU % of one core used by `pid` (and by `others` together) over `seconds`, and its RSS (max of
    1 s samples). Nothing else talks to the daemons meanwhile."""
    c0, rss = proc_stat(pid)
    o0 = sum(proc_stat(p)[0] for p in others)
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        time.sleep(min(1.0, seconds - (time.monotonic() - t0)))
        rss = max(rss, proc_stat(pid)[1])
    c1, _ = proc_stat(pid)
    o1 = sum(proc_stat(p)[0] for p in others)
    wall = time.monotonic() - t0
    return 100 * (c1 - c0) / wall, rss, 100 * (o1 - o0) / wall


class Kit:
    """The ipfs-kit CLI on one home, with an environment that reaches nothing outside the run."""

    def __init__(self, binary, home, env):
        self.binary, self.home, self.env = binary, home, env

    def cmd(self, *args):
        return [self.binary, "--home", self.home, "--json", *args]

    def json(self, *args):
        return json.loads(run(self.cmd(*args), env=self.env))


class Rest:
    """`POST /api/tools/{name}` on one keep-alive connection, with the bearer token."""

    def __init__(self, port, token):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, tool, body):
        self.conn.request("POST", f"/api/tools/{tool}", body=json.dumps(body), headers=self.headers)
        r = self.conn.getresponse()
        data = r.read()
        if r.status != 200:
            sys.exit(f"POST /api/tools/{tool} {body}: HTTP {r.status}: {data.decode(errors='replace')}")
        return json.loads(data)


def start_supervisor(kit, port, token_file, log_path):
    log = open(log_path, "wb")
    proc = subprocess.Popen([kit.binary, "--home", kit.home, "daemon", "--api-addr", f"127.0.0.1:{port}",
                             "--gateway-addr", "127.0.0.1:0", "--token-file", token_file],
                            env=kit.env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the supervisor daemon exited with {proc.returncode}: see {log_path}")
        with open(log_path, "rb") as f:
            if b"Daemon is ready" in f.read():
                return proc
        time.sleep(0.05)
    sys.exit("the supervisor daemon was not ready within 60 s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--services", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--calls", type=int, default=500)
    ap.add_argument("--cli-runs", type=int, default=20)
    ap.add_argument("--dir", default=None, help="work directory (default: a temp dir)")
    ap.add_argument("--no-cargo-bench", action="store_true", help="skip the in-process status_cache bench")
    args = ap.parse_args()

    run(["cargo", "build", "--release", "-q", "-p", "ipfs-kit"], cwd=ROOT)
    binary = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "ipfs-kit")

    in_process = []
    if not args.no_cargo_bench:
        out = run(["cargo", "bench", "-q", "-p", "ipfs-kit-services", "--bench", "status_cache"], cwd=ROOT)
        in_process = [l for l in out.decode().splitlines() if l.strip()]

    work = tempfile.mkdtemp(prefix="ipfs-kit-bench-services-", dir=args.dir)
    env = {k: v for k, v in os.environ.items() if k not in ("IPFS_KIT_API", "IPFS_KIT_TOKEN", "IPFS_KIT_HOME")}
    env.update(HOME=work, IPFS_KIT_LOG="warn")
    kit = Kit(binary, os.path.join(work, "sup"), env)
    names = [f"kit{i}" for i in range(args.services)]
    pids = {}
    sup = None
    try:
        token = os.urandom(16).hex()
        token_file = os.path.join(work, "token")
        with open(token_file, "w") as f:
            f.write(token)
        os.chmod(token_file, 0o600)
        port = free_port()
        sup = start_supervisor(kit, port, token_file, os.path.join(work, "supervisor.log"))
        time.sleep(2)  # past start-up work
        idle_cpu, idle_rss, _ = measure(sup.pid, args.seconds)

        starts = []
        for n in names:
            kit.json("service", "add", n, "ipfs_kit", "--binary", binary,
                     "--set", f"home={os.path.join(work, n)}",
                     "--set", f"api=/ip4/127.0.0.1/tcp/{free_port()}",
                     "--set", f"gateway=/ip4/127.0.0.1/tcp/{free_port()}")
            t0 = time.perf_counter()
            st = kit.json("service", "start", n)
            starts.append(time.perf_counter() - t0)
            if st["status"] != "running" or not st["health"]["healthy"]:
                sys.exit(f"{n} did not start healthy: {st}")
            pids[n] = st["process"]["pid"]
        # the supervisor picks the records up on its next reconcile tick (250 ms)
        time.sleep(2)
        busy_cpu, busy_rss, children_cpu = measure(sup.pid, args.seconds, list(pids.values()))
        for n, pid in pids.items():
            if not alive(pid):
                sys.exit(f"{n} (pid {pid}) died during the measurement")

        rest = Rest(port, token)
        name = names[0]
        first = rest.call("service_status", {"name": name})
        if first["services"][0]["status"] != "running":
            sys.exit(f"{name}: {first}")
        cached, cached_hits = [], 0
        for _ in range(args.calls):
            t0 = time.perf_counter()
            r = rest.call("service_status", {"name": name})
            cached.append(time.perf_counter() - t0)
            cached_hits += bool(r["services"][0]["cached"])
        fresh = []
        for _ in range(args.calls):
            t0 = time.perf_counter()
            r = rest.call("service_status", {"name": name, "fresh": True})
            fresh.append(time.perf_counter() - t0)
            s = r["services"][0]
            if s["cached"] or not s["health"]["healthy"]:
                sys.exit(f"a fresh status was cached or unhealthy: {s}")

        cli = []
        for _ in range(args.cli_runs):
            t0 = time.perf_counter()
            s = kit.json("service", "status", name)["services"][0]
            cli.append(time.perf_counter() - t0)
            if s["status"] != "running":
                sys.exit(f"{name} via the CLI: {s}")

        victim = names[len(names) // 2]
        old = pids[victim]
        t0 = time.perf_counter()
        os.kill(old, signal.SIGKILL)
        deadline = t0 + 120
        while True:
            s = rest.call("service_status", {"name": victim, "fresh": True})["services"][0]
            new = (s.get("process") or {}).get("pid")
            if s["status"] == "running" and new and new != old and s["health"]["healthy"]:
                recovery = time.perf_counter() - t0
                pids[victim] = new
                restarts = s["process"].get("restarts")
                break
            if time.perf_counter() > deadline:
                sys.exit(f"{victim} not healthy again 120 s after kill -9: {s}")
            time.sleep(0.05)
        rest.conn.close()

        load = open("/proc/loadavg").read().split()[:3]
        print(f"\nmachine: {os.cpu_count()} cores, load average {' '.join(load)} (shared with other work)")
        print(f"supervisor: ipfs-kit daemon, reconcile tick 250 ms, health/metrics round every 10 s; "
              f"{args.services} supervised ipfs-kit daemons\n")
        rows = [
            ("service start -> healthy (CLI, each)", f"mean {ms(sum(starts) / len(starts))}", f"max {ms(max(starts))}"),
            (f"supervisor CPU, 0 services, {args.seconds:.0f} s", f"{idle_cpu:.2f} % of a core", f"RSS {idle_rss / 2**20:.1f} MiB"),
            (f"supervisor CPU, {args.services} services, {args.seconds:.0f} s", f"{busy_cpu:.2f} % of a core",
             f"RSS {busy_rss / 2**20:.1f} MiB"),
            (f"  the {args.services} supervised daemons together", f"{children_cpu:.2f} % of a core", ""),
            (f"REST service_status cached ({args.calls})", f"p50 {ms(pct(cached, 0.5))}",
             f"p99 {ms(pct(cached, 0.99))}  ({cached_hits} answered from cache)"),
            (f"REST service_status fresh ({args.calls})", f"p50 {ms(pct(fresh, 0.5))}", f"p99 {ms(pct(fresh, 0.99))}"),
            (f"CLI service status, per process ({args.cli_runs})", f"p50 {ms(pct(cli, 0.5))}", f"max {ms(max(cli))}"),
            ("kill -9 -> healthy again (restart by policy)", ms(recovery), f"restarts {restarts}"),
        ]
        w = max(len(r[0]) for r in rows)
        for a, b, c in rows:
            print(f"{a:<{w}}  {b:<20} {c}")
        if in_process:
            print("\nin process (cargo bench -p ipfs-kit-services --bench status_cache):")
            for l in in_process:
                print(f"  {l}")
    finally:
        for n in names:
            subprocess.run(kit.cmd("service", "stop", n), env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        if sup is not None and sup.poll() is None:
            sup.send_signal(signal.SIGTERM)
            try:
                sup.wait(20)
            except subprocess.TimeoutExpired:
                sup.kill()
                sup.wait()
        # whatever a failed stop left behind (own process groups)
        for pid in pids.values():
            if alive(pid):
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Content-core benchmark: ipfs-kit vs ipfs-unixfs-importer vs dd, on one random file, in one run.

Prints only-hash MB/s, persistent add MB/s, cat MB/s and peak RSS for each, plus ratios.
Usage: python3 bench/content.py [--size-mib 1024] [--keep]
Builds ipfs-kit in release mode and installs the pinned npm peers (tests/interop) when missing.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INTEROP = os.path.join(ROOT, "tests", "interop")
MIB = 1024 * 1024


def median_of(runs, fn):
    """Run fn() `runs` times; return the run with the median time (fn returns (dt, rss, out))."""
    results = sorted((fn() for _ in range(runs)), key=lambda r: r[0])
    return results[len(results) // 2]


def timed(cmd, stdout=subprocess.DEVNULL, env=None):
    """Run under /usr/bin/time -f %M to get this process's own peak RSS (KiB)."""
    with tempfile.NamedTemporaryFile("r") as tf:
        t0 = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-o", tf.name, "-f", "%M"] + cmd,
                           stdout=stdout, stderr=subprocess.PIPE, env=env)
        dt = time.perf_counter() - t0
        if p.returncode != 0:
            sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr.decode(errors='replace')}")
        rss_mib = int(tf.read().strip().splitlines()[-1]) / 1024
    return dt, rss_mib, p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--dir", default=None, help="work directory (default: a temp dir under /work or /tmp)")
    ap.add_argument("--runs", type=int, default=3, help="runs of each measurement; the median is shown")
    args = ap.parse_args()
    size = args.size_mib * MIB

    subprocess.run(["cargo", "build", "--release", "-q", "-p", "ipfs-kit"], cwd=ROOT, check=True)
    kit = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "ipfs-kit")
    if not os.path.exists(os.path.join(INTEROP, "node_modules", "ipfs-unixfs-importer")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=INTEROP, check=True)

    work = tempfile.mkdtemp(prefix="ipfs-kit-bench-", dir=args.dir)
    try:
        data = os.path.join(work, "data.bin")
        with open(data, "wb") as f:
            left = size
            while left:
                n = min(left, 16 * MIB)
                f.write(os.urandom(n))
                left -= n
        rows = []

        def mbps(dt):
            return size / MIB / dt

        R = args.runs
        subprocess.run(["sync"], check=True)

        def dd():
            out = os.path.join(work, "dd.out")
            r = timed(["dd", f"if={data}", f"of={out}", "bs=1M", "conv=fdatasync", "status=none"])
            os.remove(out)
            subprocess.run(["sync"], check=True)
            return r

        # dd with fdatasync: the disk's sequential write speed, the bar for persistent add.
        dt, rss, _ = median_of(R, dd)
        rows.append(("dd conv=fdatasync", "write", mbps(dt), rss))
        # warm the page cache for the input
        subprocess.run(["cat", data], stdout=subprocess.DEVNULL, check=True)

        home = os.path.join(work, "home")
        dt, rss, out = median_of(R, lambda: timed([kit, "--home", home, "add", "-Q", "-n", data], stdout=subprocess.PIPE))
        only_hash_cid = out.decode().strip()
        rows.append(("ipfs-kit", "only-hash", mbps(dt), rss))

        def kit_add():
            shutil.rmtree(home, ignore_errors=True)
            subprocess.run(["sync"], check=True)
            return timed([kit, "--home", home, "add", "-Q", data], stdout=subprocess.PIPE)

        dt, rss, out = median_of(R, kit_add)
        cid = out.decode().strip()
        assert cid == only_hash_cid, (cid, only_hash_cid)
        rows.append(("ipfs-kit", "add (persistent, synced)", mbps(dt), rss))
        subprocess.run([kit, "--home", home, "cat", cid], stdout=subprocess.DEVNULL, check=True)
        dt, rss, _ = median_of(R, lambda: timed([kit, "--home", home, "cat", cid]))
        rows.append(("ipfs-kit", "cat (page cache)", mbps(dt), rss))

        js = os.path.join(INTEROP, "bench-importer.mjs")
        dt, rss, out = median_of(R, lambda: timed(["node", js, "only-hash", data], stdout=subprocess.PIPE))
        js_cid = out.decode().strip()
        rows.append(("ipfs-unixfs-importer", "only-hash", mbps(dt), rss))

        def js_add():
            blocks = os.path.join(work, "jsblocks")
            shutil.rmtree(blocks, ignore_errors=True)
            subprocess.run(["sync"], check=True)
            return timed(["node", js, "fs", data, blocks], stdout=subprocess.PIPE)

        dt, rss, out = median_of(R, js_add)
        rows.append(("ipfs-unixfs-importer", "add (blockstore-fs, no fsync)", mbps(dt), rss))
        if js_cid != cid:
            print(f"WARNING: CIDs differ: ipfs-kit {cid}, importer {js_cid}")

        print(f"\nfile: {args.size_mib} MiB of random bytes, default options (CIDv0, size-262144, balanced); CID {cid}")
        print(f"machine: {os.cpu_count()} cores\n")
        print(f"median of {R} runs each; MiB/s = 2^20 bytes per second")
        print(f"{'program':<22} {'work':<30} {'MiB/s':>9} {'peak RSS MiB':>13}")
        for prog, work_, speed, rss in rows:
            print(f"{prog:<22} {work_:<30} {speed:>9.0f} {rss:>13.1f}")
        get = {(p, w): s for p, w, s, _ in rows}
        print()
        print(f"only-hash: ipfs-kit / importer = {get[('ipfs-kit', 'only-hash')] / get[('ipfs-unixfs-importer', 'only-hash')]:.1f}x")
        print(f"persistent add: ipfs-kit / dd fdatasync = {100 * get[('ipfs-kit', 'add (persistent, synced)')] / get[('dd conv=fdatasync', 'write')]:.0f} %")
        print(f"persistent add: ipfs-kit / importer+fs = {get[('ipfs-kit', 'add (persistent, synced)')] / get[('ipfs-unixfs-importer', 'add (blockstore-fs, no fsync)')]:.1f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

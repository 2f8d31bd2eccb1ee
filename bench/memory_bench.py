"""Compaction memory and time across table sizes, binaries and allocators (issue #15).

    .venv/bin/python bench/memory_bench.py --tables DIR/g5,DIR/g25,DIR/g100 --work /tmp/memory/mb
        [--bin build/bazof] [--bin NAME=PATH ...] [--allocators mimalloc,jemalloc,system]
        [--memory-limit 512MiB] [--threads 1] [--runs 1]

Each table (made by `bazof gen --keys 200000 --events N`) is copied fresh for every run and
compacted with `compact --threads T --format json`; one line per run: binary, allocator
(ARROW_DEFAULT_MEMORY_POOL), wall and CPU (user+sys) seconds, peak RSS (the child's
ru_maxrss) and the pool peak bazof reports. Prints a Markdown table of medians.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from w3_bench import child_usage  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tables", required=True, help="comma-separated table directories")
    ap.add_argument("--work", required=True)
    ap.add_argument("--bin", action="append", default=[], help="NAME=PATH or PATH (repeatable)")
    ap.add_argument("--allocators", default="", help="comma-separated ARROW_DEFAULT_MEMORY_POOL values")
    ap.add_argument("--memory-limit", default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    bins = []
    for b in args.bin or ["build/bazof"]:
        name, _, path = b.rpartition("=")
        bins.append((name or path, path))
    allocs = [a for a in args.allocators.split(",") if a] or [None]
    work = Path(args.work)
    rows = []
    for table in args.tables.split(","):
        src = Path(table)
        for name, path in bins:
            for alloc in allocs:
                samples = []
                for _ in range(args.runs):
                    dst = work / src.name
                    shutil.rmtree(dst, ignore_errors=True)
                    shutil.copytree(src, dst)
                    env = dict(os.environ)
                    if alloc:
                        env["ARROW_DEFAULT_MEMORY_POOL"] = alloc
                    cmd = [path, "compact", "--path", str(work), "--table", src.name, "--format", "json",
                           "--threads", str(args.threads)]
                    if args.memory_limit and name != "main":
                        cmd += ["--memory-limit", args.memory_limit]
                    wall, cpu, rss, out = child_usage(cmd, env)
                    r = json.loads(out)
                    samples.append((wall, cpu, rss, r.get("peak_memory_bytes"), r["events_read"]))
                    print(json.dumps({"table": src.name, "bin": name, "allocator": alloc, "wall_s": round(wall, 2),
                                      "cpu_s": round(cpu, 2), "peak_rss_mb": round(rss, 1),
                                      "pool_peak_mb": round(r["peak_memory_bytes"] / 2**20, 1)
                                      if r.get("peak_memory_bytes") else None, "events": r["events_read"]}),
                          flush=True)
                    shutil.rmtree(dst, ignore_errors=True)
                med = lambda i: statistics.median(s[i] for s in samples)
                pool = [s[3] for s in samples if s[3]]
                rows.append(f"| {src.name} | {samples[0][4]:,} | {name} | {alloc or 'default'} | {med(0):.1f} | "
                            f"{med(1):.1f} | {med(2):.0f} | "
                            f"{(statistics.median(pool) / 2**20):.0f} |" if pool else
                            f"| {src.name} | {samples[0][4]:,} | {name} | {alloc or 'default'} | {med(0):.1f} | "
                            f"{med(1):.1f} | {med(2):.0f} | - |")
    print("| table | events | binary | allocator | wall s | CPU s | peak RSS MB | pool peak MiB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

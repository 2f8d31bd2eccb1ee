"""Arrow's allocator for the bazof CLI: CPU seconds and peak RSS of the same commands under
mimalloc, jemalloc and the system allocator (issue #15, "choose the allocator deliberately").

    .venv/bin/python bench/allocator_ab.py --table /tmp/keyed/work/w1data/w1 \
        --as-of 2024-02-09T10:08:56Z --spine /tmp/keyed/work/w1data/spine_j1.parquet \
        --compact-table DIR --runs 3 [--bin build/bazof]

Each command runs once per allocator per round, rounds interleave the allocators (the
machine is shared: the load drifts), and the table reports medians of CPU (user + system of
the child) and of peak RSS (`ru_maxrss`). `--compact-table` is copied afresh before every
compaction. The allocator is chosen by ARROW_DEFAULT_MEMORY_POOL, which Arrow reads once.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ALLOCATORS = ("mimalloc", "jemalloc", "system")


def run(cmd, alloc, out=None):
    if out and os.path.exists(out):
        os.remove(out)
    env = dict(os.environ, ARROW_DEFAULT_MEMORY_POOL=alloc)
    # ru_maxrss of RUSAGE_CHILDREN is the largest child's so far, so each run is measured
    # through /usr/bin/time's own report instead.
    p = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M"] + cmd, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed under {alloc}:\n{p.stderr}")
    wall, user, sys_s, rss_kb = p.stderr.strip().splitlines()[-1].split()
    return float(user) + float(sys_s), float(sys_s), int(rss_kb) / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="build/bazof")
    ap.add_argument("--table", required=True, help="table for the scan and the join")
    ap.add_argument("--as-of", required=True)
    ap.add_argument("--spine", help="spine Parquet for join-asof (columns key, t)")
    ap.add_argument("--compact-table", help="table to copy and compact (e.g. bazof gen output)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--allocators", default=",".join(ALLOCATORS))
    args = ap.parse_args()
    allocs = args.allocators.split(",")
    scratch = tempfile.mkdtemp(prefix="allocator_ab_")
    out = os.path.join(scratch, "out.parquet")
    commands = {
        "scan as of T": [args.bin, "scan", args.table, "--as-of", args.as_of, "--format", "parquet",
                         "--output", out, "--overwrite"],
    }
    if args.spine:
        commands["join-asof"] = [args.bin, "join-asof", args.table, "--spine", args.spine, "--on", "t", "--by", "key",
                                 "--format", "parquet", "--output", out]
    results = {(c, a): [] for c in list(commands) + (["compact"] if args.compact_table else []) for a in allocs}
    try:
        for r in range(args.runs):
            for name, cmd in commands.items():
                for a in allocs:
                    results[(name, a)].append(run(cmd, a, out))
            if args.compact_table:
                for a in allocs:
                    copy = os.path.join(scratch, "t")
                    shutil.rmtree(copy, ignore_errors=True)
                    shutil.copytree(args.compact_table, copy)
                    results[("compact", a)].append(
                        run([args.bin, "compact", copy, "--force", "--format", "json", "--no-progress"], a))
            print(f"round {r + 1}/{args.runs} done", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("| command | allocator | CPU s (median) | of which system s | peak RSS MB (median) | runs |")
    print("|---|---|---:|---:|---:|---:|")
    for (name, a), v in results.items():
        print(f"| {name} | {a} | {statistics.median(x[0] for x in v):.2f} | {statistics.median(x[1] for x in v):.2f} | "
              f"{statistics.median(x[2] for x in v):.0f} | {len(v)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Keyed reads, before/after in one run (issue #14): two bazof CLIs (e.g. main's build and this
branch's) on the same tables, one process per query (so every read is cold: footers read, no
cache), alternating, median of N of the process's CPU seconds (user + system: robust on a
shared, loaded machine) and of its wall time; outputs compared byte for byte.

    python bench/keyed_ab.py --before /work/main/build/bazof --after build/bazof \
        --work DIR --qspec QSPEC.json [--runs 5] [--queries "W1 q6,j1,j2"] [--spines SPINEDIR]

DIR is a --work directory field_bench.py left behind (`--work DIR --queries q3,q4,q6`): W1 in
DIR/w1data, W2 in DIR/w2; QSPEC.json is W1's qspec (the "w1"/"qspec" object of the report json
field_bench.py wrote: T, the q3/q6 key, the q4 keys). --spines: a directory holding j1's and
j2's spines (spine_j1.parquet, spine_j2.parquet, as `field_bench.py --only-joins` writes them):
adds the as-of joins (`bazof join-asof`, output to Parquet, compared as Arrow tables).
--after-work DIR2: the after side reads DIR2's tables instead (the same data laid out by the
after binary, e.g. a copy of DIR/w1data compacted again with `--force` by it).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def run(exe: str, args: list[str]) -> tuple[float, float, str]:
    if "join-asof" in args:
        import pyarrow.parquet as pq

        with tempfile.TemporaryDirectory() as d:
            t0 = time.perf_counter()
            p = subprocess.Popen([exe] + args + ["--format", "parquet", "--output", f"{d}/out.parquet"],
                                 stderr=subprocess.PIPE)
            _, status, ru = os.wait4(p.pid, 0)
            wall = time.perf_counter() - t0
            if os.waitstatus_to_exitcode(status) != 0:
                raise RuntimeError(f"{exe} {' '.join(args)} failed: {p.stderr.read().decode()[-2000:]}")
            return ru.ru_utime + ru.ru_stime, wall, pq.read_table(f"{d}/out.parquet")
    with tempfile.TemporaryFile("w+") as out:
        t0 = time.perf_counter()
        p = subprocess.Popen([exe] + args + ["--format", "csv"], stdout=out, stderr=subprocess.PIPE)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{exe} {' '.join(args)} failed: {p.stderr.read().decode()[-2000:]}")
        out.seek(0)
        return ru.ru_utime + ru.ru_stime, wall, out.read()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--qspec", required=True, help="W1's qspec as JSON (from field_bench's report json)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--queries", help="comma-separated subset of the query names (default: all)")
    ap.add_argument("--spines", help="directory with spine_j1.parquet and spine_j2.parquet (adds j1, j2)")
    ap.add_argument("--after-work", help="the after side's --work (default: --work)")
    args = ap.parse_args()
    spec = json.loads(open(args.qspec).read())
    by_side = {"before": make_queries(args.work, spec, args.spines),
               "after": make_queries(args.after_work or args.work, spec, args.spines)}
    queries = by_side["before"]
    if args.queries:
        wanted = [q.strip() for q in args.queries.split(",")]
        queries = {q: queries[q] for q in wanted}
    print("| query | before CPU ms | after CPU ms | before / after | before wall ms | after wall ms | same output |")
    print("|---|---|---|---|---|---|---|")
    bad = 0
    for q in queries:
        cpu = {"before": [], "after": []}
        wall = {"before": [], "after": []}
        outs = {}
        for _ in range(args.runs):
            for side in ("before", "after"):
                c, t, o = run(getattr(args, side), by_side[side][q])
                cpu[side].append(c)
                wall[side].append(t)
                outs[side] = o
        same = outs["before"].equals(outs["after"]) if q in ("j1", "j2") else outs["before"] == outs["after"]
        bad += not same
        m = {s: statistics.median(v) * 1000 for s, v in cpu.items()}
        mw = {s: statistics.median(v) * 1000 for s, v in wall.items()}
        print(f"| {q} | {m['before']:.1f} | {m['after']:.1f} | {m['before'] / m['after']:.2f}x | "
              f"{mw['before']:.0f} | {mw['after']:.0f} | {'yes' if same else 'NO'} |", flush=True)
    return 1 if bad else 0


def make_queries(w: str, spec: dict, spines: str | None) -> dict:
    queries = {
        "W1 q3": ["scan", "--path", f"{w}/w1data", "--table", "w1", "--as-of", spec["as_of"], "--key", spec["one_key"]],
        "W1 q4": ["scan", "--path", f"{w}/w1data", "--table", "w1", "--as-of", spec["as_of"]]
                 + sum([["--key", k] for k in spec["keys"]], []),
        "W1 q6": ["history", "--path", f"{w}/w1data", "--table", "w1", "--key", spec["one_key"]],
        "W2 q3": ["scan", "--path", f"{w}/w2", "--table", "ltm_revenue", "--as-of", "2019-01-17T00:00:00+00:00",
                  "--key", "AAPL"],
        "W2 q6": ["history", "--path", f"{w}/w2", "--table", "ltm_revenue", "--key", "AAPL"],
    }
    if spines:
        for j in ("j1", "j2"):
            queries[j] = ["join-asof", "--path", f"{w}/w1data", "--table", "w1", "--spine",
                          f"{spines}/spine_{j}.parquet", "--on", "t", "--by", "key"]
    return queries


if __name__ == "__main__":
    sys.exit(main())

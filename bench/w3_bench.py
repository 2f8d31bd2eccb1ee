"""W3 (issue #15): a 100M-event table on one machine, in bounded memory.

    .venv/bin/python bench/w3_bench.py --work /tmp/w3 [--keys 2000000] [--events-per-key 50]
        [--phase gen,append,compact,queries] [--memory-limit 512MiB] [--runs 3]

W3 = 2M keys x 50 events = 100M events, 8 value columns: W1's distributions
(bench/field_bench.py make_events: int64 x3, float64 x2, short strings x2, a timestamp; 5% late
events delivered in a later commit), generated in blocks of keys so the generator never holds
the table: each block's events go, as a row group, to one Parquet input file per commit.

Phases (each reuses what the earlier ones left in --work):
  gen      the 20 commit input files (work/input/commit_XX.parquet)
  append   `bazof create` + 20 x `bazof append --input commit_XX.parquet` (time, peak RSS)
  uncompacted  q1 and q2 (latest) over the 20 appends, before compaction (scan memory)
  compact  `bazof compact --threads 1 --format json` (time, peak RSS, pool peak)
  queries  q1 (every key as of T), q3 (one key as of T), q6 (every event of one key) and j1
           (the as-of join of a 1M-row spine) through the Python package, in child processes of
           bench/field_bench.py (peak RSS = the child's VmHWM)

Prints one JSON object (also written to work/w3_results.json). Heavy: ~10 GB of disk, tens of
minutes; never run in CI. Delete --work afterwards.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
BAZOF_CLI = os.environ.get("BAZOF_BIN", str(REPO / "build" / "bazof"))
COMMITS = 20
SCHEMA = ("key:string,event_time:timestamp,i1:int64,i2:int64,i3:int64,f1:float64,f2:float64,"
          "s1:string,s2:string,ts:timestamp")


def block_events(k0: int, k1: int, h: int, seed: int):
    """Events of keys [k0, k1) sorted by (key, time), and the commit each arrives in: W1's
    distributions (bench/field_bench.py), drawn from a generator seeded per block."""
    import numpy as np

    import field_bench as fb

    tbl, commit, _ = fb.events_of_keys(np.random.default_rng([seed, k0]), k0, k1, h)
    return tbl, commit


def gen(work: Path, keys: int, h: int, seed: int, block_keys: int) -> dict:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    inp = work / "input"
    inp.mkdir(parents=True, exist_ok=True)
    writers = {}
    t0 = time.perf_counter()
    events = 0
    for k0 in range(0, keys, block_keys):
        tbl, commit = block_events(k0, min(keys, k0 + block_keys), h, seed)
        events += tbl.num_rows
        carr = pa.array(commit)
        for c in range(COMMITS):
            part = tbl.filter(pc.equal(carr, c))
            if c not in writers:
                writers[c] = pq.ParquetWriter(inp / f"commit_{c:02d}.parquet", part.schema, compression="snappy")
            writers[c].write_table(part)
        print(f"[gen] keys {k0}..{min(keys, k0 + block_keys)}", file=sys.stderr, flush=True)
    for w in writers.values():
        w.close()
    return {"events": events, "generate_s": time.perf_counter() - t0}


def child_usage(cmd: list[str], env: dict | None = None) -> tuple[float, float, float, str]:
    """wall s, CPU s (user+sys) and peak RSS MB of one child process (os.wait4's rusage),
    and its stdout. The child's ru_maxrss includes this process's RSS at the fork (Linux
    keeps the peak across exec), so measure from a small parent."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    secs = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {err.decode()[-2000:]}")
    return secs, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, out.decode()


def run_rss(cmd: list[str]) -> dict:
    """child_usage as a dict, rounded for the results file."""
    secs, cpu, rss, out = child_usage(cmd)
    return {"wall_s": round(secs, 2), "cpu_s": round(cpu, 2), "peak_rss_mb": round(rss, 1), "stdout": out}


def append(work: Path) -> dict:
    import shutil

    shutil.rmtree(work / "w3", ignore_errors=True)
    subprocess.run([BAZOF_CLI, "create", "--path", str(work), "--table", "w3", "--schema", SCHEMA,
                    "--key", "key", "--event-time", "event_time"], check=True, capture_output=True)
    runs = []
    for c in range(COMMITS):
        r = run_rss([BAZOF_CLI, "append", "--path", str(work), "--table", "w3",
                     "--input", str(work / "input" / f"commit_{c:02d}.parquet")])
        r.pop("stdout")
        runs.append(r)
        print(f"[append] commit {c}: {r}", file=sys.stderr, flush=True)
    return {"append_wall_s": round(sum(r["wall_s"] for r in runs), 2),
            "append_cpu_s": round(sum(r["cpu_s"] for r in runs), 2),
            "append_peak_rss_mb": max(r["peak_rss_mb"] for r in runs), "commits": runs}


def compact(work: Path, memory_limit: str | None, threads: int) -> dict:
    cmd = [BAZOF_CLI, "compact", "--path", str(work), "--table", "w3", "--format", "json",
           "--threads", str(threads)]
    if memory_limit:
        cmd += ["--memory-limit", memory_limit]
    r = run_rss(cmd)
    r["result"] = json.loads(r.pop("stdout"))
    return r


def queries(work: Path, keys: int, runs: int, seed: int, which=("q1", "q3", "q6", "j1")) -> dict:
    import field_bench as fb

    qspec = fb.w1_qspec(keys, seed)
    spec_base = {"engine": "bazof", "bazof_uri": str(work / "w3"), "key_col": "key", "et_col": "event_time",
                 "value_cols": fb.VALUE_COLUMNS, "columns": ["i1", "f1"], "runs": runs, "keys": qspec["keys"],
                 "one_key": qspec["one_key"], "as_of": qspec["as_of"]}
    out = {}
    for q in [q for q in which if q != "j1"]:
        r = fb.run_child({**spec_base, "query": q, **({"as_of": None} if q == "q2" else {})})
        out[q] = {"median_s": sorted(r["times"])[len(r["times"]) // 2], "rows": r["rows"],
                  "arrow_bytes": r["arrow_bytes"], "peak_rss_mb": round(r["peak_rss_kb"] / 1024, 1),
                  "import_rss_mb": round(r["import_rss_kb"] / 1024, 1)}
        print(f"[queries] {q}: {out[q]}", file=sys.stderr, flush=True)
    if "j1" not in which:
        return out
    spine = work / "spine.parquet"
    if not spine.exists():
        fb.make_spine(spine, 1_000_000, keys, keys, seed)
    r = fb.run_child({**spec_base, "query": "j1", "spine_file": str(spine)})
    out["j1"] = {"median_s": sorted(r["times"])[len(r["times"]) // 2], "rows": r["rows"],
                 "arrow_bytes": r["arrow_bytes"], "peak_rss_mb": round(r["peak_rss_kb"] / 1024, 1)}
    print(f"[queries] j1: {out['j1']}", file=sys.stderr, flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", required=True)
    ap.add_argument("--keys", type=int, default=2_000_000)
    ap.add_argument("--events-per-key", type=int, default=50)
    ap.add_argument("--block-keys", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="compaction threads")
    ap.add_argument("--memory-limit", default=None, help="compaction's --memory-limit")
    ap.add_argument("--phase", default="gen,append,uncompacted,compact,queries")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    res_file = work / "w3_results.json"
    res = json.loads(res_file.read_text()) if res_file.exists() else {}
    for phase in args.phase.split(","):
        if phase == "gen":
            res["gen"] = gen(work, args.keys, args.events_per_key, args.seed, args.block_keys)
        elif phase == "append":
            res["append"] = append(work)
        elif phase == "compact":
            res["compact"] = compact(work, args.memory_limit, args.threads)
        elif phase == "uncompacted":
            res["uncompacted"] = queries(work, args.keys, args.runs, args.seed, which=("q1", "q2"))
        elif phase == "queries":
            res["queries"] = queries(work, args.keys, args.runs, args.seed)
        res_file.write_text(json.dumps(res, indent=1))
        print(f"[{phase}] done", file=sys.stderr, flush=True)
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Row-group size (table property write.row_group_rows): what it costs and gains on W1.

    .venv/bin/python bench/row_group_ab.py --work /tmp/keyed/work --scratch /tmp/keyed/rg \
        [--appended 4096,16384,auto] [--compacted auto,131072] [--runs 5]

Uses the 20 history Parquet files bench/field_bench.py left in WORK/w1data/history (W1's
commits; run field_bench with --work WORK first). For each value V in --appended it creates a
table with write.row_group_rows=V (auto: the property unset), appends the 20 commits in one
process (CPU and wall time), and measures the files' size and, in process and warm, q1 (scan
as of T), q6 (history of one key). For each value in --compacted it then compacts that table
(`bazof compact`, CPU and peak RSS; `auto` compacts to 4096-row groups, 131072 to the budget's
~21K, the layout before the property) and measures q1, q2 (latest), q6 and j2 (1,000-row spine
over 100 keys: WORK/w1data/spine_j2.parquet, written by field_bench's joins). Query times are
medians of --runs, the tables taking turns within each run; answers are checked equal across
tables. Prints a Markdown report.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
import field_bench as fb  # noqa: E402

CLI = os.environ.get("BAZOF_BIN", str(REPO / "build" / "bazof"))


def du(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def data_bytes(uri: str) -> tuple[int, int]:
    """(bytes, row groups) of the current version's data files (from its snapshot JSON)."""
    import pyarrow.parquet as pq

    root = Path(uri)
    version = max(int(p.stem[1:]) for p in root.glob("s*.json") if p.stem[1:].isdigit())
    snap = json.loads((root / f"s{version}.json").read_text())
    files = []

    def walk(segs):
        for s in segs:
            if s.get("file"):
                files.append(s["file"])
            files.extend(d["file"] for d in s.get("delta", []))
            walk(s.get("segments", []))

    walk(snap["segments"])
    size = groups = 0
    for f in files:
        size += (root / f).stat().st_size
        groups += pq.ParquetFile(root / f).metadata.num_row_groups
    return size, groups


def append_all(uri: str, prop: str, parts: list[str]) -> dict:
    """In a child process: create the table and append the commits; CPU and wall seconds."""
    code = f"""
import json, os, resource, time, bazof, pyarrow.parquet as pq
parts = {parts!r}
first = pq.read_table(parts[0])
props = {{}} if {prop!r} == "auto" else {{"write.row_group_rows": {prop!r}}}
t = bazof.create_table({uri!r}, first.schema, key="key", properties=props)
tables = [pq.read_table(p) for p in parts]
r0 = resource.getrusage(resource.RUSAGE_SELF); w0 = time.perf_counter()
for part in tables:
    t.append(part)
r1 = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({{"wall_s": time.perf_counter() - w0,
                  "cpu_s": (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)}}))
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def compact(uri: str) -> dict:
    path, name = os.path.split(uri)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    w0 = time.perf_counter()
    secs, rss, _ = fb.timed_rss([CLI, "compact", "--path", path, "--table", name, "--format", "json"])
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall_s": time.perf_counter() - w0, "peak_rss_mb": rss,
            "cpu_s": (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)}


def time_queries(uris: dict[str, str], queries: dict, runs: int) -> dict:
    """In this process, warm: each query once per table untimed, then `runs` rounds in turn."""
    import bazof

    tables = {k: bazof.open_table(u) for k, u in uris.items()}
    times = {q: {k: [] for k in uris} for q in queries}
    answers = {}
    for q, fn in queries.items():
        for k, t in tables.items():
            res = fn(t)
            key = [c for c in ("rid", "key") if c in res.column_names][0]
            answers.setdefault(q, {})[k] = res.sort_by([(key, "ascending")] + (
                [("event_time", "ascending")] if "event_time" in res.column_names and key == "key" else []))
        for _ in range(runs):
            for k, t in tables.items():
                c0 = time.process_time()
                w0 = time.perf_counter()
                fn(t)
                times[q][k].append((time.perf_counter() - w0, time.process_time() - c0))
    out = {}
    for q in queries:
        ref = None
        out[q] = {}
        for k in uris:
            a = answers[q][k]
            if "version" in a.column_names:  # history: versions differ with the layout's commits
                a = a.drop_columns(["version"])
            same = ref is None or a.equals(ref)
            ref = a if ref is None else ref
            out[q][k] = {"wall_ms": statistics.median(w for w, _ in times[q][k]) * 1000,
                         "cpu_ms": statistics.median(c for _, c in times[q][k]) * 1000,
                         "rows": a.num_rows, "same": same}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", required=True, help="field_bench's --work (W1's history files)")
    ap.add_argument("--scratch", required=True, help="where the tables are written (removed first)")
    ap.add_argument("--appended", default="4096,16384,auto")
    ap.add_argument("--compacted", default="auto,131072")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--j1", action="store_true", help="also j1 (WORK/w1data/spine_j1.parquet, 1M rows)")
    ap.add_argument("--existing", action="append", default=[], metavar="NAME=PATH",
                    help="an already compacted table to compare too (e.g. auto=WORK/w1data/w1, field_bench's W1)")
    ap.add_argument("--keys", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=8)
    args = ap.parse_args()
    import pyarrow.parquet as pq

    d = Path(args.work) / "w1data"
    parts = sorted(str(p) for p in (d / "history").glob("commit_*.parquet"))
    assert len(parts) == fb.COMMITS, f"{d / 'history'}: run bench/field_bench.py --work {args.work} first"
    qs = fb.w1_qspec(args.keys, args.seed)
    scratch = Path(args.scratch)
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    appended = [x for x in args.appended.split(",") if x]
    compacted = [x for x in args.compacted.split(",") if x]
    names = list(dict.fromkeys(appended + compacted))
    compacted = list(compacted)
    uris = {v: str(scratch / f"rg_{v}") for v in names}
    report = {"qspec": qs, "append": {}, "compact": {}}
    for v in names:
        report["append"][v] = append_all(uris[v], v, parts)
        report["append"][v]["bytes"], report["append"][v]["row_groups"] = data_bytes(uris[v])
        print(f"[append] {v}: {report['append'][v]}", file=sys.stderr, flush=True)
    as_of = qs["as_of"]
    q_app = {"q1": lambda t: t.scan(as_of=as_of).to_arrow(), "q6": lambda t: t.history(qs["one_key"])}
    report["appended_queries"] = time_queries({v: uris[v] for v in appended}, q_app, args.runs)
    for v in compacted:
        report["compact"][v] = compact(uris[v])
        report["compact"][v]["bytes"], report["compact"][v]["row_groups"] = data_bytes(uris[v])
        report["compact"][v]["table_bytes"] = du(Path(uris[v]))
        print(f"[compact] {v}: {report['compact'][v]}", file=sys.stderr, flush=True)
    for e in args.existing:
        v, path = e.split("=", 1)
        uris[v] = path
        compacted.insert(0, v)
        report["compact"][v] = {"wall_s": float("nan"), "cpu_s": float("nan"), "peak_rss_mb": float("nan")}
        report["compact"][v]["bytes"], report["compact"][v]["row_groups"] = data_bytes(path)
        report["compact"][v]["table_bytes"] = du(Path(path))
    q_comp = dict(q_app)
    q_comp["q2"] = lambda t: t.scan().to_arrow()
    q_comp["q3"] = lambda t: t.scan(as_of=as_of, filter=[("key", "==", qs["one_key"])]).to_arrow()
    q_comp["q4"] = lambda t: t.scan(as_of=as_of, filter=[("key", "in", qs["keys"])]).to_arrow()
    spine_file = d / "spine_j2.parquet"
    if not spine_file.exists():  # as field_bench's run_joins makes it
        fb.make_spine(spine_file, 1000, args.keys, 100, args.seed + 2)
    spine = pq.read_table(spine_file)
    q_comp["j2"] = lambda t: t.join_asof(spine, on="t", by="key").to_arrow()
    j1_file = d / "spine_j1.parquet"
    if args.j1 and j1_file.exists():  # field_bench --only-joins writes it
        spine1 = pq.read_table(j1_file)
        q_comp["j1"] = lambda t: t.join_asof(spine1, on="t", by="key").to_arrow()
    report["compacted_queries"] = time_queries({v: uris[v] for v in compacted}, q_comp, args.runs)
    print(json.dumps(report, indent=1))

    def qtable(res: dict, cols: list[str]) -> list[str]:
        lines = ["| query | " + " | ".join(f"{c} wall ms | {c} CPU ms" for c in cols) + " | same answer |",
                 "|---|" + "---:|---:|" * len(cols) + "---|"]
        for q, r in res.items():
            lines.append(f"| {q} | " + " | ".join(f"{r[c]['wall_ms']:.1f} | {r[c]['cpu_ms']:.1f}" for c in cols)
                         + f" | {'yes' if all(r[c]['same'] for c in cols) else 'NO'} |")
        return lines

    md = ["Appends (20 commits of W1, one process; write.row_group_rows):", "",
          "| value | wall s | CPU s | data bytes (MiB) | row groups |", "|---|---:|---:|---:|---:|"]
    for v in names:
        a = report["append"][v]
        md.append(f"| {v} | {a['wall_s']:.2f} | {a['cpu_s']:.2f} | {a['bytes'] / 2**20:.0f} | {a['row_groups']} |")
    md += ["", "Queries on the appended tables (warm, in process, median of %d):" % args.runs, "",
           *qtable(report["appended_queries"], appended), "",
           "Compaction (`bazof compact`):", "",
           "| value | wall s | CPU s | peak RSS MB | data bytes of the version (MiB) | row groups | table on disk (MiB) |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for v in compacted:
        c = report["compact"][v]
        md.append(f"| {v} | {c['wall_s']:.1f} | {c['cpu_s']:.1f} | {c['peak_rss_mb']:.0f} | "
                  f"{c['bytes'] / 2**20:.0f} | {c['row_groups']} | {c['table_bytes'] / 2**20:.0f} |")
    md += ["", "Queries on the compacted tables (warm, in process, median of %d):" % args.runs, "",
           *qtable(report["compacted_queries"], compacted)]
    print("\n".join(md))
    bad = [q for part in ("appended_queries", "compacted_queries") for q, r in report[part].items()
           if not all(x["same"] for x in r.values())]
    if bad:
        print(f"MISMATCH: {bad}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

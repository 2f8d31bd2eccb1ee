"""Python Table.append of 1M shuffled rows against pq.write_table of the same in-memory table,
alternating in one process: medians of wall time and of CPU time (user+sys of every thread,
getrusage), and the ratios write_table / append (issue #15: shuffled >= 50%). The CPU ratio
is the steadier one on a shared machine. Input: bench/write_bench.py's 1M rows, cached as
Parquet at --input (made if missing).

    TMPDIR=/tmp/x .venv/bin/python bench/append_order_cpu.py --input /tmp/x/shuffled.parquet --runs 9 --label mine
    TMPDIR=/tmp/x /work/main/.venv/bin/python bench/append_order_cpu.py --input /tmp/x/shuffled.parquet --runs 9 --label main
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

import bazof

sys.path.insert(0, str(Path(__file__).resolve().parent))
from write_bench import input_table  # noqa: E402


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True, help="Parquet cache of the shuffled input")
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--label", default="")
    ap.add_argument("--sorted", action="store_true", help="append the rows sorted by (key, event_time)")
    a = ap.parse_args()
    if not os.path.exists(a.input):
        pq.write_table(input_table(1_000_000), a.input)
    t = pq.read_table(a.input).combine_chunks()
    if a.sorted:
        t = t.sort_by([("key", "ascending"), ("event_time", "ascending")])
    res = {"append": [], "write": [], "append_cpu": [], "write_cpu": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(a.runs):
            d = Path(tmp) / f"t{i}"
            tb = bazof.create_table(str(d), pa.schema([f for f in t.schema if f.name not in ("key", "event_time")]),
                                    key="key")
            c0, t0 = cpu(), time.perf_counter()
            tb.append(t)
            res["append"].append(time.perf_counter() - t0)
            res["append_cpu"].append(cpu() - c0)
            shutil.rmtree(d)
            c0, t0 = cpu(), time.perf_counter()
            pq.write_table(t, Path(tmp) / "w.parquet")
            res["write"].append(time.perf_counter() - t0)
            res["write_cpu"].append(cpu() - c0)
    m = {k: statistics.median(v) for k, v in res.items()}
    print(json.dumps({"label": a.label, "order": "sorted" if a.sorted else "shuffled", "rows": t.num_rows,
                      "runs": a.runs, **{k: round(v, 3) for k, v in m.items()},
                      "ratio_wall": round(m["write"] / m["append"], 3),
                      "ratio_cpu": round(m["write_cpu"] / m["append_cpu"], 3),
                      "load": round(os.getloadavg()[0], 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

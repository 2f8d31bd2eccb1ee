"""Write-path benchmarks (issue #3), medians of several runs, ratios in the same run.

    .venv/bin/python bench/write_bench.py [--rows 1000000] [--runs 5] [--puts 1000]
    .venv/bin/python bench/write_bench.py --order-only [--rows 1000000] [--runs 5]

1. append of N rows x 8 columns from Parquet with `bazof append`, against Arrow's
   Parquet writer writing the same rows (pyarrow.parquet.write_table), both the
   write alone and read+write (a copy, which is what an append has to do too).
2. `bazof put` latency, process start included.
3. a latest scan after P single-row puts, against the same rows in one append.
4. (also alone with --order-only) Python `Table.append` of the same rows shuffled
   (arrival order) and sorted by (key, event_time), each alternating with
   pq.write_table of the same in-memory table in one process: medians, and the
   ratio write_table / append per order (issue #15: shuffled >= 50%).
Prints one JSON object per measurement and a summary.
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parent.parent
BAZOF = os.environ.get("BAZOF_BIN", str(REPO / "build" / "bazof"))


def bazof(*args):
    subprocess.run([BAZOF, *map(str, args)], check=True, capture_output=True, text=True)


def timed(fn, runs):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def input_table(rows, seed=1):
    rnd = random.Random(seed)
    base = 1_577_836_800_000  # 2020-01-01
    return pa.table({
        "key": pa.array([f"k{rnd.randrange(rows // 4):08d}" for _ in range(rows)]),
        "event_time": pa.array([base + rnd.randrange(5 * 365 * 86_400_000) for _ in range(rows)],
                               pa.timestamp("ms", tz="UTC")),
        "qty": pa.array([rnd.randrange(1000) for _ in range(rows)], pa.int64()),
        "price": pa.array([rnd.random() * 100 for _ in range(rows)], pa.float64()),
        "venue": pa.array([rnd.choice(["XNAS", "XNYS", "BATS", "IEXG"]) for _ in range(rows)]),
        "active": pa.array([rnd.random() < 0.9 for _ in range(rows)]),
        "seen": pa.array([base + rnd.randrange(10**9) for _ in range(rows)], pa.timestamp("ms", tz="UTC")),
        "lot": pa.array([rnd.randrange(100) for _ in range(rows)], pa.int32()),
    })


SCHEMA = "qty:int64,price:float64,venue:string,active:bool,seen:timestamp[ms],lot:int32"


def order_bench(table, runs, tmp, out):
    """Table.append of shuffled and of sorted input vs pq.write_table, alternating."""
    import bazof
    shuffled = table
    ordered = table.sort_by([("key", "ascending"), ("event_time", "ascending")])
    n = [0]
    for name, data in (("shuffled", shuffled), ("sorted", ordered)):
        appends, writes = [], []
        for _ in range(runs):
            uri = str(tmp / f"py{n[0]}")
            n[0] += 1
            t = bazof.create_table(uri, pa.schema([f for f in table.schema if f.name not in ("key", "event_time")]),
                                   key="key")
            t0 = time.perf_counter()
            t.append(data)
            appends.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            pq.write_table(data, tmp / f"pw{n[0]}.parquet")
            writes.append(time.perf_counter() - t0)
        out[f"py_append_{name}_s"] = statistics.median(appends)
        out[f"arrow_write_{name}_s"] = statistics.median(writes)
        out[f"append_{name}_vs_arrow_write"] = out[f"arrow_write_{name}_s"] / out[f"py_append_{name}_s"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--puts", type=int, default=1000)
    ap.add_argument("--order-only", action="store_true",
                    help="only the shuffled/sorted Table.append vs write_table comparison")
    a = ap.parse_args()
    out = {}
    if a.order_only:
        with tempfile.TemporaryDirectory() as tmp:
            order_bench(input_table(a.rows), a.runs, Path(tmp), out)
        out["rows"] = a.rows
        for k, v in out.items():
            print(json.dumps({k: round(v, 4) if isinstance(v, float) else v}))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        table = input_table(a.rows)
        src = tmp / "input.parquet"
        pq.write_table(table, src)

        n = [0]

        def arrow_write():
            pq.write_table(table, tmp / f"arrow{n[0]}.parquet")
            n[0] += 1

        def arrow_copy():
            pq.write_table(pq.read_table(src), tmp / f"copy{n[0]}.parquet")
            n[0] += 1

        def bazof_append():
            name = f"t{n[0]}"
            n[0] += 1
            bazof("create", "--path", tmp, "--table", name, "--schema", SCHEMA)
            t0 = time.perf_counter()
            bazof("append", "--path", tmp, "--table", name, "--input", src)
            return time.perf_counter() - t0

        out["arrow_write_s"], _ = timed(arrow_write, a.runs)
        out["arrow_read_write_s"], _ = timed(arrow_copy, a.runs)
        appends = [bazof_append() for _ in range(a.runs)]
        out["bazof_append_s"] = statistics.median(appends)
        mb = table.nbytes / 1e6
        out["append_vs_arrow_write"] = out["arrow_write_s"] / out["bazof_append_s"]
        out["append_vs_arrow_read_write"] = out["arrow_read_write_s"] / out["bazof_append_s"]
        out["rows"] = a.rows
        out["arrow_MB"] = round(mb, 1)

        # put latency (process start included) and scan after many puts
        bazof("create", "--path", tmp, "--table", "puts", "--schema", "value:int64")
        rnd = random.Random(2)
        rows = [(f"k{rnd.randrange(100):03d}", f"2024-01-{rnd.randrange(1, 29):02d}T{rnd.randrange(24):02d}:00:00Z",
                 rnd.randrange(10**6)) for _ in range(a.puts)]
        lat = []
        for k, t, v in rows:
            t0 = time.perf_counter()
            bazof("put", "--path", tmp, "--table", "puts", "--key", k, "--event-time", t, f"value={v}")
            lat.append(time.perf_counter() - t0)
        out["put_median_ms"] = statistics.median(lat) * 1000
        out["put_p90_ms"] = sorted(lat)[int(len(lat) * 0.9)] * 1000
        csv = tmp / "same.csv"
        csv.write_text("key,event_time,value\n" + "".join(f"{k},{t},{v}\n" for k, t, v in rows))
        bazof("create", "--path", tmp, "--table", "once", "--schema", "value:int64")
        bazof("append", "--path", tmp, "--table", "once", "--input", csv)
        out["scan_after_puts_s"], _ = timed(lambda: bazof("scan", "--path", tmp, "--table", "puts", "--format", "csv"), a.runs)
        out["scan_after_one_append_s"], _ = timed(lambda: bazof("scan", "--path", tmp, "--table", "once", "--format", "csv"), a.runs)
        out["scan_puts_vs_append"] = out["scan_after_puts_s"] / out["scan_after_one_append_s"]
        out["puts"] = a.puts
        order_bench(table, a.runs, tmp, out)
    for k, v in out.items():
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

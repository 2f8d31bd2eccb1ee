"""Scan splits: how evenly PlanSplits cuts a table, and what reading it split by
split costs against one scan (median of several runs, same process, same data).

    .venv/bin/python bench/split_bench.py [rows] [appends] [splits]

Prints, per layout (appends of random keys: every file spans the key space;
appends of key bands: files are disjoint), the planning time, the rows and the
estimated bytes per split, the files each split reads, and the time to read every
split one after the other (threads=1) as a ratio to one unsplit scan (threads=1)."""
import statistics
import sys
import tempfile
import time

import numpy as np
import pyarrow as pa

import bazof


def build(path, rows, appends, banded):
    t = bazof.create_table(path, pa.schema([("key", pa.int64()), ("v", pa.float64())]), key="key")
    rng = np.random.default_rng(1)
    per = rows // appends
    for a in range(appends):
        keys = rng.integers(a * per, (a + 1) * per, per) if banded else rng.integers(0, rows, per)
        t.append(pa.table({"key": keys, "event_time": pa.array(rng.integers(0, 10**6, per) * 1000,
                                                               pa.timestamp("us", tz="UTC")),
                           "v": rng.random(per)}))
    return t


def median_time(fn, runs=5):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    appends = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    for banded in (False, True):
        with tempfile.TemporaryDirectory() as d:
            t = build(f"{d}/t", rows, appends, banded)
            plan_s = median_time(lambda: t.plan_splits(max_splits=n))
            splits = t.plan_splits(max_splits=n)
            counts = [t.scan_split(s, threads=1).to_arrow().num_rows for s in splits]
            whole = median_time(lambda: t.scan(threads=1).to_arrow())
            split = median_time(lambda: [t.scan_split(s, threads=1).to_arrow() for s in splits])
            print(f"{'banded' if banded else 'random'} keys, {rows} rows in {appends} appends, max_splits={n}:")
            print(f"  plan {plan_s * 1000:.1f} ms; {len(splits)} splits; rows per split {counts}"
                  f" (max/mean {max(counts) / statistics.mean(counts):.2f})")
            print(f"  estimated MB per split {[round(s.estimated_bytes / 2**20, 1) for s in splits]}")
            print(f"  files per split {[len(s.files) for s in splits]} of {appends}")
            print(f"  read all splits {split * 1000:.0f} ms vs one scan {whole * 1000:.0f} ms"
                  f" (ratio {split / whole:.2f})")


if __name__ == "__main__":
    main()

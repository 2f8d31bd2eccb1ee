"""Compaction and streaming benchmarks (issue #4), medians of several runs, ratios in the same run.

    .venv/bin/python bench/compact_bench.py [--puts 1000] [--runs 5]
        [--events 10000000] [--keys 1000000] [--files 10] [--skip-streaming]

1. P single-row puts, then one `bazof compact`: latest-scan time before and after, against
   a table holding the same rows from one append (goal: after / once <= 2).
2. Streaming: E events over K keys with 8 value columns, appended in F commits. Latest
   scan to Parquet through the CLI with its peak RSS (goal < 1 GB), and through the C++
   API (build/scan_bench) with the time to the first batch against the whole scan; then
   compaction's time and peak RSS, and the scan after it.
Prints one JSON object per measurement.
"""
import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parent.parent
BAZOF = os.environ.get("BAZOF_BIN", str(REPO / "build" / "bazof"))
SCAN_BENCH = str(REPO / "build" / "scan_bench")


def bazof(*args):
    return subprocess.run([BAZOF, *map(str, args)], check=True, capture_output=True, text=True).stdout


def timed(fn, runs):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def peak_rss(*args):
    """Runs bazof under /usr/bin/time; returns (seconds, peak RSS in MB)."""
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", BAZOF, *map(str, args)], check=True,
                       capture_output=True, text=True)
    secs = time.perf_counter() - t0
    kb = int(p.stderr.strip().splitlines()[-1])
    return secs, kb / 1024


def emit(**kv):
    for k, v in kv.items():
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v}), flush=True)


def puts_then_compact(tmp, puts, runs):
    bazof("create", "--path", tmp, "--table", "puts", "--schema", "value:int64")
    rnd = random.Random(2)
    rows = [(f"k{rnd.randrange(100):03d}", f"2024-{rnd.randrange(1, 13):02d}-{rnd.randrange(1, 29):02d}T"
             f"{rnd.randrange(24):02d}:00:00Z", rnd.randrange(10**6)) for _ in range(puts)]
    for k, t, v in rows:
        bazof("put", "--path", tmp, "--table", "puts", "--key", k, "--event-time", t, f"value={v}")
    csv = tmp / "same.csv"
    csv.write_text("key,event_time,value\n" + "".join(f"{k},{t},{v}\n" for k, t, v in rows))
    bazof("create", "--path", tmp, "--table", "once", "--schema", "value:int64")
    bazof("append", "--path", tmp, "--table", "once", "--input", csv)

    def scan(table):
        return lambda: bazof("scan", "--path", tmp, "--table", table, "--format", "csv")

    before = timed(scan("puts"), runs)
    once = timed(scan("once"), runs)
    t0 = time.perf_counter()
    bazof("compact", "--path", tmp, "--table", "puts")
    compact_s = time.perf_counter() - t0
    after = timed(scan("puts"), runs)
    assert bazof("scan", "--path", tmp, "--table", "puts", "--format", "csv") == \
        bazof("scan", "--path", tmp, "--table", "once", "--format", "csv")
    emit(puts=puts, scan_after_puts_s=before, scan_one_append_s=once, compact_s=compact_s,
         scan_after_compact_s=after, puts_vs_append_before=before / once, puts_vs_append_after=after / once)


def wide_events(n, keys, seed):
    """n events over `keys` keys, 8 value columns, 5 years, vectorized with Arrow compute."""
    base = 1_577_836_800_000  # 2020-01-01 in ms
    rnd = pc.random(n, initializer=seed)
    k = pc.cast(pc.floor(pc.multiply(pc.random(n, initializer=seed + 1), keys)), pa.int64())
    key = pc.binary_join_element_wise("k", pc.utf8_lpad(pc.cast(k, pa.string()), 7, "0"), "")
    ms = pc.cast(pc.floor(pc.multiply(rnd, 5 * 365 * 86_400_000)), pa.int64())
    ts = pc.cast(pc.add(ms, base), pa.timestamp("ms", tz="UTC"))
    venues = pa.array(["XNAS", "XNYS", "BATS", "IEXG"])
    return pa.table({
        "key": key,
        "event_time": ts,
        "qty": pc.cast(pc.floor(pc.multiply(pc.random(n, initializer=seed + 2), 1000)), pa.int64()),
        "price": pc.multiply(pc.random(n, initializer=seed + 3), 100),
        "venue": pc.take(venues, pc.cast(pc.floor(pc.multiply(pc.random(n, initializer=seed + 4), 4)), pa.int32())),
        "active": pc.less(pc.random(n, initializer=seed + 5), 0.9),
        "seen": pc.cast(pc.add(pc.cast(pc.floor(pc.multiply(pc.random(n, initializer=seed + 6), 1e9)), pa.int64()), base),
                        pa.timestamp("ms", tz="UTC")),
        "lot": pc.cast(pc.floor(pc.multiply(pc.random(n, initializer=seed + 7), 100)), pa.int32()),
        "note": pc.binary_join_element_wise("n", pc.cast(k, pa.string()), ""),
        "score": pc.multiply(pc.random(n, initializer=seed + 8), 1.0),
    })


SCHEMA = "qty:int64,price:float64,venue:string,active:bool,seen:timestamp[ms],lot:int32,note:string,score:float64"


def streaming(tmp, events, keys, files, runs):
    bazof("create", "--path", tmp, "--table", "wide", "--schema", SCHEMA)
    per = events // files
    for i in range(files):
        f = tmp / f"in{i}.parquet"
        pq.write_table(wide_events(per, keys, seed=10 * i + 1), f)
        bazof("append", "--path", tmp, "--table", "wide", "--input", f)
        f.unlink()
    out = tmp / "latest.parquet"
    secs, rss = peak_rss("scan", "--path", tmp, "--table", "wide", "--format", "parquet", "--output", out)
    answer = pq.read_table(out)
    emit(stream_events=events, stream_keys=keys, stream_files=files, latest_rows=answer.num_rows,
         answer_arrow_MB=answer.nbytes / 1e6, scan_cli_parquet_s=secs, scan_cli_peak_rss_MB=rss)
    lines = [json.loads(line) for line in subprocess.run(
        [SCAN_BENCH, "--path", tmp, "--table", "wide", "--runs", str(runs)], check=True,
        capture_output=True, text=True).stdout.splitlines()]
    runs_ = [r for r in lines if "run" in r]
    first = statistics.median(r["first_batch_seconds"] for r in runs_)
    total = statistics.median(r["seconds"] for r in runs_)
    emit(scan_api_s=total, scan_api_first_batch_s=first, first_batch_fraction=first / total)
    csecs, crss = peak_rss("compact", "--path", tmp, "--table", "wide")
    emit(compact_s=csecs, compact_peak_rss_MB=crss)
    secs2, rss2 = peak_rss("scan", "--path", tmp, "--table", "wide", "--format", "parquet", "--output", out)
    emit(scan_after_compact_cli_s=secs2, scan_after_compact_peak_rss_MB=rss2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--puts", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--files", type=int, default=10)
    ap.add_argument("--skip-streaming", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        puts_then_compact(tmp, a.puts, a.runs)
        if not a.skip_streaming:
            streaming(tmp, a.events, a.keys, a.files, a.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())

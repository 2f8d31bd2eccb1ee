"""Append of a shuffled Parquet input larger than the memory budget (issue #15, external sort):
peak RSS and time of `bazof append --memory-limit` on a generated input, checked for its row
count. The heavy run (10 GB of Parquet) is a documented command, not part of CI:

    .venv/bin/python bench/append_spill_bench.py --gb 10 --memory-limit 512MiB --dir /tmp/ingest

writes the input under --dir (W1's 8 columns, keys and event times in random order, row groups
of 1M rows), runs the append under /usr/bin/time -v, prints one JSON object, and deletes
everything it wrote (--keep keeps it). Needs about 3.5x --gb of free disk under --dir (input,
table, spilled runs). --gb 0.05 is a quick check.

--shape w3 writes W3's columns instead (bench/w3_bench.py: key, event_time and 8 value columns,
W1's distributions, 50 events per key): blocks of 20000 keys in a random order, each block's
1M rows shuffled, one row group per block; the input is unsorted as a whole, and every key's
events are unique in (key, event_time), so the table's row count equals the input's.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parent.parent
BAZOF = os.environ.get("BAZOF_BIN", str(REPO / "build" / "bazof"))
SCHEMA = "qty:int64,price:float64,venue:string,active:bool,seen:timestamp[ms],lot:int32"


def chunk(rng, rows, keys):
    base = 1_577_836_800_000
    key = pc.binary_join_element_wise("k", pc.cast(pa.array(rng.integers(0, keys, rows)), pa.string()), "")
    return pa.table({
        "key": key,
        "event_time": pa.array(base + rng.integers(0, 5 * 365 * 86_400_000, rows), pa.timestamp("ms", tz="UTC")),
        "qty": pa.array(rng.integers(0, 1000, rows)),
        "price": pa.array(rng.random(rows) * 100),
        "venue": pa.array(np.array(["XNAS", "XNYS", "BATS", "IEXG"])[rng.integers(0, 4, rows)]),
        "active": pa.array(rng.random(rows) < 0.9),
        "seen": pa.array(base + rng.integers(0, 10**9, rows), pa.timestamp("ms", tz="UTC")),
        "lot": pa.array(rng.integers(0, 100, rows).astype(np.int32)),
    })


W3_SCHEMA = ("key:string,event_time:timestamp,i1:int64,i2:int64,i3:int64,f1:float64,f2:float64,"
             "s1:string,s2:string,ts:timestamp")


def generate_w3(path, gb, seed=1, block_keys=20_000, h=50):
    """W3-shaped events in shuffled blocks until the file reaches `gb` (see the docstring)."""
    sys.path.insert(0, str(REPO / "bench"))
    import field_bench as fb

    rng = np.random.default_rng(seed)
    # ~54 bytes per event on disk (W3: 5.4 GB for 100M events): enough blocks, in random order.
    blocks = rng.permutation(int(gb * 1e9 / 54 / (block_keys * h)) * 2 + 1)
    rows = 0
    w = None
    for b in blocks:
        if path.exists() and path.stat().st_size >= gb * 1e9:
            break
        k0 = int(b) * block_keys
        t, _, _ = fb.events_of_keys(np.random.default_rng([seed, k0]), k0, k0 + block_keys, h)
        t = t.take(pa.array(rng.permutation(t.num_rows)))
        if w is None:
            w = pq.ParquetWriter(path, t.schema, compression="snappy")
        w.write_table(t, row_group_size=t.num_rows)
        rows += t.num_rows
        if rows % 20_000_000 == 0:
            print(f"generated {rows} rows", file=sys.stderr)
    w.close()
    return rows


def generate(path, gb, seed=1):
    rng = np.random.default_rng(seed)
    target = int(gb * 1e9)
    rows = 0
    with pq.ParquetWriter(path, chunk(rng, 1, 1).schema) as w:
        while not path.exists() or path.stat().st_size < target:
            t = chunk(rng, 1_000_000, 50_000_000)
            w.write_table(t, row_group_size=1_000_000)
            rows += t.num_rows
            if rows % 20_000_000 == 0:
                print(f"generated {rows} rows", file=sys.stderr)
            # ParquetWriter flushes each row group, so the file size grows as we go.
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=float, default=10.0, help="Parquet input size (GB, 10^9 bytes)")
    ap.add_argument("--memory-limit", default="512MiB")
    ap.add_argument("--dir", default="/tmp/ingest")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--shape", choices=["w1", "w3"], default="w1",
                    help="w1: the 8 columns above, random keys; w3: W3's columns in shuffled key blocks")
    ap.add_argument("--input", default=None, help="reuse this input (kept) instead of generating one")
    ap.add_argument("--generate-only", default=None, metavar="PATH", help="only write the input to PATH")
    a = ap.parse_args()
    if a.generate_only:
        t0 = time.perf_counter()
        rows = (generate_w3 if a.shape == "w3" else generate)(Path(a.generate_only), a.gb)
        print(json.dumps({"rows": rows, "generate_s": round(time.perf_counter() - t0, 1)}))
        return 0
    work = Path(a.dir) / "spill-bench"
    shutil.rmtree(work, ignore_errors=True)
    (work / "spill").mkdir(parents=True)
    try:
        src = Path(a.input) if a.input else work / "input.parquet"
        t0 = time.perf_counter()
        if a.input:
            rows = pq.ParquetFile(src).metadata.num_rows
        elif a.shape == "w3":
            rows = generate_w3(src, a.gb)
        else:
            rows = generate(src, a.gb)
        gen_s = time.perf_counter() - t0
        print(f"input {src}: {rows} rows, {src.stat().st_size / 1e9:.2f} GB, {gen_s:.0f} s", file=sys.stderr)
        create = [BAZOF, "create", "--path", work, "--table", "t"]
        create += ["--schema", W3_SCHEMA, "--key", "key", "--event-time", "event_time"] if a.shape == "w3" else \
            ["--schema", SCHEMA]
        subprocess.run(create, check=True, capture_output=True)
        t0 = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-v", BAZOF, "append", "--path", work, "--table", "t", "--input",
                            src, "--memory-limit", a.memory_limit, "--spill-dir", work / "spill",
                            "--format", "json"], capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            print(p.stderr, file=sys.stderr)
            return 1
        result = json.loads(p.stdout.splitlines()[0])
        rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
        user = float(re.search(r"User time \(seconds\): ([\d.]+)", p.stderr).group(1))
        sys_s = float(re.search(r"System time \(seconds\): ([\d.]+)", p.stderr).group(1))
        assert result["rows"] == rows, (result, rows)
        assert not any((work / "spill").iterdir()), "spill files left behind"
        print(json.dumps({"input_gb": round(src.stat().st_size / 1e9, 2), "rows": rows,
                          "memory_limit": a.memory_limit, "append_wall_s": round(wall, 1),
                          "append_cpu_s": round(user + sys_s, 1), "peak_rss_mb": round(rss_kb / 1024),
                          "pool_peak_mb": round(result.get("peak_memory_bytes", 0) / 2**20),
                          "spilled_runs": result["spilled_runs"], "merge_passes": result.get("merge_passes"),
                          "spilled_gb": round(result["spilled_bytes"] / 1e9, 2),
                          "files": result["files"], "generate_s": round(gen_s, 1)}))
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

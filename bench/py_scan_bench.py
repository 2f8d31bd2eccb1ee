"""Python package benchmarks (issue #6), medians of several runs, ratios in the same run.

    .venv/bin/python bench/py_scan_bench.py [--keys 200000] [--events 10] [--runs 7]

1. A latest scan of a `bazof gen` table to a pyarrow Table through the Python package
   (in process) against `bazof scan --format parquet --output F` of the same table (the
   CLI: process start, scan, Parquet encoding). The package must be within 10% of the CLI.
2. Bytes read (the process's read() bytes, /proc/self/io rchar) by a selective DuckDB
   query (one key) on a table registered with bazof.register_duckdb (filters pushed
   into bazof) against the same query on a plain scan result (no pushdown) and a full scan.
Prints one JSON object per measurement and a summary.
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import duckdb

import bazof

REPO = Path(__file__).resolve().parent.parent
BAZOF = os.environ.get("BAZOF_BIN", str(REPO / "build" / "bazof"))


def timed(fn, runs):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def rchar():
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise RuntimeError("no rchar in /proc/self/io")


def bytes_read(fn):
    before = rchar()
    result = fn()
    return rchar() - before, result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keys", type=int, default=200_000)
    ap.add_argument("--events", type=int, default=10)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([BAZOF, "gen", "--path", tmp, "--table", "g", "--keys", str(args.keys),
                        "--events", str(args.events), "--seed", "1"], check=True, capture_output=True)
        table = bazof.open_table(Path(tmp) / "g")
        rows = table.scan().to_arrow().num_rows  # warm the page cache for both sides
        out = Path(tmp) / "out.parquet"
        cli = [BAZOF, "scan", "--path", tmp, "--table", "g", "--format", "parquet", "--output", str(out)]
        subprocess.run(cli, check=True)

        results = []
        py_med, py_all = timed(lambda: table.scan().to_arrow(), args.runs)
        cli_med, cli_all = timed(lambda: subprocess.run(cli, check=True), args.runs)
        for name, med, alls in [("python scan().to_arrow()", py_med, py_all),
                                ("cli scan --format parquet", cli_med, cli_all)]:
            results.append({"measure": name, "rows": rows, "median_s": round(med, 4),
                            "runs_s": [round(t, 4) for t in alls]})

        key = table.scan(as_of=None).to_arrow().column("key")[rows // 2].as_py()
        con = duckdb.connect()
        bazof.register_duckdb(con, "g", table)
        query = f"SELECT * FROM g WHERE key = '{key}'"
        pushed, got = bytes_read(lambda: con.sql(query).fetchall())
        con.register("plain", table.scan())  # a scan result: an Arrow stream, nothing pushed
        unpushed, got2 = bytes_read(lambda: con.sql(f"SELECT * FROM plain WHERE key = '{key}'").fetchall())
        full, n = bytes_read(lambda: con.sql("SELECT count(*) FROM g").fetchall())
        assert got == got2 and len(got) == 1 and n == [(rows,)], (got, got2, n)
        size = sum(p.stat().st_size for p in (Path(tmp) / "g").rglob("*.parquet"))
        results.append({"measure": "duckdb bytes read", "table_bytes_on_disk": size,
                        "one_key_register_duckdb": pushed, "one_key_plain_scan_result": unpushed,
                        "full_scan_count": full})
        for r in results:
            print(json.dumps(r))
        print(f"summary: python to_arrow {py_med:.3f}s vs CLI --format parquet {cli_med:.3f}s: "
              f"ratio {py_med / cli_med:.2f} (must be <= 1.10); "
              f"DuckDB one-key query read {pushed / 1e6:.2f} MB with pushdown, "
              f"{unpushed / 1e6:.2f} MB without, full scan {full / 1e6:.2f} MB "
              f"(table {size / 1e6:.2f} MB on disk)")


if __name__ == "__main__":
    main()

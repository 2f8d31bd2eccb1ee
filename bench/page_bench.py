"""Data page size of appended files (issue #15, `write.page_bytes`): what a page size costs and saves.

    .venv/bin/python bench/page_bench.py --input /tmp/pages/s/input --work /tmp/pages/pb \\
        --pages 1MiB,256KiB,128KiB,64KiB [--runs 3] [--phases append,scan,compact]

--input holds the commit files of `bench/w3_bench.py --phase gen` (e.g. --keys 200000: 10M events,
8 value columns, 20 commits). For each page size: a table created with
`--property write.page_bytes=<size>`, the 20 commits appended (CPU s summed, peak RSS), its size
on disk, a latest and an as-of scan of the 20 uncompacted appends written as Parquet (CPU s, peak
RSS, pool peak; median of --runs), and `compact --threads 1` under the default budget (CPU s, peak
RSS, pool peak) on a copy. CPU seconds and peak RSS are of the child (os.wait4). Prints JSON lines.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
import w3_bench as w3  # noqa: E402

AS_OF = "2022-06-30T12:00:00Z"


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*.parquet"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--pages", default="1MiB,256KiB,128KiB,64KiB")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2, help="scan threads")
    ap.add_argument("--phases", default="append,scan,compact")
    args = ap.parse_args()
    bin_ = w3.BAZOF_CLI
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    inputs = sorted(Path(args.input).glob("commit_*.parquet"))
    phases = args.phases.split(",")
    for page in args.pages.split(","):
        root = work / page
        out = {"page_bytes": page}
        if "append" in phases:
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir(parents=True)
            subprocess.run([bin_, "create", "--path", str(root), "--table", "t", "--schema", w3.SCHEMA, "--key", "key",
                            "--event-time", "event_time", "--property", f"write.page_bytes={page}"],
                           check=True, capture_output=True)
            runs = [w3.run_rss([bin_, "append", "--path", str(root), "--table", "t", "--input", str(f)]) for f in inputs]
            out["append_cpu_s"] = round(sum(r["cpu_s"] for r in runs), 2)
            out["append_peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
            out["bytes"] = du(root / "t")
        if "scan" in phases:
            for name, extra in (("latest", []), ("as_of", ["--as-of", AS_OF])):
                rs = []
                for _ in range(args.runs):
                    dst = work / "scan.parquet"
                    r = w3.run_rss([bin_, "scan", "--path", str(root), "--table", "t", "--format", "parquet",
                                    "--output", str(dst), "--overwrite", "--memory-stats",
                                    "--threads", str(args.threads), *extra])
                    rs.append(r)
                out[f"scan_{name}_cpu_s"] = statistics.median(r["cpu_s"] for r in rs)
                out[f"scan_{name}_peak_rss_mb"] = statistics.median(r["peak_rss_mb"] for r in rs)
        if "compact" in phases:
            copy = work / "compact_copy"
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(root, copy)
            r = w3.run_rss([bin_, "compact", "--path", str(copy), "--table", "t", "--format", "json", "--threads", "1"])
            res = json.loads(r.pop("stdout"))
            out.update({"compact_cpu_s": r["cpu_s"], "compact_wall_s": r["wall_s"],
                        "compact_peak_rss_mb": r["peak_rss_mb"],
                        "compact_pool_peak_mb": round(res["peak_memory_bytes"] / 2**20, 1),
                        "segments": res.get("segments")})
            shutil.rmtree(copy, ignore_errors=True)
        print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""bench/spark_bench.py at a tiny size: every Spark-over-Parquet answer (as of T, latest,
100 keys, validity intervals by lead(), changes by two scans joined) is checked equal to
Spark+bazof's before timing, so
the benchmark's differential checks run in CI. No timings are asserted."""
import json
import os
import subprocess
import sys

from conftest import REPO
from spark_support import python_env, require


def test_spark_bench_tiny_answers_agree(tmp_path):
    require("pyspark")
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "spark_bench.py"), "--keys", "300", "--events-per-key", "5",
         "--runs", "1", "--write-rows", "2000", "--write-runs", "1", "--no-write-warmup",
         "--out", str(out), "--work", str(tmp_path / "work")],
        capture_output=True, text=True, timeout=600, env={**os.environ, **python_env()})
    assert proc.returncode == 0, proc.stderr[-5000:]
    res = json.loads((out / "spark_results.json").read_text())
    assert res["problems"] == []
    assert set(res["queries"]) == {"q1", "q2", "q4", "intervals", "changes"}
    assert res["queries"]["intervals"]["bazof"]["rows"] == 1500  # one interval per event: W1 has no tombstones
    report = (out / "SPARK_RESULTS.md").read_text()
    assert "Answers checked equal to bazof's: yes" in report
    assert "| intervals |" in report and "| changes |" in report

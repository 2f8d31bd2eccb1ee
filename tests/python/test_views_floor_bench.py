"""bench/views_bench.py and bench/floor_bench.py at a tiny size: views_bench's answer checks
(intervals against DuckDB's lead(), changes against two scans joined in DuckDB) and
floor_bench's queries run in CI. No timings are asserted."""
import os
import subprocess
import sys

from conftest import REPO


def test_views_and_floor_bench_tiny(bazof_bin, tmp_path):
    env = {**os.environ, "BAZOF_BIN": bazof_bin}
    work = tmp_path / "w1data"
    views = subprocess.run(
        [sys.executable, str(REPO / "bench" / "views_bench.py"), "--keys", "300", "--events-per-key", "6",
         "--runs", "1", "--work", str(work), "--out", str(tmp_path / "views.md")],
        capture_output=True, text=True, timeout=300, env=env)
    assert views.returncode == 0, views.stderr[-4000:]
    text = (tmp_path / "views.md").read_text()
    assert "intervals of the whole table (1800 rows)" in text
    assert "changes 2023-01-01 -> 2024-01-01" in text

    floor = subprocess.run(
        [sys.executable, str(REPO / "bench" / "floor_bench.py"), "--w1", str(work), "--runs", "1",
         "--out", str(tmp_path / "floor.md")],
        capture_output=True, text=True, timeout=300, env=env)
    assert floor.returncode == 0, floor.stderr[-4000:]
    text = (tmp_path / "floor.md").read_text()
    assert "1,800 rows" in text  # the floor read every event of the deltas
    assert "changes floor: pyarrow reads the" in text
    assert "two bazof scans joined in DuckDB" in text

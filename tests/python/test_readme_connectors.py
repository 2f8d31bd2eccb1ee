"""The README's Spark and Ray examples run as written (from the repository root)."""
import os
import re
import subprocess
import sys

from conftest import REPO
from spark_support import python_env, require


def block(title):
    text = (REPO / "README.md").read_text()
    section = text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, f"the {title} section has one example"
    return blocks[0]


def run_block(code):
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **python_env()})
    assert proc.returncode == 0, proc.stderr[-5000:]
    return proc.stdout


def test_spark_example():
    require("pyspark")
    out = run_block(block("Spark"))
    shown = [t for t in out.split("\n\n") if "symbol" in t]
    assert len(shown) == 4, out
    as_of_jan_3, latest, version_1, intervals = shown
    assert "AAPL" in as_of_jan_3 and "MSFT" in as_of_jan_3 and "370.87" in as_of_jan_3
    assert "AAPL" in latest and "MSFT" not in latest
    assert "MSFT" in version_1 and "AAPL" in version_1 and "event_time" not in version_1
    # One interval each; the tombstone closes MSFT's and has no row of its own.
    rows = [line for line in intervals.splitlines() if "AAPL" in line or "MSFT" in line]
    assert "valid_to" in intervals and len(rows) == 2, intervals
    assert "NULL" in rows[0] and "2024-01-05" in rows[1], intervals


def test_ray_example():
    require("ray")
    lines = run_block(block("Ray")).splitlines()
    assert lines[0] == "1"
    out = "\n".join(lines)
    assert "s1" in out and "20.5" in out
    assert "{'sensor': 's1'" in lines[-1] and "21.25" in lines[-1] and "18.0" in lines[-1]
    assert lines[-2] == "3", lines  # the intervals
    assert "s2" not in "\n".join(lines[1:-2])

"""The README's Python examples run as written (from the repository root)."""
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def python_blocks():
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def run_block(code):
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_readme_has_the_examples():
    blocks = python_blocks()
    assert len(blocks) == 4, "tour, DuckDB showcase, Polars showcase, maintenance"


def test_tour():
    out = run_block(python_blocks()[0])
    lines = out.splitlines()
    # as of Jan 2, late evening: the correction for AAPL, MSFT still listed
    assert "185.70" in lines[1] and "AAPL" in lines[1] and "MSFT" in lines[2] and "370.87" in lines[2]
    assert "185.64" in out  # version 1, before the correction
    assert "MSFT" not in out.split("shape:")[1].split("version")[0]  # deleted by Jan 5, latest
    assert "delete" in out and "put" in out  # the log


def test_duckdb_showcase():
    out = run_block(python_blocks()[1])
    assert out.strip() == ("[('AAPL', '261612000000', '294135000000'), "
                           "('GOOG', '136819000000', '171704000000')]")


def test_polars_showcase():
    out = run_block(python_blocks()[2])
    rows = [line for line in out.splitlines() if line.startswith("│ AAPL") or line.startswith("│ GOOG")]
    assert len(rows) == 2
    assert "261612000000" in rows[0] and "294135000000" in rows[0]
    assert "136819000000" in rows[1] and "171704000000" in rows[1]


def test_maintenance():
    lines = run_block(python_blocks()[3]).splitlines()
    assert len(lines) == 4, lines
    assert lines[0].startswith("CompactResult(") and "committed=True" in lines[0] and "version=9" in lines[0]
    assert lines[1] == "True"
    assert lines[2] == "[0, 1, 2, 3, 4, 5, 6, 7]"
    assert lines[3] == "['key', 'event_time', 'v', 'comment'] ['alter', 'compact']"  # the log keeps 8-9

"""The README's five-minute tour runs as written (in a temporary directory)."""
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def tour_blocks():
    text = (REPO / "README.md").read_text()
    section = text.split("## A five-minute tour", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.S)


def test_tour_runs(tmp_path, bazof_bin):
    blocks = tour_blocks()
    assert len(blocks) == 2, "the tour has a main block and a showcase block"
    script = "set -euo pipefail\n" + "\n".join(blocks).replace("/tmp/lake", str(tmp_path / "lake"))
    script = script.replace("$REPO/build/bazof", str(bazof_bin))
    proc = subprocess.run(["bash", "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    # The bitemporal example: version 1 still shows the price before the correction.
    assert "185.70" in out and "185.64" in out
    assert "committed version 3 (1 row)" in out
    assert "AAPL" in out and "GOOG" in out

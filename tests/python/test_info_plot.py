"""`bazof info`: read amplification by rows actually read, times with their zone, and
`--plot out.png|out.svg` (bazof.plot, matplotlib) checked by opening the files."""
import json
import re
import sys
import xml.etree.ElementTree as ET

import pytest

from conftest import assert_cli_error, committed

TIME_WITH_ZONE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


@pytest.fixture(autouse=True)
def plot_python(monkeypatch):
    # The CLI under test is build/bazof: point it at the interpreter bazof is installed in.
    monkeypatch.setenv("BAZOF_PYTHON", sys.executable)


def make(run, tmp_path):
    base = ["--path", tmp_path, "--table", "t"]
    run("create", *base, "--schema", "price:float64")
    committed(run("put", *base, "--key", "a", "--event-time", "2024-01-01", "price=1"))
    committed(run("put", *base, "--key", "a", "--event-time", "2024-02-01", "price=2"))
    committed(run("put", *base, "--key", "b", "--event-time", "2024-02-01", "price=5"))
    committed(run("delete", *base, "--key", "b", "--event-time", "2024-03-01"))
    return base


def files_of(segments):
    for s in segments:
        yield from s["files"]
        yield from files_of(s.get("segments", []))


def times_in(value):
    if isinstance(value, dict):
        for k, v in value.items():
            if k in ("start", "end", "min_event_time", "max_event_time", "timestamp", "watermark", "horizon"):
                if isinstance(v, str) and v not in ("-inf", "+inf"):
                    yield v
            else:
                yield from times_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from times_in(v)


def test_read_amplification_is_rows_read_over_rows_answered(run, tmp_path):
    base = make(run, tmp_path)
    info = json.loads(run("info", *base, "--format", "json").stdout)
    scan = info["latest_scan"]
    # Four one-row deltas are read for an answer of one row (a; b is deleted).
    assert scan["rows_read"] == sum(f["rows"] for f in files_of(info["segments"])) == 4
    assert scan["rows_answered"] == 1
    assert scan["read_amplification"] == pytest.approx(4.0)
    assert "largest_file_amplification" in scan
    text = run("info", *base).stdout
    assert "4 rows for an answer of 1 rows" in text and "read amplification 4.00" in text
    assert "times are UTC" in text


def test_times_carry_their_zone(run, tmp_path, fixtures_dir):
    base = make(run, tmp_path)
    for args in (base, ["--path", fixtures_dir / "bazof-0.1", "--table", "ltm_revenue"]):
        info = json.loads(run("info", *args, "--format", "json").stdout)
        assert info["time_zone"] == "UTC"
        times = list(times_in(info))
        assert times, info
        bad = [t for t in times if not TIME_WITH_ZONE.match(t)]
        assert not bad, bad
    assert info["latest_scan"]["rows_read"] > 0  # legacy files: counted from their footers


def test_plot_png_and_svg(run, tmp_path, fixtures_dir):
    from PIL import Image

    args = ["--path", fixtures_dir / "bazof-0.1", "--table", "ltm_revenue"]
    info = json.loads(run("info", *args, "--format", "json").stdout)
    files = list(files_of(info["segments"]))
    png = tmp_path / "layout.png"
    out = run("info", *args, "--plot", png)
    assert f"plot written to {png}" in out.stdout
    with Image.open(png) as im:
        assert im.format == "PNG"
        assert im.size[0] == 1000 and im.size[1] >= 200 + 30 * len(files) // 2
    svg = tmp_path / "layout.svg"
    out = run("info", *args, "--plot", svg, "--format", "json")
    assert json.loads(out.stdout)["table"] == info["table"]  # stdout stays JSON
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    ids = [g.get("id", "") for g in root.iter() if g.get("id", "").startswith("bazof-")]
    assert sum(i.startswith("bazof-base-") for i in ids) == sum(f["kind"] == "base" for f in files) > 0
    assert sum(i.startswith("bazof-delta-") for i in ids) == sum(f["kind"] == "delta" for f in files) > 0
    # A written table: its deltas, labelled with their versions.
    base = make(run, tmp_path / "w")
    svg = tmp_path / "w.svg"
    run("info", *base, "--plot", svg)
    text = svg.read_text()
    assert all(f"delta v{v}" in text for v in (1, 2, 3, 4)), text[:500]


def test_plot_errors_are_one_line(run, tmp_path, monkeypatch):
    base = make(run, tmp_path)
    assert_cli_error(run("info", *base, "--plot", tmp_path / "x.pdf", check=False), "x.pdf", problem="png or .svg")
    # matplotlib missing: a module of that name that fails to import shadows it.
    shim = tmp_path / "shim" / "matplotlib"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ImportError(\"No module named 'matplotlib'\")\n")
    monkeypatch.setenv("PYTHONPATH", str(shim.parent))
    out = tmp_path / "x.png"
    assert_cli_error(run("info", *base, "--plot", out, check=False), "x.png", problem="matplotlib.*bazof\\[plot\\]")
    assert not out.exists()
    monkeypatch.delenv("PYTHONPATH")
    monkeypatch.setenv("BAZOF_PYTHON", str(tmp_path / "no-such-python"))
    assert_cli_error(run("info", *base, "--plot", out, check=False), "no-such-python", problem="BAZOF_PYTHON")


def test_plot_from_build_bazof_needs_no_environment(run, tmp_path, monkeypatch):
    """A user running build/bazof as the README says, with no BAZOF_PYTHON: the plot is drawn by
    the Python bazof was built with (the project's .venv), not refused because build/python (a
    directory beside build/bazof) is not an interpreter."""
    from PIL import Image

    monkeypatch.delenv("BAZOF_PYTHON")
    monkeypatch.setenv("PATH", "/nonexistent")  # no python3 on PATH to fall back to
    base = make(run, tmp_path)
    png = tmp_path / "p.png"
    out = run("info", *base, "--plot", png)
    assert f"plot written to {png}" in out.stdout
    with Image.open(png) as im:
        assert im.format == "PNG"

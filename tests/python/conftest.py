"""Shared fixtures and helpers for the bazof end-to-end tests (pyarrow only)."""
import csv
import io
import os
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pytest

REPO = Path(__file__).resolve().parents[2]
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _bazof_path():
    return Path(os.environ.get("BAZOF_BIN") or REPO / "build" / "bazof")


@pytest.fixture(scope="session")
def bazof_bin():
    path = _bazof_path()
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"bazof binary not found or not executable at {path} "
                    "(build it with scripts/setup.sh or set BAZOF_BIN)", pytrace=False)
    return str(path)


@pytest.fixture(scope="session")
def fixtures_dir():
    path = (REPO / ".." / "shared" / "fixtures").resolve()
    if not path.is_dir():
        pytest.fail(f"fixture tables not found at {path}", pytrace=False)
    return path


@pytest.fixture(scope="session")
def run(bazof_bin):
    """run('scan', '--path', p, ...) -> CompletedProcess (text). check=True asserts exit 0."""
    def _run(*args, check=True):
        proc = subprocess.run([bazof_bin, *map(str, args)], capture_output=True,
                              text=True, timeout=600)
        if check and proc.returncode != 0:
            raise AssertionError(f"bazof {' '.join(map(str, args))} exited {proc.returncode}\n"
                                 f"stderr: {proc.stderr}\nstdout: {proc.stdout[:2000]}")
        return proc
    return _run


@pytest.fixture
def copy_table(fixtures_dir, tmp_path_factory):
    """copy_table('azof-0.2/table0') -> (path, table) of a writable copy under a neutral dir."""
    def _copy(rel, table="t"):
        base = tmp_path_factory.mktemp("w") / "p"
        shutil.copytree(fixtures_dir / rel, base / table)
        return base, table
    return _copy


# ---- output parsing -------------------------------------------------------

def parse_csv(text):
    """`--format csv` output -> (header, list of row dicts, all values as text)."""
    reader = csv.reader(io.StringIO(text))
    rows = [r for r in reader if r]
    assert rows, f"csv output has no header line: {text!r}"
    header = rows[0]
    return header, [dict(zip(header, r, strict=True)) for r in rows[1:]]


def csv_rows(text):
    """`--format csv` output -> list of dicts (header dropped)."""
    return parse_csv(text)[1]


def csv_map(text, col="value", key="key"):
    """`--format csv` output -> {key: value of `col`}, asserting keys are unique."""
    rows = csv_rows(text)
    out = {r[key]: r[col] for r in rows}
    assert len(out) == len(rows), "duplicate keys in scan output"
    return out


# ---- timestamps ------------------------------------------------------------

def parse_ts_us(text):
    """ISO-8601 date / datetime (naive = UTC, 'Z' or offset) -> microseconds since epoch."""
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    delta = dt - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def column_us(arr):
    """A pyarrow timestamp array/chunked array -> list of int microseconds (floored), None kept."""
    unit = arr.type.unit
    raw = arr.cast(pa.int64()).to_pylist()
    mul = {"s": 1_000_000, "ms": 1000, "us": 1}.get(unit)
    if mul is not None:
        return [None if v is None else v * mul for v in raw]
    return [None if v is None else v // 1000 for v in raw]  # ns floors to us


def fmt_ts(us, unit="ms"):
    """Microseconds since epoch -> ISO-8601 UTC with Z, fraction digits from the unit."""
    dt = EPOCH + timedelta(microseconds=us)
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    frac = {"s": "", "ms": f".{dt.microsecond // 1000:03d}", "us": f".{dt.microsecond:06d}",
            "ns": f".{dt.microsecond:06d}000"}[unit]
    return base + frac + "Z"


def render(value):
    """A Python value from pyarrow -> its CSV text in bazof's output."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        raise TypeError("render timestamps with fmt_ts")
    return str(value)


# ---- write path (create / append / put / delete / log / history) ----------

import re as _re  # noqa: E402

COMMITTED_RE = _re.compile(r"committed version (\d+) \((\d+) rows?\)")


def write_csv(path, header, rows):
    """Write a CSV input file: header line, then rows (None -> empty field). Returns path."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow(["" if v is None else v for v in r])
    return Path(path)


def committed(proc, rows=None):
    """stdout `committed version N (R rows)` -> N (asserting exactly that line, and R if given)."""
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr!r}"
    m = COMMITTED_RE.fullmatch(proc.stdout.strip())
    assert m, f"unexpected commit output: {proc.stdout!r} (stderr {proc.stderr!r})"
    if rows is not None:
        assert int(m.group(2)) == rows, f"want {rows} rows: {proc.stdout!r}"
    return int(m.group(1))


def assert_cli_error(proc, *names, problem=None):
    """Exit 1, nothing on stdout, exactly one stderr line `bazof: error: ...` naming `names`."""
    lines = proc.stderr.splitlines()
    assert proc.returncode == 1, f"exit {proc.returncode}, stdout={proc.stdout!r}, stderr={proc.stderr!r}"
    assert proc.stdout == "", f"stdout not empty: {proc.stdout[:500]!r}"
    assert len(lines) == 1, f"want exactly one stderr line, got {len(lines)}: {proc.stderr!r}"
    line = lines[0]
    assert line.startswith("bazof: error: "), line
    for name in names:
        assert str(name) in line, f"{name!r} not named in: {line}"
    if problem:
        assert _re.search(problem, line, _re.I), f"problem /{problem}/ not stated in: {line}"
    return line


def log_rows(run, path, table):
    """`bazof log --format csv` -> list of row dicts (asserting the brief's header)."""
    header, rows = parse_csv(run("log", "--path", path, "--table", table, "--format", "csv").stdout)
    assert header == ["version", "timestamp", "operation", "rows_added", "files_added",
                      "files_removed", "description"], header
    return rows


def table_state(run, path, table):
    """What a failed command must leave unchanged: log csv, full scan csv, snapshot files."""
    root = Path(path) / table
    return {
        "log": run("log", "--path", path, "--table", table, "--format", "csv").stdout,
        "scan": run("scan", "--path", path, "--table", table, "--format", "csv").stdout,
        "snapshots": sorted(p.name for p in root.glob("s*.json")),
    }


# ---- validation (bazof validate) --------------------------------------------

import json as _json  # noqa: E402


def assert_valid(run, path, table, deep=True, version=None):
    """Run `bazof validate` (--deep unless deep=False) and assert the table is valid: exit 0 and no
    problem listed. Call it after any operation to check the table still obeys the format. Returns
    the JSON report."""
    args = ["validate", "--path", path, "--table", table, "--format", "json"]
    if deep:
        args.append("--deep")
    if version is not None:
        args += ["--version", version]
    proc = run(*args, check=False)
    report = _json.loads(proc.stdout) if proc.stdout.strip() else None
    problems = "\n".join(f"  {p['object']}: {p['problem']} (versions {p['versions']})"
                         for p in (report or {}).get("problems", []))
    assert proc.returncode == 0 and report is not None and report["valid"], (
        f"bazof validate {path} {table}: exit {proc.returncode}\n{problems}\nstderr: {proc.stderr}")
    return report


@pytest.fixture
def validate(run):
    """validate(path, table, deep=True) -> report; fails the test if the table has any problem."""
    return lambda path, table, **kw: assert_valid(run, path, table, **kw)

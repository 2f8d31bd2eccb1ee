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
# ---- storage: the end-to-end suites run on a local path and on s3:// --------
#
# `lake` is parametrized: [local] is a temporary directory, [s3] a fresh prefix in a bucket of
# a real S3-compatible server (moto's, tests/python/s3_server.py) that the session starts on
# 127.0.0.1 and stops at the end; bazof subprocesses find it through the AWS_* environment.

import uuid as _uuid  # noqa: E402

S3_BUCKET = "bazof-test"


@pytest.fixture(scope="session")
def s3_server():
    """The session's S3 server, with bucket S3_BUCKET; AWS_* env set for bazof subprocesses."""
    from s3_server import S3Server
    server = S3Server().start()
    server.client().create_bucket(Bucket=S3_BUCKET)
    saved = {k: os.environ.get(k) for k in server.env()}
    os.environ.update(server.env())
    yield server
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    server.stop()


class LocalLake:
    """A local directory holding tables (`path` is what --path takes)."""
    kind = "local"

    def __init__(self, path):
        self.path = Path(path)

    def root(self, table):
        """How bazof names the table's root in its output."""
        return str(self.path / table)

    def put_tree(self, src, table):
        shutil.copytree(src, self.path / table)

    def names(self, table):
        """Names of the table's files, relative to its root, sorted."""
        root = self.path / table
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())

    def read(self, table, name):
        return (self.path / table / name).read_bytes()

    def write(self, table, name, data):
        p = self.path / table / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)

    def delete(self, table, name):
        (self.path / table / name).unlink()

    def root_path(self, table=""):
        """The table's root (the lake's base without a table) as a pathlib.Path."""
        return self.path / table if table else self.path


class S3Lake:
    """A prefix s3://bucket/<unique> on the test server (`path` is what --path takes)."""
    kind = "s3"

    def __init__(self, server, prefix):
        self.server = server
        self.prefix = prefix
        self.path = f"s3://{S3_BUCKET}/{prefix}"
        self._s3 = server.client()

    def root(self, table):
        return f"{self.path}/{table}"

    def _key(self, table, name=""):
        return f"{self.prefix}/{table}/{name}" if table else f"{self.prefix}/{name}"

    def put_tree(self, src, table):
        src = Path(src)
        for p in sorted(src.rglob("*")):
            if p.is_file():
                self._s3.put_object(Bucket=S3_BUCKET, Key=self._key(table, p.relative_to(src)),
                                    Body=p.read_bytes())

    def names(self, table):
        base = self._key(table)
        out = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=S3_BUCKET,
                                                                        Prefix=base):
            out += [o["Key"][len(base):] for o in page.get("Contents", [])]
        return sorted(out)

    def read(self, table, name):
        return self._s3.get_object(Bucket=S3_BUCKET, Key=self._key(table, name))["Body"].read()

    def write(self, table, name, data):
        self._s3.put_object(Bucket=S3_BUCKET, Key=self._key(table, name), Body=data)

    def delete(self, table, name):
        self._s3.delete_object(Bucket=S3_BUCKET, Key=self._key(table, name))

    def root_path(self, table=""):
        """The table's root (the lake's base without a table) as an S3Path (the part of
        pathlib.Path the tests use)."""
        return S3Path(self, table, "")


class S3Path:
    """An object (or prefix) of an S3Lake table: `/`, read/write_bytes/text, unlink, exists."""

    def __init__(self, lake, table, name):
        self.lake, self.table, self.name = lake, table, name

    def __truediv__(self, name):
        return S3Path(self.lake, self.table, f"{self.name}/{name}" if self.name else str(name))

    def __str__(self):
        base = self.lake.root(self.table) if self.table else self.lake.path
        return f"{base}/{self.name}" if self.name else base

    def mkdir(self, **_):
        pass  # object stores have no directories

    def read_bytes(self):
        return self.lake.read(self.table, self.name)

    def read_text(self):
        return self.read_bytes().decode()

    def write_bytes(self, data):
        self.lake.write(self.table, self.name, data)

    def write_text(self, text):
        self.write_bytes(text.encode())

    def unlink(self):
        self.lake.delete(self.table, self.name)

    def exists(self):
        return self.name in self.lake.names(self.table)


def make_lake(kind, request, tmp_path_factory):
    if kind == "local":
        return LocalLake(tmp_path_factory.mktemp("lake"))
    return S3Lake(request.getfixturevalue("s3_server"), _uuid.uuid4().hex)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "s3_seeds(*seeds): on the S3 server ([s3] lake), run only these seeds of "
        "this random workload unless BAZOF_ALL_S3_SEEDS=1")


def pytest_collection_modifyitems(config, items):
    """Random workloads against the S3 server take 3-10x as long as on disk (every request goes
    through moto, in Python): the [s3] variant of a test marked s3_seeds(...) runs only the seeds
    it names. Every seed still runs on local disk; BAZOF_ALL_S3_SEEDS=1 runs them all on S3 too."""
    if os.environ.get("BAZOF_ALL_S3_SEEDS") == "1":
        return
    keep, drop = [], []
    for item in items:
        mark = item.get_closest_marker("s3_seeds")
        params = getattr(getattr(item, "callspec", None), "params", {})
        if mark and params.get("lake") == "s3" and params.get("seed") not in mark.args:
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(params=["local", "s3"])
def lake(request, tmp_path_factory):
    """Where a test's tables live: a LocalLake ([local]) or an S3Lake ([s3])."""
    return make_lake(request.param, request, tmp_path_factory)


@pytest.fixture
def lake_copy(lake, fixtures_dir):
    """lake_copy('azof-0.2/table0') -> (path, table) of a writable copy of a fixture table."""
    def _copy(rel, table="t"):
        lake.put_tree(fixtures_dir / rel, table)
        return lake.path, table
    return _copy


@pytest.fixture(scope="session", params=["local", "s3"])
def fixture_tables(request, fixtures_dir):
    """group -> the --path of that fixture group: the shared fixtures ([local]) or a copy of them
    on the S3 server ([s3], uploaded once per session)."""
    if request.param == "local":
        return lambda group: fixtures_dir / group
    server = request.getfixturevalue("s3_server")
    s3 = server.client()
    for p in sorted(fixtures_dir.rglob("*")):
        if p.is_file():
            s3.put_object(Bucket=S3_BUCKET, Key=f"fixtures/{p.relative_to(fixtures_dir)}",
                          Body=p.read_bytes())
    return lambda group: f"s3://{S3_BUCKET}/fixtures/{group}"

"""Expected results of the fixture tables (shared/fixtures/README.md) through the CLI."""
import json
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import column_us, csv_rows, parse_csv, parse_ts_us

T0_TABLES = ["bazof-0.1/table0", "azof-0.2/table0"]
HEADER = ["key", "event_time", "value"]
TS = "T00:00:00.000Z"

T0_LATEST = [("1", "2024-02-01" + TS, "abc2"), ("2", "2024-02-20" + TS, "xyz2"),
             ("3", "2024-03-10" + TS, "www2")]
T0_0217 = [("1", "2024-02-01" + TS, "abc2"), ("2", "2024-01-01" + TS, "xyz")]

T2_COLS = ["key", "event_time", "value1", "value2", "is_active", "created"]
T2_LATEST = [
    {"key": "1", "event_time": "2024-02-01" + TS, "value1": "abc2", "value2": 100,
     "is_active": True, "created": "2024-01-01" + TS},
    {"key": "2", "event_time": "2024-02-20" + TS, "value1": "xyz2", "value2": 222,
     "is_active": False, "created": "2024-01-01" + TS},
    {"key": "3", "event_time": "2024-03-10" + TS, "value1": "www2", "value2": 300,
     "is_active": False, "created": "2024-03-01" + TS},
]


def split(rel):
    group, table = rel.split("/")
    return group, table


@pytest.fixture
def scan(run, fixture_tables):
    """Scans a fixture table, as shipped and as copied to s3:// (`fixture_tables`)."""
    def _scan(rel, *args, fmt="csv", check=True):
        group, table = split(rel)
        return run("scan", "--path", fixture_tables(group), "--table", table,
                   "--format", fmt, *args, check=check)
    return _scan


def triples(text):
    header, rows = parse_csv(text)
    assert header == HEADER
    return [(r["key"], r["event_time"], r["value"]) for r in rows]


def as_csv_text(row):
    return {k: ("true" if v is True else "false" if v is False else str(v)) for k, v in row.items()}


@pytest.mark.parametrize("rel", T0_TABLES)
def test_table0_latest(scan, rel):
    assert triples(scan(rel).stdout) == T0_LATEST


@pytest.mark.parametrize("rel", T0_TABLES)
@pytest.mark.parametrize("as_of", ["2024-02-17", "2024-02-17T00:00:00", "2024-02-17T00:00:00Z",
                                   "2024-02-17T02:00:00+02:00", "2024-02-16T23:00:00-01:00",
                                   "2024-02-17T00:00:00.000000Z"])
def test_table0_as_of_forms(scan, rel, as_of):
    assert triples(scan(rel, "--as-of", as_of).stdout) == T0_0217


@pytest.mark.parametrize("as_of,key2", [
    ("2024-02-20T00:00:00Z", "xyz2"),            # exactly at the event: inclusive
    ("2024-02-20", "xyz2"),
    ("2024-02-19T23:59:59.999Z", "xyz"),
    ("2024-02-19T23:59:59.999999Z", "xyz"),
    ("2024-02-20T01:00:00+02:00", "xyz"),        # 2024-02-19T23:00Z
    ("2024-02-20T01:00:00", "xyz2"),             # naive = UTC
    ("2024-02-19T23:30:00-00:30", "xyz2"),       # 2024-02-20T00:00Z
])
def test_table0_as_of_boundary_and_offsets(scan, as_of, key2):
    rows = {k: v for k, _, v in triples(scan("bazof-0.1/table0", "--as-of", as_of).stdout)}
    assert rows == {"1": "abc2", "2": key2}


def test_table0_inclusive_at_last_event(scan):
    assert triples(scan("azof-0.2/table0", "--as-of", "2024-03-10T00:00:00Z").stdout) == T0_LATEST
    assert triples(scan("azof-0.2/table0", "--as-of", "2024-03-09T23:59:59.999Z").stdout) == \
        T0_LATEST[:2]


@pytest.mark.parametrize("rel", T0_TABLES + ["azof-0.2/table1"])
def test_before_all_events_is_empty(scan, rel):
    proc = scan(rel, "--as-of", "2023-12-31T23:59:59.999Z")
    header, rows = parse_csv(proc.stdout)
    assert header == HEADER and rows == []
    assert scan(rel, "--as-of", "2023-06-01", fmt="json").stdout.strip() == ""


@pytest.mark.parametrize("as_of,expected", [
    (None, [("1", "2024-06-29" + TS, "abc4"), ("2", "2024-06-20" + TS, "xyz3")]),
    ("2024-06-01", [("1", "2024-06-01" + TS, "abc3"), ("2", "2024-06-01" + TS, "xyz2")]),
    ("2024-02-01", [("1", "2024-02-01" + TS, "abc2")]),
    ("2024-02-15T00:00:00Z", [("1", "2024-02-01" + TS, "abc2"), ("2", "2024-02-15" + TS, "xyz1")]),
    ("2024-01-31T23:59:59.999Z", []),
])
def test_table1(scan, as_of, expected):
    args = [] if as_of is None else ["--as-of", as_of]
    assert triples(scan("azof-0.2/table1", *args).stdout) == expected


def test_table2_csv_latest(scan):
    header, rows = parse_csv(scan("azof-0.2/table2").stdout)
    assert header == T2_COLS
    assert rows == [as_csv_text(r) for r in T2_LATEST]


def test_table2_json_latest(scan):
    lines = [ln for ln in scan("azof-0.2/table2", fmt="json").stdout.splitlines() if ln.strip()]
    objs = [json.loads(ln) for ln in lines]
    assert objs == T2_LATEST
    assert [list(o) for o in objs] == [T2_COLS] * 3, "json keys out of column order"


def test_table2_as_of(scan):
    rows = csv_rows(scan("azof-0.2/table2", "--as-of", "2024-02-17").stdout)
    assert [(r["key"], r["value1"], r["value2"], r["is_active"], r["created"]) for r in rows] == \
        [("1", "abc2", "100", "true", "2024-01-01" + TS), ("2", "xyz", "200", "false", "2024-01-01" + TS)]


def test_table0_json(scan):
    objs = [json.loads(ln) for ln in scan("azof-0.2/table0", fmt="json").stdout.splitlines()
            if ln.strip()]
    assert objs == [dict(zip(HEADER, t)) for t in T0_LATEST]


@pytest.mark.parametrize("cols,expected_header", [
    ("value2,created", ["key", "event_time", "value2", "created"]),
    ("is_active", ["key", "event_time", "is_active"]),
    ("value1", ["key", "event_time", "value1"]),
])
def test_columns_projection(scan, cols, expected_header):
    header, rows = parse_csv(scan("azof-0.2/table2", "--columns", cols).stdout)
    assert header == expected_header
    full = [as_csv_text(r) for r in T2_LATEST]
    assert rows == [{c: r[c] for c in expected_header} for r in full]


@pytest.mark.parametrize("keys,expected", [
    (["2"], ["2"]), (["1", "3"], ["1", "3"]), (["3", "1"], ["1", "3"]), (["9"], []),
])
def test_key_filter(scan, keys, expected):
    args = [a for k in keys for a in ("--key", k)]
    rows = triples(scan("bazof-0.1/table0", *args).stdout)
    assert rows == [t for t in T0_LATEST if t[0] in expected]


def test_key_filter_with_as_of(scan):
    rows = triples(scan("azof-0.2/table0", "--key", "2", "--as-of", "2024-02-17").stdout)
    assert rows == [T0_0217[1]]


@pytest.mark.parametrize("limit,n", [(1, 1), (2, 2), (10, 3)])
def test_limit(scan, limit, n):
    assert triples(scan("bazof-0.1/table0", "--limit", limit).stdout) == T0_LATEST[:n]


def test_version_one_is_current(scan):
    assert triples(scan("azof-0.2/table0", "--version", "1").stdout) == T0_LATEST


def test_file_uri_path(run, fixtures_dir):
    uri = (fixtures_dir / "azof-0.2").as_uri()
    proc = run("scan", "--path", uri, "--table", "table0", "--format", "csv")
    assert triples(proc.stdout) == T0_LATEST


def test_parquet_output(scan, tmp_path):
    out = tmp_path / "out.parquet"
    scan("azof-0.2/table2", "--output", out, fmt="parquet")
    t = pq.read_table(out)
    assert t.column_names == T2_COLS
    assert pa.types.is_timestamp(t.schema.field("event_time").type)
    assert t.schema.field("event_time").type.unit == "ms"
    assert t.schema.field("value2").type == pa.int64()
    assert t.schema.field("is_active").type == pa.bool_()
    assert t.schema.field("created").type.unit == "ms"
    assert t.column("key").to_pylist() == ["1", "2", "3"]
    assert t.column("value1").to_pylist() == ["abc2", "xyz2", "www2"]
    assert t.column("value2").to_pylist() == [100, 222, 300]
    assert t.column("is_active").to_pylist() == [True, False, False]
    assert column_us(t.column("event_time")) == [parse_ts_us(r["event_time"]) for r in T2_LATEST]
    assert column_us(t.column("created")) == [parse_ts_us(r["created"]) for r in T2_LATEST]


def test_parquet_output_as_of_projection(scan, tmp_path):
    out = tmp_path / "o.parquet"
    scan("bazof-0.1/table0", "--as-of", "2024-02-17", "--columns", "value", "--output", out,
         fmt="parquet")
    t = pq.read_table(out)
    assert t.column_names == HEADER
    assert t.column("value").to_pylist() == ["abc2", "xyz"]


def test_table_format_aligned(scan):
    lines = [ln for ln in scan("azof-0.2/table0", fmt="table").stdout.splitlines()
             if ln.strip() and not re.fullmatch(r"[\s\-+=|:]*", ln)]
    header, data = lines[0], lines[1:]
    assert re.search(r"\bkey\b.*\bevent_time\b.*\bvalue\b", header), header
    assert len(data) == 3
    ts = [re.search(r"2024-\d\d-\d\dT[0-9:.]+Z", ln) for ln in data]
    assert all(ts), data
    spans = {m.span() for m in ts}
    assert len(spans) == 1, f"event_time column not aligned: {data}"
    (start, end), = spans
    h = header.index("event_time")
    assert start <= h and h + len("event_time") <= end or h <= start < h + len("event_time"), \
        f"header not above its column:\n{header}\n{data[0]}"
    for ln, (_, _, v) in zip(data, T0_LATEST):
        assert v in ln


@pytest.mark.parametrize("rel,files", [
    ("bazof-0.1/table0", ["base.parquet", "delta1.parquet"]),
    ("azof-0.2/table1", ["delta1.parquet", "delta2.parquet"]),
    ("azof-0.2/table2", ["base.parquet", "delta1.parquet"]),
])
def test_info_mentions_files(run, fixture_tables, rel, files):
    group, table = split(rel)
    out = run("info", "--path", fixture_tables(group), "--table", table).stdout
    for f in files:
        assert f in out, out


def test_info_json_parses(run, fixture_tables):
    out = run("info", "--path", fixture_tables("azof-0.2"), "--table", "table2",
              "--format", "json").stdout
    doc = json.loads(out)
    assert "delta1.parquet" in json.dumps(doc)


def test_legacy_tie_within_a_file_first_row_wins(run, fixtures_dir, tmp_path):
    """Legacy tables: among rows of one file with equal (key, event time), the first row in
    file order wins, as the original reader returns it (spec §9). The rows are written out
    of key order, with tie groups of two and three, so the reader's own sort is exercised."""
    import shutil
    from datetime import datetime, timezone
    root = tmp_path / "lake"
    shutil.copytree(fixtures_dir / "azof-0.2" / "table0", root / "table0")
    delta = root / "table0" / "delta1.parquet"
    schema = pq.read_schema(delta)
    rows = [("3", "2024-03-10", "www2"), ("1", "2024-02-01", "first"), ("2", "2024-02-20", "xyz-a"),
            ("1", "2024-02-01", "second"), ("2", "2024-02-20", "xyz-b"), ("1", "2024-02-01", "third"),
            ("1", "2024-01-15", "earlier")]
    values = {"key": [r[0] for r in rows],
              "event_time": [datetime.fromisoformat(r[1]).replace(tzinfo=timezone.utc) for r in rows],
              "value": [r[2] for r in rows]}
    pq.write_table(pa.table({n: pa.array(values[n], type=schema.field(n).type) for n in schema.names},
                            schema=schema), delta)
    out = run("scan", "--path", root, "--table", "table0", "--format", "csv").stdout
    assert triples(out) == [("1", "2024-02-01" + TS, "first"), ("2", "2024-02-20" + TS, "xyz-a"),
                            ("3", "2024-03-10" + TS, "www2")]
    # Between the tie groups: key 1's tie decides, key 2 still has the base's state.
    out = run("scan", "--path", root, "--table", "table0", "--format", "csv",
              "--as-of", "2024-02-10T00:00:00Z").stdout
    assert triples(out) == [("1", "2024-02-01" + TS, "first"), ("2", "2024-01-01" + TS, "xyz")]


def test_output_refuses_to_overwrite(run, fixtures_dir, tmp_path):
    out = tmp_path / "answer.csv"
    out.write_text("keep me\n")
    args = ["scan", "--path", fixtures_dir / "azof-0.2", "--table", "table0", "--format", "csv",
            "--output", out]
    from conftest import assert_cli_error
    assert_cli_error(run(*args, check=False), out, problem="exists.*--overwrite")
    assert out.read_text() == "keep me\n"
    run(*args, "--overwrite")
    assert triples(out.read_text()) == T0_LATEST


def test_parquet_to_stdout_with_dash(run, bazof_bin, fixtures_dir):
    import io
    import subprocess
    args = ["scan", "--path", str(fixtures_dir / "azof-0.2"), "--table", "table0", "--format", "parquet"]
    from conftest import assert_cli_error
    assert_cli_error(run(*args, check=False), problem="needs --output FILE")
    proc = subprocess.run([bazof_bin, *args, "--output", "-"], capture_output=True, timeout=120)
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
    got = pq.read_table(io.BytesIO(proc.stdout)).to_pylist()
    assert [(r["key"], r["value"]) for r in got] == [(k, v) for k, _, v in T0_LATEST]

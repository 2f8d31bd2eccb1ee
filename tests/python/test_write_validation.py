"""Write path, bad input: every error of the brief's create / append / put / delete sections exits 1
with one stderr line `bazof: error: ...` naming the input (file, row, column), prints nothing on
stdout and commits nothing (log, full scan and snapshot files unchanged). Also the two edge
cases that are not errors: duplicate (key, event_time) rows in one input, and empty inputs."""
import json
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import (assert_cli_error, committed, log_rows, parse_csv, table_state, write_csv)

SCHEMA = "value:string,qty:int64,day:date,seen:timestamp[ms],flag:bool"
HEADER = ["key", "event_time", "value", "qty", "day", "seen", "flag"]
GOOD = ["k9", "2024-06-01T00:00:00Z", "ok", "1", "2024-06-01", "2024-06-01T10:00:00Z", "true"]


@pytest.fixture
def table(run, tmp_path):
    """A table with a schema of several types and two committed versions: (path, name)."""
    path, t = tmp_path / "tables", "vt"
    path.mkdir()
    run("create", "--path", path, "--table", t, "--schema", SCHEMA)
    f = write_csv(tmp_path / "seed.csv", HEADER, [
        ["a", "2024-01-01T00:00:00Z", "x", "10", "2024-01-01", "2024-01-01T12:00:00Z", "false"],
        ["b", "2024-01-02T00:00:00Z", "", "", "", "", ""]])
    committed(run("append", "--path", path, "--table", t, "--input", f), rows=2)
    committed(run("put", "--path", path, "--table", t, "--key", "c", "--event-time",
                  "2024-02-01", "--partial", "value=y", "qty=3"), rows=1)
    return path, t


def row_named(line, data_row):
    """The message names the row: data row `data_row` (1-based) may be reported 0-based,
    1-based, or as the file's line number (header = line 1)."""
    nums = {data_row - 1, data_row, data_row + 1}
    m = re.findall(r"\b(?:row|line|record)\s*#?:?\s*(\d+)", line, re.I)
    assert any(int(n) in nums for n in m), f"row {data_row} of the input not named in: {line}"


def check_failed(run, table, before, proc, *names, file=None, row=None, problem=None):
    """One error line naming `file` (its base name), and `names` outside the file's path and the
    test's directories (so that a column name inside a path does not count)."""
    line = assert_cli_error(proc, *([file.name] if file else []), problem=problem)
    if file:
        assert line.count(file.name) == 1, f"the file is named more than once: {line}"
    rest = line.replace(str(file), "") if file else line
    rest = rest.replace(str(table[0]), "")
    if file:
        rest = rest.replace(str(file.parent), "").replace(file.name, "")
    for name in names:
        assert str(name) in rest, f"{name!r} not named in: {line}"
    if row is not None:
        row_named(rest, row)
    if before is not None:
        assert table_state(run, *table) == before, "a failed command changed the table"
    return line


def append(run, table, f, *extra):
    return run("append", "--path", table[0], "--table", table[1], "--input", f, *extra,
               check=False)


# ---- append: CSV --------------------------------------------------------------------

def with_col(col, value):
    row = list(GOOD)
    row[HEADER.index(col)] = value
    return row


# id, header, rows, names in the message (besides the file), bad data row (1-based) or None
CSV_CASES = [
    ("unknown_column", HEADER + ["colour"], [GOOD + ["red"]], ["colour"], None),
    ("missing_key_column", HEADER[1:], [GOOD[1:]], ["key"], None),
    ("missing_event_time_column", HEADER[:1] + HEADER[2:], [GOOD[:1] + GOOD[2:]],
     ["event_time"], None),
    ("empty_key", HEADER, [GOOD, GOOD, with_col("key", "")], ["key"], 3),
    ("int_not_parsing", HEADER, [GOOD, with_col("qty", "twelve")], ["qty"], 2),
    ("int_overflow", HEADER, [with_col("qty", "9223372036854775808")], ["qty"], 1),
    ("int_fraction", HEADER, [GOOD, GOOD, with_col("qty", "1.5")], ["qty"], 3),
    ("date_not_parsing", HEADER, [with_col("day", "2024-02-30")], ["day"], 1),
    ("bool_not_parsing", HEADER, [GOOD, with_col("flag", "maybe")], ["flag"], 2),
    ("timestamp_value_not_parsing", HEADER, [GOOD, GOOD, with_col("seen", "yesterday")],
     ["seen"], 3),
    ("event_time_not_parsing", HEADER, [GOOD, with_col("event_time", "2024-13-45T00:00:00Z")],
     ["event_time"], 2),
    ("event_time_garbage", HEADER, [with_col("event_time", "soon")], ["event_time"], 1),
    ("event_time_empty", HEADER, [GOOD, GOOD, with_col("event_time", "")], ["event_time"], 3),
    ("deleted_not_bool", HEADER + ["_deleted"], [GOOD + ["false"], GOOD + ["perhaps"]],
     ["_deleted"], 2),
]


@pytest.mark.parametrize("case", CSV_CASES, ids=[c[0] for c in CSV_CASES])
def test_append_csv_errors(run, table, tmp_path, case):
    name, header, rows, names, row = case
    before = table_state(run, *table)
    f = write_csv(tmp_path / "input-1.csv", header, rows)
    check_failed(run, table, before, append(run, table, f), *names, file=f, row=row)


def test_append_csv_bad_row_among_many(run, table, tmp_path):
    """The error is found (and the row named) deep in a larger file; nothing is committed."""
    rows = [with_col("key", f"k{i:04d}") for i in range(2000)]
    rows[1234] = with_col("qty", "12x")
    before = table_state(run, *table)
    f = write_csv(tmp_path / "input-2.csv", HEADER, rows)
    check_failed(run, table, before, append(run, table, f), "qty", file=f, row=1235)


def test_append_missing_input_file(run, table, tmp_path):
    before = table_state(run, *table)
    f = tmp_path / "no_such_input.csv"
    check_failed(run, table, before, append(run, table, f), file=f,
                 problem=r"not found|no such|does not exist|cannot open|missing")


def test_append_to_missing_table(run, table, tmp_path):
    f = write_csv(tmp_path / "fine.csv", HEADER, [GOOD])
    proc = run("append", "--path", table[0], "--table", "nope", "--input", f, check=False)
    assert_cli_error(proc, "nope", problem=r"not found|no such|does not exist")
    assert not (table[0] / "nope" / "s0.json").exists()
    assert not (table[0] / "nope" / "s1.json").exists()


def test_append_unknown_input_format(run, table, tmp_path):
    before = table_state(run, *table)
    f = write_csv(tmp_path / "fine.csv", HEADER, [GOOD])
    check_failed(run, table, before, append(run, table, f, "--input-format", "xlsx"), "xlsx")


# ---- append: Parquet and JSON lines ----------------------------------------------------

def good_arrow(**override):
    cols = {
        "key": pa.array(["p1", "p2"]),
        "event_time": pa.array([1704067200000, 1704153600000], pa.timestamp("ms", tz="UTC")),
        "value": pa.array(["u", None]),
        "qty": pa.array([1, 2], pa.int64()),
    }
    cols.update(override)
    return pa.table(cols)


PARQUET_CASES = [
    ("string_for_int64", {"qty": pa.array(["1", "2"])}, ["qty"]),
    ("int64_for_event_time", {"event_time": pa.array([1, 2], pa.int64())}, ["event_time"]),
    ("string_for_event_time", {"event_time": pa.array(["2024-01-01", "2024-01-02"])},
     ["event_time"]),
    ("int64_for_string", {"value": pa.array([1, 2], pa.int64())}, ["value"]),
    ("unknown_column", {"colour": pa.array(["r", "g"])}, ["colour"]),
    ("null_key", {"key": pa.array(["p1", None])}, ["key"]),
]


@pytest.mark.parametrize("case", PARQUET_CASES, ids=[c[0] for c in PARQUET_CASES])
def test_append_parquet_errors(run, table, tmp_path, case):
    name, override, names = case
    before = table_state(run, *table)
    f = tmp_path / "input-3.parquet"
    pq.write_table(good_arrow(**override), f)
    check_failed(run, table, before, append(run, table, f), *names, file=f)


def test_append_parquet_missing_key_column(run, table, tmp_path):
    before = table_state(run, *table)
    f = tmp_path / "input-4.parquet"
    pq.write_table(good_arrow().drop(["key"]), f)
    check_failed(run, table, before, append(run, table, f), "key", file=f)


def test_append_not_a_parquet_file(run, table, tmp_path):
    before = table_state(run, *table)
    f = tmp_path / "input-5.parquet"
    write_csv(f, HEADER, [GOOD])
    check_failed(run, table, before, append(run, table, f), file=f)


JSONL_CASES = [
    ("unknown_field", [{"key": "j", "event_time": "2024-01-01", "colour": "red"}], ["colour"], 1),
    ("null_key", [{"key": "j", "event_time": "2024-01-01"},
                  {"key": None, "event_time": "2024-01-01"}], ["key"], 2),
    ("missing_key", [{"key": "j", "event_time": "2024-01-01"}, {"event_time": "2024-01-01"}],
     ["key"], 2),
    ("missing_event_time", [{"key": "j"}], ["event_time"], 1),
    ("bad_event_time", [{"key": "j", "event_time": "2024-01-01"},
                        {"key": "j", "event_time": "not a time"}], ["event_time"], 2),
    ("string_for_int", [{"key": "j", "event_time": "2024-01-01", "qty": "many"}], ["qty"], 1),
]


@pytest.mark.parametrize("case", JSONL_CASES, ids=[c[0] for c in JSONL_CASES])
def test_append_jsonl_errors(run, table, tmp_path, case):
    name, objs, names, row = case
    before = table_state(run, *table)
    f = tmp_path / "input-6.jsonl"
    f.write_text("".join(json.dumps(o) + "\n" for o in objs))
    # the row is required only where the brief asks for it (value / key / timestamp errors)
    check_failed(run, table, before, append(run, table, f), *names, file=f,
                 row=row if name in ("null_key", "bad_event_time", "string_for_int") else None)


def test_append_jsonl_malformed_line(run, table, tmp_path):
    before = table_state(run, *table)
    f = tmp_path / "input-7.jsonl"
    f.write_text('{"key": "j", "event_time": "2024-01-01"}\n{"key": "j", "event_time": \n')
    check_failed(run, table, before, append(run, table, f), file=f)


# ---- put / delete -------------------------------------------------------------------------

def put(run, table, *args, cmd="put"):
    return run(cmd, "--path", table[0], "--table", table[1], *args, check=False)


PUT_CASES = [
    ("unknown_column", ["--key", "z", "--event-time", "2024-01-01", "colour=red"], ["colour"]),
    ("int_not_parsing", ["--key", "z", "--event-time", "2024-01-01", "qty=lots"], ["qty"]),
    ("date_not_parsing", ["--key", "z", "--event-time", "2024-01-01", "day=2024-02-30"], ["day"]),
    ("bool_not_parsing", ["--key", "z", "--event-time", "2024-01-01", "flag=maybe"], ["flag"]),
    ("timestamp_not_parsing", ["--key", "z", "--event-time", "2024-01-01", "seen=later"],
     ["seen"]),
    ("missing_key", ["--event-time", "2024-01-01", "value=v"], ["--key"]),
    ("missing_event_time", ["--key", "z", "value=v"], ["--event-time"]),
    ("bad_event_time", ["--key", "z", "--event-time", "not-a-time"], ["not-a-time"]),
    ("empty_key", ["--key", "", "--event-time", "2024-01-01", "--partial", "value=v"], ["key"]),
    ("assignment_without_equals", ["--key", "z", "--event-time", "2024-01-01", "valueonly"],
     ["valueonly"]),
    ("deleted_column_reserved", ["--key", "z", "--event-time", "2024-01-01", "_bazof_deleted=true"],
     ["_bazof_deleted"]),
]


@pytest.mark.parametrize("case", PUT_CASES, ids=[c[0] for c in PUT_CASES])
def test_put_errors(run, table, case):
    name, args, names = case
    before = table_state(run, *table)
    check_failed(run, table, before, put(run, table, *args), *names)


@pytest.mark.parametrize("args,names", [
    (["--event-time", "2024-01-01"], ["--key"]),
    (["--key", "a"], ["--event-time"]),
    (["--key", "a", "--event-time", "31/12/2024"], ["31/12/2024"]),
], ids=["missing_key", "missing_event_time", "bad_event_time"])
def test_delete_errors(run, table, args, names):
    before = table_state(run, *table)
    check_failed(run, table, before, put(run, table, *args, cmd="delete"), *names)


def test_put_to_missing_table(run, table):
    proc = run("put", "--path", table[0], "--table", "nope", "--key", "a", "--event-time",
               "2024-01-01", check=False)
    assert_cli_error(proc, "nope", problem=r"not found|no such|does not exist")
    assert not (table[0] / "nope").exists() or not any((table[0] / "nope").glob("s*.json"))


def test_composite_key_put_needs_every_key_column(run, tmp_path):
    path = tmp_path
    run("create", "--path", path, "--table", "c", "--schema", "region:string,id:int32,v:int64",
        "--key", "region,id")
    before = table_state(run, path, "c")
    for args, names in [(["--key", "region=eu"], ["--key"]),
                        (["--key", "region=eu", "--key", "id=x"], ["id"]),
                        (["--key", "region=eu", "--key", "id=1", "--key", "zone=1"], ["zone"])]:
        proc = run("put", "--path", path, "--table", "c", *args, "--event-time", "2024-01-01",
                   "v=1", check=False)
        check_failed(run, (path, "c"), before, proc, *names)


# ---- create --------------------------------------------------------------------------------

def test_create_existing_table(run, table):
    before = table_state(run, *table)
    proc = run("create", "--path", table[0], "--table", table[1], "--schema", "other:int64",
               check=False)
    check_failed(run, table, before, proc, table[1], problem=r"exist")


CREATE_CASES = [
    ("unknown_type", ["--schema", "value:varchar"], ["varchar"]),
    ("unknown_timestamp_unit", ["--schema", "value:timestamp[xs]"], ["timestamp[xs]"]),
    ("decimal_too_wide", ["--schema", "value:decimal(39,2)"], ["decimal(39,2)"]),
    ("decimal_scale_above_precision", ["--schema", "value:decimal(5,6)"], ["decimal(5,6)"]),
    ("no_type", ["--schema", "value"], ["value"]),
    ("duplicate_column", ["--schema", "amount:string,amount:int64"], ["amount"]),
    ("duplicate_key_column", ["--schema", "key:string,key:string"], ["key"]),
    ("reserved_prefix", ["--schema", "value:string,_bazof_x:bool"], ["_bazof_x"]),
    ("reserved_deleted", ["--schema", "value:string,_deleted:bool"], ["_deleted"]),
    ("float_key", ["--schema", "ident:float64,value:string", "--key", "ident"], ["float64"]),
    ("float32_key", ["--schema", "ident:float32", "--key", "ident"], ["float32"]),
    ("decimal_key", ["--schema", "ident:decimal(10,2)", "--key", "ident"], ["decimal"]),
    ("event_time_not_timestamp", ["--schema", "happened:string", "--event-time", "happened"],
     ["happened"]),
    ("event_time_date", ["--schema", "happened:date", "--event-time", "happened"], ["happened"]),
    ("key_is_event_time", ["--schema", "value:string", "--key", "when", "--event-time", "when"],
     ["when"]),
    ("empty_key", ["--schema", "value:string", "--key", ""], ["key"]),
    ("reserved_key_name", ["--schema", "value:string", "--key", "_deleted"], ["_deleted"]),
    ("reserved_event_time_name", ["--schema", "value:string", "--event-time", "_bazof_t"],
     ["_bazof_t"]),
    ("missing_schema", [], ["--schema"]),
]


@pytest.mark.parametrize("case", CREATE_CASES, ids=[c[0] for c in CREATE_CASES])
def test_create_errors(run, tmp_path, case):
    name, args, names = case
    proc = run("create", "--path", tmp_path, "--table", "newt", *args, check=False)
    line = assert_cli_error(proc).replace(str(tmp_path), "")
    if name.startswith(("float", "decimal")):   # spec 5: the error names the type (or column)
        assert any(n in line for n in names + ["ident"]), f"{names} not named in: {line}"
    else:
        for n in names:
            assert n in line, f"{n!r} not named in: {line}"
    root = tmp_path / "newt"
    assert not (root / "s0.json").exists() and not (root / "version.txt").exists(), \
        "a failed create left a table behind"
    # nothing left in the way: a valid create of the same table now works
    run("create", "--path", tmp_path, "--table", "newt", "--schema", "value:string")
    assert [r["version"] for r in log_rows(run, tmp_path, "newt")] == ["0"]


# ---- not errors: duplicate rows, empty inputs ------------------------------------------------

def history(run, table, key):
    out = run("history", "--path", table[0], "--table", table[1], "--key", key,
              "--format", "csv").stdout
    return [(r["event_time"], r["version"], r["deleted"], r["value"])
            for r in parse_csv(out)[1]]


def scan_values(run, table):
    out = run("scan", "--path", table[0], "--table", table[1], "--format", "csv").stdout
    return {r["key"]: r["value"] for r in parse_csv(out)[1]}


def test_duplicate_rows_kept_later_wins(run, table, tmp_path):
    h = ["key", "event_time", "value", "_deleted"]
    t = "2024-03-01T00:00:00Z"
    f = write_csv(tmp_path / "dups.csv", h, [["d1", t, "first", "false"],
                                             ["d2", t, "x", "false"],
                                             ["d1", t, "second", "false"],
                                             ["d3", t, "alive", "false"],
                                             ["d3", t, "", "true"],      # tombstone wins
                                             ["d4", t, "", "true"],
                                             ["d4", t, "back", "false"]])  # value wins
    assert committed(append(run, table, f), rows=7) == 3
    vals = scan_values(run, table)
    assert vals["d1"] == "second" and vals["d2"] == "x" and vals["d4"] == "back"
    assert "d3" not in vals
    assert history(run, table, "d1") == [("2024-03-01T00:00:00.000Z", "3", "false", "first"),
                                         ("2024-03-01T00:00:00.000Z", "3", "false", "second")]
    assert history(run, table, "d3") == [("2024-03-01T00:00:00.000Z", "3", "false", "alive"),
                                         ("2024-03-01T00:00:00.000Z", "3", "true", "")]
    # the same in Parquet, against the rows of the previous version (higher version wins)
    f = tmp_path / "dups.parquet"
    pq.write_table(pa.table({
        "key": ["d1", "d1", "d1"],
        "event_time": pa.array([1709251200000] * 3, pa.timestamp("ms", tz="UTC")),
        "value": ["third", "fourth", "fifth"]}), f)
    assert committed(append(run, table, f), rows=3) == 4
    assert scan_values(run, table)["d1"] == "fifth"
    out = run("scan", "--path", table[0], "--table", table[1], "--format", "csv",
              "--version", "3").stdout
    assert {r["key"]: r["value"] for r in parse_csv(out)[1]}["d1"] == "second"


def test_duplicate_rows_many(run, table, tmp_path):
    """Many duplicates of one (key, event_time), more than fit a small batch: the last wins."""
    rows = [["dd", "2024-03-01T00:00:00Z", f"v{i:05d}"] for i in range(5000)]
    f = write_csv(tmp_path / "many.csv", ["key", "event_time", "value"], rows)
    committed(append(run, table, f), rows=5000)
    assert scan_values(run, table)["dd"] == "v04999"


def write_empty(f, fmt):
    if fmt == "csv":
        write_csv(f, HEADER, [])
    elif fmt == "parquet":
        pq.write_table(good_arrow().slice(0, 0), f)
    else:
        f.write_text("")


@pytest.mark.parametrize("fmt,name", [("csv", "empty.csv"), ("parquet", "empty.parquet"),
                                      ("jsonl", "empty.jsonl")])
def test_empty_input_is_a_noop(run, table, tmp_path, fmt, name):
    before = table_state(run, *table)
    f = tmp_path / name
    write_empty(f, fmt)
    proc = append(run, table, f)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout == f"no rows in {f}; nothing committed\n"
    assert table_state(run, *table) == before
    # and the next real commit gets the next version number
    g = write_csv(tmp_path / "next.csv", HEADER, [GOOD])
    assert committed(append(run, table, g), rows=1) == 3

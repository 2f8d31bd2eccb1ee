"""Write path, happy cases: create, append (csv / parquet / jsonl), put, delete, log, history and
bitemporal scans (`scan --version N --as-of T`) over tables written through the CLI."""
import json
import re
import time
from datetime import date
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import (assert_cli_error, column_us, committed, log_rows, parse_csv, parse_ts_us,
                      write_csv)


@pytest.fixture
def create(run, lake):
    """create('value:string', '--key', ...) -> (path, table) of a new table (version 0), on a
    local path and on s3:// (the `lake` fixture)."""
    def _create(schema, *extra, table="t"):
        proc = run("create", "--path", lake.path, "--table", table, "--schema", schema, *extra)
        assert proc.stdout.strip() == f"created {lake.root(table)} (version 0)", proc.stdout
        return lake.path, table
    return _create


@pytest.fixture
def append(run, tmp_path):
    """append(path, table, header, rows) -> the committed version (a CSV input file)."""
    counter = [0]

    def _append(path, table, header, rows):
        counter[0] += 1
        f = write_csv(tmp_path / f"in{counter[0]}.csv", header, rows)
        return committed(run("append", "--path", path, "--table", table, "--input", f),
                         rows=len(rows))
    return _append


def scan(run, path, table, *args, fmt="csv"):
    return run("scan", "--path", path, "--table", table, "--format", fmt, *args).stdout


def scan_rows(run, path, table, *args):
    """-> (header, [[field, ...], ...]) of `scan --format csv`."""
    header, rows = parse_csv(scan(run, path, table, *args))
    return header, [[r[c] for c in header] for r in rows]


def scan_map(run, path, table, *args):
    """-> {key: value} (single value column `value`)."""
    header, rows = scan_rows(run, path, table, *args)
    assert header == ["key", "event_time", "value"], header
    return {r[0]: r[2] for r in rows}


def parquet_scan(run, path, table, out, *args):
    run("scan", "--path", path, "--table", table, "--format", "parquet", "--output", out, *args)
    return pq.read_table(out)


# ---- create -----------------------------------------------------------------

def test_create_defaults(run, create, append, lake, tmp_path):
    path, t = create("value:string")
    header, rows = scan_rows(run, path, t)
    assert (header, rows) == (["key", "event_time", "value"], [])
    assert scan_rows(run, path, t, "--version", "0") == (header, [])
    assert "s0.json" in lake.names(t)
    assert append(path, t, ["key", "event_time", "value"],
                  [["a", "2024-01-01T00:00:00Z", "x"]]) == 1
    got = parquet_scan(run, path, t, tmp_path / "o.parquet")
    assert got.schema.field("key").type == pa.string()
    assert got.schema.field("event_time").type == pa.timestamp("ms", tz="UTC")
    assert got.schema.field("value").type == pa.string()
    assert got.column_names == ["key", "event_time", "value"]
    assert scan_rows(run, path, t)[1] == [["a", "2024-01-01T00:00:00.000Z", "x"]]


def test_create_custom_key_and_event_time(run, create, append, tmp_path):
    path, t = create("id:int64,ts:timestamp[us],amount:decimal(12,2)", "--key", "id",
                     "--event-time", "ts")
    assert scan_rows(run, path, t) == (["id", "ts", "amount"], [])
    append(path, t, ["amount", "ts", "id"],   # columns matched by name, not position
           [["1.50", "2024-01-01T00:00:00.000001Z", "10"],
            ["2.00", "2024-01-01", "9"],
            ["3.25", "2024-01-02T00:00:00Z", "100"],
            ["", "2024-01-02T00:00:00Z", "-5"]])
    header, rows = scan_rows(run, path, t)
    assert header == ["id", "ts", "amount"]
    assert rows == [["-5", "2024-01-02T00:00:00.000000Z", ""],          # integer key order
                    ["9", "2024-01-01T00:00:00.000000Z", "2.00"],
                    ["10", "2024-01-01T00:00:00.000001Z", "1.50"],
                    ["100", "2024-01-02T00:00:00.000000Z", "3.25"]]
    got = parquet_scan(run, path, t, tmp_path / "o.parquet")
    assert [(f.name, f.type) for f in got.schema] == [
        ("id", pa.int64()), ("ts", pa.timestamp("us", tz="UTC")), ("amount", pa.decimal128(12, 2))]


def test_create_key_and_event_time_added_with_defaults(run, create, append, tmp_path):
    """--key / --event-time naming columns absent from --schema: added as string / timestamp[ms]."""
    path, t = create("qty:int32", "--key", "sku", "--event-time", "at")
    assert scan_rows(run, path, t)[0] == ["sku", "at", "qty"]
    append(path, t, ["sku", "at", "qty"], [["A-1", "2024-05-01T10:00:00Z", "3"]])
    got = parquet_scan(run, path, t, tmp_path / "o.parquet")
    assert [(f.name, f.type) for f in got.schema] == [
        ("sku", pa.string()), ("at", pa.timestamp("ms", tz="UTC")), ("qty", pa.int32())]


def test_composite_key(run, create, append):
    path, t = create("region:string,id:int32,amount:int64", "--key", "region,id")
    assert scan_rows(run, path, t)[0] == ["region", "id", "event_time", "amount"]
    h = ["region", "id", "event_time", "amount"]
    append(path, t, h, [["us", "7", "2024-01-01", "1"],
                        ["eu", "7", "2024-01-01", "2"],
                        ["eu", "10", "2024-01-01", "3"],
                        ["eu", "9", "2024-01-01", "4"],
                        ["us", "7", "2024-01-02", "5"]])
    assert scan_rows(run, path, t)[1] == [
        ["eu", "7", "2024-01-01T00:00:00.000Z", "2"],
        ["eu", "9", "2024-01-01T00:00:00.000Z", "4"],
        ["eu", "10", "2024-01-01T00:00:00.000Z", "3"],
        ["us", "7", "2024-01-02T00:00:00.000Z", "5"]]
    v = committed(run("put", "--path", path, "--table", t, "--key", "region=eu", "--key", "id=9",
                      "--event-time", "2024-01-03T00:00:00Z", "amount=40"), rows=1)
    assert v == 2
    v = committed(run("delete", "--path", path, "--table", t, "--key", "id=7",
                      "--key", "region=us", "--event-time", "2024-01-03T00:00:00Z"), rows=1)
    assert v == 3
    assert scan_rows(run, path, t)[1] == [
        ["eu", "7", "2024-01-01T00:00:00.000Z", "2"],
        ["eu", "9", "2024-01-03T00:00:00.000Z", "40"],
        ["eu", "10", "2024-01-01T00:00:00.000Z", "3"]]
    assert scan_rows(run, path, t, "--as-of", "2024-01-02T12:00:00Z")[1][-1] == \
        ["us", "7", "2024-01-02T00:00:00.000Z", "5"]


@pytest.mark.parametrize("key_type,keys,want", [
    ("binary", ["b", "ab", "a"], ["a", "ab", "b"]),
    ("bool", ["true", "false"], ["false", "true"]),
    ("int8", ["5", "-3", "10"], ["-3", "5", "10"]),
    ("uint64", ["18446744073709551615", "0", "2"], ["0", "2", "18446744073709551615"]),
    ("date", ["2024-01-02", "1999-12-31"], ["1999-12-31", "2024-01-02"]),
    ("timestamp[us]", ["2024-01-01T00:00:00.000001Z", "2024-01-01T00:00:00Z"],
     ["2024-01-01T00:00:00.000000Z", "2024-01-01T00:00:00.000001Z"]),
])
def test_key_types(run, create, append, key_type, keys, want):
    """A key column may be string, binary, bool, an integer type, date or timestamp;
    rows come out in key order (spec section 5). The value names the input row of each key."""
    path, t = create(f"id:{key_type},value:string", "--key", "id")
    append(path, t, ["id", "event_time", "value"], [[k, "2024-01-01", k] for k in keys])
    header, rows = scan_rows(run, path, t)
    assert header == ["id", "event_time", "value"]
    assert [r[0] for r in rows] == want
    by_input = sorted(keys, key=lambda k: want.index(k) if k in want
                      else want.index(k.replace("Z", ".000000Z")))
    assert [r[2] for r in rows] == by_input


def test_create_on_existing_table_fails(run, create):
    path, t = create("value:string")
    proc = run("create", "--path", path, "--table", t, "--schema", "value:string", check=False)
    assert_cli_error(proc, t, problem=r"exist")


# ---- every type round-trips: csv in, csv / json / parquet out ------------------

# name, type, arrow type, (input, csv output) for row r1 and row r3; r2 is all null.
TYPES = [
    ("s", "string", pa.string(), ("café ☕", "café ☕"), ('he said "hi", ok', 'he said "hi", ok')),
    ("b", "binary", pa.binary(), ("abc", "abc"), ("xyz", "xyz")),
    ("flag", "bool", pa.bool_(), ("true", "true"), ("false", "false")),
    ("i8", "int8", pa.int8(), ("-128", "-128"), ("127", "127")),
    ("i16", "int16", pa.int16(), ("-32768", "-32768"), ("32767", "32767")),
    ("i32", "int32", pa.int32(), ("-2147483648", "-2147483648"), ("2147483647", "2147483647")),
    ("i64", "int64", pa.int64(), ("-9223372036854775808", "-9223372036854775808"),
     ("9223372036854775807", "9223372036854775807")),
    ("u8", "uint8", pa.uint8(), ("255", "255"), ("0", "0")),
    ("u16", "uint16", pa.uint16(), ("65535", "65535"), ("0", "0")),
    ("u32", "uint32", pa.uint32(), ("4294967295", "4294967295"), ("0", "0")),
    ("u64", "uint64", pa.uint64(), ("18446744073709551615", "18446744073709551615"), ("0", "0")),
    ("f32", "float32", pa.float32(), ("1.5", "1.5"), ("-0.5", "-0.5")),
    ("f64", "float64", pa.float64(), ("-2.25", "-2.25"), ("0.125", "0.125")),
    ("d", "date", pa.date32(), ("2024-02-29", "2024-02-29"), ("1969-12-31", "1969-12-31")),
    ("ts", "timestamp", pa.timestamp("us", tz="UTC"),
     ("2024-03-01T12:00:00+02:00", "2024-03-01T10:00:00.000000Z"),
     ("2024-12-31T23:59:59.999999Z", "2024-12-31T23:59:59.999999Z")),
    ("ts_s", "timestamp[s]", pa.timestamp("s", tz="UTC"),
     ("2024-03-01T12:34:56Z", "2024-03-01T12:34:56Z"),
     ("1999-12-31T23:59:59-01:00", "2000-01-01T00:59:59Z")),
    ("ts_ms", "timestamp[ms]", pa.timestamp("ms", tz="UTC"),
     ("2024-03-01T12:34:56.789-05:30", "2024-03-01T18:04:56.789Z"),
     ("2024-03-01", "2024-03-01T00:00:00.000Z")),
    ("ts_us", "timestamp[us]", pa.timestamp("us", tz="UTC"),
     ("2024-03-01T00:00:00.123456", "2024-03-01T00:00:00.123456Z"),
     ("2024-03-01T00:00:00.5Z", "2024-03-01T00:00:00.500000Z")),
    ("ts_ns", "timestamp[ns]", pa.timestamp("ns", tz="UTC"),
     ("2024-03-01", "2024-03-01T00:00:00.000000000Z"),
     ("2024-03-01T01:02:03.123456+00:00", "2024-03-01T01:02:03.123456000Z")),
    ("dec", "decimal(10,2)", pa.decimal128(10, 2), ("-12345678.90", "-12345678.90"),
     ("0.05", "0.05")),
    ("big", "decimal(38,10)", pa.decimal128(38, 10),
     ("1234567890123456789012345678.0123456789", "1234567890123456789012345678.0123456789"),
     ("-0.0000000001", "-0.0000000001")),
]
TYPE_SCHEMA = ",".join(f"{n}:{t}" for n, t, *_ in TYPES)
TYPE_KEYS = [("r1", "2024-01-01T02:00:00+02:00", "2024-01-01T00:00:00.000Z"),
             ("r2", "2024-01-02", "2024-01-02T00:00:00.000Z"),
             ("r3", "2024-01-03T00:00:00Z", "2024-01-03T00:00:00.000Z")]


@pytest.fixture
def typed_table(create, append):
    path, t = create(TYPE_SCHEMA)
    header = ["key", "event_time"] + [n for n, *_ in TYPES]
    rows = [[TYPE_KEYS[0][0], TYPE_KEYS[0][1]] + [r1[0] for *_, r1, _ in TYPES],
            [TYPE_KEYS[1][0], TYPE_KEYS[1][1]] + [None] * len(TYPES),
            [TYPE_KEYS[2][0], TYPE_KEYS[2][1]] + [r3[0] for *_, r3 in TYPES]]
    assert append(path, t, header, rows) == 1
    return path, t


def expected_text_rows():
    return [[TYPE_KEYS[0][0], TYPE_KEYS[0][2]] + [r1[1] for *_, r1, _ in TYPES],
            [TYPE_KEYS[1][0], TYPE_KEYS[1][2]] + [""] * len(TYPES),
            [TYPE_KEYS[2][0], TYPE_KEYS[2][2]] + [r3[1] for *_, r3 in TYPES]]


def test_types_round_trip_csv(run, typed_table):
    header, rows = scan_rows(run, *typed_table)
    assert header == ["key", "event_time"] + [n for n, *_ in TYPES]
    want = expected_text_rows()
    for got_row, want_row in zip(rows, want, strict=True):
        diffs = [(h, g, w) for h, g, w in zip(header, got_row, want_row) if g != w]
        assert not diffs, f"row {want_row[0]}: (column, got, want) {diffs}"


def json_expected(type_name, text):
    if text == "":
        return None
    if type_name == "bool":
        return text == "true"
    if re.fullmatch(r"u?int\d+", type_name):
        return int(text)
    return text


def test_types_round_trip_json(run, typed_table):
    lines = [ln for ln in scan(run, *typed_table, fmt="json").splitlines() if ln.strip()]
    objs = [json.loads(ln, parse_float=Decimal) for ln in lines]
    names = ["key", "event_time"] + [n for n, *_ in TYPES]
    types = ["string", "timestamp[ms]"] + [t for _, t, *_ in TYPES]
    assert [list(o) for o in objs] == [names] * 3, "json keys / column order"
    for obj, want_row in zip(objs, expected_text_rows(), strict=True):
        for name, type_name, text in zip(names, types, want_row):
            got, want = obj[name], json_expected(type_name, text)
            where = f"row {want_row[0]} column {name} ({type_name}): got {got!r}"
            if want is None:
                assert got is None, where
            elif type_name.startswith(("float", "decimal")):
                # numbers (bare), compared exactly; decimals may also be quoted to keep precision
                assert not isinstance(got, bool) and isinstance(got, (Decimal, int, str)), where
                if type_name.startswith("float"):
                    assert not isinstance(got, str), where
                assert Decimal(str(got)) == Decimal(want), where
            elif isinstance(want, (bool, int)):
                assert type(got) is type(want) and got == want, where
            else:
                assert got == want, where


def test_types_round_trip_parquet(run, typed_table, tmp_path):
    got = parquet_scan(run, *typed_table, tmp_path / "types.parquet")
    want_types = [("key", pa.string()), ("event_time", pa.timestamp("ms", tz="UTC"))] + \
        [(n, at) for n, _, at, *_ in TYPES]
    # Parquet has no seconds unit: a timestamp[s] column may come back as timestamp[ms]
    # (unless the writer stores the Arrow schema); the values are checked below either way.
    got_types = [(n, pa.timestamp("s", tz="UTC") if n == "ts_s" and t == pa.timestamp(
        "ms", tz="UTC") else t) for n, t in ((f.name, f.type) for f in got.schema)]
    assert got_types == want_types
    for name, type_name, atype, (_, r1), (_, r3) in TYPES:
        col = got.column(name)
        if pa.types.is_timestamp(atype):
            assert column_us(col) == [parse_ts_us(r1.rstrip("Z") + "+00:00"), None,
                                      parse_ts_us(r3.rstrip("Z") + "+00:00")], name
            continue
        vals = col.to_pylist()
        conv = {"bool": lambda s: s == "true", "binary": str.encode,
                "date": date.fromisoformat}.get(type_name)
        if conv is None:
            if type_name.startswith(("decimal", "float")):
                conv = Decimal if type_name.startswith("decimal") else float
            elif "int" in type_name:
                conv = int
            else:
                conv = str
        assert vals == [conv(r1), None, conv(r3)], name


# ---- append formats -----------------------------------------------------------

FORMAT_ROWS = [  # key, event_time, value, n, _deleted
    ("a", "2024-01-01T00:00:00Z", "x", 1, False),
    ("b", "2024-01-02T00:00:00Z", None, 2, False),
    ("c", "2024-01-01T00:00:00Z", "gone", 3, False),
    ("c", "2024-01-03T00:00:00Z", None, None, True),
    ("d", "2024-01-04T00:00:00Z", "late-d", None, False),
]
FORMAT_WANT = [["a", "2024-01-01T00:00:00.000Z", "x", "1"],
               ["b", "2024-01-02T00:00:00.000Z", "", "2"],
               ["d", "2024-01-04T00:00:00.000Z", "late-d", ""]]


def write_input(file, fmt):
    if fmt == "csv":
        write_csv(file, ["key", "event_time", "value", "n", "_deleted"],
                  [[k, et, v, n, "true" if dl else "false"] for k, et, v, n, dl in FORMAT_ROWS])
    elif fmt == "parquet":
        tbl = pa.table({
            "key": [r[0] for r in FORMAT_ROWS],
            "event_time": pa.array([parse_ts_us(r[1].replace("Z", "+00:00")) // 1000
                                    for r in FORMAT_ROWS], pa.timestamp("ms", tz="UTC")),
            "value": [r[2] for r in FORMAT_ROWS],
            "n": pa.array([r[3] for r in FORMAT_ROWS], pa.int64()),
            "_deleted": [r[4] for r in FORMAT_ROWS]})
        pq.write_table(tbl, file)
    else:
        with open(file, "w") as f:
            for k, et, v, n, dl in FORMAT_ROWS:
                obj = {"key": k, "event_time": et, "_deleted": dl}
                if v is not None:
                    obj["value"] = v   # missing field = null
                obj["n"] = n           # explicit null
                f.write(json.dumps(obj) + "\n")


@pytest.mark.parametrize("fmt,name,flag", [
    ("csv", "in.csv", None), ("parquet", "in.parquet", None), ("parquet", "in.pq", None),
    ("jsonl", "in.jsonl", None), ("jsonl", "in.ndjson", None), ("jsonl", "in.json", None),
    ("csv", "in.txt", "csv"), ("parquet", "in.dat", "parquet"), ("jsonl", "in.data", "jsonl"),
    ("csv", "in.json", "csv"),   # the flag beats the extension
])
def test_append_formats(run, create, tmp_path, fmt, name, flag):
    path, t = create("value:string,n:int64")
    f = tmp_path / name
    write_input(f, fmt)
    extra = ["--input-format", flag] if flag else []
    proc = run("append", "--path", path, "--table", t, "--input", f, *extra)
    assert committed(proc, rows=len(FORMAT_ROWS)) == 1
    assert scan_rows(run, path, t) == (["key", "event_time", "value", "n"], FORMAT_WANT)
    assert scan_rows(run, path, t, "--as-of", "2024-01-02")[1] == [
        ["a", "2024-01-01T00:00:00.000Z", "x", "1"], ["b", "2024-01-02T00:00:00.000Z", "", "2"],
        ["c", "2024-01-01T00:00:00.000Z", "gone", "3"]]


def test_append_missing_value_column_is_null(run, create, append):
    path, t = create("value:string,n:int64")
    append(path, t, ["event_time", "key", "n"], [["2024-01-01", "a", "5"]])
    assert scan_rows(run, path, t)[1] == [["a", "2024-01-01T00:00:00.000Z", "", "5"]]


def test_tombstone_rows_may_carry_values(run, create, append):
    path, t = create("value:string")
    append(path, t, ["key", "event_time", "value"], [["a", "2024-01-01", "x"]])
    append(path, t, ["key", "event_time", "value", "_deleted"],
           [["a", "2024-02-01", "ignored", "true"], ["b", "2024-02-01", "y", "false"]])
    assert scan_map(run, path, t) == {"b": "y"}
    assert scan_map(run, path, t, "--as-of", "2024-01-31") == {"a": "x"}
    # spec section 6: a tombstone's value columns are null (the values given are dropped)
    out = run("history", "--path", path, "--table", t, "--key", "a", "--format", "csv").stdout
    assert [[r["event_time"], r["deleted"], r["value"]] for r in parse_csv(out)[1]] == [
        ["2024-01-01T00:00:00.000Z", "false", "x"], ["2024-02-01T00:00:00.000Z", "true", ""]]


# ---- put / delete ----------------------------------------------------------------

def test_put_and_delete(run, create):
    path, t = create("value:string,n:int64")
    base = ["--path", path, "--table", t]
    assert committed(run("put", *base, "--key", "k1", "--event-time", "2024-01-01T00:00:00Z",
                         "value=hello, world", "n=7"), rows=1) == 1
    assert committed(run("put", *base, "--key", "key=k2", "--event-time", "2024-01-01",
                         "--partial", "n=-3"), rows=1) == 2                # no state: value null
    # A put without values is refused (it would commit a row of nulls).
    assert run("put", *base, "--key", "k1", "--event-time", "2024-02-01", check=False).returncode == 1
    assert committed(run("put", *base, "--key", "k1", "--event-time",
                         "2024-02-01T02:00:00+02:00", "value=", "n=0"), rows=1) == 3
    assert committed(run("delete", *base, "--key", "k2", "--event-time", "2024-03-01"),
                     rows=1) == 4
    assert scan_rows(run, path, t)[1] == [["k1", "2024-02-01T00:00:00.000Z", "", "0"]]
    assert scan_rows(run, path, t, "--as-of", "2024-01-31")[1] == [
        ["k1", "2024-01-01T00:00:00.000Z", "hello, world", "7"],
        ["k2", "2024-01-01T00:00:00.000Z", "", "-3"]]
    assert scan_rows(run, path, t, "--version", "3")[1] == [
        ["k1", "2024-02-01T00:00:00.000Z", "", "0"], ["k2", "2024-01-01T00:00:00.000Z", "", "-3"]]
    # delete then put again later
    assert committed(run("put", *base, "--key", "k2", "--event-time", "2024-04-01",
                         "--partial", "value=back"), rows=1) == 5   # deleted: n null
    assert scan_rows(run, path, t)[1][1] == ["k2", "2024-04-01T00:00:00.000Z", "back", ""]
    assert scan_rows(run, path, t, "--as-of", "2024-03-15")[1] == [
        ["k1", "2024-02-01T00:00:00.000Z", "", "0"]]


def test_delete_of_unknown_key_commits_a_tombstone(run, create):
    path, t = create("value:string")
    v = committed(run("delete", "--path", path, "--table", t, "--key", "nobody",
                      "--event-time", "2024-01-01"), rows=1)
    assert v == 1
    assert scan_rows(run, path, t)[1] == []


# ---- versions and log --------------------------------------------------------------

def test_versions_and_log(run, lake, append):
    start = time.time()
    proc = run("create", "--path", lake.path, "--table", "t", "--schema", "value:string")
    assert proc.stdout.strip() == f"created {lake.root('t')} (version 0)"
    path, t = lake.path, "t"
    h = ["key", "event_time", "value"]
    versions = [append(path, t, h, [["a", "2024-01-01", "1"], ["b", "2024-01-01", "2"]])]
    versions.append(committed(run("put", "--path", path, "--table", t, "--key", "c",
                                  "--event-time", "2024-01-02", "value=3"), rows=1))
    versions.append(committed(run("delete", "--path", path, "--table", t, "--key", "a",
                                  "--event-time", "2024-01-03"), rows=1))
    versions.append(append(path, t, h, [[f"k{i}", "2024-01-04", str(i)] for i in range(5)]))
    versions.append(append(path, t, h, [["z", "2023-01-01", "late"]]))
    assert versions == [1, 2, 3, 4, 5]

    rows = log_rows(run, path, t)
    assert [r["version"] for r in rows] == ["0", "1", "2", "3", "4", "5"]
    assert [r["operation"] for r in rows] == ["create", "append", "put", "delete", "append",
                                              "append"]
    assert [r["rows_added"] for r in rows] == ["0", "2", "1", "1", "5", "1"]
    assert rows[0]["files_added"] == "0"
    assert all(int(r["files_added"]) >= 1 for r in rows[1:]), rows
    assert all(r["files_removed"] == "0" for r in rows), rows
    stamps = []
    for r in rows:
        ts = r["timestamp"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", ts), ts
        stamps.append(parse_ts_us(ts.replace("Z", "+00:00")) / 1e6)
    assert stamps == sorted(stamps), f"log timestamps not in commit order: {stamps}"
    assert start - 5 <= stamps[0] and stamps[-1] <= time.time() + 5, (start, stamps)

    json_out = run("log", "--path", path, "--table", t, "--format", "json").stdout.strip()
    try:
        doc = json.loads(json_out)
        objs = doc if isinstance(doc, list) else doc.get("versions", doc)
    except json.JSONDecodeError:
        objs = [json.loads(ln) for ln in json_out.splitlines() if ln.strip()]
    assert [int(o["version"]) for o in objs] == [0, 1, 2, 3, 4, 5], json_out
    assert [o["operation"] for o in objs] == [r["operation"] for r in rows]

    table_out = run("log", "--path", path, "--table", t).stdout
    assert "version" in table_out.splitlines()[0] and "operation" in table_out.splitlines()[0]
    for op in ("create", "append", "put", "delete"):
        assert op in table_out


def test_log_of_gen_table(run, lake):
    run("gen", "--path", lake.path, "--table", "g", "--keys", "20", "--events", "3")
    rows = log_rows(run, lake.path, "g")
    assert rows[-1]["operation"] == "gen"
    assert int(rows[-1]["version"]) >= 1


# ---- history ---------------------------------------------------------------------

def test_history(run, create, append):
    path, t = create("value:string")
    h = ["key", "event_time", "value", "_deleted"]
    append(path, t, h, [["k1", "2024-03-01", "c", "false"], ["k2", "2024-01-01", "other", "false"],
                        ["k1", "2024-01-01", "a", "false"]])                        # v1
    append(path, t, h, [["k1", "2024-02-01", "b-late", "false"]])                   # v2
    committed(run("delete", "--path", path, "--table", t, "--key", "k1",
                  "--event-time", "2024-04-01"))                                     # v3
    append(path, t, h, [["k1", "2024-03-01", "c-fix", "false"],                     # v4 (tie)
                        ["k1", "2024-05-01", "", "true"]])
    committed(run("put", "--path", path, "--table", t, "--key", "k1",
                  "--event-time", "2024-06-01", "value=e"))                         # v5

    out = run("history", "--path", path, "--table", t, "--key", "k1", "--format", "csv").stdout
    header, rows = parse_csv(out)
    assert header == ["key", "event_time", "version", "deleted", "value"]
    got = [[r[c] for c in header] for r in rows]
    assert got == [
        ["k1", "2024-01-01T00:00:00.000Z", "1", "false", "a"],
        ["k1", "2024-02-01T00:00:00.000Z", "2", "false", "b-late"],
        ["k1", "2024-03-01T00:00:00.000Z", "1", "false", "c"],
        ["k1", "2024-03-01T00:00:00.000Z", "4", "false", "c-fix"],
        ["k1", "2024-04-01T00:00:00.000Z", "3", "true", ""],
        ["k1", "2024-05-01T00:00:00.000Z", "4", "true", ""],
        ["k1", "2024-06-01T00:00:00.000Z", "5", "false", "e"],
    ]
    out = run("history", "--path", path, "--table", t, "--key", "k1", "--version", "2",
              "--format", "csv").stdout
    assert [[r[c] for c in header] for r in parse_csv(out)[1]] == got[:3]

    out = run("history", "--path", path, "--table", t, "--key", "k1", "--format", "json").stdout
    objs = [json.loads(ln) for ln in out.splitlines() if ln.strip()]
    assert [o["version"] for o in objs] == [1, 2, 1, 4, 3, 4, 5]
    assert [o["deleted"] for o in objs] == [False] * 4 + [True] * 2 + [False]
    assert objs[4]["value"] is None

    out = run("history", "--path", path, "--table", t, "--key", "k2", "--format", "csv").stdout
    assert [[r[c] for c in header] for r in parse_csv(out)[1]] == [
        ["k2", "2024-01-01T00:00:00.000Z", "1", "false", "other"]]


# ---- bitemporal: scan --version N --as-of T ------------------------------------------

def test_bitemporal_late_event(run, create, append):
    path, t = create("value:string")
    h = ["key", "event_time", "value", "_deleted"]
    assert append(path, t, h, [["k1", "2024-01-01", "a1", "false"],
                               ["k2", "2024-01-01", "b1", "false"]]) == 1
    assert append(path, t, h, [["k1", "2024-03-01", "a3", "false"],
                               ["k2", "2024-03-01", "b3", "false"]]) == 2
    # version 3: late events for times versions 1-2 already covered
    assert append(path, t, h, [["k1", "2024-02-01", "a2-late", "false"],
                               ["k2", "2024-02-01", "", "true"],
                               ["k3", "2023-12-01", "c-late", "false"]]) == 3
    # version 4: a correction with the same event time as the late event (tie: v4 wins)
    assert append(path, t, h, [["k1", "2024-02-01", "a2-fix", "false"]]) == 4

    def at(v, ts=None):
        return scan_map(run, path, t, *(["--version", str(v)] if v is not None else []),
                        *(["--as-of", ts] if ts else []))

    mid = "2024-02-15"
    assert at(0) == {} and at(0, mid) == {}
    assert at(1, mid) == {"k1": "a1", "k2": "b1"}
    assert at(2, mid) == {"k1": "a1", "k2": "b1"}
    assert at(2) == {"k1": "a3", "k2": "b3"}
    assert at(3, mid) == {"k1": "a2-late", "k3": "c-late"}
    assert at(3, "2024-02-01T00:00:00Z") == {"k1": "a2-late", "k3": "c-late"}  # inclusive
    assert at(3, "2024-01-31T23:59:59.999Z") == {"k1": "a1", "k2": "b1", "k3": "c-late"}
    assert at(3) == {"k1": "a3", "k2": "b3", "k3": "c-late"}
    assert at(2, "2023-12-15") == {}
    assert at(3, "2023-12-15") == {"k3": "c-late"}
    assert at(4, mid) == {"k1": "a2-fix", "k3": "c-late"}
    assert at(None, mid) == at(4, mid)
    header, rows = scan_rows(run, path, t, "--version", "3", "--as-of", mid)
    assert rows[0] == ["k1", "2024-02-01T00:00:00.000Z", "a2-late"]   # the winner's own time


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_append_from_stdin(run, bazof_bin, tmp_path, fmt):
    import io
    import subprocess
    run("create", "--path", tmp_path, "--table", "s", "--schema", "v:int64")
    rows = {"key": ["b", "a", "b"], "event_time": ["2024-01-02", "2024-01-01", "2024-01-01"], "v": [2, 1, 9]}
    if fmt == "csv":
        data = ("key,event_time,v\n" + "".join(f"{k},{t},{v}\n" for k, t, v in zip(*rows.values()))).encode()
    elif fmt == "jsonl":
        data = "".join(json.dumps({"key": k, "event_time": t, "v": v}) + "\n" for k, t, v in zip(*rows.values())).encode()
    else:
        buf = io.BytesIO()
        pq.write_table(pa.table({"key": rows["key"], "event_time": pa.array(
            [parse_ts_us(t) for t in rows["event_time"]], pa.timestamp("us", tz="UTC")), "v": rows["v"]}), buf)
        data = buf.getvalue()
    proc = subprocess.run([bazof_bin, "append", "--path", str(tmp_path), "--table", "s", "--input", "-",
                           "--input-format", fmt], input=data, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert scan_rows(run, tmp_path, "s")[1] == [["a", "2024-01-01T00:00:00.000Z", "1"],
                                               ["b", "2024-01-02T00:00:00.000Z", "2"]]


def test_append_from_stdin_needs_a_format(run, bazof_bin, tmp_path):
    import subprocess
    run("create", "--path", tmp_path, "--table", "s", "--schema", "v:int64")
    proc = subprocess.run([bazof_bin, "append", "--path", str(tmp_path), "--table", "s", "--input", "-"],
                          input=b"key,event_time,v\n", capture_output=True, text=False, timeout=60)
    assert proc.returncode == 1 and proc.stdout == b""
    assert proc.stderr.decode().startswith("bazof: error: input '-' (standard input): name its format")
    # A bad row on stdin is named as standard input, and nothing is committed.
    proc = subprocess.run([bazof_bin, "append", "--path", str(tmp_path), "--table", "s", "--input", "-",
                           "--input-format", "csv"], input=b"key,event_time,v\na,2024-01-01,x\n",
                          capture_output=True, timeout=60)
    assert proc.returncode == 1 and "standard input" in proc.stderr.decode(), proc.stderr
    assert [int(r["version"]) for r in log_rows(run, tmp_path, "s")] == [0]

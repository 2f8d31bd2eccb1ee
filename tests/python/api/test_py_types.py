"""Round trips through the Python API: every format type (with nulls) in and
out, every kind of Arrow-compatible input, and the pandas / Polars outputs."""
import datetime as dt
import decimal

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import bazof

UTC = dt.timezone.utc

VALUE_TYPES = {
    "s": pa.string(), "b": pa.binary(), "f": pa.bool_(),
    "i8": pa.int8(), "i16": pa.int16(), "i32": pa.int32(), "i64": pa.int64(),
    "u8": pa.uint8(), "u16": pa.uint16(), "u32": pa.uint32(), "u64": pa.uint64(),
    "f32": pa.float32(), "f64": pa.float64(), "d": pa.date32(),
    "ts_s": pa.timestamp("s", tz="UTC"), "ts_ms": pa.timestamp("ms", tz="UTC"),
    "ts_us": pa.timestamp("us", tz="UTC"), "ts_ns": pa.timestamp("ns", tz="UTC"),
    "dec": pa.decimal128(38, 10), "dec2": pa.decimal128(5, 2),
}

ROWS = {
    "s": ["héllo", None, ""], "b": [b"\x00\xff", None, b""], "f": [True, None, False],
    "i8": [-128, None, 127], "i16": [-32768, None, 32767], "i32": [-2**31, None, 2**31 - 1],
    "i64": [-2**63, None, 2**63 - 1], "u8": [0, None, 255], "u16": [0, None, 65535],
    "u32": [0, None, 2**32 - 1], "u64": [0, None, 2**64 - 1],
    "f32": [1.5, None, -0.0], "f64": [3.141592653589793, None, 1e308],
    "d": [dt.date(1970, 1, 1), None, dt.date(2262, 4, 11)],
    "ts_s": [dt.datetime(2000, 1, 1, tzinfo=UTC), None, dt.datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)],
    "ts_ms": [dt.datetime(2024, 2, 29, 12, 0, 0, 123000, tzinfo=UTC), None, dt.datetime(1900, 1, 1, tzinfo=UTC)],
    "ts_us": [dt.datetime(2024, 2, 29, 12, 0, 0, 123456, tzinfo=UTC), None, dt.datetime(3000, 1, 1, tzinfo=UTC)],
    "ts_ns": [pd.Timestamp("2024-02-29T12:00:00.123456789Z"), None, pd.Timestamp("1677-09-22T00:00:00Z")],
    "dec": [decimal.Decimal("1234567890123456789012345678.0123456789"), None, decimal.Decimal("-0.0000000001")],
    "dec2": [decimal.Decimal("999.99"), None, decimal.Decimal("-1.00")],
}


def typed_table():
    cols = {"key": pa.array(["a", "b", "c"]),
            "event_time": pa.array([0, 1000, 2000], pa.timestamp("ms", tz="UTC"))}
    for name, typ in VALUE_TYPES.items():
        cols[name] = pa.array(ROWS[name], type=typ)
    return pa.table(cols)


def test_every_type_round_trips_with_nulls(tmp_path):
    schema = pa.schema([(n, t) for n, t in VALUE_TYPES.items()])
    t = bazof.create_table(tmp_path / "types", schema)
    assert t.version == 0
    assert t.schema.names == ["key", "event_time", *VALUE_TYPES]
    for name, typ in VALUE_TYPES.items():
        assert t.schema.field(name).type == typ, name
    data = typed_table()
    assert t.append(data) == 1
    got = bazof.open_table(tmp_path / "types").scan().to_arrow()
    assert got.schema == bazof.open_table(tmp_path / "types").schema
    assert got.to_pylist() == data.cast(got.schema).to_pylist()
    # pandas and Polars see the same values
    df = t.scan().to_pandas()
    assert df["dec"][0] == ROWS["dec"][0] and pd.isna(df["i64"][1])
    assert df["ts_ns"][0] == pd.Timestamp("2024-02-29T12:00:00.123456789Z")
    pdf = t.scan().to_polars()
    assert pdf.schema["ts_us"] == pl.Datetime("us", "UTC")
    assert pdf["u64"].to_list() == ROWS["u64"]
    assert pdf["dec2"].to_list() == ROWS["dec2"]


def test_timestamps_with_zones_keep_their_instants(tmp_path):
    zones = ["Europe/Paris", "America/New_York", "+05:30", None]
    schema = pa.schema([(f"t{i}", pa.timestamp("us", tz=z)) for i, z in enumerate(zones)])
    t = bazof.create_table(tmp_path / "z", schema, event_time="at")
    # Stored as UTC: the format's timestamps are instants.
    assert all(t.schema.field(f"t{i}").type == pa.timestamp("us", tz="UTC") for i in range(len(zones)))
    instant = dt.datetime(2024, 3, 31, 0, 30, tzinfo=UTC)  # the night Paris changes clocks
    cols = {"key": ["k"], "at": pa.array([instant]).cast(pa.timestamp("ms", tz="Asia/Tokyo"))}
    for i, z in enumerate(zones):
        cols[f"t{i}"] = pa.array([instant], pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us", tz=z))
    t.append(pa.table(cols))
    row = t.scan().to_arrow().to_pylist()[0]
    assert row["at"] == instant
    for i in range(len(zones)):
        assert row[f"t{i}"] == instant


@pytest.mark.parametrize("kind", ["table", "batch", "reader", "pandas", "polars", "capsule", "dict"])
def test_append_accepts_arrow_compatible_inputs(tmp_path, kind):
    t = bazof.create_table(tmp_path / kind, pa.schema([("v", pa.int64()), ("s", pa.string()),
                                                       ("p", pa.decimal128(10, 2))]))
    data = pa.table({"key": ["x", "y"], "event_time": pa.array([1, 2], pa.timestamp("ms", tz="UTC")),
                     "v": [1, None], "s": ["a", "b"],
                     "p": pa.array([decimal.Decimal("1.25"), None], pa.decimal128(10, 2))})

    class Capsule:  # any object with __arrow_c_stream__
        def __arrow_c_stream__(self, requested_schema=None):
            return data.__arrow_c_stream__(requested_schema)

    inputs = {
        "table": lambda: data, "batch": lambda: data.to_batches()[0], "reader": data.to_reader,
        "pandas": lambda: data.to_pandas(), "polars": lambda: pl.from_arrow(data),
        "capsule": Capsule, "dict": lambda: data.to_pydict(),
    }
    assert t.append(inputs[kind]()) == 1
    got = t.scan().to_arrow()
    assert got.column("v").to_pylist() == [1, None]
    assert got.column("s").to_pylist() == ["a", "b"]
    assert got.column("p").to_pylist() == [decimal.Decimal("1.25"), None]


def test_scan_result_is_an_arrow_stream(tmp_path):
    t = bazof.create_table(tmp_path / "s", pa.schema([("v", pa.int64())]))
    t.append(pa.table({"key": ["a", "b"], "event_time": pa.array([1, 2], pa.timestamp("ms", tz="UTC")),
                       "v": [10, 20]}))
    scan = t.scan(columns=["v"])
    via_capsule = pa.RecordBatchReader.from_stream(scan).read_all()
    assert via_capsule.equals(scan.to_arrow())
    assert pa.table(scan).equals(scan.to_arrow())
    assert sum(b.num_rows for b in scan.to_batches()) == 2
    assert pl.DataFrame(scan)["v"].to_list() == [10, 20]
    assert scan.files and all(f.endswith(".parquet") for f in scan.files)


def test_empty_append_commits_nothing(tmp_path):
    t = bazof.create_table(tmp_path / "e", pa.schema([("v", pa.int64())]))
    empty = pa.table({"key": pa.array([], pa.string()), "event_time": pa.array([], pa.timestamp("ms", tz="UTC")),
                      "v": pa.array([], pa.int64())})
    assert t.append(empty) == 0
    assert t.log().column("version").to_pylist() == [0]


def test_composite_key_put_delete_history(tmp_path):
    schema = pa.schema([("region", pa.string()), ("id", pa.int32()), ("qty", pa.int64())])
    t = bazof.create_table(tmp_path / "c", schema, key=("region", "id"))
    assert t.key_columns == ["region", "id"]
    v1 = t.put({"region": "eu", "id": 7}, "2024-01-01", qty=5)
    v2 = t.put({"region": "us", "id": 7}, dt.datetime(2024, 1, 1), qty=6)
    v3 = t.delete({"region": "eu", "id": 7}, dt.date(2024, 2, 1))
    assert (v1, v2, v3) == (1, 2, 3)
    assert t.scan().to_arrow().to_pylist() == [
        {"region": "us", "id": 7, "event_time": dt.datetime(2024, 1, 1, tzinfo=UTC), "qty": 6}]
    assert t.scan(as_of="2024-01-31").to_arrow().column("region").to_pylist() == ["eu", "us"]
    h = t.history({"region": "eu", "id": 7})
    assert h.column("version").to_pylist() == [1, 3]
    assert h.column("deleted").to_pylist() == [False, True]
    assert t.log().column("operation").to_pylist() == ["create", "put", "put", "delete"]


def test_put_typed_values(tmp_path):
    schema = pa.schema([("price", pa.decimal128(12, 2)), ("day", pa.date32()), ("seen", pa.timestamp("us")),
                        ("ok", pa.bool_()), ("n", pa.int16())])
    t = bazof.create_table(tmp_path / "p", schema, key="sym")
    t.put("AAPL", pd.Timestamp("2024-01-02T14:30:00+00:00"), price=decimal.Decimal("185.64"),
          day=dt.date(2024, 1, 2), seen=dt.datetime(2024, 1, 2, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
          ok=True, n=3)
    t.put("MSFT", "2024-01-02", price="370.87", n=None, partial=True)  # text converts by the column's type; None = null
    rows = {r["sym"]: r for r in t.scan().to_arrow().to_pylist()}
    assert rows["AAPL"]["price"] == decimal.Decimal("185.64")
    assert rows["AAPL"]["seen"] == dt.datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
    assert rows["AAPL"]["day"] == dt.date(2024, 1, 2) and rows["AAPL"]["ok"] is True and rows["AAPL"]["n"] == 3
    assert rows["MSFT"]["price"] == decimal.Decimal("370.87") and rows["MSFT"]["n"] is None
    assert rows["MSFT"]["event_time"] == dt.datetime(2024, 1, 2, tzinfo=UTC)


def test_version_metadata_and_cli_agree(tmp_path, run):
    t = bazof.create_table(tmp_path / "m", pa.schema([("v", pa.int64())]))
    t.put("a", "2024-01-01", v=1)
    run("put", "--path", tmp_path, "--table", "m", "--key", "b", "--event-time", "2024-01-01", "v=2")
    assert t.version == 1  # as of the last write through this handle
    assert t.refresh().version == 2
    assert t.scan().to_arrow().column("v").to_pylist() == [1, 2]
    assert bazof.__version__ == "0.1.0"

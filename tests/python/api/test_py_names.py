"""Issue #17 part B in Python: composite keys as tuples, a value column named `key`,
commit-time travel (version_at, as_of_commit, typed log), type aliases, floats into
decimal columns, write_table and create_table from a DataFrame."""
import datetime as dt
import decimal
import time

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import bazof

UTC = dt.timezone.utc


def state(scan):
    return scan.to_arrow().to_pylist()


def test_composite_keys_as_tuples(tmp_path):
    t = bazof.create_table(tmp_path / "q", pa.schema([("sym", pa.string()), ("venue", pa.int64()),
                                                      ("key", pa.string()), ("price", pa.float64())]),
                           key=["sym", "venue"])
    t.put(("AAPL", 1), "2024-01-01", key="k1", price=1.0)  # a value column named `key`
    t.put({"venue": 2, "sym": "AAPL"}, "2024-01-01", key="k2", price=2.0)
    t.put(("MSFT", 1), "2024-01-01", key=None, price=3.0)
    t.put(("AAPL", 1), "2024-02-01", key="k3", price=4.0)
    rows = state(t.scan(keys=[("AAPL", 1), ("MSFT", 1), ("NONE", 1)]))
    assert [(r["sym"], r["venue"], r["key"], r["price"]) for r in rows] == [
        ("AAPL", 1, "k3", 4.0), ("MSFT", 1, None, 3.0)]
    rows = state(t.scan("2024-01-15", keys=[{"sym": "AAPL", "venue": 1}]))
    assert [r["key"] for r in rows] == ["k1"]
    assert [r["price"] for r in t.history(("AAPL", 1)).to_pylist()] == [1.0, 4.0]
    t.delete(("MSFT", 1), "2024-03-01")
    assert [r["sym"] for r in state(t.scan())] == ["AAPL", "AAPL"]
    with pytest.raises(bazof.InvalidInput, match="2 column"):
        t.put(("AAPL",), "2024-01-01", price=1.0)
    with pytest.raises(bazof.InvalidInput, match="tuple"):
        t.scan(keys=["AAPL"])
    with pytest.raises(bazof.InvalidInput, match="list of keys"):
        t.scan(keys=("AAPL", 1))
    with pytest.raises(bazof.InvalidInput, match="not a valid int64"):
        t.scan(keys=[("AAPL", "one")]).to_arrow()


def test_single_key_scan_keys_and_event_time_value_name(tmp_path):
    t = bazof.create_table(tmp_path / "s", pa.schema([("v", pa.int64()), ("key", pa.string())]), key="id")
    t.put("a", "2024-01-01", v=1, key="x")
    t.put("b", "2024-01-01", v=2, key=None)
    assert [r["v"] for r in state(t.scan(keys=["b", ("a",)]))] == [1, 2]
    assert state(t.scan(keys=["a"]))[0]["key"] == "x"


def test_commit_time_travel(tmp_path):
    t = bazof.create_table(tmp_path / "c", pa.schema([("v", pa.int64())]))
    t.put("a", "2024-01-01", v=1)
    time.sleep(0.01)
    t.put("a", "2024-01-01", v=2)
    log = t.log()
    assert log.schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    stamps = log.column("timestamp").to_pylist()
    assert all(isinstance(s, dt.datetime) and s.tzinfo is not None for s in stamps)
    assert stamps == sorted(stamps)
    assert t.version_at(stamps[1]) == 1
    assert t.version_at(pd.Timestamp(stamps[2])) == 2
    assert t.version_at(stamps[1].isoformat()) == 1
    assert t.version_at(dt.datetime(2999, 1, 1)) == 2
    assert state(t.scan(as_of_commit=stamps[1]))[0]["v"] == 1
    assert state(t.scan(as_of_commit="2999-01-01"))[0]["v"] == 2
    with pytest.raises(bazof.NotFound, match="no version was committed at or before"):
        t.version_at(dt.datetime(2001, 1, 1, tzinfo=UTC))
    with pytest.raises(bazof.InvalidInput, match="not both"):
        t.scan(version=1, as_of_commit=stamps[1])


def test_type_aliases(tmp_path):
    t = bazof.create_table(tmp_path / "a", pa.schema([("v", pa.int64())]))
    t.add_column("p", "double")
    t.add_column("q", "timestamp[us, tz=UTC]")
    t.add_column("r", "boolean")
    assert [str(t.schema.field(c).type) for c in "pqr"] == ["double", "timestamp[us, tz=UTC]", "bool"]
    with pytest.raises(bazof.InvalidInput, match="unknown type 'real'"):
        t.add_column("s", "real")


def test_floats_into_decimal_columns(tmp_path):
    t = bazof.create_table(tmp_path / "d", pa.schema([("price", pa.decimal128(10, 2))]))
    v = t.append(pd.DataFrame({"key": ["a", "b", "c"], "event_time": pd.to_datetime(["2024-01-01"] * 3, utc=True),
                               "price": [0.1, 1.25, 3.0]}))
    assert v == 1
    assert [r["price"] for r in state(t.scan())] == [decimal.Decimal("0.10"), decimal.Decimal("1.25"),
                                                      decimal.Decimal("3.00")]
    bad = pd.DataFrame({"key": ["d", "e"], "event_time": pd.to_datetime(["2024-01-01"] * 2, utc=True),
                        "price": [2.5, 1.255]})
    with pytest.raises(bazof.InvalidInput, match=r"row 2: column 'price': float 1.255 is not exactly a decimal128\(10, 2\)"):
        t.append(bad)
    with pytest.raises(bazof.InvalidInput, match="float nan"):
        t.append(pa.table({"key": ["f"], "event_time": pa.array([0], pa.timestamp("ms", tz="UTC")),
                           "price": pa.array([float("nan")])}))
    assert t.refresh().version == 1  # nothing committed


def test_put_event_time_finer_than_the_column(tmp_path):
    t = bazof.create_table(tmp_path / "p", pa.schema([("v", pa.int64())]))  # event time: timestamp[ms]
    t.put("a", "2024-01-01T00:00:00.123456789Z", v=1)
    t.put("b", dt.datetime(2024, 1, 1, 0, 0, 0, 999999, tzinfo=UTC), v=2)
    times = [r["event_time"].microsecond for r in state(t.scan())]
    assert times == [123000, 999000]


def test_write_table_modes(tmp_path):
    uri = tmp_path / "w"
    df = pd.DataFrame({"sym": ["A", "B"], "event_time": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True),
                       "price": [1.5, 2.5]})
    t = bazof.write_table(uri, df, key="sym")
    assert (t.version, t.key_columns) == (1, ["sym"])  # created (version 0), then written
    assert t.schema.field("price").type == pa.float64()
    t = bazof.write_table(uri, pl.DataFrame({"sym": ["C"], "event_time": [dt.datetime(2024, 1, 3)],
                                             "price": [3.5]}))
    assert [r["sym"] for r in state(t.scan())] == ["A", "B", "C"]
    with pytest.raises(bazof.TableExists):
        bazof.write_table(uri, df, mode="error")
    with pytest.raises(bazof.TableExists):
        bazof.write_table(uri, df, mode="create")
    assert bazof.write_table(uri, df, mode="ignore").version == t.version
    with pytest.raises(bazof.InvalidInput, match="overwrite"):
        bazof.write_table(uri, df, mode="overwrite")
    with pytest.raises(bazof.InvalidInput, match="does not match the key"):
        bazof.write_table(uri, df, key="other")
    with pytest.raises(bazof.InvalidInput, match="mode"):
        bazof.write_table(uri, df, mode="upsert")
    t2 = bazof.write_table(tmp_path / "e", pa.table({"key": ["x"], "event_time": pa.array([0], pa.timestamp("ms")),
                                                     "v": [1]}), mode="error")
    assert state(t2.scan())[0]["v"] == 1


def test_create_table_from_dataframes(tmp_path):
    df = pd.DataFrame({"key": ["a"], "event_time": pd.to_datetime(["2024-01-01"], utc=True), "n": [1],
                       "s": ["x"], "_deleted": [False]})
    t = bazof.create_table(tmp_path / "pd", df)
    assert t.version == 0 and t.schema.names == ["key", "event_time", "n", "s"]
    assert t.schema.field("n").type == pa.int64()
    t = bazof.create_table(tmp_path / "pl", pl.DataFrame({"id": [1], "x": [1.5]}), key="id")
    assert t.schema.names == ["id", "event_time", "x"]
    t = bazof.create_table(tmp_path / "pa", pa.table({"key": ["a"], "y": [True]}))
    assert t.schema.field("y").type == pa.bool_()
    with pytest.raises(bazof.InvalidInput, match="expected a pyarrow.Schema"):
        bazof.create_table(tmp_path / "bad", 42)

"""The Python API on s3:// against the tests' real S3 server (moto, started by conftest's
`s3_server`): storage_options reach the core (the environment points elsewhere, so nothing
works without them), and every operation -- writes, scans, history, log, compaction, alter,
vacuum, validation -- gives on s3:// exactly what it gives on a local path."""
import datetime as dt
import uuid
from decimal import Decimal

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import bazof
from conftest import S3_BUCKET
from s3_server import TEST_KEY_ID, TEST_SECRET, free_port

SCHEMA = pa.schema([("price", pa.decimal128(12, 2)), ("venue", pa.string())])
PROBES = [None, "2024-01-02", "2024-01-03T12:00:00Z", dt.datetime(2024, 1, 5), "2030-01-01"]


@pytest.fixture
def s3_options(s3_server, monkeypatch):
    """Explicit options for the server; the environment names a dead endpoint."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "wrong")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    return {"endpoint": s3_server.endpoint, "access_key_id": TEST_KEY_ID,
            "secret_access_key": TEST_SECRET, "region": "us-east-1"}


def workload(uri, storage_options=None):
    """The same operations on any storage; returns what a user would observe."""
    t = bazof.create_table(uri, SCHEMA, key="symbol", storage_options=storage_options)
    t.append(pd.DataFrame({"symbol": ["AAPL", "MSFT", "GOOG"],
                           "event_time": pd.to_datetime(["2024-01-02", "2024-01-02", "2024-01-03"], utc=True),
                           "price": [Decimal(x) for x in ("185.64", "370.87", "138.92")],
                           "venue": ["XNAS", "XNAS", "XNAS"]}))
    t.put("AAPL", "2024-01-02", price="185.70", venue="XNYS")          # a late correction (tie: wins)
    t.delete("MSFT", dt.date(2024, 1, 4))
    t.append(pl.DataFrame({"symbol": ["AAPL", "GOOG"],
                           "event_time": [dt.datetime(2024, 1, 5), dt.datetime(2024, 1, 1)],
                           "price": [Decimal("190.00"), Decimal("137.00")], "venue": [None, "BATS"]},
                          schema_overrides={"price": pl.Decimal(12, 2)}))
    before = {(v, str(a)): t.scan(as_of=a, version=v).to_arrow().sort_by("symbol")
              for v in (1, 2, 3, 4) for a in PROBES}
    compacted = t.compact(segment_duration="1d")
    t.add_column("note", "string")
    t.widen_column("price", pa.decimal128(14, 3))
    t.set_property("compaction.max_deltas", 8)
    t.put("MSFT", "2024-01-06", price="371.10", venue=None, note="relisted")
    vacuumed = t.vacuum(retain_versions=3, grace=dt.timedelta(microseconds=1))
    report = t.validate(deep=True, check=True)
    again = bazof.open_table(uri, storage_options=storage_options)
    return {
        "versions": [r["version"] for r in again.log().to_pylist()],
        "operations": [r["operation"] for r in again.log().to_pylist()],
        "before_compaction": before,
        "after": {str(a): again.scan(as_of=a).to_arrow().sort_by("symbol") for a in PROBES},
        "key_filter": again.scan(filter=[("symbol", "in", ["AAPL", "MSFT"])]).to_arrow().sort_by("symbol"),
        "history": again.history("AAPL").drop_columns(["version"]),
        "compacted": (compacted.committed, compacted.events_read, compacted.events_written),
        "vacuumed": (vacuumed.oldest_retained_version, vacuumed.expired_versions),
        "valid": report.valid,
        "schema": again.schema,
        "properties": again.properties,
    }


def test_every_operation_on_s3_matches_a_local_path(tmp_path, s3_options):
    local = workload(tmp_path / "prices")
    remote = workload(f"s3://{S3_BUCKET}/{uuid.uuid4().hex}/prices", s3_options)
    assert remote.keys() == local.keys()
    for k in local:
        assert remote[k] == local[k], k
    assert local["valid"] and local["versions"] == [7, 8, 9]  # create 0, writes 1-4, compact 5, alter 6-8, put 9
    assert local["after"]["None"].column("note").to_pylist() == [None, None, "relisted"]


def test_duckdb_and_polars_read_from_s3(s3_options):
    uri = f"s3://{S3_BUCKET}/{uuid.uuid4().hex}/t"
    t = bazof.create_table(uri, pa.schema([("v", pa.int64())]), storage_options=s3_options)
    t.append(pa.table({"key": ["a", "b", "a"], "event_time": pa.array([1, 1, 5], pa.timestamp("s")),
                       "v": [1, 2, 3]}))
    import duckdb
    con = duckdb.connect()
    bazof.register_duckdb(con, "t_then", uri, as_of="1970-01-01T00:00:02Z", storage_options=s3_options)
    assert con.sql("SELECT key, v FROM t_then ORDER BY key").fetchall() == [("a", 1), ("b", 2)]
    lf = bazof.scan_bazof(uri, storage_options=s3_options)
    assert lf.filter(pl.col("key") == "a").select("v").collect()["v"].to_list() == [3]


def test_storage_options_errors(s3_options):
    uri = f"s3://{S3_BUCKET}/{uuid.uuid4().hex}/t"
    with pytest.raises(bazof.InvalidInput, match="storage_options apply to object-store URIs"):
        bazof.open_table("/tmp/x/t", storage_options={"region": "us-east-1"})
    with pytest.raises(bazof.BazofError, match="no_such_option"):
        bazof.create_table(uri, SCHEMA, storage_options={**s3_options, "no_such_option": "1"})
    # Without the options the environment's dead endpoint is used: one error naming the URI.
    with pytest.raises(bazof.BazofError, match=f"{uri}/version.txt") as e:
        bazof.open_table(uri)
    assert TEST_SECRET not in str(e.value)
    with pytest.raises(bazof.BazofError) as e:
        bazof.open_table(uri, storage_options={**s3_options, "secret_access_key": "not-it"})
    assert "not-it" not in str(e.value) and TEST_SECRET not in str(e.value)

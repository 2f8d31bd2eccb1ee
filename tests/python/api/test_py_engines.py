"""DuckDB, Polars, DataFusion and pandas on bazof tables: results equal the
core's scan (itself checked against the oracle and the fixtures), and the
engines' projections and filters reach the bazof scan."""
import datetime as dt

import datafusion
import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import bazof

UTC = dt.timezone.utc


@pytest.fixture(scope="module")
def ltm(fixtures_dir):
    return bazof.open_table(fixtures_dir / "bazof-0.1" / "ltm_revenue")


@pytest.fixture(scope="module")
def gen_table(tmp_path_factory, run):
    path = tmp_path_factory.mktemp("eng")
    run("gen", "--path", path, "--table", "g", "--keys", "2000", "--events", "5", "--seed", "9")
    return bazof.open_table(path / "g")


class Recorder:
    """Records the bazof scans a BazofDataset makes (what the engine pushed)."""

    def __init__(self, dataset, monkeypatch):
        self.calls = []
        real = dataset._scan

        def scan(columns, filter, batch_size):
            self.calls.append((None if columns is None else list(columns), filter))
            return real(columns, filter, batch_size)

        monkeypatch.setattr(dataset, "_scan", scan)


def revenue(table, as_of):
    rows = table.scan(as_of=as_of, filter=[("key", "in", ["AAPL", "GOOG"])]).to_arrow().to_pylist()
    return {r["key"]: r["value"] for r in rows}


def test_showcase_values(ltm):
    # The seed's showcase, as the CLI and an independent pyarrow reader give it
    # (tests/python/test_ltm_revenue.py).
    assert revenue(ltm, "2019-01-17") == {"AAPL": "261612000000", "GOOG": "136819000000"}
    assert revenue(ltm, None) == {"AAPL": "294135000000", "GOOG": "171704000000"}


def test_duckdb_scan_result_in_sql(ltm):
    rev = ltm.scan(as_of="2019-01-17")  # noqa: F841 (found by name by DuckDB)
    got = duckdb.sql("SELECT key, value FROM rev WHERE key IN ('AAPL', 'GOOG') ORDER BY key").fetchall()
    assert dict(got) == revenue(ltm, "2019-01-17")


def test_duckdb_register_pushes_projection_and_key_filter(ltm, monkeypatch):
    con = duckdb.connect()
    ds = bazof.register_duckdb(con, "rev", ltm, as_of=dt.datetime(2019, 1, 17))
    rec = Recorder(ds, monkeypatch)
    got = con.sql("SELECT key, value FROM rev WHERE key = 'AAPL'").fetchall()
    assert got == [("AAPL", "261612000000")]
    assert rec.calls, "DuckDB did not scan through bazof"
    columns, filt = rec.calls[-1]
    assert set(columns) <= {"key", "value"}
    assert filt is not None and "AAPL" in str(filt)
    # whole rows, event time (TIMESTAMPTZ) included
    assert con.sql("SELECT * FROM rev WHERE key = 'GOOG'").fetchall() == [
        ("GOOG", dt.datetime(2018, 12, 1, tzinfo=UTC), "136819000000")]
    con.close()


def test_duckdb_aggregates_match_core(gen_table):
    con = duckdb.connect()
    bazof.register_duckdb(con, "g", gen_table, as_of="2022-06-30")
    want = gen_table.scan(as_of="2022-06-30").to_arrow()
    assert con.sql("SELECT count(*) FROM g").fetchall() == [(want.num_rows,)]
    lo, hi = "k000100", "k000199"
    got = con.sql(f"SELECT key FROM g WHERE key BETWEEN '{lo}' AND '{hi}' ORDER BY key").fetchall()
    assert [k for (k,) in got] == [k for k in want.column("key").to_pylist() if lo <= k <= hi]
    con.close()


def test_datafusion_register_and_query(ltm, gen_table):
    ctx = datafusion.SessionContext()
    bazof.register_datafusion(ctx, "rev", ltm, as_of="2019-01-17")
    bazof.register_datafusion(ctx, "rev_now", ltm)
    got = ctx.sql("SELECT key, value FROM rev WHERE key IN ('AAPL', 'GOOG') ORDER BY key").to_pylist()
    assert {r["key"]: r["value"] for r in got} == revenue(ltm, "2019-01-17")
    got = ctx.sql("SELECT key, value FROM rev_now WHERE key IN ('AAPL', 'GOOG')").to_pylist()
    assert {r["key"]: r["value"] for r in got} == revenue(ltm, None)
    bazof.register_datafusion(ctx, "g", gen_table, version=1)
    want = gen_table.scan(version=1).to_arrow().num_rows
    assert ctx.sql("SELECT count(*) AS n FROM g").to_pylist() == [{"n": want}]


def test_polars_eager_and_lazy(ltm, monkeypatch):
    eager = ltm.scan(as_of="2019-01-17").to_polars()
    assert eager.filter(pl.col("key") == "GOOG")["value"].to_list() == ["136819000000"]
    lf = bazof.scan_bazof(ltm.uri, as_of="2019-01-17")
    assert isinstance(lf, pl.LazyFrame)
    got = lf.filter(pl.col("key").is_in(["AAPL", "GOOG"])).select("key", "value").sort("key").collect()
    assert dict(got.iter_rows()) == revenue(ltm, "2019-01-17")
    assert lf.select(pl.len()).collect().item() == eager.height
    assert lf.head(3).collect().equals(eager.head(3))


def test_polars_pushdown_reaches_bazof(gen_table, monkeypatch):
    seen = []
    real = bazof.Table.scan

    def scan(self, *args, **kwargs):
        seen.append(kwargs)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(bazof.Table, "scan", scan)
    lf = bazof.scan_bazof(gen_table, as_of="2023-01-01")
    value = gen_table.schema.names[2]
    got = lf.filter((pl.col("key") >= "k000010") & (pl.col("key") < "k000020")).select("key").collect()
    want = [k for k in real(gen_table, as_of="2023-01-01").to_arrow().column("key").to_pylist()
            if "k000010" <= k < "k000020"]
    assert got["key"].to_list() == want
    last = seen[-1]
    assert last["columns"] == [] and value not in last["columns"]
    assert "k000010" in str(last["filter"]) and "k000020" in str(last["filter"])
    # a predicate bazof cannot use is still applied by Polars
    n = lf.filter(pl.col("key").str.ends_with("7")).select(pl.len()).collect().item()
    assert n == sum(1 for k in real(gen_table, as_of="2023-01-01").to_arrow().column("key").to_pylist()
                    if k.endswith("7"))


def test_pandas(ltm):
    df = ltm.scan(as_of=pd.Timestamp("2019-01-17"), filter=[("key", "in", ["AAPL", "GOOG"])]).to_pandas()
    assert list(df["key"]) == ["AAPL", "GOOG"]
    assert df["event_time"].dt.tz is not None
    assert dict(zip(df["key"], df["value"])) == revenue(ltm, "2019-01-17")


def test_datafusion_sql_at_time_travel(ltm, gen_table):
    ctx = datafusion.SessionContext()
    bazof.register_datafusion(ctx, "rev", ltm)
    sql = "SELECT key, value FROM rev AT ('2019-01-17') WHERE key IN ('AAPL', 'GOOG') ORDER BY key"
    got = bazof.datafusion_sql(ctx, sql).to_pylist()
    assert {r["key"]: r["value"] for r in got} == revenue(ltm, "2019-01-17")
    # Now against then in one query, with aliases, named arguments and a quoted name.
    sql = """SELECT n.key, n.value AS now, t.value AS then
             FROM rev n JOIN "rev" AT (TIMESTAMP => '2019-01-17') AS t ON n.key = t.key
             WHERE n.key IN ('AAPL', 'GOOG') ORDER BY n.key"""
    got = bazof.datafusion_sql(ctx, sql).to_pylist()
    assert {r["key"]: r["now"] for r in got} == revenue(ltm, None)
    assert {r["key"]: r["then"] for r in got} == revenue(ltm, "2019-01-17")
    # Versions, and both; a string holding "AT (" is left alone.
    bazof.register_datafusion(ctx, "g", gen_table)
    for at, version in [(None, 1), ("2022-06-30", 1)]:
        clause = f"AT (VERSION => {version})" if at is None else f"AT (TIMESTAMP => '{at}', VERSION => {version})"
        want = gen_table.scan(as_of=at, version=version).to_arrow().num_rows
        sql = f"SELECT count(*) AS n, 'g AT (x)' AS s FROM g {clause}"
        assert bazof.datafusion_sql(ctx, sql).to_pylist() == [{"n": want, "s": "g AT (x)"}]
    with pytest.raises(bazof.InvalidInput, match="'nope'.*not a bazof table"):
        bazof.datafusion_sql(ctx, "SELECT * FROM nope AT ('2019-01-17')")
    with pytest.raises(bazof.InvalidInput, match="rev.*expected AT"):
        bazof.datafusion_sql(ctx, "SELECT * FROM rev AT (COLOUR => 'red')")
    with pytest.raises(bazof.InvalidInput, match="yesterday"):
        bazof.datafusion_sql(ctx, "SELECT * FROM rev AT ('yesterday')").to_pylist()


def test_duckdb_over_join_and_interval_results(tmp_path):
    # README: DuckDB reads bazof's join/interval answers as Arrow, never the history.
    t = bazof.create_table(str(tmp_path / "prices"), pa.schema([("price", pa.float64())]), key="symbol")
    t.append(pa.table({"symbol": ["AAPL", "AAPL", "MSFT"], "price": [185.6, 187.1, 370.9],
                       "event_time": [dt.datetime(2024, 1, d) for d in (2, 4, 2)]}))
    spine = pa.table({"symbol": ["AAPL", "MSFT", "AAPL"],
                      "ts": pa.array([dt.datetime(2024, 1, d) for d in (3, 1, 5)], pa.timestamp("us"))})
    con = duckdb.connect()
    con.register("f", t.join_asof(spine, on="ts").to_arrow())
    assert con.sql("SELECT symbol, price FROM f").fetchall() == [("AAPL", 185.6), ("MSFT", None), ("AAPL", 187.1)]
    con.register("iv", t.intervals().to_arrow())
    assert con.sql("SELECT count(*) FROM iv WHERE valid_to IS NULL").fetchall() == [(2,)]
    con.close()

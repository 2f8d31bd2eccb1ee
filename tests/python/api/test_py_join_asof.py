"""Table.join_asof (the point-in-time join) against the oracle (oracle.py):
random commits (late events, ties, tombstones, compactions) and, at every
version, spines as pyarrow, pandas and Polars with duplicate rows, keys absent
from the table, times before every event, and null keys or times; the output
keeps the spine's order and columns. Also the CLI's join-asof and errors."""
import datetime as dt
import json
import random

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import bazof
from conftest import EPOCH
from oracle import Event, as_of
from test_py_oracle import Workload
from test_write_oracle import KEYS, TIMES

SEEDS = [21, 22, 23]


def us_of(x):
    return None if x is None else (x - EPOCH) // dt.timedelta(microseconds=1)


def random_spine(rng, n):
    keys, times = [], []
    for _ in range(n):
        if keys and rng.random() < 0.1:  # a duplicate of an earlier row
            i = rng.randrange(len(keys))
            keys.append(keys[i])
            times.append(times[i])
            continue
        keys.append(None if rng.random() < 0.05 else rng.choice(KEYS + ["absent"]))
        r = rng.random()
        if r < 0.05:
            t = None
        elif r < 0.1:
            t = TIMES[0] - 1  # before every event
        elif r < 0.6:
            t = rng.choice(TIMES) + rng.choice([-1, 0, 0, 1])  # on and around events
        else:
            t = rng.randrange(TIMES[0], TIMES[-1] + 86_400_000_000)
        times.append(t)
    return pa.table({"row": pa.array(range(len(keys)), pa.int64()), "key": pa.array(keys, pa.string()),
                     "ts": pa.array([None if t is None else EPOCH + dt.timedelta(microseconds=t) for t in times],
                                    pa.timestamp("us", tz="UTC"))})


def expected(events, spine, version):
    out = []
    for k, t in zip(spine["key"].to_pylist(), spine["ts"].to_pylist()):
        t_us = us_of(t)
        if k is None or t_us is None:
            out.append((None, None, None))
            continue
        state = {key: (et, vals) for key, et, vals in as_of(events, t_us, version)}
        et, vals = state.get(k, (None, (None, None)))
        out.append((et, *vals))
    return out


def check(w, rng):
    spine = random_spine(rng, rng.randrange(0, 80))
    for version in [None, rng.randint(0, w.version)]:
        kind = rng.choice(["arrow", "pandas", "polars", "reader"])
        payload = {"arrow": lambda: spine, "pandas": spine.to_pandas, "polars": lambda: pl.from_arrow(spine),
                   "reader": spine.to_reader}[kind]()
        got = w.t.join_asof(payload, on="ts", version=version, threads=rng.choice([1, 2]),
                            batch_size=rng.choice([1, 7, 1024])).to_arrow()
        assert got.column_names == ["row", "key", "ts", "event_time", "v", "s"]
        assert got["row"].to_pylist() == list(range(spine.num_rows)), "spine order"
        rows = [(us_of(r["event_time"]), r["v"], r["s"]) for r in got.to_pylist()]
        assert rows == expected(w.events, spine, version), (
            f"join_asof[{kind}] version={version} after v{w.version}\n" + "\n".join(w.trace))


@pytest.mark.parametrize("seed", SEEDS)
def test_join_asof_matches_oracle(tmp_path, seed):
    t = bazof.create_table(tmp_path / "o", pa.schema([("v", pa.int64()), ("s", pa.string()),
                                                      ("event_time", pa.timestamp("us"))]))
    w = Workload(t, seed)
    rng = random.Random(seed * 7)
    check(w, rng)
    for _ in range(12):
        if w.version > 2 and rng.random() < 0.2:
            res = t.compact(segment_duration=rng.choice(["30d", "365d", "0"]))
            if res.committed:
                w.version += 1
                w.trace.append(f"v{w.version}: compact")
        else:
            w.step()
        check(w, rng)


@pytest.fixture
def prices(tmp_path):
    t = bazof.create_table(tmp_path / "prices", pa.schema([("symbol", pa.string()), ("price", pa.int64()),
                                                          ("ts", pa.timestamp("us"))]),
                           key="symbol", event_time="ts")
    t.append(pa.table({"symbol": ["A", "A", "B", "B"],
                       "ts": pa.array([dt.datetime(2024, 1, d) for d in (1, 3, 1, 2)], pa.timestamp("us")),
                       "price": [1, 3, 10, None], "_deleted": [False, False, False, True]}))
    return t


def test_join_asof_forms_and_naming(prices):
    spine = pd.DataFrame({"sym": ["B", "A", "A", "C"],
                          "ts": pd.to_datetime(["2024-01-01T12:00", "2024-01-02T00:00", "2024-01-03T00:00", "2024-01-09T00:00"]),
                          "price": [0.5, 0.5, 0.5, 0.5]})
    got = prices.join_asof(spine, on="ts", by="sym")
    # Colliding names: the table's ts and price get the suffix.
    assert got.schema.names == ["sym", "ts", "price", "ts_right", "price_right"]
    df = got.to_pandas()
    assert df["price_right"].tolist()[:3] == [10, 1, 3] and pd.isna(df["price_right"][3])
    assert got.to_polars().shape == (4, 5)
    assert [b.num_rows for b in prices.join_asof(spine, on="ts", by="sym", batch_size=3).to_batches()] == [3, 1]
    # Dates are midnight UTC; columns=[] returns the event time only.
    dates = pa.table({"symbol": ["A", "B"], "d": pa.array([dt.date(2024, 1, 2), dt.date(2024, 1, 2)])})
    out = prices.join_asof(dates, on="d", columns=[]).to_arrow()
    assert out.column_names == ["symbol", "d", "ts"]
    assert out["ts"].to_pylist() == [dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc), None]  # B: tombstone
    # DuckDB over the result (README's recipe).
    import duckdb
    joined = prices.join_asof(dates, on="d").to_arrow()  # noqa: F841 (read by duckdb's replacement scan)
    assert duckdb.sql("select count(*) from joined where price is not null").fetchall()[0][0] == 1


def test_join_asof_errors(prices, fixtures_dir):
    spine = pa.table({"symbol": ["A"], "ts": ["2024-01-02"]})
    with pytest.raises(bazof.InvalidInput, match="spine column 'ts' is string, not a timestamp or date"):
        prices.join_asof(spine, on="ts")
    spine = pa.table({"symbol": [1], "ts": pa.array([dt.datetime(2024, 1, 2)])})
    with pytest.raises(bazof.InvalidInput, match="spine key column 'symbol' is int64, but key column 'symbol'"):
        prices.join_asof(spine, on="ts")
    with pytest.raises(bazof.InvalidInput, match="no time column 'when'"):
        prices.join_asof(spine, on="when")
    with pytest.raises(bazof.InvalidInput, match="cannot read"):
        prices.join_asof(42, on="ts")
    legacy = bazof.open_table(fixtures_dir / "bazof-0.1" / "ltm_revenue")
    with pytest.raises(bazof.InvalidInput, match="bazof 0.1 / azof 0.2 tables are not supported"):
        legacy.join_asof(pa.table({"key": ["AAPL"], "ts": pa.array([dt.datetime(2019, 1, 17)])}), on="ts")


def test_cli_join_asof(prices, tmp_path, run):
    root = str(tmp_path)
    (tmp_path / "spine.csv").write_text("id,symbol,at\n1,B,2024-01-01T12:00:00Z\n2,A,2024-01-02\n3,,2024-01-02\n"
                                        "4,A,\n5,007,2024-01-05\n")
    out = run("join-asof", "--path", root, "--table", "prices", "--spine", tmp_path / "spine.csv", "--on", "at",
              "--format", "json").stdout
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == [1, 2, 3, 4, 5]
    assert [r["price"] for r in rows] == [10, 1, None, None, None]
    assert rows[0]["ts"].startswith("2024-01-01T00:00:00") and rows[4]["symbol"] == "007"  # key kept as text
    pq.write_table(pa.table({"symbol": ["A"], "at": pa.array([dt.datetime(2024, 1, 4)], pa.timestamp("ms"))}),
                   tmp_path / "spine.parquet")
    run("join-asof", "--path", root, "--table", "prices", "--spine", tmp_path / "spine.parquet", "--on", "at",
        "--version", "1", "--columns", "price", "--format", "parquet", "--output", tmp_path / "out.parquet")
    assert pq.read_table(tmp_path / "out.parquet").to_pylist()[0]["price"] == 3
    # An existing output is refused, as scan refuses it, unless --overwrite.
    again = ["join-asof", "--path", root, "--table", "prices", "--spine", tmp_path / "spine.csv", "--on", "at",
             "--format", "parquet", "--output", tmp_path / "out.parquet"]
    bad = run(*again, check=False)
    assert bad.returncode == 1 and "--overwrite" in bad.stderr and len(bad.stderr.splitlines()) == 1
    assert pq.read_table(tmp_path / "out.parquet").num_rows == 1  # untouched
    run(*again, "--overwrite")
    assert pq.read_table(tmp_path / "out.parquet")["id"].to_pylist() == [1, 2, 3, 4, 5]
    bad = run("join-asof", "--path", root, "--table", "prices", "--spine", tmp_path / "spine.csv", "--on", "nope",
              check=False)
    assert bad.returncode == 1 and "no time column 'nope'" in bad.stderr and len(bad.stderr.splitlines()) == 1
    (tmp_path / "bad.csv").write_text("symbol,at\nA,yesterday\n")
    bad = run("join-asof", "--path", root, "--table", "prices", "--spine", tmp_path / "bad.csv", "--on", "at",
              check=False)
    assert bad.returncode == 1 and "yesterday" in bad.stderr and len(bad.stderr.splitlines()) == 1


def test_readme_join_example_runs():
    import re
    import subprocess
    import sys
    from pathlib import Path

    text = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    section = text.split("\n## Point-in-time (as-of) join\n", 1)[1].split("\n## ", 1)[0]
    code = re.findall(r"```python\n(.*?)```", section, re.S)[0]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "[('AAPL', 186.35), ('GOOG', None), ('MSFT', None)]" in out.stdout


def test_datafusion_over_the_join(prices):
    import datafusion

    spine = pa.table({"symbol": ["A", "A", "B"], "at": pa.array([dt.datetime(2024, 1, d) for d in (2, 5, 1)])})
    ctx = datafusion.SessionContext()
    ctx.register_record_batches("features", [prices.join_asof(spine, on="at").to_arrow().to_batches()])
    assert ctx.sql("SELECT sum(price) AS s, count(ts) AS n FROM features").to_pydict() == {"s": [14], "n": [3]}

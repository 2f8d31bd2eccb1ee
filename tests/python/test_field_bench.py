"""bench/field_bench.py at a tiny size: its differential checks (every alternative's answer equal
to bazof's) run in CI. No timings are asserted. W2 (the ltm_revenue fixture, about a million
events whatever the flags) is checked by its own test on the keyed queries only."""
import importlib.util
import json
import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq

from conftest import REPO

HARNESS = REPO / "bench" / "field_bench.py"


def _load_harness():
    spec = importlib.util.spec_from_file_location("field_bench", HARNESS)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_field_bench_tiny_answers_agree(bazof_bin, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(HARNESS), "--keys", "200", "--events-per-key", "5", "--runs", "1",
         "--out", str(out), "--work", str(tmp_path / "work"), "--skip-w2", "--sweep-keys", "100",
         "--sweep-h", "1,5", "--write-rows", "2000", "--spine-rows", "2000"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "BAZOF_BIN": bazof_bin})
    assert proc.returncode == 0, proc.stderr[-4000:]
    res = json.loads((out / "results.json").read_text())
    assert res["problems"] == []
    queries = res["w1"]["queries"]
    assert sorted(queries) == ["q1", "q2", "q3", "q4", "q5", "q6"]
    for q, per in queries.items():
        expected = {"bazof", "duckdb_argmax", "delta_duckdb", "polars", "limit"} | ({"duckdb_qualify"} if q != "q6" else set())
        assert set(per) == expected, q
        for engine, r in per.items():
            assert engine == "bazof" or r["equal_to_bazof"], (q, engine)
    # Every key has events before and after T at this size, so q1 and q2 return every key.
    assert queries["q2"]["bazof"]["rows"] == 200
    assert queries["q3"]["bazof"]["rows"] == 1
    assert queries["q6"]["bazof"]["rows"] == 5
    assert queries["q4"]["bazof"]["rows"] <= 100
    # The as-of joins: every spine row back, DuckDB's ASOF LEFT JOIN agreeing.
    assert res["joins"]["j1"]["bazof"]["rows"] == 2000 and res["joins"]["j2"]["bazof"]["rows"] == 1000
    assert res["joins"]["j3"]["bazof"]["rows"] == 2000
    assert all(r["duckdb_asof"]["equal_to_bazof"] for r in res["joins"].values())
    assert set(res["sweep"]) == {"1", "5"}
    assert res["writes"]["rows"] == 2000
    assert (out / "RESULTS.md").read_text().startswith("# bazof against the field")
    assert (out / "q1_scaling.png").stat().st_size > 0


def test_field_bench_w2_in_format_1_answers_agree(bazof_bin, tmp_path):
    """W2's events moved into a format-1 table (appended, compacted): bazof's keyed answers
    there equal DuckDB's over the same history, and equal the legacy table's."""
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(HARNESS), "--keys", "50", "--events-per-key", "2", "--runs", "1",
         "--out", str(out), "--work", str(tmp_path / "work"), "--skip-joins", "--skip-writes",
         "--skip-sweep", "--skip-delta", "--queries", "q3,q4,q6", "--engines", "bazof,duckdb_argmax"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "BAZOF_BIN": bazof_bin})
    assert proc.returncode == 0, proc.stderr[-4000:]
    res = json.loads((out / "results.json").read_text())
    assert res["problems"] == []
    legacy, moved = res["w2"]["queries"], res["w2f"]["queries"]
    for q in ("q3", "q4", "q6"):
        assert moved[q]["duckdb_argmax"]["equal_to_bazof"], q
        assert moved[q]["bazof"]["rows"] == legacy[q]["duckdb_argmax"]["rows"] > 0, q
    answers = tmp_path / "work"
    for q in ("q3", "q4"):
        assert pq.read_table(answers / f"answers_w2f/{q}_bazof.parquet").equals(
            pq.read_table(answers / f"answers_w2/{q}_bazof.parquet")), q


def test_field_bench_check_detects_a_wrong_answer(tmp_path):
    fb = _load_harness()
    ts = pa.array([1, 2], pa.timestamp("us", tz="UTC"))
    pq.write_table(pa.table({"key": ["a", "b"], "event_time": ts, "v": [1, 2]}), tmp_path / "q1_bazof.parquet")
    # The same rows in another order and with other string / timestamp flavours: equal.
    pq.write_table(pa.table({"key": pa.array(["b", "a"], pa.large_string()),
                             "event_time": pa.array([2, 1], pa.timestamp("us", tz="UTC")), "v": [2, 1]}),
                   tmp_path / "q1_same.parquet")
    assert fb.check_equal(tmp_path, "q1", "same", "key", "event_time") is None
    pq.write_table(pa.table({"key": ["a", "b"], "event_time": ts, "v": [1, 3]}), tmp_path / "q1_wrong.parquet")
    assert fb.check_equal(tmp_path, "q1", "wrong", "key", "event_time") == "column v differs"
    pq.write_table(pa.table({"key": ["a"], "event_time": ts[:1], "v": [1]}), tmp_path / "q1_short.parquet")
    assert fb.check_equal(tmp_path, "q1", "short", "key", "event_time") == "1 rows, bazof 2"

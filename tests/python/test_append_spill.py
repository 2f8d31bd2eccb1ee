"""Appends larger than their memory budget (docs/spec.md §10a, external sort), through the
Python API and the CLI: shuffled inputs with duplicate (key, event time) rows and tombstones,
appended under a tiny budget that spills many sorted runs, give the oracle's answers
(oracle.py) at every T probed and the same files' rows as the unbudgeted append; the spill
directory is left empty; bad budgets and an unusable spill directory are one clear error
and commit nothing. BAZOF_MEMORY_LIMIT_MINIMUM lowers the documented 32 MiB minimum (the
one of every operation, docs/spec.md §22) so that small inputs spill."""
import json
import random
import subprocess
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import bazof
from conftest import assert_cli_error
from oracle import Event, as_of

T0 = 1_700_000_000_000  # ms


def shuffled_rows(seed, n, keys, times):
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        deleted = rng.random() < 0.15
        rows.append((f"k{rng.randrange(keys)}", T0 + rng.randrange(times) * 1000,
                     None if deleted else i, deleted))
    return rows


def as_table(rows):
    return pa.table({
        "key": pa.array([r[0] for r in rows]),
        "event_time": pa.array([r[1] for r in rows], pa.timestamp("ms", tz="UTC")),
        "value": pa.array([r[2] for r in rows], pa.int64()),
        "_deleted": pa.array([r[3] for r in rows]),
    })


def files_rows(uri, version):
    """The rows of the data files version `version` added, in commit order."""
    with open(f"{uri}/s{version}.json") as f:
        files = json.load(f)["commit"]["files_added"]
    assert files
    return pa.concat_tables([pq.read_table(f"{uri}/{name}") for name in files])


def scan_rows(t, as_of_us=None):
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    kw = {} if as_of_us is None else {"as_of": epoch + timedelta(microseconds=as_of_us)}
    r = t.scan(**kw).to_arrow()
    return list(zip(r["key"].to_pylist(), r["event_time"].cast(pa.int64()).to_pylist(), r["value"].to_pylist()))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_python_append_under_a_tiny_budget_equals_the_oracle(tmp_path, monkeypatch, seed):
    monkeypatch.setenv("BAZOF_MEMORY_LIMIT_MINIMUM", "1")
    spill = tmp_path / "spill"
    spill.mkdir()
    schema = pa.schema([("value", pa.int64())])
    small = bazof.create_table(str(tmp_path / "small"), schema, key="key")
    plain = bazof.create_table(str(tmp_path / "plain"), schema, key="key")
    events = []
    for v in (1, 2):
        rows = shuffled_rows(seed * 10 + v, 3000, 60, 5)
        for i, (k, ms, val, deleted) in enumerate(rows):
            events.append(Event(k, ms, v, 0, i, deleted, (val,)))
        assert small.append(as_table(rows), memory_limit="16KiB", spill_dir=spill) == v
        assert plain.append(as_table(rows)) == v
        assert list(spill.iterdir()) == []
        assert files_rows(str(tmp_path / "small"), v).equals(files_rows(str(tmp_path / "plain"), v))
    # T in microseconds: every event time, and 1 us before it; and latest
    for t in [None] + [(T0 + s * 1000) * 1000 + d for s in range(5) for d in (-1, 0)]:
        want = [(k, et, vals[0]) for k, et, vals in as_of(events, None if t is None else t / 1000)]
        assert scan_rows(small, t) == want, t


def test_cli_append_spills_and_reports_it(tmp_path, run, bazof_bin, monkeypatch):
    monkeypatch.setenv("BAZOF_MEMORY_LIMIT_MINIMUM", "1")
    spill = tmp_path / "spill"
    spill.mkdir()
    rows = shuffled_rows(7, 4000, 100, 7)
    src = tmp_path / "in.parquet"
    pq.write_table(as_table(rows), src)
    for name in ("a", "b"):
        run("create", "--path", tmp_path, "--table", name, "--schema", "value:int64")
    p = run("append", "--path", tmp_path, "--table", "a", "--input", src, "--memory-limit", "32KiB",
            "--spill-dir", spill, "--format", "json")
    out = json.loads(p.stdout)
    assert out["committed"] and out["version"] == 1 and out["rows"] == 4000
    assert out["spilled_runs"] > 1 and out["spilled_bytes"] > 0
    q = json.loads(run("append", "--path", tmp_path, "--table", "b", "--input", src, "--format", "json").stdout)
    assert q["spilled_runs"] == 0 and q["spilled_bytes"] == 0
    assert list(spill.iterdir()) == []
    assert files_rows(str(tmp_path / "a"), 1).equals(files_rows(str(tmp_path / "b"), 1))
    # standard input is copied to the spill directory first, then sorted the same way
    run("create", "--path", tmp_path, "--table", "c", "--schema", "value:int64")
    p = subprocess.run([bazof_bin, "append", "--path", str(tmp_path), "--table", "c", "--input", "-",
                        "--input-format", "parquet", "--memory-limit", "32KiB", "--spill-dir", str(spill),
                        "--format", "json"], input=src.read_bytes(), capture_output=True, check=True)
    assert json.loads(p.stdout)["spilled_runs"] > 1
    assert list(spill.iterdir()) == []
    assert files_rows(str(tmp_path / "c"), 1).equals(files_rows(str(tmp_path / "b"), 1))


def test_cli_bad_budget_and_spill_dir_are_errors(tmp_path, run, monkeypatch):
    monkeypatch.delenv("BAZOF_MEMORY_LIMIT_MINIMUM", raising=False)
    rows = shuffled_rows(3, 500, 10, 3)
    src = tmp_path / "in.parquet"
    pq.write_table(as_table(rows), src)
    run("create", "--path", tmp_path, "--table", "t", "--schema", "value:int64")
    base = ["append", "--path", tmp_path, "--table", "t", "--input", src]
    assert_cli_error(run(*base, "--memory-limit", "12 apples", check=False), "--memory-limit", "12 apples")
    assert_cli_error(run(*base, "--memory-limit", "1MiB", check=False), "below the minimum")
    # One minimum for every operation: what scan and compact refuse, append refuses too.
    assert_cli_error(run(*base, "--memory-limit", "16MiB", check=False), "below the minimum 32MiB")
    t = bazof.open_table(tmp_path / "t")
    for bad, needle in (("16MiB", "below the minimum 32MiB"), ("12 apples", "12 apples"), (-5, "memory_limit")):
        with pytest.raises(bazof.InvalidInput, match="memory_limit") as e:
            t.append(as_table(rows), memory_limit=bad)
        assert needle in str(e.value)
    monkeypatch.setenv("BAZOF_MEMORY_LIMIT_MINIMUM", "1")
    missing = tmp_path / "no-such-dir"
    assert_cli_error(run(*base, "--memory-limit", "4KiB", "--spill-dir", missing, check=False),
                     f"spill directory '{missing}'")
    assert bazof.open_table(tmp_path / "t").version == 0


def test_cli_append_pool_peak_stays_within_a_small_budget(tmp_path, run, monkeypatch):
    """An input several times the budget (32 MiB, the minimum, not lowered): the pool's peak
    that `--format json` reports stays within the budget, the runs are merged in one pass
    (fan-in from the budget), the rows equal the unbudgeted append's and no spill file is left."""
    monkeypatch.delenv("BAZOF_MEMORY_LIMIT_MINIMUM", raising=False)
    spill = tmp_path / "spill"
    spill.mkdir()
    rng = random.Random(5)
    n = 2_000_000
    keys = [f"key{rng.randrange(200_000):08d}" for _ in range(n)]
    table = pa.table({
        "key": pa.array(keys),
        "event_time": pa.array([T0 + rng.randrange(10**9) for _ in range(n)], pa.timestamp("ms", tz="UTC")),
        "value": pa.array(range(n), pa.int64()),
        "note": pa.array([f"note {i % 977} of the row, with a few more words" for i in range(n)]),
    })
    assert table.nbytes > 3 * (32 << 20)
    src = tmp_path / "in.parquet"
    # small row groups: the reader's share stays small beside the budget
    pq.write_table(table, src, row_group_size=64 * 1024)
    for name in ("small", "plain"):
        run("create", "--path", tmp_path, "--table", name, "--schema", "value:int64,note:string")
    out = json.loads(run("append", "--path", tmp_path, "--table", "small", "--input", src, "--memory-limit", "32MiB",
                         "--spill-dir", spill, "--format", "json").stdout)
    assert out["rows"] == n and out["committed"]
    assert out["memory_limit_bytes"] == 32 << 20
    assert out["spilled_runs"] >= 3 and out["merge_passes"] == 1
    assert 0 < out["peak_memory_bytes"] <= out["memory_limit_bytes"], out
    assert list(spill.iterdir()) == []
    plain = json.loads(run("append", "--path", tmp_path, "--table", "plain", "--input", src, "--memory-limit", "2GiB",
                           "--format", "json").stdout)
    assert plain["spilled_runs"] == 0 and plain["merge_passes"] == 0
    assert files_rows(str(tmp_path / "small"), 1).equals(files_rows(str(tmp_path / "plain"), 1))


@pytest.mark.parametrize("codec", ["none", "lz4", "zstd"])
def test_cli_spill_codecs_give_the_same_rows(tmp_path, run, monkeypatch, codec):
    """Spilled runs compressed or not (BAZOF_SPILL_CODEC, the benchmark knob): the same files'
    rows; a codec the append does not know is one clear error that commits nothing."""
    monkeypatch.setenv("BAZOF_MEMORY_LIMIT_MINIMUM", "1")
    spill = tmp_path / "spill"
    spill.mkdir()
    src = tmp_path / "in.parquet"
    pq.write_table(as_table(shuffled_rows(11, 5000, 80, 9)), src)
    for name in ("a", "b"):
        run("create", "--path", tmp_path, "--table", name, "--schema", "value:int64")
    monkeypatch.setenv("BAZOF_SPILL_CODEC", codec)
    out = json.loads(run("append", "--path", tmp_path, "--table", "a", "--input", src, "--memory-limit", "64KiB",
                         "--spill-dir", spill, "--format", "json").stdout)
    assert out["spilled_runs"] > 1 and list(spill.iterdir()) == []
    monkeypatch.delenv("BAZOF_SPILL_CODEC")
    run("append", "--path", tmp_path, "--table", "b", "--input", src)
    assert files_rows(str(tmp_path / "a"), 1).equals(files_rows(str(tmp_path / "b"), 1))
    monkeypatch.setenv("BAZOF_SPILL_CODEC", "snappy")
    assert_cli_error(run("append", "--path", tmp_path, "--table", "a", "--input", src, "--memory-limit", "64KiB",
                         "--spill-dir", spill, check=False), "BAZOF_SPILL_CODEC 'snappy'")
    assert bazof.open_table(tmp_path / "a").version == 1

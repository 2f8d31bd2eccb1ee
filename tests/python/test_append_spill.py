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

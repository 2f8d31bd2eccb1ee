"""The memory budget (docs/spec.md §22): a compaction and scans under the minimum budget
(32MiB), on random tables larger than it, hold it by the peak of Arrow's memory pool that
bazof reports, and return what a run under the default budget and the oracle return. The
property sets the budget; the minimum is enforced (lowered through BAZOF_MEMORY_LIMIT_MINIMUM
only where a test says so)."""
import json
import os
import shutil
import subprocess
from datetime import datetime, timezone

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import assert_valid, csv_rows
from oracle import Event, as_of

BUDGET = 32 << 20  # the documented minimum
ENV = dict(os.environ)
START = int(datetime(2020, 1, 1, tzinfo=timezone.utc).timestamp() * 1_000_000)
SPAN = 5 * 365 * 86400 * 1_000_000
SCHEMA = "key:string,event_time:timestamp,i1:int64,s1:string"


def cli(bazof_bin, *args, check=True, env=None):
    p = subprocess.run([bazof_bin, *map(str, args)], capture_output=True, text=True, env=env or ENV, timeout=600)
    if check and p.returncode != 0:
        raise AssertionError(f"bazof {' '.join(map(str, args))} exited {p.returncode}: {p.stderr}")
    return p


def iso(us):
    return datetime.fromtimestamp(us / 1e6, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def make_table(bazof_bin, tmp_path, seed, keys=50000, commits=2, rows=500000, env=None, properties=()):
    """A random table of `commits` appends (ties on (key, time), tombstones, late events);
    returns its oracle events and its Arrow size in bytes."""
    rng = np.random.default_rng(seed)
    props = [a for p in properties for a in ("--property", p)]
    cli(bazof_bin, "create", "--path", tmp_path, "--table", "t", "--schema", SCHEMA, *props, env=env)
    events, nbytes = [], 0
    words = np.array([f"s{i:05d}" + "x" * (i % 13) for i in range(20000)], dtype=object)
    for c in range(commits):
        k = rng.integers(0, keys, rows)
        t = START + rng.integers(0, SPAN // 3_600_000_000, rows) * 3_600_000_000  # hours: ties happen
        dead = rng.random(rows) < 0.03
        i1 = rng.integers(0, 10**12, rows)
        s1 = words[rng.integers(0, len(words), rows)]
        key = [f"k{x:06d}" for x in k]
        tbl = pa.table({"key": key, "event_time": pa.array(t, pa.timestamp("us", tz="UTC")),
                        "i1": pa.array(i1, mask=dead), "s1": pa.array(s1, pa.string(), mask=dead),
                        "_deleted": dead})
        nbytes += tbl.nbytes
        f = tmp_path / f"c{c}.parquet"
        pq.write_table(tbl, f)
        cli(bazof_bin, "append", "--path", tmp_path, "--table", "t", "--input", f, env=env)
        events += [Event(kk, int(tt), c + 1, 0, j, bool(d), (None if d else int(v),))
                   for j, (kk, tt, d, v) in enumerate(zip(key, t, dead, i1))]
    return events, nbytes


def scan(bazof_bin, path, *args):
    """CSV text of a scan and the memory stats it reports."""
    p = cli(bazof_bin, "scan", "--path", path, "--table", "t", "--format", "csv", "--memory-stats", *args)
    return p.stdout, json.loads(p.stderr.strip().splitlines()[-1])


def check_oracle(text, events, t):
    got = {r["key"]: r["i1"] for r in csv_rows(text)}
    want = {k: str(v[0]) for k, _, v in as_of(events, t)}
    assert got == want


PROBES = [None, START + SPAN // 3, START + SPAN // 2 + 7]


@pytest.mark.parametrize("seed", [1, 2])
def test_compaction_and_scans_hold_a_small_budget(bazof_bin, tmp_path, seed):
    events, nbytes = make_table(bazof_bin, tmp_path, seed)
    assert nbytes > BUDGET  # the table exceeds the budget: what it proves is not trivial
    threads = ["--threads", str(1 + seed % 2)]
    before = {}
    for t in PROBES:
        args = ["--as-of", iso(t)] if t else []
        text, stats = scan(bazof_bin, tmp_path, *args, *threads)  # the default budget: 512MiB
        assert stats["memory_limit_bytes"] == 512 << 20
        small, small_stats = scan(bazof_bin, tmp_path, *args, *threads, "--memory-limit", BUDGET)
        assert small == text, t
        assert 0 < small_stats["peak_memory_bytes"] <= BUDGET, small_stats
        check_oracle(text, events, t)
        before[t] = text

    r = json.loads(cli(bazof_bin, "compact", "--path", tmp_path, "--table", "t", "--format", "json",
                       "--memory-limit", BUDGET, "--segment-duration", "180d", *threads).stdout)
    assert r["committed"] and r["memory_limit_bytes"] == BUDGET
    assert 0 < r["peak_memory_bytes"] <= BUDGET, r
    assert_valid(lambda *a, check=True: cli(bazof_bin, *a, check=check), tmp_path, "t")
    for t in PROBES:
        args = ["--as-of", iso(t)] if t else []
        text, stats = scan(bazof_bin, tmp_path, *args, *threads, "--memory-limit", BUDGET)
        assert text == before[t], t
        assert stats["peak_memory_bytes"] <= BUDGET, stats


def test_property_sets_the_budget_and_the_minimum_is_enforced(bazof_bin, tmp_path):
    # BAZOF_MEMORY_LIMIT_MINIMUM lowers the minimum (tests only).
    low = {**os.environ, "BAZOF_MEMORY_LIMIT_MINIMUM": "4MiB"}
    make_table(bazof_bin, tmp_path, 3, keys=500, commits=3, rows=2000, env=low)
    cli(bazof_bin, "alter", "--path", tmp_path, "--table", "t", "set-property", "memory.limit=6MiB", env=low)
    p = cli(bazof_bin, "scan", "--path", tmp_path, "--table", "t", "--format", "csv", "--memory-stats", env=low)
    stats = json.loads(p.stderr.strip().splitlines()[-1])
    assert stats["memory_limit_bytes"] == 6 << 20 and 0 < stats["peak_memory_bytes"] <= 6 << 20
    r = json.loads(cli(bazof_bin, "compact", "--path", tmp_path, "--table", "t", "--format", "json", env=low).stdout)
    assert r["committed"] and r["memory_limit_bytes"] == 6 << 20 and 0 < r["peak_memory_bytes"] <= 6 << 20
    # Without the test override, the documented minimum holds: one clear error, exit 1.
    # Appends have the same minimum (the property's 6MiB, or a flag's 16MiB, is refused).
    one = tmp_path / "c0.parquet"
    for args in (["scan", "--memory-limit", "16MiB"], ["compact", "--memory-limit", "1MiB", "--force"],
                 ["scan"], ["append", "--input", one], ["append", "--input", one, "--memory-limit", "16MiB"]):
        p = cli(bazof_bin, *args[:1], "--path", tmp_path, "--table", "t", *args[1:], check=False)
        assert p.returncode == 1, p
        assert p.stderr.startswith("bazof: error: ") and "below the minimum 32MiB" in p.stderr, p.stderr
    for bad in ("12 MiB", "-5MiB", "1.5GiB", "9XB", ""):
        p = cli(bazof_bin, "scan", "--path", tmp_path, "--table", "t", "--memory-limit", bad, check=False)
        assert p.returncode == 1 and p.stderr.startswith("bazof: error: ") and "--memory-limit" in p.stderr, (bad, p.stderr)
    p = cli(bazof_bin, "alter", "--path", tmp_path, "--table", "t", "set-property", "memory.limit=lots", check=False)
    assert p.returncode == 1 and "memory.limit" in p.stderr


def test_cli_allocates_through_the_system_allocator_unless_told(bazof_bin, tmp_path):
    # The CLI's default allocator is the system one (docs/spec.md §22); Arrow's
    # ARROW_DEFAULT_MEMORY_POOL, when set, still chooses.
    make_table(bazof_bin, tmp_path, 4, keys=100, commits=1, rows=500)
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    p = cli(bazof_bin, "scan", "--path", tmp_path, "--table", "t", "--format", "csv", "--memory-stats", env=env)
    assert json.loads(p.stderr.strip().splitlines()[-1])["allocator"] == "system"
    for chosen in ("mimalloc", "jemalloc"):
        p = cli(bazof_bin, "scan", "--path", tmp_path, "--table", "t", "--format", "csv", "--memory-stats",
                env={**env, "ARROW_DEFAULT_MEMORY_POOL": chosen})
        assert json.loads(p.stderr.strip().splitlines()[-1])["allocator"] == chosen
        assert p.stdout == cli(bazof_bin, "scan", "--path", tmp_path, "--table", "t", "--format", "csv", env=env).stdout


def test_small_pages_and_many_segments_hold_a_small_budget(bazof_bin, tmp_path):
    """write.page_bytes (docs/spec.md §4a, §6): deltas appended with 8 KiB pages read as the
    default's do; a compaction into 20 segments (40 files open at once, each buffering a
    row group and a page per column) holds the minimum budget and changes no answer. (60
    segments, 120 open files, do not: a pool peak of ~48 MB against 32MiB, the writers'
    per-file minimums; bench/results/RESULTS.md, issue #15 branch `pages`.)"""
    small = tmp_path / "small"
    events, nbytes = make_table(bazof_bin, small, 4, commits=3, rows=300000, properties=["write.page_bytes=8KiB"])
    assert nbytes > BUDGET
    default = tmp_path / "default"
    make_table(bazof_bin, default, 4, commits=3, rows=300000)
    before = {}
    for t in PROBES:
        args = ["--as-of", iso(t)] if t else []
        text, stats = scan(bazof_bin, small, *args, "--memory-limit", BUDGET)
        assert 0 < stats["peak_memory_bytes"] <= BUDGET, stats
        assert text == scan(bazof_bin, default, *args)[0], t
        check_oracle(text, events, t)
        before[t] = text
    r = json.loads(cli(bazof_bin, "compact", "--path", small, "--table", "t", "--format", "json",
                       "--memory-limit", BUDGET, "--segment-duration", "90d", "--threads", "1").stdout)
    assert r["committed"] and r["segments"] >= 20, r
    assert 0 < r["peak_memory_bytes"] <= BUDGET, r
    assert_valid(lambda *a, check=True: cli(bazof_bin, *a, check=check), small, "t")
    for t in PROBES:
        args = ["--as-of", iso(t)] if t else []
        text, stats = scan(bazof_bin, small, *args, "--memory-limit", BUDGET)
        assert text == before[t], t
        assert stats["peak_memory_bytes"] <= BUDGET, stats
    # Bad values: one clear error naming the property, exit 1, nothing changed.
    for bad in ("0", "2KiB", "65MiB", "lots", "1.5MiB"):
        p = cli(bazof_bin, "alter", "--path", small, "--table", "t", "set-property", f"write.page_bytes={bad}", check=False)
        assert p.returncode == 1 and p.stderr.startswith("bazof: error: "), (bad, p.stderr)
        assert "write.page_bytes" in p.stderr and "4KiB to 64MiB" in p.stderr, (bad, p.stderr)
        p = cli(bazof_bin, "create", "--path", tmp_path, "--table", "bad", "--schema", SCHEMA,
                "--property", f"write.page_bytes={bad}", check=False)
        assert p.returncode == 1 and "write.page_bytes" in p.stderr, (bad, p.stderr)
        assert not (tmp_path / "bad").exists()


def test_compaction_releases_freed_memory_under_every_allocator(bazof_bin, tmp_path):
    """Compaction gives the pool's free memory back every sixteenth of its budget merged
    (docs/spec.md §13 "Memory", §22 "Allocator"): under the minimum budget that is every
    2 MiB, dozens of times on this table, through each pool Arrow offers (system: glibc's
    malloc_trim; jemalloc, mimalloc: their purges). The budget holds and no answer changes."""
    base = tmp_path / "base"
    events, nbytes = make_table(bazof_bin, base, 5, commits=2, rows=500000)
    assert nbytes > BUDGET
    before = {t: scan(bazof_bin, base, *(["--as-of", iso(t)] if t else []))[0] for t in PROBES}
    for t in PROBES:
        check_oracle(before[t], events, t)
    for pool in ("system", "jemalloc", "mimalloc"):
        table = tmp_path / pool
        shutil.copytree(base, table)
        env = {**os.environ, "ARROW_DEFAULT_MEMORY_POOL": pool}
        r = json.loads(cli(bazof_bin, "compact", "--path", table, "--table", "t", "--format", "json",
                           "--memory-limit", BUDGET, "--segment-duration", "180d", "--threads", "1",
                           env=env).stdout)
        assert r["committed"] and r["segments"] >= 10, r
        assert 0 < r["peak_memory_bytes"] <= BUDGET, (pool, r)
        assert_valid(lambda *a, check=True: cli(bazof_bin, *a, check=check), table, "t")
        for t in PROBES:
            assert scan(bazof_bin, table, *(["--as-of", iso(t)] if t else []))[0] == before[t], (pool, t)


def test_recompacting_large_row_groups_holds_a_small_budget(bazof_bin, tmp_path):
    """A compacted table's files have 65536-row groups (here ~32000 rows, one per delta):
    compacting it again under the minimum budget streams each large row group page by page.
    Through Parquet's buffered stream each column's buffer grew to its whole chunk (51.6 MB
    here under 32 MiB)."""
    g = ["--path", tmp_path, "--table", "g"]
    cli(bazof_bin, "gen", *g, "--keys", "100000", "--events", "20", "--segments", "1", "--no-progress")
    cli(bazof_bin, "compact", *g, "--segment-duration", "30d", "--no-progress")
    before = cli(bazof_bin, "scan", *g, "--format", "csv").stdout
    r = json.loads(cli(bazof_bin, "compact", *g, "--force", "--segment-duration", "30d", "--format", "json",
                       "--memory-limit", BUDGET, "--threads", "1").stdout)
    assert r["committed"] and r["files_read"] >= 50, r
    assert 0 < r["peak_memory_bytes"] <= BUDGET, r
    assert cli(bazof_bin, "scan", *g, "--format", "csv").stdout == before
    assert_valid(lambda *a, check=True: cli(bazof_bin, *a, check=check), tmp_path, "g")

"""Compaction's writer threads (docs/spec.md §13 "Memory", §22): with several writers each
segment's files are written by one of them, in merge order, so the files hold what a
single-threaded compaction writes: the same segments with the same rows in their bases and
deltas (only where deltas are cut into files may differ: at spill-batch boundaries, which
follow the merged batches and so the merge threads), the same scans and history; and under
a small budget the pool peak stays within it."""
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import assert_valid
from test_memory_budget import BUDGET, PROBES, check_oracle, cli, iso, make_table, scan


def layout(path: Path):
    """Per segment of table t's current snapshot: bounds, the deltas' metadata, and the rows
    of its base and of its deltas (concatenated in order)."""
    table = path / "t"
    version = (table / "version.txt").read_text().strip()
    snap = json.loads((table / f"s{version}.json").read_text())
    out = []
    for s in snap["segments"]:
        deltas = s.get("delta", [])
        meta = [(d["rows"], d["min_key"], d["max_key"], d["start"], d["end"], d["tombstones"]) for d in deltas]
        base = pq.read_table(table / s["file"]) if "file" in s else None
        rows = pa.concat_tables([pq.read_table(table / d["file"]) for d in deltas]) if deltas else None
        out.append(((s["start"], s.get("end"), s.get("base", {}).get("rows")), meta, base, rows))
    return out


def compact(bazof_bin, path, *args):
    r = json.loads(cli(bazof_bin, "compact", "--path", path, "--table", "t", "--format", "json", *args).stdout)
    assert r["committed"], r
    return r


def history(bazof_bin, path, key):
    return cli(bazof_bin, "history", "--path", path, "--table", "t", "--key", key, "--format", "csv").stdout


@pytest.mark.parametrize("seed, threads", [(11, 2), (12, 5)])
def test_writer_threads_write_what_one_thread_writes(bazof_bin, tmp_path, seed, threads):
    one, many = tmp_path / "one", tmp_path / "many"
    events, _ = make_table(bazof_bin, one, seed, keys=20000, commits=3, rows=120000)
    shutil.copytree(one, many)
    before = {t: scan(bazof_bin, one, *(["--as-of", iso(t)] if t else []))[0] for t in PROBES}
    # ~60 segments, ~120 files open at once; small files, so segments rotate their deltas too.
    common = ["--segment-duration", "30d", "--target-file-size", "8KiB"]
    r1 = compact(bazof_bin, one, *common, "--threads", "1")
    rn = compact(bazof_bin, many, *common, "--threads", threads)
    assert r1["segments"] >= 50 and rn["segments"] == r1["segments"], (r1, rn)
    for k in ("events_written", "base_rows", "bases", "events_collapsed"):
        assert rn[k] == r1[k], k
    a, b = layout(one), layout(many)
    assert any(len(meta) > 1 for _, meta, _, _ in a)  # some segment rotated its delta file
    assert len(a) == len(b)
    for (bounds1, meta1, base1, rows1), (bounds2, meta2, base2, rows2) in zip(a, b):
        # Where a segment's deltas are cut into files follows the spilled batches, whose
        # boundaries depend on the merge threads; the rows do not.
        assert bounds1 == bounds2
        assert [sum(m[i] for m in meta1) for i in (0, 5)] == [sum(m[i] for m in meta2) for i in (0, 5)]
        for x, y in ((base1, base2), (rows1, rows2)):
            assert (x is None) == (y is None)
            assert x is None or x.equals(y), bounds1
    for path in (one, many):
        assert_valid(lambda *a, check=True: cli(bazof_bin, *a, check=check), path, "t")
    for t in PROBES:
        args = ["--as-of", iso(t)] if t else []
        text = scan(bazof_bin, many, *args)[0]
        assert text == before[t] == scan(bazof_bin, one, *args)[0], t
        check_oracle(text, events, t)
    for key in ("k000000", "k000123", "k019999"):
        assert history(bazof_bin, many, key) == history(bazof_bin, one, key), key


def test_writer_threads_hold_a_small_budget(bazof_bin, tmp_path):
    events, nbytes = make_table(bazof_bin, tmp_path, 13, commits=2, rows=400000)
    assert nbytes > BUDGET
    before = {t: scan(bazof_bin, tmp_path, *(["--as-of", iso(t)] if t else []))[0] for t in PROBES}
    r = compact(bazof_bin, tmp_path, "--memory-limit", BUDGET, "--segment-duration", "180d", "--threads", "4")
    assert r["segments"] >= 10, r
    assert 0 < r["peak_memory_bytes"] <= BUDGET, r
    assert_valid(lambda *a, check=True: cli(bazof_bin, *a, check=check), tmp_path, "t")
    for t in PROBES:
        args = ["--as-of", iso(t)] if t else []
        text = scan(bazof_bin, tmp_path, *args)[0]
        assert text == before[t], t
        check_oracle(text, events, t)

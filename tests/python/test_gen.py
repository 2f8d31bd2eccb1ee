"""`bazof gen` tables: the CLI scan against the oracle over every delta row the snapshot lists."""
import json
import random
import re

import pyarrow.parquet as pq
import pytest

from conftest import column_us, fmt_ts, parse_csv, parse_ts_us, render
from oracle import Event, as_of

GEN_ARGS = ["--keys", "300", "--events", "7", "--seed", "42"]
TOMB = "<tombstone>"

_rng = random.Random(20240217)
_lo, _hi = parse_ts_us("2019-07-01"), parse_ts_us("2025-06-01")
RANDOM_TS = [fmt_ts(_rng.randrange(_lo, _hi) // 1000 * 1000, "ms") for _ in range(10)]
FIXED_TS = ["2021-01-01T00:00:00Z", "2020-12-31T23:59:59.999Z", "2019-12-31", "2026-01-01"]


def gen(run, tmp_path_factory, *extra, name="g"):
    path = tmp_path_factory.mktemp("gen")
    run("gen", "--path", path, "--table", name, *(extra or GEN_ARGS))
    return path, name


@pytest.fixture(scope="module")
def table(run, tmp_path_factory):
    path, name = gen(run, tmp_path_factory)
    return path, name, path / name


def current_version(root):
    n = int((root / "version.txt").read_text().strip())
    while (root / f"s{n + 1}.json").exists():
        n += 1
    return n


def load_snapshot(root, version=None):
    return json.loads((root / f"s{version or current_version(root)}.json").read_text())


def flatten(segments):
    for seg in segments:
        yield seg
        yield from flatten(seg.get("segments", []))


def layout(snap):
    tbl = snap.get("table", {})
    keys = tbl.get("key", ["key"])
    et = tbl.get("event_time", "event_time")
    values = [c["name"] for c in snap["schema"]["columns"]]
    unit = re.search(r"timestamp\[(\w+)\]", snap["schema"]["event_time_column"]["type"])
    return keys, et, values, unit.group(1) if unit else "us"


def read_rows(root, name, snap):
    """-> list of (key, event_time_us, is_tombstone, rendered values) in file order."""
    keys, et, values, _ = layout(snap)
    t = pq.read_table(root / name)
    key_cols = [t.column(k).to_pylist() for k in keys]
    key_list = key_cols[0] if len(keys) == 1 else list(zip(*key_cols))
    tomb = t.column("_bazof_deleted").to_pylist() if "_bazof_deleted" in t.column_names \
        else [False] * t.num_rows
    cols = []
    for v in values:
        c = t.column(v)
        if hasattr(c.type, "unit") and str(c.type).startswith("timestamp"):
            cols.append([None if x is None else fmt_ts(x, c.type.unit) for x in column_us(c)])
        else:
            cols.append([render(x) for x in c.to_pylist()])
    vals = list(zip(*cols)) if cols else [()] * t.num_rows
    return list(zip(key_list, column_us(t.column(et)), tomb, vals))


def delta_events(root, snap):
    events = []
    deltas = [d for seg in flatten(snap["segments"]) for d in seg.get("delta", [])]
    for rank, d in enumerate(deltas):
        for row, (k, et, tomb, vals) in enumerate(read_rows(root, d["file"], snap)):
            events.append(Event(k, et, d["version"], rank, row, bool(tomb), vals))
    return events


def expected_rows(root, version, t):
    snap = load_snapshot(root, version)
    unit = layout(snap)[3]
    return [[k, fmt_ts(et, unit), *vals] for k, et, vals in as_of(delta_events(root, snap), t)]


def scan_rows(run, path, name, as_of_arg=None, version=None):
    args = ["scan", "--path", path, "--table", name, "--format", "csv"]
    if as_of_arg is not None:
        args += ["--as-of", as_of_arg]
    if version is not None:
        args += ["--version", version]
    header, rows = parse_csv(run(*args).stdout)
    return [[r[c] for c in header] for r in rows]


def diff(got, want):
    g, w = {r[0]: r for r in got}, {r[0]: r for r in want}
    changed = [(w[k], g[k]) for k in sorted(set(g) & set(w)) if g[k] != w[k]][:5]
    return (f"got {len(got)} rows, want {len(want)}; missing={sorted(set(w) - set(g))[:5]} "
            f"extra={sorted(set(g) - set(w))[:5]} changed (want, got)={changed}")


@pytest.mark.parametrize("version", [1, None], ids=["v1", "current"])
@pytest.mark.parametrize("as_of_arg", RANDOM_TS + FIXED_TS + [None])
def test_scan_matches_oracle(run, table, version, as_of_arg):
    path, name, root = table
    t = None if as_of_arg is None else parse_ts_us(as_of_arg)
    want = expected_rows(root, version, t)
    got = scan_rows(run, path, name, as_of_arg, version)
    assert got == want, diff(got, want)


@pytest.mark.parametrize("version", [1, None], ids=["v1", "current"])
def test_scan_at_exact_event_times(run, table, version):
    """T equal to an event's time includes it (inclusive), also for late events."""
    path, name, root = table
    events = delta_events(root, load_snapshot(root, version))
    picks = random.Random(7).sample(sorted({e.event_time for e in events}), 4)
    picks += [max(e.event_time for e in events if e.version == max(x.version for x in events))]
    for t in picks:
        want = expected_rows(root, version, t)
        got = scan_rows(run, path, name, fmt_ts(t, "us"), version)
        assert got == want, f"as of {fmt_ts(t, 'us')}: " + diff(got, want)


def test_header(run, table):
    path, name, root = table
    keys, et, values, _ = layout(load_snapshot(root))
    proc = run("scan", "--path", path, "--table", name, "--format", "csv", "--limit", "1")
    assert parse_csv(proc.stdout)[0] == [*keys, et, *values]


def test_explicit_current_version_equals_default(run, table):
    path, name, root = table
    n = current_version(root)
    assert scan_rows(run, path, name, version=n) == scan_rows(run, path, name)


def test_keys(table):
    """300 keys k0..k299, zero-padded to one width (at least 6 digits) so that text
    order is numeric order (gen --help)."""
    _, _, root = table
    keys = sorted({e.key for e in delta_events(root, load_snapshot(root))})
    assert keys == [f"k{i:06d}" for i in range(300)]


def test_key_width_grows_with_key_count(run, tmp_path):
    run("gen", "--path", str(tmp_path), "--table", "wide", "--keys", "1234567", "--events", "1",
        "--segments", "1")
    out = run("scan", "--path", str(tmp_path), "--table", "wide", "--format", "csv", "--limit", "2",
              "--columns", "value").stdout.splitlines()
    assert [line.split(",")[0] for line in out[1:]] == ["k0000000", "k0000001"]


def test_late_commit(table):
    """A second commit carries late events (the gen spec)."""
    _, _, root = table
    assert current_version(root) >= 2
    assert any(e.version >= 2 for e in delta_events(root, load_snapshot(root)))


def test_data_files_sorted_and_metadata_true(table):
    _, _, root = table
    n = current_version(root)
    snap = load_snapshot(root, n)
    for seg in flatten(snap["segments"]):
        files = ([("base", seg["file"], seg.get("base", {}))] if seg.get("file") else []) + \
            [("delta", d["file"], d) for d in seg.get("delta", [])]
        for kind, name, meta in files:
            rows = read_rows(root, name, snap)
            order = [(k, et) for k, et, _, _ in rows]
            assert order == sorted(order), f"{name} not sorted by (key, event_time)"
            if "rows" in meta:
                assert meta["rows"] == len(rows), name
            if kind == "delta":
                assert 1 <= meta["version"] <= n
                ets = [et for _, et, _, _ in rows]
                assert parse_ts_us(meta["start"]) == min(ets), f"{name}: start != min event_time"
                assert parse_ts_us(meta["end"]) == max(ets), f"{name}: end != max event_time"


def test_bases_hold_state_at_segment_start(table):
    """Base = per key, the winner at or before S among versions <= B, tombstones kept."""
    _, _, root = table
    snap = load_snapshot(root)
    events = [e._replace(is_tombstone=False, values=(TOMB,) if e.is_tombstone else e.values)
              for e in delta_events(root, snap)]
    bases = [s for s in flatten(snap["segments"]) if s.get("file")]
    assert bases, "gen should write a base at each segment start"
    for seg in bases:
        s, b = parse_ts_us(seg["start"]), seg["base"]["built_from_version"]
        want = [(k, et, vals) for k, et, vals in as_of(events, s, b)]
        got = [(k, et, (TOMB,) if tomb else vals)
               for k, et, tomb, vals in read_rows(root, seg["file"], snap)]
        assert got == want, f"base {seg['file']} differs from the oracle at {seg['start']}"


def test_same_seed_same_scans(run, tmp_path_factory, table):
    path, name, _ = table
    path2, name2 = gen(run, tmp_path_factory)
    for t in [None, RANDOM_TS[0], "2022-06-30T12:00:00Z"]:
        assert scan_rows(run, path2, name2, t) == scan_rows(run, path, name, t)


def test_other_seed_other_scan(run, tmp_path_factory, table):
    path, name, _ = table
    path2, name2 = gen(run, tmp_path_factory, "--keys", "300", "--events", "7", "--seed", "43")
    assert scan_rows(run, path2, name2) != scan_rows(run, path, name)

"""bazof-0.1/ltm_revenue: the CLI against an independent pyarrow reading of the legacy rule.

Legacy planning (brief): visit the top-level segments; for a visited segment G, its
sub-segments covering T are visited (recursively), its deltas with start <= T are read (latest:
all), and its base (`file`) is read if G covers T. covers(T): start <= T and (no end or T <= end);
for latest: G has no end. Read order (sub-segment files first; own deltas by start descending,
then base) breaks ties: a file read earlier wins; within a file the later row wins.
"""
import functools
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import column_us, fmt_ts, parse_csv, parse_ts_us
from oracle import Event, as_of

REL = ("bazof-0.1", "ltm_revenue")


def covers(seg, t):
    if t is None:
        return "end" not in seg
    return parse_ts_us(seg["start"]) <= t and ("end" not in seg or t <= parse_ts_us(seg["end"]))


def read_order(segments, t):
    """Files the legacy rule selects for T (None = latest), in the original's read order."""
    files = []

    def visit(seg):
        for sub in seg.get("segments", []):
            if covers(sub, t):
                visit(sub)
        deltas = [d for d in seg.get("delta", [])
                  if t is None or parse_ts_us(d["start"]) <= t]
        deltas.sort(key=lambda d: parse_ts_us(d["start"]), reverse=True)
        files.extend(d["file"] for d in deltas)
        if "file" in seg and covers(seg, t):
            files.append(seg["file"])

    for top in segments:
        visit(top)
    return files


@functools.lru_cache(maxsize=None)
def file_rows(path):
    t = pq.read_table(path)
    return list(zip(t.column("key").to_pylist(), column_us(t.column("event_time")),
                    t.column("value").to_pylist()))


@functools.lru_cache(maxsize=None)
def snapshot(root):
    return json.loads((Path(root) / "s1.json").read_text())


def expected(root, t):
    files = read_order(snapshot(str(root))["segments"], t)
    events = []
    for i, name in enumerate(files):
        for row, (key, et, value) in enumerate(file_rows(str(root / name))):
            # earlier-read file wins ties -> higher rank for smaller i
            events.append(Event(key, et, 0, -i, row, False, (value,)))
    return [[k, fmt_ts(et, "ms"), "" if v[0] is None else v[0]] for k, et, v in as_of(events, t)]


@pytest.fixture(scope="module")
def root(fixtures_dir):
    return fixtures_dir.joinpath(*REL)


@pytest.fixture
def location(root, fixture_tables):
    """(--path, --table) of the table bazof scans: the fixture itself, or its copy on s3://."""
    return fixture_tables(root.parent.name), root.name


def scan_rows(run, location, as_of_arg=None, *extra):
    args = ["scan", "--path", location[0], "--table", location[1], "--format", "csv", *extra]
    if as_of_arg is not None:
        args += ["--as-of", as_of_arg]
    header, rows = parse_csv(run(*args).stdout)
    assert header == ["key", "event_time", "value"]
    return [[r["key"], r["event_time"], r["value"]] for r in rows]


def diff(got, want):
    g, w = {r[0]: r for r in got}, {r[0]: r for r in want}
    missing = sorted(set(w) - set(g))[:5]
    extra = sorted(set(g) - set(w))[:5]
    changed = [(w[k], g[k]) for k in sorted(set(g) & set(w)) if g[k] != w[k]][:5]
    return (f"rows got={len(got)} want={len(want)}; missing={missing} extra={extra} "
            f"changed (want, got)={changed}")


DATES = [
    "2019-01-17",
    "2000-04-01T00:00:00Z",            # first instant of 2000 Q2
    "2000-03-31T23:59:59.999Z",        # last instant of 2000 Q1
    "2000-01-01",                      # first segment start
    "1999-12-31T23:59:59.999Z",        # just before every segment
    "1995-06-01",                      # before 2000 (base rows go back to 1993, unread)
    "2000-06-30T23:59:59.999Z",
    "2005-08-15T12:00:00Z",
    "2010-12-31T23:59:59.999Z",
    "2011-01-01T00:00:00Z",
    "2015-10-01T00:00:00+02:00",       # 2015-09-30T22:00Z: still Q3
    "2019-05-15T08:30:00",
    "2020-12-31T23:59:59.999Z",
    "2021-01-01",
    "2021-06-30",
    "2023-03-01",                      # after 2021: open-ended last segment
    None,                              # latest
]


@pytest.mark.parametrize("as_of_arg", DATES, ids=[d or "latest" for d in DATES])
def test_scan_matches_independent_reading(run, root, location, as_of_arg):
    t = None if as_of_arg is None else parse_ts_us(as_of_arg)
    want = expected(root, t)
    got = scan_rows(run, location, as_of_arg)
    assert got == want, diff(got, want)


def test_selection_sanity(root):
    """The independent rule picks the files the fixture's layout implies."""
    segs = snapshot(str(root))["segments"]
    assert read_order(segs, parse_ts_us("2019-01-17")) == [
        "year_2019_q1_delta.parquet", "year_2019_base.parquet"]
    assert read_order(segs, parse_ts_us("2000-04-01T00:00:00Z")) == [
        "year_2000_q2_delta.parquet", "year_2000_q2_base.parquet", "year_2000_base.parquet"]
    assert read_order(segs, None) == ["year_2021_base.parquet"]
    assert read_order(segs, parse_ts_us("1999-06-01")) == []


@pytest.mark.parametrize("as_of_arg", ["2019-01-17", None], ids=["2019-01-17", "latest"])
def test_showcase_aapl_goog(run, root, location, as_of_arg):
    t = None if as_of_arg is None else parse_ts_us(as_of_arg)
    want = [r for r in expected(root, t) if r[0] in ("AAPL", "GOOG")]
    assert [r[0] for r in want] == ["AAPL", "GOOG"], "showcase keys absent from the fixture?"
    got = scan_rows(run, location, as_of_arg, "--key", "AAPL", "--key", "GOOG")
    assert got == want


def test_showcase_values_change_over_time(root):
    """Guards the showcase itself: 2019-01-17 and latest must differ for AAPL."""
    early = {r[0]: r[2] for r in expected(root, parse_ts_us("2019-01-17"))}
    late = {r[0]: r[2] for r in expected(root, None)}
    assert early["AAPL"] != late["AAPL"]


@pytest.mark.parametrize("key", ["AAPL", "GOOG"])
def test_history_lists_each_event_once(run, root, key):
    """Legacy bases repeat the events their segment's earlier deltas hold: history lists each
    (event time, value) once -- the distinct rows for the key over every file, read with pyarrow."""
    want = sorted({(t, v) for f in sorted(root.glob("*.parquet")) for k, t, v in file_rows(str(f))
                   if k == key})
    out = run("history", "--path", root.parent, "--table", root.name, "--key", key,
              "--format", "csv").stdout
    got = [(parse_ts_us(r["event_time"]), r["value"]) for r in parse_csv(out)[1]]
    assert got == [(t, str(v)) for t, v in want]
    assert len({t for t, _ in want}) == len(want) > 50   # no event time holds two values

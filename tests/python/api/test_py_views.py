"""Validity intervals and changes (docs/spec.md §19) against the oracle (oracle.py) on random
workloads -- appends with ties, late events and tombstones, puts, deletes and compactions --
checked after every commit at random windows, times (exact event times, +-1 us) and versions;
plus the boundaries and the engines that take the result like a scan."""
import datetime as dt
import random

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import bazof
from conftest import EPOCH
from oracle import changes, intervals
from test_py_oracle import Workload, as_datetime
from test_write_oracle import TIMES

COMMITS = 16
SEEDS = [21, 22, 23, 24, 25, 26]


def us(x):
    return None if x is None else (x - EPOCH) // dt.timedelta(microseconds=1)


def got_intervals(scan):
    return [(r["key"], us(r["valid_from"]), us(r["valid_to"]), (r["v"], r["s"])) for r in scan.to_arrow().to_pylist()]


def got_changes(scan):
    rows = scan.to_arrow().to_pylist()
    return [(r["key"], r["kind"], us(r["old_event_time"]), us(r["new_event_time"]),
             None if r["kind"] == "insert" else (r["old_v"], r["old_s"]),
             None if r["kind"] == "delete" else (r["new_v"], r["new_s"])) for r in rows]


class ViewsWorkload(Workload):
    def step(self):
        if self.rng.random() < 0.15:
            res = self.t.compact(segment_duration=self.rng.choice(["365d", "auto"]))
            if res.committed:
                self.version += 1
                assert res.version == self.version
                self.trace.append(f"v{res.version}: compact")
            return
        super().step()

    def a_time(self):
        r = self.rng
        return r.choice([r.choice(TIMES), r.choice(TIMES) + r.choice([-1, 1]), None,
                         r.randrange(TIMES[0] - 10**9, TIMES[-1] + 10**9)])

    def verify_views(self):
        r, ctx = self.rng, "\n".join(self.trace)
        for _ in range(3):
            v = r.choice([None, r.randint(0, self.version)])
            start, end = self.a_time(), self.a_time()
            if start is not None and end is not None and start >= end:
                start, end = end, start
                if start == end:
                    end = None
            coalesce = r.random() < 0.3
            # Small batches cut a key's rows and the merge's output at every row: each
            # output batch gathers from other source batches, each changes batch is a
            # slice or a take of the two scans' batches.
            batch = r.choice([1, 3, 64 * 1024])
            got = got_intervals(self.t.intervals(None if start is None else as_datetime(start),
                                                 None if end is None else as_datetime(end), version=v,
                                                 coalesce=coalesce, threads=r.choice([1, 2]), batch_size=batch))
            want = intervals(self.events, start, end, v, coalesce)
            assert got == want, f"intervals({start}, {end}, v={v}, coalesce={coalesce})\n{ctx}"

            t1, t2 = self.a_time(), self.a_time()
            tt = lambda t: None if t is None else as_datetime(t)  # noqa: E731
            got = got_changes(self.t.changes(tt(t1), tt(t2), version=v, batch_size=batch))
            assert got == changes(self.events, t1, t2, v, v), f"changes({t1}, {t2}, v={v})\n{ctx}"

            at = self.a_time()
            v1, v2 = r.randint(0, self.version), r.randint(0, self.version)
            got = got_changes(self.t.changes(at=tt(at), from_version=v1, to_version=v2, batch_size=batch))
            assert got == changes(self.events, at, at, v1, v2), f"changes(at={at}, {v1}->{v2})\n{ctx}"


@pytest.mark.parametrize("seed", SEEDS)
def test_views_match_oracle_on_random_workloads(tmp_path, seed):
    t = bazof.create_table(tmp_path / "o", pa.schema([("v", pa.int64()), ("s", pa.string()),
                                                      ("event_time", pa.timestamp("us"))]))
    w = ViewsWorkload(t, seed)
    w.verify_views()
    for _ in range(COMMITS):
        w.step()
        w.verify_views()


@pytest.fixture
def small(tmp_path):
    t = bazof.create_table(tmp_path / "s", pa.schema([("price", pa.float64()), ("event_time", pa.timestamp("ms"))]))
    t.put("a", "2024-01-01", price=1.0)
    t.put("a", "2024-02-01", price=2.0)
    t.delete("b", "2024-01-15")          # a tombstone of a key never present
    t.put("b", "2024-02-01", price=5.0)
    t.delete("b", "2024-03-01")
    t.put("a", "2024-02-01", price=2.5)  # version 6: a correction of February
    return t


def test_boundaries(small):
    feb, mar = "2024-02-01", "2024-03-01"
    # An interval ending exactly at start, or starting exactly at end, is left out.
    rows = small.intervals(start=feb, end=mar).to_arrow().to_pylist()
    assert [(r["key"], r["price"]) for r in rows] == [("a", 2.5), ("b", 5.0)]
    assert small.intervals(end=feb).to_arrow().column("price").to_pylist() == [1.0]
    # Events exactly at t1 / t2 count; a tombstone at t2 is a delete; absent at both: no row.
    ch = small.changes("2024-01-31", mar).to_arrow().to_pylist()
    assert [(r["key"], r["kind"], r["old_price"], r["new_price"]) for r in ch] == [("a", "update", 1.0, 2.5)]
    ch = small.changes(feb, mar).to_arrow().to_pylist()
    assert [(r["key"], r["kind"]) for r in ch] == [("b", "delete")]
    assert small.changes("2023-01-01", "2024-01-20").to_arrow().column("kind").to_pylist() == ["insert"]
    # What did the correction at version 6 change about February?
    ch = small.changes(at=feb, from_version=5, to_version=6).to_arrow().to_pylist()
    assert [(r["key"], r["kind"], r["old_price"], r["new_price"]) for r in ch] == [("a", "update", 2.0, 2.5)]
    assert small.changes(at=feb, version=6).to_arrow().num_rows == 0


def test_engines_take_views_like_scans(small):
    import duckdb
    import polars as pl

    view = small.intervals()
    assert view.schema.names == ["key", "valid_from", "valid_to", "price"]
    assert view.to_polars().shape == (3, 4)
    assert duckdb.sql("select count(*) from view where valid_to is null").fetchall() == [(1,)]
    assert pl.from_arrow(small.changes("2024-01-01", "2024-02-01").to_arrow())["kind"].to_list() == ["update", "insert"]


def test_bad_input(small):
    with pytest.raises(bazof.InvalidInput, match="not before end"):
        small.intervals("2024-02-01", "2024-01-01")
    with pytest.raises(bazof.InvalidInput, match="unknown column 'nope'"):
        small.intervals(columns=["nope"])
    with pytest.raises(bazof.InvalidInput, match="not both"):
        small.changes("2024-01-01", at="2024-01-01")
    with pytest.raises(bazof.BazofError, match="version 99"):
        small.changes(at="2024-01-01", from_version=1, to_version=99)


MANY_KEYS = [f"m{i:05d}" for i in range(2500)]


class ManyKeysWorkload(ViewsWorkload):
    """Appends that hold most of 2500 keys (each key in most runs: the merge then finds keys
    by one pass over the runs, chosen every 1024 keys) or a few (the tree of losers again),
    with ties, late events and tombstones; compactions between them."""

    def append(self):
        r = self.rng
        keys = MANY_KEYS if r.random() < 0.7 else r.sample(MANY_KEYS, 40)
        rows = []
        for k in keys:
            if r.random() < 0.1:
                continue
            tomb = r.random() < 0.1
            v, s = (None, None) if tomb else self.values()
            rows.append((k, r.choice(TIMES), tomb, v, s))
            if r.random() < 0.05:  # a tie within the append: the later row wins
                rows.append((k, rows[-1][1], False, *self.values()))
        data = pa.table({
            "key": [x[0] for x in rows],
            "event_time": pa.array([x[1] for x in rows], pa.timestamp("us", tz="UTC")),
            "v": pa.array([x[3] for x in rows], pa.int64()),
            "s": pa.array([x[4] for x in rows], pa.string()),
            "_deleted": [x[2] for x in rows],
        })
        self.record(self.t.append(data), rows, f"append of {len(rows)} rows")

    def step(self):
        if self.rng.random() < 0.25:
            return ViewsWorkload.step(self)  # a compaction (15%), a put or a delete
        self.append()


@pytest.mark.parametrize("seed", [31, 32])
def test_views_match_oracle_with_keys_in_most_runs(tmp_path, seed):
    t = bazof.create_table(tmp_path / "m", pa.schema([("v", pa.int64()), ("s", pa.string()),
                                                      ("event_time", pa.timestamp("us"))]))
    w = ManyKeysWorkload(t, seed)
    for _ in range(8):
        w.step()
    w.verify_views()
    for _ in range(3):
        w.step()
    if w.t.compact().committed:
        w.version += 1
    w.verify_views()


@pytest.mark.parametrize("seed", [41, 42])
def test_intervals_split_across_threads_match_oracle(tmp_path, seed):
    """Small row groups give the scan many split points, so the intervals are merged and
    gathered per key range on several threads and handed out in key order: a range dropped,
    repeated or out of place, or a row lost or moved inside a gathered batch, makes the rows
    differ from the oracle's (same list, same order) at some thread count and batch size."""
    t = bazof.create_table(tmp_path / "p", pa.schema([("v", pa.int64()), ("s", pa.string()),
                                                      ("event_time", pa.timestamp("us"))]),
                           properties={"write.row_group_rows": "37", "write.page_rows": "11"})
    w = ManyKeysWorkload(t, seed)
    for _ in range(6):
        w.append()
    if w.t.compact().committed:  # deltas of many row groups, each spanning most keys
        w.version += 1
    for _ in range(2):
        w.append()
    want = intervals(w.events)
    assert len(want) > 5000
    r = random.Random(seed)
    for threads in (1, 2, 3, 5):
        for batch in (1, 7, 1000, 64 * 1024):
            if batch == 1 and threads > 2:
                continue  # slow and covered by the others
            got = got_intervals(t.intervals(threads=threads, batch_size=batch))
            assert got == want, f"threads={threads} batch={batch}"
        start = r.choice(TIMES)
        got = got_intervals(t.intervals(as_datetime(start), None, threads=threads, batch_size=r.choice([5, 333])))
        assert got == intervals(w.events, start, None), f"threads={threads} start={start}"
        # A key range (the reader's bounds): its split points fall inside it, the
        # first and last partitions start and stop inside row groups and pages.
        lo, hi = sorted(r.sample(MANY_KEYS, 2))
        key = pc.field("key")
        for batch in (3, 64 * 1024):
            got = got_intervals(t.intervals(filter=(key >= lo) & (key < hi), threads=threads, batch_size=batch))
            assert got == [x for x in want if lo <= x[0] < hi], f"threads={threads} batch={batch} [{lo}, {hi})"


def test_intervals_of_composite_keys_split_across_threads(tmp_path):
    """A composite key (string, int): row-group bounds are the first column's, so split
    points cut the key space between first-column values, keys of one first value stay in
    one partition. Every thread count and batch size gives the one-thread rows, in order,
    and those are the intervals of the events written (each key's times, next time closes)."""
    t = bazof.create_table(tmp_path / "c", pa.schema([("sym", pa.string()), ("venue", pa.int32()),
                                                      ("v", pa.int64()), ("event_time", pa.timestamp("us"))]),
                           key=["sym", "venue"],
                           properties={"write.row_group_rows": "29", "write.page_rows": "7"})
    r = random.Random(7)
    events = {}
    for a in range(6):
        rows = [(f"s{r.randrange(300):03d}", r.randrange(4), r.randrange(10**6), r.choice(TIMES)) for _ in range(900)]
        for sym, venue, v, at in rows:
            events.setdefault((sym, venue), {})[at] = v  # a tie within the append: the later row wins
        t.append(pa.table({"sym": [x[0] for x in rows], "venue": pa.array([x[1] for x in rows], pa.int32()),
                           "v": [x[2] for x in rows],
                           "event_time": pa.array([x[3] for x in rows], pa.timestamp("us", tz="UTC"))}))
    want = []
    for k in sorted(events):
        times = sorted(events[k])
        for i, at in enumerate(times):
            want.append((k, at, times[i + 1] if i + 1 < len(times) else None, events[k][at]))

    def got(scan):
        return [((x["sym"], x["venue"]), us(x["valid_from"]), us(x["valid_to"]), x["v"])
                for x in scan.to_arrow().to_pylist()]

    assert got(t.intervals(threads=1)) == want
    for threads in (2, 3, 5):
        for batch in (1, 13, 64 * 1024):
            assert got(t.intervals(threads=threads, batch_size=batch)) == want, f"threads={threads} batch={batch}"

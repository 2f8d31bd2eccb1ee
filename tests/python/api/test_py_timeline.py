"""The timeline through the Python API (docs/spec.md §20), against oracle.py on random
workloads with late events, ties, tombstones and compactions: the watermark is monotonic and
flags scans; the lateness profile equals a direct computation; compact(horizon=H) leaves
every scan as of T >= H unchanged and refuses T < H; forget + vacuum removes the keys from
every retained version and leaves every other key's answers unchanged."""
import datetime as dt
import random

import pyarrow as pa
import pytest

import bazof
from conftest import EPOCH
from oracle import Event, as_of, forget, lateness
from test_write_oracle import KEYS, TIMES

DAY = 86_400_000_000


def ts(us):
    return EPOCH + dt.timedelta(microseconds=us)


class Workload:
    def __init__(self, table, seed):
        self.t = table
        self.r = random.Random(seed)
        self.events = []
        self.commits = []  # (event times, watermark before) per data commit
        self.watermark = None
        self.version = 0

    def append(self, watermark=None):
        r = self.r
        rows = []
        for i in range(r.randint(1, 10)):
            tomb = r.random() < 0.15
            # TIMES (ties) or anything between them, down to the microsecond.
            t = r.choice(TIMES) if r.random() < 0.5 else r.randrange(TIMES[0], TIMES[-1])
            rows.append((r.choice(KEYS), t, tomb, None if tomb else r.randrange(100)))
        data = pa.table({"key": [x[0] for x in rows],
                         "event_time": pa.array([x[1] for x in rows], pa.timestamp("us", tz="UTC")),
                         "v": pa.array([x[3] for x in rows], pa.int64()),
                         "_deleted": [x[2] for x in rows]})
        version = self.t.append(data, watermark=None if watermark is None else ts(watermark))
        self.version += 1
        assert version == self.version
        for i, (k, t, tomb, v) in enumerate(rows):
            self.events.append(Event(k, t, version, 0, i, tomb, (None,) if tomb else (v,)))
        self.commits.append(([x[1] for x in rows], self.watermark))
        if watermark is not None:
            self.watermark = watermark

    def compact(self, horizon=None):
        res = self.t.compact(segment_duration=self.r.choice(["auto", "30d", "400d"]),
                             horizon=None if horizon is None else ts(horizon))
        if res.committed:
            self.version += 1
        return res

    def scan(self, t, v):
        got = self.t.scan(as_of=None if t is None else ts(t), version=v).to_arrow()
        return [(x["key"], (x["event_time"] - EPOCH) // dt.timedelta(microseconds=1), x["v"])
                for x in got.to_pylist()]

    def want(self, events, t, v):
        return [(k, et, *vals) for k, et, vals in as_of(events, t, v)]

    def probes(self):
        r = self.r
        return [None, r.choice(TIMES), r.choice(TIMES) - 1, r.randrange(TIMES[0] - DAY, TIMES[-1] + DAY)]


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_watermark_and_lateness_match_direct_computation(tmp_path, seed):
    t = bazof.create_table(str(tmp_path / "w"), pa.schema([("v", pa.int64()), ("event_time", pa.timestamp("us"))]))
    w = Workload(t, seed)
    assert t.watermark is None
    for i in range(12):
        x = w.r.random()
        if x < 0.3:
            new = max(w.watermark or TIMES[0], w.r.randrange(TIMES[0], TIMES[-1]))
            w.append(watermark=new)
        elif x < 0.45:
            new = max(w.watermark or TIMES[0], w.r.randrange(TIMES[0], TIMES[-1]))
            assert t.set_watermark(ts(new)) == w.version + 1
            w.version += 1
            w.watermark = new
        elif x < 0.55:
            w.compact()
        else:
            w.append()
        if w.watermark is not None and w.watermark > TIMES[0]:
            with pytest.raises(bazof.InvalidInput, match="before the current watermark"):
                t.set_watermark(ts(w.watermark - 1))
        tl = t.timeline()
        assert tl["watermark"] == w.watermark
        want = lateness(w.commits)
        got = tl["late_events"]
        assert (got["count"], got["max_lateness_us"]) == (want["count"], want["max_lateness_us"])
        assert [b["count"] for b in got["buckets"]] == want["buckets"]
        assert got["p50_lateness_us"] <= got["max_lateness_us"]
    # Scans: flagged in the schema metadata; require_complete refuses past the watermark.
    if w.watermark is None:
        t.set_watermark(ts(TIMES[5]))
        w.watermark = TIMES[5]
    inside = t.scan(as_of=ts(w.watermark), require_complete=True)
    assert inside.schema.metadata[b"bazof.complete"] == b"true"
    assert inside.to_arrow().schema.metadata[b"bazof.complete"] == b"true"
    outside = t.scan(as_of=ts(w.watermark + 1))
    assert outside.schema.metadata[b"bazof.complete"] == b"false"
    assert outside.to_arrow().num_rows == len(as_of(w.events, w.watermark + 1))
    with pytest.raises(bazof.InvalidInput, match="past the completeness watermark"):
        t.scan(as_of=ts(w.watermark + 1), require_complete=True)
    with pytest.raises(bazof.InvalidInput, match="past the completeness watermark"):
        t.scan(require_complete=True)  # latest is never complete


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_horizon_keeps_scans_from_it_on_and_refuses_before(tmp_path, seed):
    t = bazof.create_table(str(tmp_path / "h"), pa.schema([("v", pa.int64()), ("event_time", pa.timestamp("us"))]))
    w = Workload(t, 100 + seed)
    for _ in range(5):
        w.append()
        if w.r.random() < 0.3:
            w.compact()
    horizon = w.r.choice(TIMES[2:-2]) + w.r.choice([-1, 0, 1])
    res = w.compact(horizon=horizon)
    assert res.committed and res.events_collapsed >= 0
    hv = w.version
    for _ in range(3):  # late events before and after the horizon, more compactions
        w.append()
        if w.r.random() < 0.4:
            w.compact()
    for v in range(w.version + 1):
        for t_ in w.probes() + [horizon, horizon - 1]:
            if v >= hv and t_ is not None and t_ < horizon:
                with pytest.raises(bazof.InvalidInput, match="before the history horizon"):
                    w.scan(t_, v)
                continue
            assert w.scan(t_, v) == w.want(w.events, t_, v), (seed, v, t_)
    assert t.timeline()["horizon"] == horizon
    with pytest.raises(bazof.InvalidInput, match="before the table's history horizon"):
        t.compact(horizon=ts(horizon - 1))
    # Vacuum drops the history before the horizon compaction's version.
    t.vacuum(retain_versions=1, grace="1ms")
    for t_ in w.probes():
        if t_ is None or t_ >= horizon:
            assert w.scan(t_, None) == w.want(w.events, t_, None)
    assert t.validate(deep=True)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_forget_removes_keys_from_every_retained_version(tmp_path, seed):
    t = bazof.create_table(str(tmp_path / "f"), pa.schema([("v", pa.int64()), ("event_time", pa.timestamp("us"))]))
    w = Workload(t, 200 + seed)
    for _ in range(6):
        w.append()
        if w.r.random() < 0.3:
            w.compact(horizon=w.r.choice([None, TIMES[3]]))
    gone = w.r.sample(KEYS, w.r.randint(1, 2))
    before = w.version
    res = t.forget(gone)
    assert res["committed"] and res["version"] == before + 1 and res["events_removed"] > 0
    w.version += 1
    f = w.version
    kept = forget(w.events, gone)

    def check(v, events):
        for t_ in w.probes():
            try:
                got = w.scan(t_, v)
            except bazof.InvalidInput as e:  # as of before a horizon compaction's horizon
                assert "before the history horizon" in str(e)
                continue
            assert got == w.want(events, t_, v), (v, t_)

    for v in range(f):
        check(v, w.events)  # older versions still answer until vacuum
    for v in range(f, w.version + 1):
        check(v, kept)
    assert gone[0] not in t.log().to_pandas()["description"].str.cat()  # keys not recorded
    t.vacuum(grace="1ms")  # no retention flags: the erase floor expires versions < f anyway
    w.events = kept
    assert t.log().to_pylist()[0]["version"] == f
    with pytest.raises(bazof.NotFound, match="vacuumed"):
        t.scan(version=f - 1)
    for v in range(f, w.version + 1):
        check(v, kept)
    # No data file holds the keys any more.
    import pyarrow.parquet as pq
    for p in (tmp_path / "f" / "data").glob("*.parquet"):
        assert not set(pq.read_table(p, columns=["key"]).column(0).to_pylist()) & set(gone), p
    assert t.validate(deep=True)


def test_forget_composite_keys_as_tuples_and_dicts(tmp_path):
    """Table.forget takes composite keys as put does (a tuple in key order, or a dict); the
    other keys keep their latest state."""
    t = bazof.create_table(str(tmp_path / "q"), pa.schema([("sym", pa.string()), ("venue", pa.int64()),
                                                          ("px", pa.int64())]), key=["sym", "venue"])
    r = random.Random(5)
    latest = {}
    for i in range(40):
        k = (r.choice("ABC"), r.randint(1, 3))
        day = ts(i * DAY)
        t.put(k, day, px=i)
        latest[k] = i
    gone = sorted(latest)[:3]
    res = t.forget([gone[0], {"venue": gone[1][1], "sym": gone[1][0]}])
    assert res["committed"]
    res = t.forget(gone[2])  # one composite key as a bare tuple
    assert res["committed"]
    got = {(s, v): p for s, v, p in zip(*(t.scan().to_arrow().column(c).to_pylist() for c in ("sym", "venue", "px")))}
    assert got == {k: v for k, v in latest.items() if k not in gone}
    with pytest.raises(bazof.InvalidInput, match="venue"):
        t.forget({"sym": "A"})


def test_compact_and_vacuum_report_progress(tmp_path, monkeypatch):
    t = bazof.create_table(str(tmp_path / "p"), pa.schema([("v", pa.int64())]))
    n = 0
    for c in range(5):
        rows = 200
        t.append(pa.table({"key": [f"k{i % 50}" for i in range(rows)],
                           "event_time": pa.array([(c * rows + i) * 1000 for i in range(rows)], pa.timestamp("ms")),
                           "v": list(range(rows))}))
        n += rows
    calls = []
    r = t.compact(segment_duration="auto", min_segment_rows=100, progress=lambda *a: calls.append(a))
    assert r.committed
    phases = [c[0] for c in calls]
    assert phases[0] == "plan" and phases[-1] == "write"
    assert [p for i, p in enumerate(phases) if i == 0 or phases[i - 1] != p] == ["plan", "merge", "write"]
    for phase, unit, total in (("plan", "events", n), ("merge", "events", n),
                               ("write", "rows", r.events_written + r.base_rows)):
        mine = [c for c in calls if c[0] == phase]
        assert [c[2] for c in mine] == sorted(c[2] for c in mine)
        assert mine[0][2] == 0 and mine[-1][2] == mine[-1][3] == total and mine[-1][1] == unit
    calls.clear()
    v = t.vacuum(retain_versions=1, grace=0, progress=lambda *a: calls.append(a))
    assert calls[-1] == ("delete", "files", len(v.deleted), len(v.deleted))
    with pytest.raises(bazof.InvalidInput, match="progress"):
        t.compact(progress="yes")

    def broken(*_):
        raise RuntimeError("a broken callback")
    t.append(pa.table({"key": ["z"], "event_time": pa.array([0], pa.timestamp("ms")), "v": [1]}))
    import sys
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    assert t.compact(progress=broken, force=True).committed  # reported as unraisable, not raised
    assert reported and all(isinstance(u.exc_value, RuntimeError) for u in reported)

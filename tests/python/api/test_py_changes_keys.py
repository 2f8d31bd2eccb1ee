"""Changes on the key-side path (docs/spec.md §19.3: winners from the key and event-time
columns, values only for the keys whose winners differ) against two scans compared in
Python: composite keys, many files (one per append), files both points share (the same
winner at both: no row), updates to equal values (no row), deletes then re-inserts,
keys on one side only, a column added between the versions, and compactions between."""
import datetime as dt
import random

import pyarrow as pa
import pytest

import bazof

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
KEYS = [(f"k{i % 7}", i // 7 - 3) for i in range(60)]  # negative ints: the sign-flipped encoding


def at(minutes):
    return None if minutes is None else T0 + dt.timedelta(minutes=minutes)


def state(t, as_of, version, names):
    rows = t.scan(as_of=at(as_of), version=version).to_arrow().to_pylist()
    return {(r["k1"], r["k2"]): (r["event_time"], tuple(r.get(n) for n in names)) for r in rows}


def expected(t, t1, t2, v1, v2):
    """Two scans compared: the contract of changes (§19.2)."""
    names = [f.name for f in t.scan(version=v2).schema if f.name not in ("k1", "k2", "event_time")]
    old, new = state(t, t1, v1, names), state(t, t2, v2, names)
    out = []
    for k in sorted(old.keys() | new.keys()):
        o, n = old.get(k), new.get(k)
        if o is None:
            out.append((*k, "insert", None, n[0], None, n[1]))
        elif n is None:
            out.append((*k, "delete", o[0], None, o[1], None))
        elif o[1] != n[1]:
            out.append((*k, "update", o[0], n[0], o[1], n[1]))
    return names, out


def got(t, names, **kw):
    rows = t.changes(**kw).to_arrow().to_pylist()
    return [(r["k1"], r["k2"], r["kind"], r["old_event_time"], r["new_event_time"],
             None if r["kind"] == "insert" else tuple(r[f"old_{n}"] for n in names),
             None if r["kind"] == "delete" else tuple(r[f"new_{n}"] for n in names)) for r in rows]


def append(t, rng, keys, with_w):
    rows = []
    for k in keys:
        tomb = rng.random() < 0.15
        v = None if tomb else rng.choice([1, 2, None])  # few values: many updates to equal values
        rows.append((k, rng.randrange(0, 200), tomb, v, None if tomb else rng.choice(["x", "y"]),
                     None if tomb else rng.choice([7, None])))
    data = {"k1": [r[0][0] for r in rows], "k2": pa.array([r[0][1] for r in rows], pa.int64()),
            "event_time": pa.array([at(r[1]) for r in rows], pa.timestamp("us", tz="UTC")),
            "v": pa.array([r[3] for r in rows], pa.int64()), "s": [r[4] for r in rows],
            "_deleted": [r[2] for r in rows]}
    if with_w:
        data["w"] = pa.array([r[5] for r in rows], pa.int64())
    t.append(pa.table(data))


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_changes_match_two_scans(tmp_path, seed):
    rng = random.Random(seed)
    t = bazof.create_table(tmp_path / "c", pa.schema([("k1", pa.string()), ("k2", pa.int64()), ("v", pa.int64()),
                                                      ("s", pa.string()), ("event_time", pa.timestamp("us"))]),
                           key=["k1", "k2"])
    version, with_w = 0, False
    for step in range(10):
        if step == 5:
            t.add_column("w", pa.int64())  # the older versions lack it: null there
            with_w = True
        elif step in (3, 8) and rng.random() < 0.7:
            t.compact(segment_duration=rng.choice(["1h", "365d"]))
        else:
            append(t, rng, rng.sample(KEYS, rng.choice([5, 30, 60])), with_w)
        version = t.version
        for _ in range(4):
            t1, t2 = (rng.choice([None, rng.randrange(-10, 210)]) for _ in range(2))
            v = rng.choice([None, rng.randint(0, version)])
            names, want = expected(t, t1, t2, v, v)
            batch = rng.choice([1, 3, 64 * 1024])
            assert got(t, names, t1=at(t1), t2=at(t2), version=v, batch_size=batch) == want, (seed, step, t1, t2, v)
            # Two versions at one time: most files are shared, most winners the same.
            a = rng.choice([None, rng.randrange(-10, 210)])
            v1, v2 = rng.randint(0, version), rng.randint(0, version)
            names, want = expected(t, a, a, v1, v2)
            assert got(t, names, at=at(a), from_version=v1, to_version=v2, batch_size=batch) == want, \
                (seed, step, a, v1, v2)
        # The same point twice: every winner is the same stored event.
        assert t.changes(at(100), at(100)).to_arrow().num_rows == 0


def test_same_winner_equal_values_and_reinserts(tmp_path):
    t = bazof.create_table(tmp_path / "e", pa.schema([("v", pa.int64()), ("event_time", pa.timestamp("us"))]))
    t.put("a", at(0), v=1)
    t.put("b", at(0), v=1)
    t.put("c", at(0), v=1)
    t.put("a", at(10), v=1)    # a new event with the same values: no change
    t.delete("b", at(10))
    t.put("b", at(20), v=1)    # deleted, then back with its old values: no change across
    t.put("c", at(20), v=2)
    t.put("d", at(20), v=3)    # a key only on the new side
    rows = t.changes(at(5), at(30)).to_arrow().to_pylist()
    assert [(r["key"], r["kind"], r["old_v"], r["new_v"]) for r in rows] == [("c", "update", 1, 2),
                                                                              ("d", "insert", None, 3)]
    # A budget (bytes or a size text) changes how the answer is found, not the answer.
    for limit in ("32MiB", 1 << 30):
        assert t.changes(at(5), at(30), memory_limit=limit).to_arrow().to_pylist() == rows
    with pytest.raises(bazof.InvalidInput, match="memory_limit"):
        t.changes(at(5), at(30), memory_limit=1.5)
    with pytest.raises(bazof.InvalidInput, match="below the minimum"):
        t.changes(at(5), at(30), memory_limit="1MiB").to_arrow()
    rows = t.changes(at(5), at(15)).to_arrow().to_pylist()
    assert [(r["key"], r["kind"], r["old_v"]) for r in rows] == [("b", "delete", 1)]
    t.compact(segment_duration="365d")  # one base both points read
    rows = t.changes(at(25), at(30)).to_arrow().to_pylist()
    assert rows == []
    rows = t.changes(at(5), at(30)).to_arrow().to_pylist()
    assert [(r["key"], r["kind"]) for r in rows] == [("c", "update"), ("d", "insert")]

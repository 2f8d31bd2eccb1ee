"""Scan splits and staged commits through the Python API (bazof.Split,
bazof.StagedFiles; docs/spec.md §16-17): splits planned in one process are
read in others from their bytes, and their union equals the unsplit scan and
the oracle; stages written by several processes commit as one version with
ties resolved by task; abort, vacuum, malformed input; the same on S3."""
import datetime as dt
import pickle
import random
import subprocess
import sys
import uuid

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import bazof
from conftest import S3_BUCKET
from oracle import Event, as_of, intervals

EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)


def us(day):
    return int((EPOCH + dt.timedelta(days=day) - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc))
               / dt.timedelta(microseconds=1))


def batch(rows):
    """rows: (key, day, v or None for a tombstone)."""
    return pa.table({
        "key": pa.array([r[0] for r in rows], pa.string()),
        "event_time": pa.array([us(r[1]) for r in rows], pa.timestamp("us", tz="UTC")),
        "v": pa.array([r[2] for r in rows], pa.int64()),
        "_deleted": pa.array([r[2] is None for r in rows]),
    })


def rows_of(table):
    t = table.sort_by([("key", "ascending")]) if table.num_rows else table
    times = t.column("event_time").cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_pylist()
    return list(zip(t.column("key").to_pylist(), times, t.column("v").to_pylist()))


def expected(events, t=None, v=None):
    return [(k, et, vals[0]) for k, et, vals in as_of(events, t, v)]


def random_table(path, seed, commits=6):
    rng = random.Random(seed)
    t = bazof.create_table(path, pa.schema([("v", pa.int64())]))
    events = []
    keys = [f"k{i:04d}" for i in range(rng.randrange(5, 300))]
    for c in range(commits):
        rows = []
        band = rng.sample(keys, rng.randrange(1, len(keys)))
        for i in range(rng.randrange(1, 150)):
            k = rng.choice(band)
            rows.append((k, rng.randrange(0, 20), None if rng.random() < 0.15 else rng.randrange(1000)))
        version = t.append(batch(rows))
        for i, (k, day, val) in enumerate(rows):
            events.append(Event(k, us(day), version, 0, i, val is None, (val,)))
        if c == commits // 2:
            t.compact()
    return t, events


READER = r"""
import sys, bazof, pyarrow as pa
t = bazof.open_table(sys.argv[1])
out = []
for b in sys.stdin.buffer.read().split(b"\n\0\n"):
    if b:
        s = bazof.Split.from_bytes(b)
        out.append(t.scan_split(s).to_arrow())
tab = pa.concat_tables(out) if out else None
with pa.OSFile(sys.argv[2], "wb") as f:
    with pa.ipc.new_file(f, tab.schema) as w:
        w.write_table(tab)
"""


def read_in_subprocess(uri, splits, tmp_path):
    """Reads splits (as bytes) in another Python process; returns its table."""
    out = tmp_path / f"out-{uuid.uuid4().hex}.arrow"
    payload = b"\n\0\n".join(s.to_bytes() for s in splits)
    subprocess.run([sys.executable, "-c", READER, str(uri), str(out)], input=payload, check=True)
    with pa.memory_map(str(out)) as f:
        return pa.ipc.open_file(f).read_all()


def disjoint_union(parts, whole, context):
    """The splits' results in order: no key in two of them, together `whole`."""
    seen = set()
    for p in parts:
        keys = set(p.column("key").to_pylist())
        assert not (keys & seen), f"{context}: a key in two splits"
        seen |= keys
    got = pa.concat_tables(parts)
    assert got.schema == whole.schema
    assert got.equals(whole), context
    return got


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_union_of_splits_read_elsewhere_is_the_scan(tmp_path, seed):
    t, events = random_table(tmp_path / "t", seed)
    rng = random.Random(seed)
    current = t.version
    plans = []
    for probe in range(10):
        kw = {}
        if rng.random() < 0.6:
            kw["as_of"] = EPOCH + dt.timedelta(days=rng.randrange(0, 21))
        if rng.random() < 0.5:
            kw["version"] = rng.randrange(0, current + 1)
        if rng.random() < 0.3:
            kw["filter"] = [("key", ">=", f"k{rng.randrange(0, 300):04d}")]
        elif rng.random() < 0.3:
            # Key lists: only the splits holding one of the keys are planned.
            kw["filter"] = [("key", "in", [f"k{rng.randrange(0, 300):04d}" for _ in range(rng.randrange(1, 5))])]
        elif rng.random() < 0.2:
            kw["filter"] = [("key", "==", f"k{rng.randrange(0, 300):04d}")]
        elif rng.random() < 0.3:
            kw["filter"] = pc.field("v") > 300
        if rng.random() < 0.5:
            kw["max_splits"] = rng.randrange(1, 9)
        else:
            kw["target_bytes"] = rng.randrange(500, 5000)
        splits = t.plan_splits(**kw)
        assert splits and all(isinstance(s, bazof.Split) for s in splits)
        if "max_splits" in kw:
            assert len(splits) <= kw["max_splits"]
        pinned = kw.get("version", current)
        assert all(s.version == pinned for s in splits)
        assert [s.index for s in splits] == list(range(len(splits)))
        # Round trips: bytes, JSON, pickle.
        for s in splits:
            assert bazof.Split.from_bytes(s.to_bytes()) == s
            assert bazof.Split.from_bytes(s.to_json()).to_json() == s.to_json()
            assert pickle.loads(pickle.dumps(s)) == s
        if "filter" in kw and isinstance(kw["filter"], list) and kw["filter"][0][1] in ("in", "=="):
            wanted = kw["filter"][0][2]
            assert len(splits) <= (len(wanted) if isinstance(wanted, list) else 1), kw
        plans.append((kw, splits))
    # Every probe's splits, read one by one in a single other process.
    for kw, splits in plans:
        whole = t.scan(**{k: v for k, v in kw.items() if k in ("as_of", "version", "filter")}).to_arrow()
        parts = [read_in_subprocess(tmp_path / "t", [s], tmp_path) for s in splits[:3]]
        parts += [t.scan_split(s).to_arrow() for s in splits[3:]]
        got = disjoint_union(parts, whole, kw)
        if "filter" not in kw:
            t_us = None if "as_of" not in kw else us((kw["as_of"] - EPOCH).days)
            assert rows_of(got) == expected(events, t_us, kw.get("version")), kw


def test_split_reads_pinned_version_and_reports_vacuum(tmp_path):
    t = bazof.create_table(tmp_path / "t", pa.schema([("v", pa.int64())]))
    t.append(batch([("a", 0, 1), ("b", 0, 1)]))
    (s,) = t.plan_splits()
    t.append(batch([("a", 1, 2), ("c", 0, 2)]))
    other = bazof.open_table(tmp_path / "t")
    assert other.version == 2
    assert rows_of(other.scan_split(s.to_bytes()).to_arrow()) == [("a", us(0), 1), ("b", us(0), 1)]
    t.vacuum(retain_versions=1, grace="1us")
    with pytest.raises(bazof.NotFound, match="vacuumed"):
        bazof.open_table(tmp_path / "t").scan_split(s).to_arrow()


def test_events_splits(tmp_path):
    t = bazof.create_table(tmp_path / "t", pa.schema([("v", pa.int64())]))
    t.append(batch([(f"k{i:03d}", d, i * 10 + d) for i in range(100) for d in range(3)]))
    t.append(batch([("k005", 1, None), ("k006", 1, 999)]))
    splits = t.plan_splits(max_splits=4, events=True)
    assert len(splits) > 1 and all(s.kind == "events" for s in splits)
    got = pa.concat_tables([read_in_subprocess(tmp_path / "t", [s], tmp_path) for s in splits[:2]]
                           + [t.scan_split(s).to_arrow() for s in splits[2:]])
    assert got.num_rows == 300
    assert got.schema.names == ["key", "event_time", "v", "_bazof_deleted", "_bazof_version"]
    k5 = got.filter(pc.field("key") == "k005").to_pylist()
    assert [r["_bazof_deleted"] for r in k5] == [False, True, False]
    k6 = got.filter(pc.field("key") == "k006").to_pylist()
    assert [(r["v"], r["_bazof_version"]) for r in k6] == [(60, 1), (999, 2), (62, 1)]


@pytest.mark.parametrize("seed", [4, 5])
def test_interval_splits_read_elsewhere_are_the_intervals(tmp_path, seed):
    """Validity intervals planned as splits, read in another process and here:
    concatenated in split order they are Table.intervals(), and without a
    filter they match the oracle (docs/spec.md §16, kind intervals)."""
    t, events = random_table(tmp_path / "t", seed)
    rng = random.Random(seed)
    current = t.version
    for probe in range(8):
        kw = {}
        start = end = None
        if rng.random() < 0.5:
            start = rng.randrange(0, 15)
            kw["start"] = EPOCH + dt.timedelta(days=start)
        if rng.random() < 0.5:
            end = (start or 0) + rng.randrange(1, 10)
            kw["end"] = EPOCH + dt.timedelta(days=end)
        if rng.random() < 0.5:
            kw["version"] = rng.randrange(0, current + 1)
        kw["coalesce"] = rng.random() < 0.3
        if rng.random() < 0.3:
            kw["filter"] = (pc.field("key") <= f"k{rng.randrange(0, 300):04d}") & pc.field("valid_to").is_null()
        elif rng.random() < 0.3:
            kw["filter"] = pc.field("v") > 300
        split_kw = {"max_splits": rng.randrange(2, 9)} if rng.random() < 0.5 else {
            "target_bytes": rng.randrange(500, 5000)}
        splits = t.plan_interval_splits(**kw, **split_kw)
        assert splits and all(s.kind == "intervals" for s in splits), kw
        assert all(s.version == kw.get("version", current) for s in splits)
        assert all(bazof.Split.from_bytes(s.to_bytes()) == s for s in splits)
        whole = t.intervals(**kw).to_arrow()
        parts = [read_in_subprocess(tmp_path / "t", [s], tmp_path) for s in splits[:2]]
        parts += [t.scan_split(s, batch_size=7).to_arrow() for s in splits[2:]]
        got = disjoint_union(parts, whole, (kw, split_kw))
        if "filter" not in kw:
            times = [c.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_pylist()
                     for c in (got.column("valid_from"), got.column("valid_to"))]
            rows = list(zip(got.column("key").to_pylist(), *times, [(v,) for v in got.column("v").to_pylist()]))
            assert rows == intervals(events, None if start is None else us(start), None if end is None else us(end),
                                     kw.get("version"), kw["coalesce"]), kw
    with pytest.raises(bazof.InvalidInput, match="start"):
        t.plan_interval_splits(start=EPOCH, end=EPOCH)


@pytest.mark.parametrize("seed", [6, 7])
def test_change_splits_read_elsewhere_are_the_changes(tmp_path, seed):
    """The changes between two points planned as splits, read in another process and
    here: concatenated in split order they are Table.changes(), both versions pinned."""
    t, _ = random_table(tmp_path / "t", seed)
    rng = random.Random(seed)
    current = t.version
    for probe in range(8):
        kw = {}
        if rng.random() < 0.3:
            kw["at"] = EPOCH + dt.timedelta(days=rng.randrange(0, 21))
        else:
            for k in ("t1", "t2"):
                if rng.random() < 0.7:
                    kw[k] = EPOCH + dt.timedelta(days=rng.randrange(0, 21))
        for k in ("from_version", "to_version"):
            if rng.random() < 0.6:
                kw[k] = rng.randrange(0, current + 1)
        if rng.random() < 0.2:
            kw["columns"] = []
        split_kw = {"max_splits": rng.randrange(2, 9)} if rng.random() < 0.5 else {
            "target_bytes": rng.randrange(500, 5000)}
        splits = t.plan_change_splits(**kw, **split_kw)
        assert splits and all(s.kind == "changes" for s in splits), kw
        assert all(s.version == kw.get("to_version", current) for s in splits)
        whole = t.changes(**kw).to_arrow()
        parts = [read_in_subprocess(tmp_path / "t", [s], tmp_path) for s in splits[:2]]
        parts += [t.scan_split(s, batch_size=5).to_arrow() for s in splits[2:]]
        disjoint_union(parts, whole, (kw, split_kw))
    # Pinned at planning: a commit afterwards changes nothing the splits read.
    splits = t.plan_change_splits(at=EPOCH + dt.timedelta(days=30), from_version=0, max_splits=3)
    before = pa.concat_tables([t.scan_split(s).to_arrow() for s in splits])
    t.append(batch([("k0001", 25, 5)]))
    assert pa.concat_tables([t.scan_split(s).to_arrow() for s in splits]).equals(before)
    with pytest.raises(bazof.InvalidInput, match="`at` or t1/t2"):
        t.plan_change_splits(EPOCH, at=EPOCH)


def test_malformed_splits(tmp_path):
    t = bazof.create_table(tmp_path / "t", pa.schema([("v", pa.int64())]))
    for bad in [b"", b"{", b"[]", b"\xff\xfe", b'{"split_format": 2, "version": 0}',
                b'{"split_format": 1, "version": 0, "key_lower": "xyz"}', b'{"split_format": 1}']:
        with pytest.raises(bazof.InvalidInput):
            bazof.Split.from_bytes(bad)
        with pytest.raises(bazof.InvalidInput):
            t.scan_split(bad)
    with pytest.raises(bazof.InvalidInput):
        bazof.Split.from_bytes(42)
    with pytest.raises(bazof.InvalidInput):
        t.plan_splits(max_splits=0)
    with pytest.raises(bazof.InvalidInput):
        t.plan_splits(columns=["nope"])


STAGER = r"""
import sys, bazof, pyarrow as pa
t = bazof.open_table(sys.argv[1])
rows = eval(sys.argv[3])
data = pa.table({"key": [r[0] for r in rows], "event_time": pa.array([r[1] for r in rows], pa.timestamp("us", tz="UTC")),
                 "v": pa.array([r[2] for r in rows], pa.int64()), "_deleted": [r[2] is None for r in rows]})
sys.stdout.buffer.write(t.stage(data, task=int(sys.argv[2])).to_bytes())
"""


def stage_in_subprocess(uri, task, rows):
    rows_us = [(k, us(d), v) for k, d, v in rows]
    out = subprocess.run([sys.executable, "-c", STAGER, str(uri), str(task), repr(rows_us)],
                         check=True, capture_output=True).stdout
    return bazof.StagedFiles.from_bytes(out)


def test_stages_from_processes_commit_as_one_version(tmp_path):
    uri = tmp_path / "t"
    t = bazof.create_table(uri, pa.schema([("v", pa.int64())]))
    rng = random.Random(5)
    events = []
    for rnd in range(3):
        by_task = [[(f"k{rng.randrange(8)}", rng.randrange(4), None if rng.random() < 0.1 else rng.randrange(100))
                    for _ in range(rng.randrange(0, 25))] for _task in range(4)]
        staged = [stage_in_subprocess(uri, task, rows) if task % 2 else t.stage(batch(rows), task=task)
                  for task, rows in enumerate(by_task)]
        assert [s.rows for s in staged] == [len(r) for r in by_task]
        assert all(s.task == i for i, s in enumerate(staged))
        before = t.version
        if rnd == 1:  # another writer commits between stage and commit: rebased over
            other = bazof.open_table(uri)
            v = other.append(batch([("k0", 2, 12345)]))
            events.append(Event("k0", us(2), v, 0, 0, False, (12345,)))
            before += 1
        rng.shuffle(staged)
        version = t.commit(staged)
        assert version == before + 1 == t.version
        seq = 0
        for rows in by_task:
            for k, d, val in rows:
                events.append(Event(k, us(d), version, 0, seq, val is None, (val,)))
                seq += 1
        for v in range(version + 1):
            for day in [None, 0, 1, 2, 3]:
                got = rows_of(t.scan(version=v, as_of=None if day is None else EPOCH + dt.timedelta(days=day)).to_arrow())
                assert got == expected(events, None if day is None else us(day), v), (v, day)
    assert t.log().column("operation").to_pylist()[-1] == "append"


def test_ties_go_to_the_later_task_and_empty_stages(tmp_path):
    t = bazof.create_table(tmp_path / "t", pa.schema([("v", pa.int64())]))
    s2 = t.stage(batch([("a", 0, 2)]), task=2)
    s1 = t.stage(batch([("a", 0, 1), ("b", 0, 1)]), task=1)
    empty = t.stage(batch([]), task=3)
    assert empty.rows == 0 and empty.files == []
    assert t.commit([empty]) is None
    assert t.commit([]) is None
    assert t.version == 0
    assert t.commit([s2, s1, empty], operation="spark-write") == 1
    assert rows_of(t.scan().to_arrow()) == [("a", us(0), 2), ("b", us(0), 1)]
    assert t.log().column("operation").to_pylist()[-1] == "spark-write"
    s = pickle.loads(pickle.dumps(s1))
    assert s.files == s1.files and s.rows == 2


def test_abort_vacuum_and_refusals(tmp_path):
    t = bazof.create_table(tmp_path / "t", pa.schema([("v", pa.int64())]))
    s = t.stage(batch([("a", 0, 1)]))
    files = s.files
    assert all((tmp_path / "t" / f).exists() for f in files)
    t.abort([s])
    t.abort(s)  # idempotent, and one StagedFiles is accepted too
    assert not any((tmp_path / "t" / f).exists() for f in files)
    with pytest.raises(bazof.InvalidInput, match="does not exist"):
        t.commit([s])
    # A stage whose process died: vacuum removes it after the grace period only.
    orphan = t.stage(batch([("b", 0, 1)]))
    t.vacuum()
    assert (tmp_path / "t" / orphan.files[0]).exists()
    t.vacuum(grace="1us")
    assert not (tmp_path / "t" / orphan.files[0]).exists()
    # Schema changed since staging.
    s = t.stage(batch([("c", 0, 1)]))
    t.add_column("w", "int32")
    with pytest.raises(bazof.CommitConflict, match="stage them again"):
        t.commit([s])
    t.abort([s])
    for bad in [b"", b"{}", b'{"staged_format": 1}', s.to_bytes().replace(b'"rows":1', b'"rows":5', 1),
                s.to_bytes().replace(s.files[0].encode(), b"../escape.parquet"),
                s.to_bytes().replace(s.files[0].encode(), b"s0.json")]:
        with pytest.raises(bazof.InvalidInput):
            bazof.StagedFiles.from_bytes(bad)
        with pytest.raises(bazof.InvalidInput):
            t.commit([bad])
    with pytest.raises(bazof.InvalidInput):
        t.commit([42])
    with pytest.raises(bazof.InvalidInput, match="unknown column"):
        t.stage(pa.table({"key": ["a"], "event_time": [EPOCH], "zzz": [1]}))


def test_splits_and_staged_commits_on_s3(s3_server):
    uri = f"s3://{S3_BUCKET}/{uuid.uuid4().hex}/t"
    t = bazof.create_table(uri, pa.schema([("v", pa.int64())]))
    staged = [t.stage(batch([(f"k{i:03d}", d, task * 1000 + i) for i in range(task, 200, 3) for d in range(2)]),
                      task=task) for task in range(3)]
    staged.append(t.stage(batch([("k000", 1, -1)]), task=9))
    assert t.commit(staged) == 1
    aborted = t.stage(batch([("zzz", 0, 1)]))
    t.abort([aborted])
    with pytest.raises(bazof.InvalidInput, match="does not exist"):
        t.commit([aborted])
    splits = t.plan_splits(max_splits=3)
    assert len(splits) > 1
    reader = bazof.open_table(uri)
    got = pa.concat_tables([reader.scan_split(bazof.Split.from_bytes(s.to_bytes())).to_arrow() for s in splits])
    assert got.equals(t.scan().to_arrow())
    assert got.num_rows == 200
    assert got.filter(pc.field("key") == "k000").column("v").to_pylist() == [-1]


def test_composite_keys_split_by_file_statistics(tmp_path):
    t = bazof.create_table(tmp_path / "t", pa.schema([("a", pa.int32()), ("b", pa.string()), ("v", pa.int64())]),
                           key=["a", "b"])
    for part in range(6):
        rows = [(part * 10 + i % 10, f"s{i % 7}") for i in range(60)]
        t.append(pa.table({"a": pa.array([r[0] for r in rows], pa.int32()), "b": [r[1] for r in rows],
                           "event_time": [EPOCH] * len(rows), "v": list(range(len(rows)))}))
    splits = t.plan_splits(max_splits=3)
    assert len(splits) > 1
    # Each append covers its own band of `a`: a split reads only some files.
    assert min(len(s.files) for s in splits) < 6
    parts = [read_in_subprocess(tmp_path / "t", [s], tmp_path) for s in splits]
    got = pa.concat_tables(parts)
    assert got.equals(t.scan().to_arrow())
    keys = [set(zip(p.column("a").to_pylist(), p.column("b").to_pylist())) for p in parts]
    assert sum(len(k) for k in keys) == len(set().union(*keys)) == got.num_rows
    # A filter on key columns that the unsplit scan accepts is planned too.
    for flt in ([("a", "in", [3, 41])], [("a", ">=", 25), ("b", "==", "s2")]):
        splits = t.plan_splits(filter=flt, max_splits=3)
        got = pa.concat_tables([t.scan_split(s).to_arrow() for s in splits])
        assert got.equals(t.scan(filter=flt).to_arrow()), flt


def test_history_of_a_key_range_as_events_splits(tmp_path):
    t, events = random_table(tmp_path / "t", 9)
    lo, hi = "k0050", "k0150"
    splits = t.plan_splits(filter=[("key", ">=", lo), ("key", "<", hi)], events=True, max_splits=3)
    got = pa.concat_tables([t.scan_split(s).to_arrow() for s in splits])
    # Oracle: per (key, event time) in the range, the tie winner (highest version, then row).
    best = {}
    for e in events:
        if lo <= e.key < hi:
            rank = (e.version, e.file_rank, e.row_index)
            if (e.key, e.event_time) not in best or rank > best[(e.key, e.event_time)][0]:
                best[(e.key, e.event_time)] = (rank, e)
    want = [(k, et, e.values[0] if not e.is_tombstone else None, e.is_tombstone, e.version)
            for (k, et), (_, e) in sorted(best.items())]
    times = got.column("event_time").cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_pylist()
    have = list(zip(got.column("key").to_pylist(), times, got.column("v").to_pylist(),
                    got.column("_bazof_deleted").to_pylist(), got.column("_bazof_version").to_pylist()))
    assert have == want

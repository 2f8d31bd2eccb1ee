"""The write-path differential test (test_write_oracle.py), driven through
the Python API: random commits -- appends as pyarrow, pandas and Polars data
with ties, late events and `_deleted` tombstones, puts and deletes -- and after
every commit scan(as_of, version), with and without key filters, must equal
the oracle (oracle.py) on every event committed so far; history too."""
import datetime as dt
import random

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import bazof
from conftest import EPOCH
from oracle import Event, as_of
from test_write_oracle import KEYS, STRINGS, TIMES, iso

COMMITS = 15
SEEDS = [11, 12, 13]


def as_datetime(us):
    return EPOCH + dt.timedelta(microseconds=us)


class Workload:
    def __init__(self, table, seed):
        self.t = table
        self.rng = random.Random(seed)
        self.events = []
        self.version = 0
        self.trace = []

    def values(self):
        r = self.rng
        return (None if r.random() < 0.2 else r.randrange(-1000, 1000),
                None if r.random() < 0.2 else r.choice(STRINGS))

    def time_form(self, us):
        """The event time as one of the accepted Python forms."""
        r = self.rng.randrange(4)
        if r == 0:
            return iso(us, self.rng)
        if r == 1:
            return as_datetime(us)
        if r == 2:
            return pd.Timestamp(as_datetime(us))
        return as_datetime(us).replace(tzinfo=None)

    def append(self):
        r = self.rng
        rows = []
        for _ in range(r.randint(1, 8)):
            tomb = r.random() < 0.15
            v, s = (None, None) if tomb else self.values()
            rows.append((r.choice(KEYS), r.choice(TIMES), tomb, v, s))
        if r.random() < 0.3 and len(rows) > 1:  # an exact duplicate (key, event_time)
            k, t, *_ = rows[r.randrange(len(rows))]
            rows.insert(r.randrange(len(rows) + 1), (k, t, False, *self.values()))
        data = pa.table({
            "key": [x[0] for x in rows],
            "event_time": pa.array([x[1] for x in rows], pa.timestamp("us", tz="UTC")),
            "v": pa.array([x[3] for x in rows], pa.int64()),
            "s": [x[4] for x in rows],
            "_deleted": [x[2] for x in rows],
        })
        if r.random() < 0.3:
            data = data.drop_columns(["v"])
            rows = [(k, t, d, None, s) for k, t, d, _, s in rows]
        kind = r.choice(["arrow", "pandas", "polars", "reader"])
        payload = {"arrow": lambda: data, "pandas": data.to_pandas, "polars": lambda: pl.from_arrow(data),
                   "reader": data.to_reader}[kind]()
        self.record(self.t.append(payload), rows, f"append[{kind}] {rows}")

    def put(self):
        r = self.rng
        key, t = r.choice(KEYS), r.choice(TIMES)
        v, s = self.values()
        self.record(self.t.put(key, self.time_form(t), v=v, s=s), [(key, t, False, v, s)], f"put {key} {t} {v} {s}")

    def delete(self):
        r = self.rng
        key, t = r.choice(KEYS), r.choice(TIMES)
        self.record(self.t.delete(key, self.time_form(t)), [(key, t, True, None, None)], f"delete {key} {t}")

    def record(self, version, rows, what):
        self.version += 1
        assert version == self.version, what
        for i, (key, t, tomb, v, s) in enumerate(rows):
            self.events.append(Event(key, t, self.version, 0, i, tomb, (None, None) if tomb else (v, s)))
        self.trace.append(f"v{version}: {what}")

    def step(self):
        x = self.rng.random()
        (self.append if x < 0.6 else self.put if x < 0.8 else self.delete)()

    def verify(self):
        r = self.rng
        ts = [r.choice(TIMES), r.choice(TIMES) + r.choice([-1, 1]),
              r.randrange(TIMES[0] - 86_400_000_000, TIMES[-1] + 86_400_000_000), None]
        vs = [None, r.randint(0, self.version)]
        for t in ts:
            for v in vs:
                keys = sorted(r.sample(KEYS, 3))
                low, high = sorted(r.sample(KEYS, 2))
                want_all = [(k, et, *vals) for k, et, vals in as_of(self.events, t, v)]
                cases = [(None, want_all),
                         ([("key", "in", keys)], [w for w in want_all if w[0] in keys]),
                         ([("key", ">=", low), ("key", "<", high)], [w for w in want_all if low <= w[0] < high])]
                for f, want in cases:
                    got = self.t.scan(as_of=None if t is None else as_datetime(t), version=v, filter=f).to_arrow()
                    got_rows = [(x["key"], (x["event_time"] - EPOCH) // dt.timedelta(microseconds=1), x["v"], x["s"])
                                for x in got.to_pylist()]
                    assert got_rows == want, (f"scan(as_of={t}, version={v}, filter={f}) after v{self.version}\n"
                                              + "\n".join(self.trace))

    def verify_history(self):
        for key in KEYS:
            h = self.t.history(key).to_pylist()
            got = [((x["event_time"] - EPOCH) // dt.timedelta(microseconds=1), x["version"], x["deleted"], x["v"], x["s"])
                   for x in h]
            mine = sorted((e for e in self.events if e.key == key), key=lambda e: (e.event_time, e.version, e.row_index))
            want = [(e.event_time, e.version, e.is_tombstone, *e.values) for e in mine]
            assert got == want, f"history {key}\n" + "\n".join(self.trace)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_commits_through_python_match_oracle(lake, seed):
    """On a local path and on s3:// (the `lake` fixture; the test server's AWS_* environment)."""
    t = bazof.create_table(lake.root("o"), pa.schema([("v", pa.int64()), ("s", pa.string()),
                                                      ("event_time", pa.timestamp("us"))]))
    w = Workload(t, seed)
    w.verify()
    for _ in range(COMMITS):
        w.step()
        w.verify()
    w.verify_history()
    assert [r["version"] for r in t.log().to_pylist()] == list(range(COMMITS + 1))

"""A table for the Spark and Ray connector tests: several versions of random events over
many value types, with late events and tombstones, so that (as-of, version) pairs give
different answers. Connector reads are checked against the core scan of the same table."""
import datetime as dt
import decimal
import os
import random

import pyarrow as pa

import bazof

UTC = dt.timezone.utc
START = dt.datetime(2024, 1, 1, tzinfo=UTC)
VALUE_SCHEMA = pa.schema([
    ("i64", pa.int64()), ("f64", pa.float64()), ("amount", pa.decimal128(12, 2)),
    ("seen", pa.timestamp("ms", tz="UTC")), ("day", pa.date32()), ("flag", pa.bool_()),
    ("name", pa.string()), ("small", pa.int8()), ("u32", pa.uint32()),
])
N_KEYS = 400
VERSIONS = 4


def _batch(rng, n, version):
    keys = [f"k{rng.randrange(N_KEYS):04d}" for _ in range(n)]
    # Mostly recent events, some late ones (event times long before the commit).
    days = [rng.randrange(0, 10 * version) if rng.random() < 0.8 else rng.randrange(0, 5) for _ in range(n)]
    times = [START + dt.timedelta(days=d, seconds=rng.randrange(86400)) for d in days]

    def maybe(v):
        return None if rng.random() < 0.1 else v

    return pa.table({
        "key": keys,
        "event_time": pa.array(times, pa.timestamp("ms", tz="UTC")),
        "i64": [maybe(rng.randrange(-10**12, 10**12)) for _ in range(n)],
        "f64": [maybe(rng.random() * 1000) for _ in range(n)],
        "amount": pa.array([maybe(decimal.Decimal(rng.randrange(-10**6, 10**6)) / 100) for _ in range(n)],
                           pa.decimal128(12, 2)),
        "seen": pa.array([maybe(t - dt.timedelta(minutes=rng.randrange(600))) for t in times],
                         pa.timestamp("ms", tz="UTC")),
        "day": pa.array([maybe(t.date()) for t in times], pa.date32()),
        "flag": [maybe(rng.random() < 0.5) for _ in range(n)],
        "name": [maybe(f"n{rng.randrange(50)}") for _ in range(n)],
        "small": pa.array([maybe(rng.randrange(-128, 128)) for _ in range(n)], pa.int8()),
        "u32": pa.array([maybe(rng.randrange(0, 2**32)) for _ in range(n)], pa.uint32()),
        "_deleted": [rng.random() < 0.05 for _ in range(n)],
    })


def make_table(path, seed=13):
    """Creates the table at `path` (VERSIONS appends) and returns it."""
    rng = random.Random(seed)
    t = bazof.create_table(os.fspath(path), VALUE_SCHEMA, key="key")
    for v in range(1, VERSIONS + 1):
        t.append(_batch(rng, 1500, v))
    return t


# (event-time as-of, version) pairs the connector tests read; None = latest / current.
AS_OF_PAIRS = [
    (None, None),
    ("2024-01-03T12:00:00Z", None),
    ("2024-01-10T00:00:00Z", 2),
    (None, 1),
    ("2024-01-20T06:30:00Z", 3),
]


def sort_table(tbl, key="key"):
    return tbl.sort_by([(key, "ascending")])

"""Oracle of the bazof read contract (DESIGN.md §1), evaluated directly on events.

An event is (key, event_time, version, file_rank, row_index, is_tombstone, values).
scan(T, V): per key, among events with version <= V and event_time <= T, the winner has the
greatest event_time; ties -> higher version, then higher file rank, then later row.
A tombstone winner removes the key. T None = latest, V None = every version.
"""
from typing import Any, Iterable, NamedTuple, Optional


class Event(NamedTuple):
    key: Any
    event_time: int          # microseconds since epoch (any totally ordered value works)
    version: int
    file_rank: int
    row_index: int
    is_tombstone: bool
    values: tuple


def as_of(events: Iterable[Event], t: Optional[int] = None, v: Optional[int] = None):
    """Returns [(key, event_time, values)] sorted by key: the scan result."""
    best = {}
    for e in events:
        if (t is not None and e.event_time > t) or (v is not None and e.version > v):
            continue
        rank = (e.event_time, e.version, e.file_rank, e.row_index)
        if e.key not in best or rank > best[e.key][0]:
            best[e.key] = (rank, e)
    return [(k, e.event_time, e.values)
            for k, (_, e) in sorted(best.items()) if not e.is_tombstone]


# ---- timeline (docs/spec.md §18) ------------------------------------------------

#: Upper bounds (inclusive, microseconds) of the lateness buckets; one more
#: bucket holds the rest.
LATENESS_BOUNDS_US = [1_000_000, 60_000_000, 3_600_000_000, 86_400_000_000, 7 * 86_400_000_000,
                      30 * 86_400_000_000, 365 * 86_400_000_000]


def lateness(commits):
    """The lateness profile, computed directly. `commits`: [(event_times, watermark before the
    commit or None)] in commit order. An event is late if its time is <= the watermark in force
    when its commit landed; its lateness is that watermark minus its time. Returns
    {"count", "max_lateness_us", "buckets": [count per bucket]}."""
    buckets = [0] * (len(LATENESS_BOUNDS_US) + 1)
    count = biggest = 0
    for times, wm in commits:
        if wm is None:
            continue
        for t in times:
            if t <= wm:
                late = wm - t
                count += 1
                biggest = max(biggest, late)
                buckets[next((i for i, b in enumerate(LATENESS_BOUNDS_US) if late <= b),
                             len(LATENESS_BOUNDS_US))] += 1
    return {"count": count, "max_lateness_us": biggest, "buckets": buckets}


def forget(events: Iterable[Event], keys):
    """The events that remain once `keys` are forgotten."""
    gone = set(keys)
    return [e for e in events if e.key not in gone]

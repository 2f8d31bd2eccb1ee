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


def timeline(events: Iterable[Event], v: Optional[int] = None):
    """{key: [Event]}: per key, the tie winner at each event time (versions <= v), by time."""
    best = {}
    for e in events:
        if v is not None and e.version > v:
            continue
        slot = (e.key, e.event_time)
        rank = (e.version, e.file_rank, e.row_index)
        if slot not in best or rank > best[slot][0]:
            best[slot] = (rank, e)
    out = {}
    for (key, _), (_, e) in sorted(best.items()):
        out.setdefault(key, []).append(e)
    return out


def intervals(events: Iterable[Event], start: Optional[int] = None, end: Optional[int] = None,
              v: Optional[int] = None, coalesce: bool = False):
    """Validity intervals (docs/spec.md §19.1): [(key, valid_from, valid_to or None, values)]
    sorted by (key, valid_from), overlapping [start, end), times unclipped."""
    out = []
    for key, evs in timeline(events, v).items():
        i = 0
        while i < len(evs):
            e = evs[i]
            if e.is_tombstone:
                i += 1
                continue
            j = i
            while coalesce and j + 1 < len(evs) and not evs[j + 1].is_tombstone and evs[j + 1].values == e.values:
                j += 1
            valid_to = evs[j + 1].event_time if j + 1 < len(evs) else None
            if (end is None or e.event_time < end) and (start is None or valid_to is None or valid_to > start):
                out.append((key, e.event_time, valid_to, e.values))
            i = j + 1
    return out


def changes(events, t1: Optional[int], t2: Optional[int], v1: Optional[int] = None, v2: Optional[int] = None):
    """Changes (docs/spec.md §19.2) as two scans compared:
    [(key, kind, old_time, new_time, old_values, new_values)] sorted by key."""
    old = {k: (t, vals) for k, t, vals in as_of(events, t1, v1)}
    new = {k: (t, vals) for k, t, vals in as_of(events, t2, v2)}
    out = []
    for k in sorted(old.keys() | new.keys()):
        o, n = old.get(k), new.get(k)
        if o is None:
            out.append((k, "insert", None, n[0], None, n[1]))
        elif n is None:
            out.append((k, "delete", o[0], None, o[1], None))
        elif o[1] != n[1]:
            out.append((k, "update", o[0], n[0], o[1], n[1]))
    return out
# ---- timeline (docs/spec.md §20) ------------------------------------------------

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

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

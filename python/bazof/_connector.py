"""What the Spark and Ray connectors share: their options, time travel by commit time,
and the wire form of splits and staged files. Nothing here imports Spark or Ray.

The connectors are thin: they read only through ``Table.plan_splits`` or
``Table.plan_interval_splits`` (on the driver) and ``Table.scan_split`` (in a
task), and write only through
``Table.stage`` (in a task), then ``Table.commit`` or ``Table.abort`` (on the
driver). Splits and staged files cross processes as bytes."""
from __future__ import annotations

import datetime as _dt
from typing import Any, Mapping, Optional, Sequence

from ._errors import InvalidInput
from ._table import Table, open_table
from ._time import to_micros


def version_at(table: Table, commit_time: Any, what: str = "timestampAsOf") -> int:
    """The version that was current at wall-clock `commit_time` (Delta's
    ``timestampAsOf``): the newest version whose commit timestamp is <= it. Commit
    time only, never event time. InvalidInput if no retained version was committed
    by then."""
    micros = to_micros(commit_time, what)
    log = table.log()
    versions = log.column("version").to_pylist()
    # Commit times are ISO-8601 text in the log (as `bazof log` prints them).
    stamps = [None if s is None else to_micros(s, "log timestamp") for s in log.column("timestamp").to_pylist()]
    best = None
    for v, ts in zip(versions, stamps):
        if ts is not None and ts <= micros and (best is None or v > best):
            best = v
    if best is None:
        first = min((ts for ts in stamps if ts is not None), default=None)
        when = "" if first is None else (
            f" (the oldest retained version was committed at "
            f"{_dt.datetime.fromtimestamp(first / 1e6, _dt.timezone.utc).isoformat()})")
        raise InvalidInput(f"{what}: table {table.uri} has no version committed at or before "
                           f"{_dt.datetime.fromtimestamp(micros / 1e6, _dt.timezone.utc).isoformat()}{when}")
    return int(best)


def parse_version(text: Any, what: str = "versionAsOf") -> int:
    """A version number given as text or int (>= 0)."""
    try:
        v = int(str(text).strip())
    except ValueError:
        raise InvalidInput(f"{what}: '{text}' is not a version number") from None
    if v < 0:
        raise InvalidInput(f"{what}: version {v} is negative")
    return v


def parse_columns(text: Any, what: str = "columns") -> Optional[list[str]]:
    """Value columns as a comma-separated string or a list; None = all."""
    if text is None:
        return None
    if isinstance(text, str):
        cols = [c.strip() for c in text.split(",") if c.strip()]
    elif isinstance(text, Sequence):
        cols = [str(c) for c in text]
    else:
        raise InvalidInput(f"{what}: expected column names, not {text!r}")
    return cols


def pin_version(table: Table, version: Optional[int], commit_time: Any) -> int:
    """The one version a distributed read reads: `version`, the one current at
    `commit_time`, or the table's current version. Pinned once on the driver so that
    every task reads the same snapshot whatever commits meanwhile."""
    if version is not None and commit_time is not None:
        raise InvalidInput("give at most one of versionAsOf and timestampAsOf")
    if commit_time is not None:
        return version_at(table, commit_time)
    if version is not None:
        return version
    return table.version


def value_columns(table_schema: pa.Schema, key_columns: Sequence[str], event_time: str,
                  wanted: Optional[Sequence[str]]) -> Optional[list[str]]:
    """The value columns among `wanted` (key and event-time columns dropped: a scan
    always returns them); None = all. InvalidInput for a name the table lacks."""
    if wanted is None:
        return None
    fixed = set(key_columns) | {event_time}
    unknown = [c for c in wanted if c not in table_schema.names]
    if unknown:
        raise InvalidInput(f"columns: the table has no column(s) {unknown} (it has {table_schema.names})")
    return [c for c in wanted if c not in fixed]


DEFAULT_TARGET_BYTES = 128 << 20
MIN_SPLIT_BYTES = 4 << 20


VIEWS = ("scan", "intervals", "changes")


def parse_view(text: Any, what: str = "view") -> str:
    """What a connector reads: "scan" (each key's state as of a time, the default),
    "intervals" (validity intervals, ``Table.intervals``) or "changes" (between two
    points, ``Table.changes``)."""
    view = "scan" if text is None else str(text).strip().lower()
    if view not in VIEWS:
        raise InvalidInput(f"{what}: '{text}' is not one of {', '.join(VIEWS)}")
    return view


def parse_bool(text: Any, what: str) -> bool:
    """A flag given as a bool or as text (true/false, 1/0, yes/no)."""
    if isinstance(text, bool):
        return text
    value = str(text).strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise InvalidInput(f"{what}: '{text}' is not true or false")


def plan(table: Table, *, view: str = "scan", target_bytes: Any = None, max_splits: Optional[int] = None,
         min_splits: Optional[int] = None, **scan: Any) -> list:
    """``table.plan_splits(**scan)`` (``plan_interval_splits`` / ``plan_change_splits``
    for the intervals / changes view)
    for an engine with `min_splits` parallel slots: when no `target_bytes` is given and
    the default (128 MiB per split) gives fewer splits than slots, the data is cut into
    about `min_splits` equal shares instead, never below 4 MiB a split (a small read
    stays whole: more tasks would cost more than they save)."""
    planner = {"intervals": table.plan_interval_splits, "changes": table.plan_change_splits}.get(
        view, table.plan_splits)
    splits = planner(**scan, target_bytes=target_bytes, max_splits=max_splits)
    if target_bytes is not None or not min_splits or len(splits) >= min_splits:
        return splits
    total = sum(int(s.estimated_bytes or 0) for s in splits)
    target = max(total // min_splits, MIN_SPLIT_BYTES)
    if target >= DEFAULT_TARGET_BYTES or total // target <= len(splits):
        return splits
    return planner(**scan, target_bytes=target, max_splits=max_splits)


def open_pinned(uri: str, storage_options: Optional[Mapping[str, str]]) -> Table:
    """The table at `uri` (each task opens it itself: tables do not cross processes)."""
    return open_table(uri, storage_options=storage_options or None)

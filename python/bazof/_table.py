"""Tables and scans: the Python face of include/bazof/ (table.h, write.h,
inspect.h, and the maintenance operations compact.h, validate.h, vacuum.h,
alter.h). Each method is one call into the C++ core."""
from __future__ import annotations

import os
import warnings
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence

import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)

from . import _arrow, _core
from ._distribute import Split, StagedFiles, staged_texts
from . import _maintenance as _m
from ._errors import InvalidInput
from ._maintenance import (ByteSizeLike, CompactResult, DurationLike, TypeLike, VacuumResult,
                           ValidationReport)
from ._time import EventTimeLike, to_micros

StorageOptions = Optional[Mapping[str, str]]


def _split_uri(uri: str | os.PathLike) -> tuple[str, str]:
    """A table's root URI -> (location, name) as the core opens tables."""
    text = os.fspath(uri)
    if not isinstance(text, str) or not text:
        raise InvalidInput(f"table URI {uri!r} is empty or not text")
    is_uri = "://" in text
    stripped = text.rstrip("/") or "/"
    location, _, name = stripped.rpartition("/")
    if not name or (is_uri and location.endswith(":/")):
        raise InvalidInput(f"table URI '{text}' does not name a table directory")
    if not location:
        location = "/" if stripped.startswith("/") else "."
    return location, name


def _options(uri: str | os.PathLike, storage_options: StorageOptions) -> dict[str, str]:
    """storage_options as the core's StorageOptions (docs/spec.md §10b): keys such as
    endpoint, region, access_key_id, secret_access_key, session_token, anonymous,
    conditional_writes, max_attempts; values as text (booleans as true/false)."""
    if not storage_options:
        return {}
    if not isinstance(storage_options, Mapping):
        raise InvalidInput(f"storage_options: expected a mapping, not {type(storage_options).__name__}")
    if "://" not in os.fspath(uri) or os.fspath(uri).startswith("file://"):
        raise InvalidInput(f"storage_options apply to object-store URIs, not the local path '{os.fspath(uri)}'")
    out = {}
    for k, v in storage_options.items():
        out[str(k)] = ("true" if v else "false") if isinstance(v, bool) else str(v)
    return out


# progress(phase, unit, done, total): see Table.compact.
ProgressLike = Callable[[str, str, int, int], Any]


def _progress(progress: Optional[ProgressLike]) -> Optional[ProgressLike]:
    if progress is not None and not callable(progress):
        raise InvalidInput(f"progress: expected a callable (phase, unit, done, total), not {progress!r}")
    return progress


class Scan:
    """The result of ``Table.scan``: each key's state as of an event time.

    Rows are sorted by key; columns are the key column(s), the event-time
    column (the winning event's time) and the value columns asked for. Nothing
    is read until the result is consumed; each consumption reads the table
    again (the files planned when the scan was made). Implements the Arrow
    PyCapsule stream interface, so pyarrow, Polars, DuckDB, DataFusion and
    pandas (through pyarrow) take it directly."""

    def __init__(self, core_scan: Any):
        self._scan = core_scan

    @property
    def schema(self) -> pa.Schema:
        """The result's Arrow schema."""
        return pa.Schema._import_from_c_capsule(self._scan.schema())

    @property
    def files(self) -> list[str]:
        """The data files this scan reads (relative to the table root)."""
        return list(self._scan.files())

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        """Arrow PyCapsule interface: a fresh ``arrow_array_stream`` capsule.
        `requested_schema` is not supported (None only): types are the
        table's."""
        if requested_schema is not None:
            wanted = pa.Schema._import_from_c_capsule(requested_schema)
            if not wanted.equals(self.schema):
                raise InvalidInput("bazof scans produce the table's types; cast the result instead")
        return self._scan.stream()

    def to_batches(self) -> pa.RecordBatchReader:
        """A streaming reader: memory is bounded by batches, not by the table."""
        return pa.RecordBatchReader._import_from_c_capsule(self._scan.stream())

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return iter(self.to_batches())

    def to_arrow(self) -> pa.Table:
        """Everything as a pyarrow Table (zero-copy from the core's batches)."""
        return self.to_batches().read_all()

    def to_pandas(self, **kwargs: Any) -> Any:
        """A pandas DataFrame (pyarrow's conversion; kwargs go to
        pyarrow.Table.to_pandas)."""
        return self.to_arrow().to_pandas(**kwargs)

    def to_polars(self) -> Any:
        """A Polars DataFrame."""
        import polars as pl

        return pl.from_arrow(self.to_arrow())

    def __repr__(self) -> str:
        return f"<bazof.Scan {len(self.files)} files, schema {self.schema.names}>"



def _memory_limit_text(memory_limit: Optional[int | str]) -> str:
    """A memory budget as the core parses it: bytes (int) or a size text; "" = none given."""
    if memory_limit is not None and (isinstance(memory_limit, bool) or not isinstance(memory_limit, (int, str))):
        raise InvalidInput(f"memory_limit: expected bytes (int) or a size text, not {type(memory_limit).__name__}")
    return "" if memory_limit is None else str(memory_limit)

class Table:
    """A bazof table: keyed rows queried as of event time (and version).

    Obtain one with :func:`open_table` or :func:`create_table`. A Table sees
    the version that was current when it was opened or last written through
    it; :meth:`refresh` picks up other writers' commits."""

    def __init__(self, core_table: Any):
        self._t = core_table

    # ---- metadata ----------------------------------------------------------

    @property
    def version(self) -> int:
        """The table's current version (as of opening or the last write)."""
        return self._t.version

    @property
    def uri(self) -> str:
        """Where the table lives, as shown in messages."""
        return self._t.location

    @property
    def schema(self) -> pa.Schema:
        """Key column(s), the event-time column, then the value columns."""
        return pa.Schema._import_from_c_capsule(self._t.schema())

    @property
    def key_columns(self) -> list[str]:
        """The primary key's columns."""
        return list(self._t.key_columns)

    @property
    def event_time_column(self) -> str:
        """The event-time column's name."""
        return self._t.event_time_column

    @property
    def properties(self) -> dict[str, str]:
        """Table properties (docs/spec.md, "Table properties")."""
        return dict(self._t.properties)

    def refresh(self) -> "Table":
        """Re-reads the current version (commits by other writers). Returns self."""
        self._t.reopen()
        return self

    def __repr__(self) -> str:
        return f"<bazof.Table {self.uri!r} version {self.version}>"

    # ---- reading -----------------------------------------------------------

    def scan(self, as_of: Optional[EventTimeLike] = None, version: Optional[int] = None,
             columns: Optional[Sequence[str]] = None, filter: Optional[_arrow.FilterLike] = None,
             *, keys: Optional[Sequence[Any]] = None, as_of_commit: Optional[EventTimeLike] = None,
             threads: int = 0, batch_size: int = 64 * 1024, require_complete: bool = False) -> Scan:
        """The state of every key as of event time `as_of` (inclusive; None =
        latest) in table version `version` (None = current).

        With a completeness watermark set, the result's schema metadata has
        ``bazof.watermark`` and ``bazof.complete`` (b"true" when `as_of` is at
        or before the watermark); `require_complete=True` raises InvalidInput
        instead of scanning past it (or when no watermark is set). As of a
        time before the table's history horizon: InvalidInput.

        `as_of`: datetime (naive = UTC), date (midnight UTC), pandas.Timestamp,
        numpy.datetime64, or ISO-8601 text ("2019-01-17", "...T10:00:00Z",
        "+02:00" offsets). `columns`: value columns to return (keys and event
        time always come first). `filter`: a pyarrow.compute.Expression or
        (column, op, value) tuples; it applies to each key's winning row, and
        comparisons of the key column (==, in, <, <=, >, >=) also restrict
        which keys and row groups are read. `keys`: only these keys (a list of
        key values: a value for a one-column key, a tuple in key-column order
        or a dict {column: value} for a composite key); files and row groups
        that cannot hold them are not read. `as_of_commit`: commit-time travel
        instead of `version`: the version :meth:`version_at` gives for that
        wall-clock time. `threads`: merge threads (0 = cores)."""
        if as_of_commit is not None:
            if version is not None:
                raise InvalidInput("scan: give version or as_of_commit, not both")
            version = self.version_at(as_of_commit)
        as_of_us = None if as_of is None else to_micros(as_of, "as_of")
        blob = None if filter is None else _arrow.serialize(_arrow.to_expression(filter))
        if isinstance(columns, str):
            raise InvalidInput("columns: expected a list of column names, not a string")
        cols = None if columns is None else [str(c) for c in columns]
        if keys is None:
            key_list = []
        elif isinstance(keys, (str, bytes, tuple, Mapping)) or not hasattr(keys, "__iter__"):
            raise InvalidInput("keys: expected a list of keys (e.g. ['AAPL'] or [('AAPL', 'XNAS')])")
        else:
            key_list = [self._key_pairs(k, "keys") for k in keys]
            if not key_list:
                raise InvalidInput("keys: the list is empty (None = all keys)")
        return Scan(self._t.scan(as_of_us, version, cols, key_list, None, None, blob, threads, batch_size,
                                 bool(require_complete)))

    def join_asof(self, spine: Any, on: str = "ts", by: Optional[Sequence[str] | str] = None,
                  columns: Optional[Sequence[str]] = None, version: Optional[int] = None,
                  *, threads: int = 0, batch_size: int = 64 * 1024) -> Scan:
        """The as-of (point-in-time) join: for every row of `spine`, in spine
        order, the spine's columns followed by this table's event-time column
        (the matched event's time) and value columns, as of that row's time.

        `spine`: a pyarrow Table/RecordBatch/RecordBatchReader, a pandas or
        Polars DataFrame, or any object with ``__arrow_c_stream__`` (read whole
        into memory). `on`: the spine's time column (timestamp of any unit or
        zone, or date = midnight UTC). `by`: the spine's key column(s), in the
        table's key order (None = the table's key column names). `columns`:
        value columns to return (None = all). `version`: "as known at version
        V" (None = current). The match is the last event at or before the
        row's time, ties resolved as scans resolve them; no such event, a
        tombstone, or a null key or time gives nulls. A table column whose
        name the spine already uses gets the suffix ``_right``. Returns a Scan
        (to_arrow(), to_pandas(), to_polars(), __arrow_c_stream__); each
        consumption runs the join again."""
        if isinstance(by, str):
            by = [by]
        if isinstance(columns, str):
            raise InvalidInput("columns: expected a list of column names, not a string")
        module = type(spine).__module__.split(".")[0]
        if module == "pandas" and type(spine).__name__ == "DataFrame":
            spine = pa.Table.from_pandas(spine, preserve_index=False)
        elif not (isinstance(spine, (pa.Table, pa.RecordBatch, pa.RecordBatchReader, dict))
                  or hasattr(spine, "__arrow_c_stream__") or hasattr(spine, "__arrow_c_array__")):
            raise InvalidInput(f"join_asof: cannot read {type(spine).__name__} as Arrow data (expected a "
                               "pyarrow Table/RecordBatch/RecordBatchReader, a pandas or Polars DataFrame, "
                               "or an object with __arrow_c_stream__)")
        stream = _arrow.to_stream(spine, self.schema).__arrow_c_stream__()
        cols = None if columns is None else [str(c) for c in columns]
        return Scan(self._t.join_asof(stream, str(on), [] if by is None else [str(b) for b in by], cols, version,
                                      threads, batch_size))

    def plan_splits(self, as_of: Optional[EventTimeLike] = None, version: Optional[int] = None,
                    columns: Optional[Sequence[str]] = None, filter: Optional[_arrow.FilterLike] = None,
                    target_bytes: Optional[ByteSizeLike] = None, max_splits: Optional[int] = None, *,
                    events: bool = False) -> list[Split]:
        """The scan ``scan(as_of, version, columns, filter)`` would make, cut
        into key ranges for other processes to read with :meth:`scan_split`.

        The version is pinned now (the current one if None), so every split
        reads the same snapshot however the table moves on. Splits are in key
        order, disjoint and together cover every key: the union of their
        results is the scan's result. Cut points come from the files' key
        statistics (row groups, files) so that each split reads about
        `target_bytes` ("128MiB" or bytes; default 128 MiB), or, with only
        `max_splits`, about an equal share; never more than `max_splits`
        splits. `events=True`: splits of the all-events stream (every event
        up to `as_of`, each (key, event time) once, tombstones included, with
        ``_bazof_deleted`` and ``_bazof_version`` columns) instead of the
        as-of state. Reads metadata and Parquet footers only."""
        as_of_us = None if as_of is None else to_micros(as_of, "as_of")
        blob = None if filter is None else _arrow.serialize(_arrow.to_expression(filter))
        if isinstance(columns, str):
            raise InvalidInput("columns: expected a list of column names, not a string")
        cols = None if columns is None else [str(c) for c in columns]
        if version is not None:
            version = _m.count(version, "version", 0)
        size = None if target_bytes is None else _m.byte_size(target_bytes, "target_bytes")
        count = None if max_splits is None else _m.count(max_splits, "max_splits", 1)
        texts = self._t.plan_splits(as_of_us, version, cols, blob, size, count, bool(events))
        return [Split(t) for t in texts]

    def plan_interval_splits(self, start: Optional[EventTimeLike] = None, end: Optional[EventTimeLike] = None,
                             version: Optional[int] = None, columns: Optional[Sequence[str]] = None,
                             filter: Optional[_arrow.FilterLike] = None, *, coalesce: bool = False,
                             target_bytes: Optional[ByteSizeLike] = None,
                             max_splits: Optional[int] = None) -> list[Split]:
        """The validity intervals ``intervals(start, end, version, columns,
        filter, coalesce=...)`` would return, cut into key ranges for other
        processes to read with :meth:`scan_split` (docs/spec.md "Scan splits",
        kind ``intervals``). A key's intervals depend on its events only, so
        the splits' results, concatenated in split order, are the intervals.
        Cut as :meth:`plan_splits` cuts ``events=True`` scans; the version is
        pinned now. Reads metadata and Parquet footers only."""
        start_us, end_us, cols, blob = self._interval_args(start, end, columns, filter)
        if version is not None:
            version = _m.count(version, "version", 0)
        size = None if target_bytes is None else _m.byte_size(target_bytes, "target_bytes")
        count = None if max_splits is None else _m.count(max_splits, "max_splits", 1)
        texts = self._t.plan_interval_splits(start_us, end_us, version, cols, blob, bool(coalesce), size, count)
        return [Split(t) for t in texts]

    def scan_split(self, split: Split | bytes | str, *, threads: int = 0, batch_size: int = 64 * 1024) -> Scan:
        """Reads one split of :meth:`plan_splits`, :meth:`plan_interval_splits`
        or :meth:`plan_change_splits` (planned in any process, on the same
        table): a Scan like :meth:`scan` (:meth:`intervals`, :meth:`changes`)
        returns, restricted to the split's key range, at the split's pinned
        version(s) (NotFound if vacuum removed one)."""
        if not isinstance(split, Split):
            split = Split.from_bytes(split)
        return Scan(self._t.scan_split(split.to_json(), _m.count(threads, "threads", 0),
                                       _m.count(batch_size, "batch_size", 1)))

    def to_pyarrow_dataset(self, as_of: Optional[EventTimeLike] = None, version: Optional[int] = None) -> Any:
        """A pyarrow Dataset of this table as of `as_of` / `version`: DuckDB and
        DataFusion query it with projection and filter pushdown into bazof."""
        from ._engines import BazofDataset

        return BazofDataset(self, as_of=as_of, version=version)

    def history(self, key: Any, version: Optional[int] = None) -> pa.Table:
        """Every event of one key, in event-time order (ties: commit order),
        committed in versions <= `version` (None = current). Columns: key
        column(s), event time, ``version`` (the committing version),
        ``deleted``, then the value columns. `key`: a value for a one-column
        key, or a dict {column: value}."""
        pairs = self._key_pairs(key, "key")
        return pa.RecordBatchReader._import_from_c_capsule(self._t.history(pairs, version)).read_all()

    def intervals(self, start: Optional[EventTimeLike] = None, end: Optional[EventTimeLike] = None,
                  version: Optional[int] = None, columns: Optional[Sequence[str]] = None,
                  filter: Optional[_arrow.FilterLike] = None, *, coalesce: bool = False,
                  threads: int = 0, batch_size: int = 64 * 1024) -> Scan:
        """Validity intervals (SCD type 2, docs/spec.md "Validity intervals"): one row
        per key and event, columns key(s), ``valid_from`` (the event's time),
        ``valid_to`` (the key's next event time, tombstones included; null while
        current), then the value columns. Tombstones have no row. Only intervals
        overlapping [start, end) are returned, with their times unclipped.
        `coalesce`: merge consecutive events with equal returned values into one
        interval. `filter` may name keys, valid_from, valid_to and any value column.
        Returns a Scan (stream it, to_arrow, to_pandas, to_polars)."""
        start_us, end_us, cols, blob = self._interval_args(start, end, columns, filter)
        return Scan(self._t.intervals(start_us, end_us, version, cols, blob, bool(coalesce), threads, batch_size))

    @staticmethod
    def _interval_args(start: Optional[EventTimeLike], end: Optional[EventTimeLike],
                       columns: Optional[Sequence[str]], filter: Optional[_arrow.FilterLike]) -> tuple:
        start_us = None if start is None else to_micros(start, "start")
        end_us = None if end is None else to_micros(end, "end")
        blob = None if filter is None else _arrow.serialize(_arrow.to_expression(filter))
        if isinstance(columns, str):
            raise InvalidInput("columns: expected a list of column names, not a string")
        cols = None if columns is None else [str(c) for c in columns]
        return start_us, end_us, cols, blob

    def changes(self, t1: Optional[EventTimeLike] = None, t2: Optional[EventTimeLike] = None, *,
                at: Optional[EventTimeLike] = None, from_version: Optional[int] = None,
                to_version: Optional[int] = None, version: Optional[int] = None,
                columns: Optional[Sequence[str]] = None, threads: int = 0,
                batch_size: int = 64 * 1024, memory_limit: Optional[int | str] = None) -> Scan:
        """The keys whose state differs between scan(t1, from_version) and
        scan(t2, to_version) (docs/spec.md "Changes"): ``changes(t1, t2)`` at one
        version, or ``changes(at=T, from_version=V1, to_version=V2)``. None = latest
        time / current version; `at` sets both times, `version` both versions.
        Columns: key(s), ``kind`` ("insert", "update", "delete"), ``old_``/``new_``
        event time, then ``old_<c>``, ``new_<c>`` per value column. A new event
        with equal values is no change. `memory_limit`: the memory budget, as
        ``append`` takes it (``bazof diff --memory-limit``). Returns a Scan."""
        t1_us, t2_us, from_version, to_version, cols = self._change_args(t1, t2, at, from_version, to_version,
                                                                         version, columns)
        return Scan(self._t.changes(t1_us, t2_us, from_version, to_version, cols, threads, batch_size,
                                    _memory_limit_text(memory_limit)))

    def plan_change_splits(self, t1: Optional[EventTimeLike] = None, t2: Optional[EventTimeLike] = None, *,
                           at: Optional[EventTimeLike] = None, from_version: Optional[int] = None,
                           to_version: Optional[int] = None, version: Optional[int] = None,
                           columns: Optional[Sequence[str]] = None, target_bytes: Optional[ByteSizeLike] = None,
                           max_splits: Optional[int] = None) -> list[Split]:
        """The changes :meth:`changes` would return for the same points, cut into
        key ranges for other processes to read with :meth:`scan_split`
        (docs/spec.md "Scan splits", kind ``changes``); both versions are pinned
        now. A key's change depends on its own events only, so the splits'
        results, concatenated in split order, are the changes. Cut as the new
        point's as-of scan; reads metadata and Parquet footers only."""
        t1_us, t2_us, from_version, to_version, cols = self._change_args(t1, t2, at, from_version, to_version,
                                                                         version, columns)
        size = None if target_bytes is None else _m.byte_size(target_bytes, "target_bytes")
        count = None if max_splits is None else _m.count(max_splits, "max_splits", 1)
        texts = self._t.plan_change_splits(t1_us, t2_us, from_version, to_version, cols, size, count)
        return [Split(t) for t in texts]

    @staticmethod
    def _change_args(t1: Optional[EventTimeLike], t2: Optional[EventTimeLike], at: Optional[EventTimeLike],
                     from_version: Optional[int], to_version: Optional[int], version: Optional[int],
                     columns: Optional[Sequence[str]]) -> tuple:
        if at is not None and (t1 is not None or t2 is not None):
            raise InvalidInput("changes: give `at` or t1/t2, not both")
        if version is not None and (from_version is not None or to_version is not None):
            raise InvalidInput("changes: give `version` or from_version/to_version, not both")
        if at is not None:
            t1 = t2 = at
        if version is not None:
            from_version = to_version = version
        t1_us = None if t1 is None else to_micros(t1, "t1")
        t2_us = None if t2 is None else to_micros(t2, "t2")
        if isinstance(columns, str):
            raise InvalidInput("columns: expected a list of column names, not a string")
        cols = None if columns is None else [str(c) for c in columns]
        return t1_us, t2_us, from_version, to_version, cols

    def restore(self, version: int) -> int:
        """Commits a new version whose data, schema and properties are those
        of `version` (``bazof restore``, as Delta's RESTORE): every scan of
        the new version equals the same scan at `version`; the watermark is
        kept. Returns the new version. Raises InvalidInput for a version
        beyond the current one or before a forget, TableNotFound-like errors
        for a vacuumed one, CommitConflict if another writer won."""
        version = _m.count(version, "version", 0)
        return self._t.restore(version)["version"]

    def log(self) -> pa.Table:
        """One row per retained version: version, timestamp (the commit's wall
        clock, timestamp[us, tz=UTC]; null for legacy snapshots), operation,
        rows_added, files_added, files_removed, description (as ``bazof log``
        prints)."""
        t = pa.RecordBatchReader._import_from_c_capsule(self._t.log()).read_all()
        i = t.schema.get_field_index("timestamp")
        typed = pa.compute.cast(t.column(i), pa.timestamp("us", tz="UTC"))
        return t.set_column(i, pa.field("timestamp", typed.type), typed)

    def version_at(self, commit_time: EventTimeLike) -> int:
        """The latest retained version committed at or before `commit_time`
        (a wall-clock time: datetime, naive = UTC, date, pandas.Timestamp or
        ISO-8601 text), as deltalake's ``load_as_version(datetime)``. Raises
        NotFound when `commit_time` precedes the first retained commit and
        InvalidInput for a legacy table (no commit times)."""
        return self._t.version_at(to_micros(commit_time, "commit_time"))

    # ---- writing -----------------------------------------------------------

    def append(self, data: Any, *, watermark: Optional[EventTimeLike] = None,
               memory_limit: Optional[int | str] = None, spill_dir: Optional[str | os.PathLike] = None) -> int:
        """Appends every row of `data` as one commit and returns the new version
        (the current one if `data` has no rows: nothing is committed, unless
        `watermark` is given: the commit also advances the completeness
        watermark to it; InvalidInput if it is before the current one).

        `data`: a pyarrow Table/RecordBatch/RecordBatchReader, a pandas or
        Polars DataFrame, or any object with ``__arrow_c_stream__``. Columns
        match by name: the key and event-time columns are required, missing
        value columns are null, a boolean ``_deleted`` column marks tombstones.
        Types convert to the table's where no information is lost (any string
        flavour, wider integers, timestamps of any unit or zone).

        `memory_limit`: the append's memory budget, bytes (int) or a size
        text ("512MiB", "2GiB", "1GB"), at least 32 MiB; None = the table
        property memory.limit, else 512 MiB. Data larger than about a quarter of it is
        sorted in runs spilled to `spill_dir` (None = $TMPDIR, else /tmp) and
        merged, with the same result (``bazof append --memory-limit``)."""
        limit = _memory_limit_text(memory_limit)
        stream = _arrow.to_stream(data, self.schema).__arrow_c_stream__()
        wm = None if watermark is None else to_micros(watermark, "watermark")
        committed, version, _rows, _files = self._t.append(stream, "append", "input", wm, limit,
                                                           "" if spill_dir is None else os.fspath(spill_dir))
        return version if committed else self.version

    def forget(self, keys: Any) -> dict[str, Any]:
        """Erases `keys` (``bazof forget``; a key or a list of them, each
        spelt as :meth:`put` takes it: a value, or for a composite key a
        tuple in key-column order or a dict {column: value}): every file of
        the current version holding their events is rewritten without them,
        as one commit F. Versions before F still return the keys until the
        next :meth:`vacuum`, which expires
        them all whatever its arguments and deletes the old files; from then
        on no retained version holds the keys, and every other key reads as
        before. The keys are not recorded in the table's metadata. Returns
        {committed, version (F or None), events_removed, files_rewritten,
        files_dropped, files_added, files_removed}."""
        composite = len(self.key_columns) > 1
        if (isinstance(keys, (str, bytes, int)) or not hasattr(keys, "__iter__")
                or isinstance(keys, Mapping) or (composite and isinstance(keys, tuple))):
            keys = [keys]
        pairs = [self._key_pairs(k, "forget") for k in keys]
        if not pairs:
            raise InvalidInput("forget: no key given")
        return self._t.forget(pairs)

    def set_watermark(self, t: EventTimeLike) -> int:
        """Advances the completeness watermark to event time `t` as one commit
        (``bazof watermark set``) and returns the new version. Scans as of
        `t` or earlier are then complete; events at or before it that arrive
        later are accepted and counted as late (:meth:`timeline`).
        InvalidInput if `t` is before the current watermark."""
        return self._t.set_watermark(to_micros(t, "watermark"))

    @property
    def watermark(self) -> Optional[pa.TimestampScalar]:
        """The current completeness watermark (UTC), or None."""
        us = self._t.timeline()["watermark"]
        return None if us is None else pa.scalar(us, pa.timestamp("us", tz="UTC"))

    def timeline(self) -> dict[str, Any]:
        """The current version's watermark and history horizon (microseconds
        since the epoch, or None) and lateness profile of the events that
        arrived behind the watermark: ``late_events`` = {count,
        max_lateness_us, p50/p90/p99_lateness_us (bucket upper bounds),
        buckets: [{le_us, count}, ...]} (as ``bazof info`` shows it)."""
        return self._t.timeline()

    def stage(self, data: Any, task: int = 0, *, sequence: int = 0) -> StagedFiles:
        """Writes the rows of `data` (anything :meth:`append` takes, with the
        same checks and ``_deleted`` tombstones) as sorted data files under
        the table, without committing them: nothing is visible until
        :meth:`commit`. Any process may stage; ship the result (picklable, or
        ``to_bytes()``) to the committer.

        `task` (and `sequence` within a task) order staged files at commit: on
        equal (key, event time), the row of the higher (task, sequence) wins;
        within one stage() call the later row wins. No rows: a StagedFiles
        with no files."""
        stream = _arrow.to_stream(data, self.schema).__arrow_c_stream__()
        task = _m.count(task, "task", 0)
        sequence = _m.count(sequence, "sequence", 0)
        return StagedFiles(self._t.stage(stream, task, sequence))

    def commit(self, staged: Any, operation: str = "append") -> Optional[int]:
        """Publishes the files of every StagedFiles in `staged` (from any
        number of processes) as ONE new version and returns it; None when
        they hold no rows (nothing is committed). Another writer's commit in
        between is rebased over. Raises CommitConflict if the table's schema
        changed since staging (stage again), InvalidInput if a staged file is
        missing, altered or outside the table's data/."""
        if not isinstance(operation, str) or not operation:
            raise InvalidInput("operation: expected a non-empty string")
        committed, version, _rows, _files = self._t.commit_staged(staged_texts(staged), operation)
        return version if committed else None

    def abort(self, staged: Any) -> None:
        """Deletes the files of uncommitted StagedFiles (idempotent). Files of
        a process that died are removed by :meth:`vacuum` after its grace
        period."""
        self._t.abort_staged(staged_texts(staged))

    def put(self, key: Any, event_time: EventTimeLike, /, *, partial: bool = False, **values: Any) -> int:
        """Sets `key`'s values from `event_time` on (one commit). Give every
        value column (None = null); with `partial=True`, the value columns not
        given keep the key's values as of `event_time` (at the latest version;
        null where the key has no state there or is deleted). A put with no
        value is refused (InvalidInput). Returns the new version. `key`: a
        value for a one-column key; a tuple (in key-column order) or a dict
        {column: value} for a composite key. `key` and `event_time` are
        positional only, so a value column may be called ``key`` or
        ``event_time``."""
        return self._put(key, event_time, values, deleted=False, partial=partial)

    def delete(self, key: Any = None, event_time: Optional[EventTimeLike] = None, *,
               filter: Optional[_arrow.FilterLike] = None, strict: bool = False,
               dry_run: bool = False) -> Any:
        """Deletes `key` from `event_time` on (a tombstone; one commit).
        Returns the new version. A key with no event at any time (a typo?) is
        deleted with a UserWarning (``warnings.warn``), or refused with
        InvalidInput if `strict`.

        With `filter` instead of a key (a pyarrow.compute.Expression or what
        :meth:`scan` takes): a predicate delete (``bazof delete --where``),
        one commit of a tombstone at `event_time` for every key whose state as
        of `event_time` matches; `dry_run` only lists them. Returns a
        DeleteWhereResult (``keys`` is the count, ``matched`` the keys)."""
        if event_time is None:
            raise InvalidInput("delete: event_time is required")
        if filter is not None:
            if key is not None:
                raise InvalidInput("delete: give a key or a filter, not both")
            blob = _arrow.serialize(_arrow.to_expression(filter))
            d = self._t.delete_where(to_micros(event_time, "event_time"), blob, bool(dry_run))
            return _m.DeleteWhereResult(**d)
        if key is None:
            raise InvalidInput("delete: give a key (or a filter)")
        if dry_run:
            raise InvalidInput("delete: dry_run needs a filter")
        return self._put(key, event_time, {}, deleted=True, strict=strict)

    def _put(self, key: Any, event_time: EventTimeLike, values: Mapping[str, Any], deleted: bool,
             partial: bool = False, strict: bool = False) -> int:
        what = "delete" if deleted else "put"
        schema = self.schema
        keys = self.key_columns
        key_values = self._key_values(key, what)
        micros = to_micros(event_time, "event_time")
        fields = [schema.field(k) for k in keys]
        row = list(key_values)
        # In the column's unit, finer parts floored (as the CLI's put does).
        et_type = schema.field(self.event_time_column).type
        unit = et_type.unit if pa.types.is_timestamp(et_type) else "us"
        fields.append(pa.field(self.event_time_column, pa.timestamp(unit, tz="UTC")))
        row.append({"s": micros // 1_000_000, "ms": micros // 1000, "us": micros, "ns": micros * 1000}[unit])
        value_names = set(schema.names[len(keys) + 1:])
        for name, value in values.items():
            if name not in value_names:
                raise InvalidInput(f"{what}: the table has no value column '{name}'")
            fields.append(schema.field(name))
            row.append(value)
        if not deleted:
            self._t.check_put(list(values), bool(partial), what)
        fields.append(pa.field("_deleted", pa.bool_()))
        row.append(deleted)
        batch = _arrow.one_row(fields, row, what)
        stream = pa.Table.from_batches([batch]).__arrow_c_stream__()
        if partial and not deleted:
            stream = self._t.carry_forward(stream)
        unknown_key = deleted and not self._t.key_has_events(pa.Table.from_batches([batch]).__arrow_c_stream__())
        if unknown_key:
            text = ",".join(str(v) for v in key_values)
            if strict:
                raise InvalidInput(f"delete of key '{text}': the key has no event at any time; "
                                   "nothing committed (strict)")
            warnings.warn(self._t.unknown_key_warning(text), UserWarning, stacklevel=3)
        _committed, version, _rows, _files = self._t.append(stream, what, what)
        return version

    # ---- maintenance (bazof compact / validate / vacuum) -------------------

    def compact(self, segment_duration: Optional[DurationLike] = None,
                target_file_size: Optional[ByteSizeLike] = None, *, dry_run: bool = False,
                threads: int = 0, horizon: Optional[EventTimeLike] = None, force: bool = False,
                min_segment_rows: Optional[int] = None, progress: Optional[ProgressLike] = None,
                memory_limit: Optional[int | str] = None,
                spill_dir: Optional[str | os.PathLike] = None) -> CompactResult:
        """Compacts the table's latest version (``bazof compact``): rewrites its
        deltas into files per segment of event time and builds a base for each,
        as one new version. No scan result changes, at any version or event
        time; scans then read fewer, larger files. Old files stay for older
        versions until :meth:`vacuum`. Refreshes this Table first and after.

        `segment_duration`: "30d", a timedelta, or "auto" (segments of about as
        many events as the table has keys); None = the table's
        compaction.segment_duration. `target_file_size`: "128MiB" or bytes;
        None = compaction.target_file_size. `dry_run`: report what would be
        merged, write nothing. `threads`: merge threads (0 = cores).
        `horizon`: history horizon (``--horizon``): events at or before it are
        collapsed into each key's state there; scans as of it or later are
        unchanged, earlier ones are refused from the new version on. None =
        the table's retention.event_time property (none by default).
        `min_segment_rows`: fewest events of an auto-layout segment (None =
        compaction.min_segment_rows, 100000); a smaller table is one segment.
        A table already compacted with nothing written since is left alone
        (``nothing_to_compact`` is True, no version is committed) unless
        `force`. `progress`: a callable, called as progress(phase, unit, done,
        total) at each phase's start (done 0), at most every 100 ms while it
        runs, and at its end (done == total): phase "plan" (events read to lay
        out auto segments; also in a dry run), then "merge", in unit "events",
        then "write" (rows of the new files encoded), in unit "rows"
        (include/bazof/progress.h). It runs on the compacting thread with the
        GIL held; an exception it raises is reported and ignored.
        `memory_limit`: the budget, bytes or a size text ("2GiB"); None = the
        table property memory.limit, else 512 MiB (``--memory-limit``).
        `spill_dir`: local directory where the merge spills each segment's
        rows until its files are written (None = $TMPDIR, else /tmp;
        ``--spill-dir``).

        Returns a CompactResult whose ``version`` is the new version (None if
        nothing was committed). Raises InvalidInput for bad arguments or a
        legacy table, CommitConflict if another writer committed meanwhile."""
        if segment_duration is None:
            duration_us = None
        elif segment_duration == "auto":
            duration_us = 0
        else:
            duration_us = _m.duration_micros(segment_duration, "segment_duration")
        size = None if target_file_size is None else _m.byte_size(target_file_size, "target_file_size")
        threads = _m.count(threads, "threads", 0)
        hz = None if horizon is None else to_micros(horizon, "horizon")
        rows = None if min_segment_rows is None else _m.count(min_segment_rows, "min_segment_rows", 1)
        return _m.compact_result(self._t.compact(duration_us, size, bool(dry_run), threads, hz, bool(force), rows,
                                                 _progress(progress), _memory_limit_text(memory_limit),
                                                 "" if spill_dir is None else os.fspath(spill_dir)))

    def validate(self, version: Optional[int] = None, *, deep: bool = False,
                 check: bool = False) -> ValidationReport:
        """Checks the table against the format (``bazof validate``): the version
        pointer, every retained snapshot (or only `version`), every file they
        name (exists, size, rows, schema, statistics), the segment layout and
        the commit records. `deep`: also read every row (counts, event-time and
        key ranges, sort order, one row per key in bases) and decode every page,
        verifying its checksum; files written without page checksums are listed
        in ``report.unverifiable`` (``report.verified`` is then False). Reads only.

        Returns a ValidationReport listing every problem (``report.problems``;
        ``bool(report)`` is True when there are none). `check=True` raises
        CorruptTable instead when there is any, with the CLI's message. Raises
        NotFound if `version` does not exist or was vacuumed."""
        if version is not None:
            version = _m.count(version, "version", 0)
        report = _m.validation_report(self._t.validate(version, bool(deep)))
        if check:
            report.raise_if_invalid()
        return report

    def vacuum(self, retain_versions: Optional[int] = None, older_than: Optional[DurationLike] = None, *,
               grace: DurationLike = "1h", dry_run: bool = False,
               progress: Optional[ProgressLike] = None) -> VacuumResult:
        """Expires old versions and deletes the files no retained version needs
        (``bazof vacuum``): data files only expired versions reference, and
        orphans (files no snapshot references) older than `grace`.

        `retain_versions`: keep the newest N versions (N >= 1). `older_than`:
        expire versions committed longer ago ("30d" or a timedelta). A version
        either rule keeps is kept; with neither, every version is kept and only
        unreferenced files go. The latest version is always kept. `grace`:
        never delete a file or expire a snapshot younger than this, so writes
        in flight are safe; ``"0s"`` (or 0) deletes every orphan now, which is
        safe only when no writer is running. `dry_run`: report, delete nothing.
        `progress`: called as progress(phase, unit, done, total) now and then
        (phases "read snapshots", then "delete"; see :meth:`compact`).

        A vacuumed version can no longer be scanned (NotFound: "... was
        vacuumed (oldest retained version: M)"). Refreshes this Table first."""
        retain = None if retain_versions is None else _m.count(retain_versions, "retain_versions", 1)
        older = None if older_than is None else _m.duration_micros(older_than, "older_than")
        grace_us = _m.duration_micros(grace, "grace", allow_zero=True)
        return _m.vacuum_result(self._t.vacuum(retain, older, grace_us, bool(dry_run), _progress(progress)))

    # ---- schema evolution and properties (bazof alter) ----------------------
    # One change, one commit; data files are never rewritten. Each returns the
    # new version (the current one if nothing changed) and raises InvalidInput
    # naming the column or property when the change is refused.

    def add_column(self, name: str, type: TypeLike, *, nullable: bool = True) -> int:
        """Adds a value column at the end (``bazof alter add-column``). Rows
        written before read it as null, so it must be nullable. `type`: a
        pyarrow.DataType of a format type or its name ("int32",
        "decimal(10,2)", "timestamp[ms]")."""
        return self._alter("add_column", _m.name(name, "add_column"), "",
                           _m.type_capsule(type, "add_column"), bool(nullable))

    def drop_column(self, name: str) -> int:
        """Removes a value column (``bazof alter drop-column``); key and
        event-time columns cannot be dropped. Scans of older versions still
        show it."""
        return self._alter("drop_column", _m.name(name, "drop_column"))

    def rename_column(self, old: str, new: str) -> int:
        """Renames a value column, keeping its id (``bazof alter
        rename-column``); key and event-time columns cannot be renamed."""
        return self._alter("rename_column", _m.name(old, "rename_column"), _m.name(new, "rename_column"))

    def widen_column(self, name: str, type: TypeLike) -> int:
        """Changes a value column to a type that holds every old value exactly
        (``bazof alter widen-column``): a wider integer, float32 to float64,
        small integers to floats, a decimal with as many or more integer and
        fraction digits. Older files are converted on read."""
        return self._alter("widen_column", _m.name(name, "widen_column"), "",
                           _m.type_capsule(type, "widen_column"))

    def set_property(self, name: str, value: str | int | float | bool) -> int:
        """Sets a table property (``bazof alter set-property``), e.g.
        ``set_property("compaction.segment_duration", "7d")``. Known
        properties' values are checked; bools are stored as true/false.
        Setting the value it already has commits nothing."""
        return self._alter("set_property", _m.name(name, "set_property"),
                           _m.property_value(value, "set_property"))

    def unset_property(self, name: str) -> int:
        """Removes a table property (``bazof alter unset-property``); a known
        property reverts to its default. An absent property commits nothing."""
        return self._alter("unset_property", _m.name(name, "unset_property"))

    def _alter(self, op: str, a: str, b: str = "", type_capsule: Any = None, nullable: bool = True) -> int:
        committed, version, _rows, _files = self._t.alter(op, a, b, type_capsule, nullable)
        return version if committed else self.version

    def _key_values(self, key: Any, what: str) -> list[Any]:
        keys = self.key_columns
        if isinstance(key, Mapping):
            unknown = set(key) - set(keys)
            if unknown:
                raise InvalidInput(f"{what}: {sorted(unknown)} are not key columns (the key is {keys})")
            missing = [k for k in keys if k not in key]
            if missing:
                raise InvalidInput(f"{what}: key column(s) {missing} not given (the key is {keys})")
            return [key[k] for k in keys]
        if isinstance(key, tuple):
            if len(key) != len(keys):
                raise InvalidInput(f"{what}: the key has {len(keys)} column(s) {keys}, the tuple {key!r} "
                                   f"has {len(key)} value(s)")
            return list(key)
        if len(keys) != 1:
            raise InvalidInput(f"{what}: the key has columns {keys}; give a tuple in that order or a dict "
                               f"{{column: value}}")
        return [key]

    def _key_pairs(self, key: Any, what: str) -> list[tuple[str, str]]:
        schema = self.schema
        values = self._key_values(key, what)
        return [(k, _arrow.key_text(v, schema.field(k).type, what)) for k, v in zip(self.key_columns, values)]


def open_table(uri: str | os.PathLike, storage_options: StorageOptions = None) -> Table:
    """Opens the table whose root directory is `uri`: a local path or an
    object-store URI such as ``s3://bucket/prefix/table``. Raises
    TableNotFound if there is no table there."""
    location, name = _split_uri(uri)
    return Table(_core.Table.open(location, name, _options(uri, storage_options)))


def create_table(uri: str | os.PathLike, schema: Any, key: Sequence[str] | str = ("key",),
                 event_time: str = "event_time", storage_options: StorageOptions = None,
                 properties: Mapping[str, str] | None = None) -> Table:
    """Creates an empty table (version 0) at `uri` and returns it.

    `schema`: a pyarrow.Schema of the columns, or data whose schema to take
    (a pyarrow Table/RecordBatch, a pandas or Polars DataFrame, ...; its rows
    are not written: see :func:`bazof.write_table`). The key column(s) and the
    event-time column may be in it (keys: string, binary, bool, integers,
    date or timestamp; event time: a timestamp) or are added (keys as string,
    the event time as timestamp[ms, UTC]). Value types: string, binary, bool,
    integers, float32/64, date32, timestamp (stored as UTC), decimal128.
    `properties`: table properties of version 0 (docs/spec.md §4a), e.g.
    ``{"write.row_group_rows": "4096"}``; checked as ``alter`` checks them
    (InvalidInput names a bad one; nothing is created).
    Raises TableExists if a table is already there."""
    if not isinstance(schema, pa.Schema):
        from ._write_table import schema_of

        schema = schema_of(schema)
    keys = [key] if isinstance(key, str) else [str(k) for k in key]
    location, name = _split_uri(uri)
    props = {str(k): str(v) for k, v in (properties or {}).items()}
    return Table(_core.Table.create(location, name, schema.__arrow_c_schema__(), keys, event_time,
                                    _options(uri, storage_options), props))

"""bazof tables in Ray Data.

    import bazof.ray
    ds = bazof.ray.read_bazof("/data/lake/prices", as_of="2024-01-02T23:59:59Z")
    bazof.ray.write_bazof(ds, "/data/lake/prices_copy")        # one new version

Reading: :class:`BazofDatasource` plans the scan on the driver with
``Table.plan_splits`` (pinned to one version) and makes one read task per split;
each task reads its split with ``Table.scan_split``. Ray's own column selection
(``ds.select_columns``) is pushed into the scan. :func:`read_bazof_intervals` reads
validity intervals (SCD type 2, ``Table.intervals``) the same way, from
``Table.plan_interval_splits``:

    ds = bazof.ray.read_bazof_intervals("/data/lake/prices", start="2024-01-01")

and :func:`read_bazof_changes` the changes between two points, from
``Table.plan_change_splits``.

Writing: :class:`BazofDatasink` stages each write task's rows with ``Table.stage``
and, on the driver, commits every task's files as one version
(``on_write_complete``) or removes them (``on_write_failed``; the files staged by
tasks that had finished are tracked by a small actor that needs no CPU). A boolean
``_deleted`` column marks tombstones.
"""
from __future__ import annotations

from typing import Any, Iterable, List, Mapping, Optional, Sequence

import pyarrow as pa
import ray
from ray.data import Dataset, read_datasource
from ray.data.block import BlockMetadata
from ray.data.datasource import Datasink, Datasource, ReadTask

from ._connector import parse_version, parse_view, pin_version, plan, value_columns
from ._errors import InvalidInput
from ._table import Table, open_table
from ._time import EventTimeLike

__all__ = ["BazofDatasink", "BazofDatasource", "read_bazof", "read_bazof_changes", "read_bazof_intervals",
           "write_bazof"]


class BazofDatasource(Datasource):
    """A bazof scan (or, with ``view="intervals"``, validity intervals over the
    window [start, end); with ``view="changes"``, the changes between the points
    `changes` gives as ``Table.changes`` takes them) as a Ray Data source: one read
    task per split."""

    def __init__(self, uri: str, as_of: Optional[EventTimeLike] = None, version: Optional[int] = None,
                 columns: Optional[Sequence[str]] = None, filter: Any = None,
                 storage_options: Optional[Mapping[str, str]] = None, target_bytes: Any = None, *,
                 view: str = "scan", start: Optional[EventTimeLike] = None, end: Optional[EventTimeLike] = None,
                 coalesce: bool = False, changes: Optional[Mapping[str, Any]] = None):
        super().__init__()
        self._view = parse_view(view)
        if self._view != "scan" and as_of is not None:
            raise InvalidInput(f"bazof.ray: as_of does not apply to view='{self._view}'")
        if self._view != "intervals" and (start is not None or end is not None or coalesce):
            raise InvalidInput("bazof.ray: start, end and coalesce apply to view='intervals' only")
        if self._view == "changes" and filter is not None:
            raise InvalidInput("bazof.ray: changes take no filter (filter the dataset instead)")
        if (changes is not None) != (self._view == "changes"):
            raise InvalidInput("bazof.ray: the points (`changes`) go with view='changes' only")
        self._window = {"start": start, "end": end, "coalesce": bool(coalesce)}
        self._points = dict(changes or {})
        self._projection_map = None
        self._uri = str(uri)
        self._storage_options = dict(storage_options) if storage_options else None
        t = self._table()
        # Pinned once: every read task reads this version, whatever commits meanwhile.
        self._version = pin_version(t, None if version is None else parse_version(version, "version"), None)
        self._as_of = as_of
        self._columns = value_columns(t.schema, t.key_columns, t.event_time_column,
                                      None if columns is None else list(columns))
        self._fixed = list(t.key_columns) + {
            "intervals": ["valid_from", "valid_to"],
            "changes": ["kind", "old_" + t.event_time_column, "new_" + t.event_time_column]}.get(
                self._view, [t.event_time_column])
        self._filter = filter
        self._target_bytes = target_bytes
        self._splits_cache: Optional[tuple] = None

    def _table(self) -> Table:
        return open_table(self._uri, storage_options=self._storage_options)

    def supports_projection_pushdown(self) -> bool:
        return True

    def _value_columns(self) -> Optional[list[str]]:
        selected = self._get_data_columns()
        if selected is None:
            return self._columns
        if self._view == "changes":  # a value column c comes as old_c and new_c
            selected = [n[4:] if n.startswith(("old_", "new_")) and n not in self._fixed else n for n in selected]
        return [c for c in dict.fromkeys(self._columns if self._columns is not None else selected)
                if c in selected and c not in self._fixed]

    def _splits(self, max_splits: Optional[int]) -> list:
        key = (max_splits, tuple(self._value_columns() or ()) if self._value_columns() is not None else None)
        if self._splits_cache is None or self._splits_cache[0] != key:
            if self._view == "changes":
                points = dict(self._points)
                points.setdefault("from_version", self._version)
                points.setdefault("to_version", self._version)
                read = points
            else:
                read = {"as_of": self._as_of} if self._view == "scan" else dict(self._window)
                read.update(version=self._version, filter=self._filter)
            splits = plan(self._table(), view=self._view, **read, columns=self._value_columns(),
                          target_bytes=self._target_bytes, max_splits=max_splits, min_splits=max_splits)
            self._splits_cache = (key, splits)
        return self._splits_cache[1]

    def estimate_inmemory_data_size(self) -> Optional[int]:
        return sum(int(s.estimated_bytes or 0) for s in self._splits(None)) or None

    def get_read_tasks(self, parallelism: int, per_task_row_limit: Optional[int] = None,
                       data_context: Any = None) -> List[ReadTask]:
        splits = self._splits(max(1, parallelism) if parallelism and parallelism > 0 else None)
        selected = self._get_data_columns()
        uri, opts = self._uri, self._storage_options
        tasks = []
        for s in splits:
            meta = BlockMetadata(num_rows=s.estimated_rows, size_bytes=s.estimated_bytes,
                                 input_files=list(s.files), exec_stats=None)
            tasks.append(ReadTask(lambda blob=s.to_bytes(): _read_split(uri, opts, blob, selected), meta,
                                  per_task_row_limit=per_task_row_limit))
        return tasks

    def get_name(self) -> str:
        return "Bazof"


def _read_split(uri: str, storage_options: Optional[dict], blob: bytes,
                selected: Optional[list[str]]) -> Iterable[pa.Table]:
    import bazof

    t = open_table(uri, storage_options=storage_options)
    for batch in t.scan_split(bazof.Split.from_bytes(blob)).to_batches():
        table = pa.Table.from_batches([batch])
        if selected is not None:
            table = table.select([c for c in selected if c in table.schema.names])
        yield table


@ray.remote(num_cpus=0)
class _StagedRegistry:
    """Where write tasks report what they staged, so a failed job can remove it."""

    def __init__(self) -> None:
        self._blobs: list[bytes] = []

    def add(self, blob: bytes) -> None:
        self._blobs.append(blob)

    def all(self) -> list[bytes]:
        return list(self._blobs)


class BazofDatasink(Datasink):
    """Appends a Dataset to a bazof table as one version."""

    def __init__(self, uri: str, storage_options: Optional[Mapping[str, str]] = None):
        self._uri = str(uri)
        self._storage_options = dict(storage_options) if storage_options else None
        self._table()  # fail early (TableNotFound) on the driver
        self._registry = None
        self.version: Optional[int] = None

    def _table(self) -> Table:
        return open_table(self._uri, storage_options=self._storage_options)

    def on_write_start(self, schema: Any = None) -> None:
        self._registry = _StagedRegistry.remote()

    def write(self, blocks: Iterable[Any], ctx: Any) -> bytes:
        from ray.data.block import BlockAccessor

        tables = [BlockAccessor.for_block(b).to_arrow() for b in blocks]
        tables = [tb for tb in tables if tb.num_rows]
        if not tables:
            return b""
        data = pa.concat_tables(tables, promote_options="permissive")
        staged = self._table().stage(data, task=int(getattr(ctx, "task_idx", 0) or 0))
        blob = staged.to_bytes()
        if self._registry is not None:
            ray.get(self._registry.add.remote(blob))
        return blob

    def _staged(self, blobs: Iterable[bytes]) -> list:
        import bazof

        return [bazof.StagedFiles.from_bytes(b) for b in blobs if b]

    def on_write_complete(self, write_result: Any) -> None:
        staged = self._staged(write_result.write_returns)
        try:
            self.version = self._table().commit(staged, operation="append") if staged else None
        finally:
            self._drop_registry()

    def on_write_failed(self, error: Exception) -> None:
        try:
            if self._registry is not None:
                staged = self._staged(ray.get(self._registry.all.remote()))
                if staged:
                    self._table().abort(staged)
        finally:
            self._drop_registry()

    def _drop_registry(self) -> None:
        if self._registry is not None:
            ray.kill(self._registry)
            self._registry = None


def read_bazof(uri: str, as_of: Optional[EventTimeLike] = None, version: Optional[int] = None,
               columns: Optional[Sequence[str]] = None, filter: Any = None,
               storage_options: Optional[Mapping[str, str]] = None, *, target_bytes: Any = None,
               override_num_blocks: Optional[int] = None) -> Dataset:
    """A bazof table as of event time `as_of` (None = latest) in `version` (None =
    current, pinned now) as a ray.data.Dataset, one read task per split. `columns`:
    value columns (keys and event time always come first); `filter`: what
    ``Table.scan`` takes, applied to each key's winning row."""
    source = BazofDatasource(uri, as_of=as_of, version=version, columns=columns, filter=filter,
                             storage_options=storage_options, target_bytes=target_bytes)
    return read_datasource(source, override_num_blocks=override_num_blocks)


def read_bazof_intervals(uri: str, start: Optional[EventTimeLike] = None, end: Optional[EventTimeLike] = None,
                         version: Optional[int] = None, columns: Optional[Sequence[str]] = None,
                         filter: Any = None, storage_options: Optional[Mapping[str, str]] = None, *,
                         coalesce: bool = False, target_bytes: Any = None,
                         override_num_blocks: Optional[int] = None) -> Dataset:
    """The validity intervals of a bazof table (``Table.intervals``: key(s),
    ``valid_from``, ``valid_to``, values; those overlapping [start, end)) in
    `version` (None = current, pinned now) as a ray.data.Dataset, one read task per
    split of ``Table.plan_interval_splits``. `filter` applies to each interval row
    and may name ``valid_from`` and ``valid_to``; `coalesce` merges consecutive
    events with equal values."""
    source = BazofDatasource(uri, version=version, columns=columns, filter=filter,
                             storage_options=storage_options, target_bytes=target_bytes, view="intervals",
                             start=start, end=end, coalesce=coalesce)
    return read_datasource(source, override_num_blocks=override_num_blocks)


def read_bazof_changes(uri: str, t1: Optional[EventTimeLike] = None, t2: Optional[EventTimeLike] = None, *,
                       at: Optional[EventTimeLike] = None, from_version: Optional[int] = None,
                       to_version: Optional[int] = None, columns: Optional[Sequence[str]] = None,
                       storage_options: Optional[Mapping[str, str]] = None, target_bytes: Any = None,
                       override_num_blocks: Optional[int] = None) -> Dataset:
    """The changes between two points of a bazof table (``Table.changes``: key(s),
    ``kind``, ``old_``/``new_`` event time and values) as a ray.data.Dataset, one read
    task per split of ``Table.plan_change_splits``. Times None = latest; versions None
    = the current one, pinned now."""
    points = {"t1": t1, "t2": t2, "at": at}
    if from_version is not None:
        points["from_version"] = parse_version(from_version, "from_version")
    if to_version is not None:
        points["to_version"] = parse_version(to_version, "to_version")
    source = BazofDatasource(uri, columns=columns, storage_options=storage_options, target_bytes=target_bytes,
                             view="changes", changes=points)
    return read_datasource(source, override_num_blocks=override_num_blocks)


def write_bazof(ds: Dataset, uri: str, storage_options: Optional[Mapping[str, str]] = None) -> Optional[int]:
    """Appends every row of `ds` to the bazof table at `uri` as ONE version and
    returns it (None if `ds` had no rows). Columns match by name as in
    ``Table.append``; a boolean ``_deleted`` column marks tombstones. If the job
    fails, every file it staged is removed and nothing is committed."""
    sink = BazofDatasink(uri, storage_options=storage_options)
    ds.write_datasink(sink)
    return sink.version

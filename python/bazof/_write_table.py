"""Create-on-first-write, as deltalake's ``write_deltalake``: ``bazof.write_table``,
and the schema of a DataFrame or Arrow data for ``create_table``."""
from __future__ import annotations

import os
from typing import Any, Mapping, Optional, Sequence

import pyarrow as pa

from ._errors import InvalidInput, TableExists, TableNotFound
from ._time import EventTimeLike

_MODES = ("append", "error", "create", "ignore", "overwrite")


def schema_of(data: Any, what: str = "schema") -> pa.Schema:
    """The Arrow schema of `data`: a pyarrow Schema, Table, RecordBatch or
    RecordBatchReader, a pandas or Polars DataFrame, a dict of columns, or an
    object exposing ``__arrow_c_schema__`` / ``__arrow_c_stream__`` (a stream is
    consumed). A ``_deleted`` column (tombstone marks) is not part of it."""
    if isinstance(data, pa.Schema):
        schema = data
    elif isinstance(data, (pa.Table, pa.RecordBatch, pa.RecordBatchReader)):
        schema = data.schema
    elif type(data).__module__.split(".")[0] == "pandas" and type(data).__name__ == "DataFrame":
        schema = pa.Schema.from_pandas(data, preserve_index=False).remove_metadata()
    elif type(data).__module__.split(".")[0] == "polars" and type(data).__name__ == "DataFrame":
        schema = data.to_arrow().schema
    elif isinstance(data, dict):
        schema = pa.table(data).schema
    elif hasattr(data, "__arrow_c_schema__"):
        schema = pa.schema(data)
    elif hasattr(data, "__arrow_c_stream__"):
        schema = pa.RecordBatchReader.from_stream(data).schema
    else:
        raise InvalidInput(f"{what}: expected a pyarrow.Schema, an Arrow table, or a pandas or Polars DataFrame, "
                           f"not {type(data).__name__}")
    i = schema.get_field_index("_deleted")
    return schema.remove(i) if i >= 0 else schema


def write_table(uri: str | os.PathLike, data: Any, *, key: Optional[Sequence[str] | str] = None,
                event_time: Optional[str] = None, mode: str = "append",
                watermark: Optional[EventTimeLike] = None,
                storage_options: Optional[Mapping[str, str]] = None) -> Any:
    """Writes `data` (anything ``Table.append`` takes) to the table at `uri` as
    one commit, creating the table on first write from the data's schema, as
    deltalake's ``write_deltalake``. Returns the :class:`Table`.

    `mode`: ``"append"`` (default) creates the table if it is absent, else
    appends; ``"error"`` (alias ``"create"``) refuses an existing table
    (TableExists) and otherwise creates it and writes; ``"ignore"`` writes
    nothing to an existing table. ``"overwrite"`` is refused: a bazof table
    keeps every version (delete keys, or write a new table). `key` (default
    ``"key"``) and `event_time` (default ``"event_time"``) name the key and
    event-time columns when the table is created; for an existing table they
    must match it when given."""
    from ._table import Table, create_table, open_table

    if mode not in _MODES:
        raise InvalidInput(f"write_table: mode {mode!r} is not one of {', '.join(map(repr, _MODES))}")
    if mode == "overwrite":
        raise InvalidInput(f"write_table: mode='overwrite' is not supported for {os.fspath(uri)}: a bazof table "
                           "keeps every version (delete keys, or write a new table)")
    keys = None if key is None else ([key] if isinstance(key, str) else [str(k) for k in key])
    if not isinstance(data, (pa.Table, pa.RecordBatch)) and hasattr(data, "__arrow_c_stream__") and \
            type(data).__module__.split(".")[0] not in ("pandas", "polars"):
        data = pa.table(data)  # a stream is read once: for the schema and the rows
    table: Optional[Table] = None
    try:
        table = open_table(uri, storage_options=storage_options)
    except TableNotFound:
        pass
    if table is not None:
        if mode in ("error", "create"):
            raise TableExists(f"write_table: a table already exists at {table.uri} (mode={mode!r})")
        if mode == "ignore":
            return table
        if keys is not None and keys != table.key_columns:
            raise InvalidInput(f"write_table: key {keys} does not match the key {table.key_columns} of {table.uri}")
        if event_time is not None and event_time != table.event_time_column:
            raise InvalidInput(f"write_table: event_time {event_time!r} does not match the event-time column "
                               f"{table.event_time_column!r} of {table.uri}")
    else:
        try:
            table = create_table(uri, schema_of(data, "write_table"), key=keys or ("key",),
                                 event_time=event_time or "event_time", storage_options=storage_options)
        except TableExists:
            if mode in ("error", "create"):
                raise
            table = open_table(uri, storage_options=storage_options)  # another writer created it first
            if mode == "ignore":
                return table
    table.append(data, watermark=watermark)
    return table.refresh()

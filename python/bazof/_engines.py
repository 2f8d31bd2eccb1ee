"""Engine integrations: DuckDB and DataFusion through a pyarrow Dataset whose
scanner is a bazof scan (projection and filters pushed down), Polars through
its IO-plugin API (projection, key predicates and row limits pushed down)."""
from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, Iterator, Optional, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from ._errors import InvalidInput
from ._table import StorageOptions, Table, open_table
from ._time import EventTimeLike

if TYPE_CHECKING:
    import polars as pl


def _table(source: Any, storage_options: StorageOptions) -> Table:
    return source if isinstance(source, Table) else open_table(source, storage_options)


class _Fragment:
    """The one fragment of a BazofDataset: DataFusion plans a partition per
    fragment and reads each through fragment.scanner()."""

    def __init__(self, dataset: "BazofDataset"):
        self._dataset = dataset

    def scanner(self, schema: Any = None, columns: Any = None, filter: Optional[pc.Expression] = None,
                batch_size: Optional[int] = None, **kwargs: Any) -> ds.Scanner:
        return self._dataset.scanner(columns=columns, filter=filter, batch_size=batch_size)


class BazofDataset(ds.InMemoryDataset):
    """A bazof table as of an event time (and version), as a pyarrow Dataset.

    DuckDB and DataFusion scan pyarrow Datasets by calling ``scanner(columns=,
    filter=)``; here that becomes a bazof scan of just those value columns with
    the filter applied by the core (key comparisons narrow what is read).
    Every scanner() reads the table anew."""

    def __init__(self, table: Table, as_of: Optional[EventTimeLike] = None, version: Optional[int] = None):
        schema = table.scan(as_of=as_of, version=version).schema
        # One (empty) fragment: DataFusion sizes its partitions by the
        # fragments, then reads everything through scanner().
        super().__init__([pa.RecordBatch.from_pylist([], schema=schema)], schema=schema)
        self._bazof = (table, as_of, version)
        self.bytes_scanned = 0  # not tracked; see bench/py_scan_bench.py for I/O figures

    def _scan(self, columns: Optional[Sequence[str]], filter: Optional[pc.Expression],
              batch_size: Optional[int]) -> pa.RecordBatchReader:
        table, as_of, version = self._bazof
        fixed = set(table.key_columns) | {table.event_time_column}
        values = None if columns is None else [c for c in columns if c not in fixed]
        kwargs = {} if not batch_size else {"batch_size": batch_size}
        return table.scan(as_of=as_of, version=version, columns=values, filter=filter, **kwargs).to_batches()

    def scanner(self, schema: Any = None, columns: Any = None, filter: Optional[pc.Expression] = None,
                batch_size: Optional[int] = None, **kwargs: Any) -> ds.Scanner:
        """A pyarrow Scanner over a bazof scan (`columns`: names; a dict of
        expressions is evaluated by Arrow over the columns it names)."""
        wanted = None if columns is None or isinstance(columns, dict) else list(columns)
        try:
            reader = self._scan(wanted, filter, batch_size)
        except InvalidInput:
            if filter is None:
                raise
            # A filter the core cannot bind: Arrow evaluates it over all columns.
            reader = self._scan(None, None, batch_size)
            return ds.Scanner.from_batches(reader, columns=columns, filter=filter)
        return ds.Scanner.from_batches(reader, columns=columns)

    def get_fragments(self, filter: Optional[pc.Expression] = None) -> Iterator[Any]:
        """One fragment standing for the whole scan (the merge is not split)."""
        return iter([_Fragment(self)])

    def to_table(self, columns: Any = None, filter: Optional[pc.Expression] = None, **kwargs: Any) -> pa.Table:
        return self.scanner(columns=columns, filter=filter, **kwargs).to_table()

    def to_batches(self, columns: Any = None, filter: Optional[pc.Expression] = None,
                   **kwargs: Any) -> Iterator[pa.RecordBatch]:
        return self.scanner(columns=columns, filter=filter, **kwargs).to_batches()

    def to_reader(self, columns: Any = None, filter: Optional[pc.Expression] = None,
                  **kwargs: Any) -> pa.RecordBatchReader:
        return self.scanner(columns=columns, filter=filter, **kwargs).to_reader()

    def count_rows(self, filter: Optional[pc.Expression] = None, **kwargs: Any) -> int:
        return self.scanner(columns=[], filter=filter).count_rows()

    def head(self, num_rows: int, columns: Any = None, filter: Optional[pc.Expression] = None,
             **kwargs: Any) -> pa.Table:
        return self.scanner(columns=columns, filter=filter).head(num_rows)


def register_duckdb(connection: Any, name: str, source: Any, as_of: Optional[EventTimeLike] = None,
                    version: Optional[int] = None, storage_options: StorageOptions = None) -> BazofDataset:
    """Makes table `source` (a Table or a URI) as of `as_of` / `version` queryable
    as `name` in a DuckDB connection. DuckDB pushes the query's projection and
    filters into the bazof scan."""
    dataset = BazofDataset(_table(source, storage_options), as_of=as_of, version=version)
    connection.register(name, dataset)
    return dataset


def register_datafusion(ctx: Any, name: str, source: Any, as_of: Optional[EventTimeLike] = None,
                        version: Optional[int] = None, storage_options: StorageOptions = None) -> BazofDataset:
    """Registers table `source` (a Table or a URI) as of `as_of` / `version` as
    `name` in a datafusion.SessionContext. DataFusion pushes projection and
    filters into the bazof scan."""
    dataset = BazofDataset(_table(source, storage_options), as_of=as_of, version=version)
    ctx.register_dataset(name, dataset)
    return dataset


# ---- Polars ------------------------------------------------------------------

def _polars_key_filter(predicate: "pl.Expr", key: str) -> Optional[pc.Expression]:
    """The part of a Polars predicate bazof can use to read fewer keys, as a
    pyarrow expression: comparisons and is_in of the key column with literals,
    under a top-level `&`. Anything else -> None (Polars still applies the
    whole predicate to what bazof returns)."""
    try:
        tree = json.loads(predicate.meta.serialize(format="json"))
    except Exception:  # the plan format is Polars' own and may change
        return None
    parts = [p for p in _walk_and(tree, key) if p is not None]
    if not parts:
        return None
    expr = parts[0]
    for p in parts[1:]:
        expr = expr & p
    return expr


_CMP = {"Eq": "==", "Lt": "<", "LtEq": "<=", "Gt": ">", "GtEq": ">="}
_FLIP = {"==": "==", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


_SCALAR_KINDS = {"String", "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64", "Int"}


def _literal(node: Any) -> Any:
    """The value of a serialized Polars scalar literal (strings, integers), or
    raises."""
    lit = node["Literal"]
    (_, scalar), = ((k, lit[k]) for k in ("Scalar", "Dyn") if k in lit)
    (kind, value), = scalar.items()
    if kind not in _SCALAR_KINDS or isinstance(value, (dict, list)):
        raise ValueError(kind)
    return value


def _literal_list(node: Any) -> list[Any]:
    """The values of a serialized Polars list literal (an Arrow IPC stream of
    one list), or raises."""
    data = node["Literal"]["Scalar"]["List"]
    column = pa.ipc.open_stream(pa.py_buffer(bytes(data))).read_all().column(0)
    values = column.combine_chunks()
    if pa.types.is_list(values.type) or pa.types.is_large_list(values.type):
        values = values.flatten()
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)
            or pa.types.is_string_view(values.type) or pa.types.is_integer(values.type)):
        raise ValueError(str(values.type))
    return values.to_pylist()


def _column(node: Any) -> Optional[str]:
    return node.get("Column") if isinstance(node, dict) else None


def _walk_and(node: Any, key: str) -> list[Optional[pc.Expression]]:
    if not isinstance(node, dict):
        return [None]
    if "BinaryExpr" in node:
        b = node["BinaryExpr"]
        op = b.get("op")
        if op in ("And", "LogicalAnd"):
            return _walk_and(b["left"], key) + _walk_and(b["right"], key)
        if op in _CMP:
            sym = _CMP[op]
            left, right = b["left"], b["right"]
            if _column(right) == key:
                left, right, sym = right, left, _FLIP[sym]
            if _column(left) != key:
                return [None]
            try:
                value = _literal(right)
            except Exception:
                return [None]
            f = pc.field(key)
            return [{"==": f == value, "<": f < value, "<=": f <= value, ">": f > value,
                     ">=": f >= value}[sym]]
    if "Function" in node:
        fn = node["Function"]
        inputs = fn.get("input", [])
        is_in = isinstance(fn.get("function"), dict) and "IsIn" in fn["function"].get("Boolean", {})
        if is_in and len(inputs) == 2 and _column(inputs[0]) == key:
            try:
                values = _literal_list(inputs[1])
            except Exception:
                return [None]
            return [pc.field(key).isin([v for v in values if v is not None])]
    return [None]


def scan_bazof(source: Any, as_of: Optional[EventTimeLike] = None, version: Optional[int] = None,
               storage_options: StorageOptions = None) -> "pl.LazyFrame":
    """A Polars LazyFrame of table `source` (a Table or a URI) as of `as_of` /
    `version`, through Polars' IO-plugin API: projections become the scan's
    columns, comparisons of the key column in the predicate narrow the keys
    read (Polars applies the full predicate), and row limits stop the scan."""
    import polars as pl
    from polars.io.plugins import register_io_source

    table = _table(source, storage_options)
    arrow_schema = table.scan(as_of=as_of, version=version).schema
    schema = pl.from_arrow(arrow_schema.empty_table()).schema
    fixed = set(table.key_columns) | {table.event_time_column}
    key = table.key_columns[0] if len(table.key_columns) == 1 else None

    def source_fn(with_columns: Optional[list[str]], predicate: Optional[pl.Expr], n_rows: Optional[int],
                  batch_size: Optional[int]) -> Iterator[pl.DataFrame]:
        values = None if with_columns is None else [c for c in with_columns if c not in fixed]
        pushed = None if predicate is None or key is None else _polars_key_filter(predicate, key)
        kwargs = {"batch_size": batch_size} if batch_size else {}
        try:
            scan = table.scan(as_of=as_of, version=version, columns=values, filter=pushed, **kwargs)
        except InvalidInput:
            if pushed is None:
                raise
            # e.g. a literal of another type than the key: Polars decides.
            scan = table.scan(as_of=as_of, version=version, columns=values, **kwargs)
        reader = scan.to_batches()
        left = n_rows
        for batch in reader:
            df = pl.from_arrow(batch)
            if with_columns is not None:
                df = df.select(with_columns)
            if predicate is not None:
                df = df.filter(predicate)
            if left is not None:
                df = df.head(left)
                left -= df.height
            if df.height:
                yield df
            if left is not None and left <= 0:
                break

    return register_io_source(source_fn, schema=schema, explain_name="bazof",
                              explain_detail=f"{table.uri} as of {as_of if as_of is not None else 'latest'}")

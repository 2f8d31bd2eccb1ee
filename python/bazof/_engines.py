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
    filters into the bazof scan. Queries run through
    ``bazof.datafusion_sql(ctx, "SELECT ... FROM name AT ('2019-01-17')")`` may
    travel in time per reference: AT ('<event time>'), AT (VERSION => n),
    AT (TIMESTAMP => '...', VERSION => n)."""
    table = _table(source, storage_options)
    dataset = BazofDataset(table, as_of=as_of, version=version)
    ctx.register_dataset(name, dataset)
    _registered(ctx)[name.lower()] = (name, table, as_of, version)
    return dataset


# ---- AT (...) time travel in DataFusion SQL -----------------------------------

import re as _re
import weakref as _weakref

_REGISTRY: "_weakref.WeakKeyDictionary[Any, dict]" = _weakref.WeakKeyDictionary()
_REGISTRY_BY_ID: dict = {}


def _registered(ctx: Any) -> dict:
    """The bazof tables registered in `ctx` by register_datafusion."""
    try:
        return _REGISTRY.setdefault(ctx, {})
    except TypeError:  # a context that takes no weak references
        return _REGISTRY_BY_ID.setdefault(id(ctx), {})


_TOKEN = _re.compile(r"""
    (?P<str>'(?:[^']|'')*')
  | (?P<qid>"(?:[^"]|"")*")
  | (?P<comment>--[^\n]*|/\*.*?\*/)
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<num>\d+)
  | (?P<ws>\s+)
  | (?P<op>=>|.)
""", _re.X | _re.S)

# Words after a table reference that are not an alias.
_NOT_ALIAS = {"where", "join", "inner", "left", "right", "full", "cross", "natural", "on", "using", "group",
              "order", "limit", "offset", "union", "intersect", "except", "having", "window", "qualify",
              "lateral", "anti", "semi"}


def _at_arguments(tokens: list, table: str) -> "tuple[Optional[str], Optional[int]]":
    """The (event time, version) of the tokens inside AT ( ... )."""
    args = [t for t in tokens if t[0] not in ("ws", "comment")]
    at, version, i = None, None, 0
    usage = (f"time travel on '{table}': expected AT ('<event time>') or AT (TIMESTAMP => '...', "
             "VERSION => n)")
    while i < len(args):
        kind, text = args[i]
        if kind == "str" and i == 0:
            at, i = text[1:-1].replace("''", "'"), i + 1
        elif kind == "id" and i + 2 < len(args) and args[i + 1][1] == "=>":
            name, (vkind, value) = text.upper(), args[i + 2]
            if name in ("TIMESTAMP", "EVENT_TIME") and vkind == "str" and at is None:
                at = value[1:-1].replace("''", "'")
            elif name == "VERSION" and vkind == "num" and version is None:
                version = int(value)
            else:
                raise InvalidInput(f"{usage}; got {name} => {value}")
            i += 3
        else:
            raise InvalidInput(f"{usage}; got {text!r}")
        if i < len(args):
            if args[i][1] != ",":
                raise InvalidInput(f"{usage}; got {args[i][1]!r}")
            i += 1
    if at is None and version is None:
        raise InvalidInput(usage)
    return at, version


def datafusion_sql(ctx: Any, query: str) -> Any:
    """Runs `query` with ``ctx.sql`` after resolving bazof's time travel on the
    tables register_datafusion registered in `ctx`:

        FROM t AT ('2019-01-17')                        -- event time
        FROM t AT (VERSION => 3)                        -- a version
        FROM t AT (TIMESTAMP => '2019-01-17', VERSION => 3)  -- both (bitemporal)

    (the same form as bazof-sql and the Rust crate). Each ``t AT (...)``
    reads a dataset of t as of that point, registered in `ctx` under a
    generated name (reused for the same point) and aliased back to ``t``.
    Returns DataFusion's DataFrame. Unknown tables, bad times and malformed
    AT clauses raise bazof.InvalidInput."""
    registered = _registered(ctx)
    tokens = [(m.lastgroup, m.group()) for m in _TOKEN.finditer(query)]
    out, i = [], 0
    while i < len(tokens):
        kind, text = tokens[i]
        name = None
        if kind == "id":
            name = text.lower()
        elif kind == "qid":
            name = text[1:-1].replace('""', '"')
        j = i + 1
        while j < len(tokens) and tokens[j][0] in ("ws", "comment"):
            j += 1
        is_at = (name is not None and j < len(tokens) and tokens[j][0] == "id" and tokens[j][1].upper() == "AT")
        k = j + 1
        while is_at and k < len(tokens) and tokens[k][0] in ("ws", "comment"):
            k += 1
        if not (is_at and k < len(tokens) and tokens[k][1] == "("):
            out.append(text)
            i += 1
            continue
        entry = registered.get(name) or registered.get(name.lower())
        if entry is None:
            known = ", ".join(sorted(v[0] for v in registered.values())) or "none"
            raise InvalidInput(f"time travel on '{name}': it is not a bazof table registered with "
                               f"register_datafusion in this context (registered: {known})")
        depth, end = 1, k + 1
        while end < len(tokens) and depth:
            if tokens[end][1] == "(":
                depth += 1
            elif tokens[end][1] == ")":
                depth -= 1
            end += 1
        if depth:
            raise InvalidInput(f"time travel on '{name}': AT ( without its closing parenthesis")
        at, version = _at_arguments(tokens[k + 1:end - 1], entry[0])
        shown, table, base_at, base_version = entry
        at = base_at if at is None else at
        version = base_version if version is None else version
        generated = f"{shown}@v{version if version is not None else 'current'}@{at or 'latest'}"
        generated = _re.sub(r"[^A-Za-z0-9_@.:-]", "_", generated)
        if not ctx.table_exist(generated):
            ctx.register_dataset(generated, BazofDataset(table, as_of=at, version=version))
        n = end
        while n < len(tokens) and tokens[n][0] in ("ws", "comment"):
            n += 1
        has_alias = n < len(tokens) and (tokens[n][0] == "qid" or (
            tokens[n][0] == "id" and tokens[n][1].lower() not in _NOT_ALIAS))
        out.append(f'"{generated}"' + ("" if has_alias else f' AS "{shown}"'))
        i = end
    return ctx.sql("".join(out))


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

"""bazof tables in Spark: a PySpark (4.1+) Python data source named ``"bazof"``.

    import bazof.spark
    bazof.spark.register(spark)
    df = (spark.read.format("bazof")
          .option("eventTimeAsOf", "2024-01-02T23:59:59Z")   # event time (inclusive)
          .option("versionAsOf", 3)                          # or timestampAsOf: commit time
          .load("/data/lake/prices"))
    df.write.format("bazof").mode("append").save("/data/lake/prices")

Reading: the driver plans the scan with ``Table.plan_splits`` (one Spark partition
per split, pinned to one version); each task reads its split with
``Table.scan_split`` and hands Spark Arrow batches cast to exactly Spark's schema.
Filters Spark pushes (=, <, <=, >, >=, IN, IS [NOT] NULL, NOT =, on any column) are
evaluated by bazof on each key's winning row (key comparisons also narrow what is
read); the others are left to Spark. Columns: ``.option("columns", "a,b")``, or a
schema given with ``.schema(...)`` naming a subset of the columns.

Validity intervals (SCD type 2, ``Table.intervals``): ``.option("view", "intervals")``,
with ``start`` / ``end`` (the window, event times) and ``coalesce`` ("true": equal
consecutive values form one interval); ``versionAsOf`` / ``timestampAsOf`` and
``columns`` as for scans (``eventTimeAsOf`` does not apply). Columns: key(s),
``valid_from``, ``valid_to``, values. The driver plans ``Table.plan_interval_splits``
(a key's intervals never cross splits); pushed filters apply to each interval row and
may name ``valid_from`` and ``valid_to``.

Writing: ``mode("append")`` only. Each task stages its rows with ``Table.stage``
(sorted data files, nothing visible); the driver commits every task's files as one
version with ``Table.commit``, or removes them with ``Table.abort`` if the job
fails. A boolean ``_deleted`` column marks tombstones (delete rows); rows without
it, or with it false, are puts.

Changes between two points (``Table.changes``): ``.option("view", "changes")`` with
``from`` / ``to`` (event times, inclusive; or ``at`` for both) and ``fromVersion`` /
``toVersion`` (default: the version pinned, as ``versionAsOf`` / ``timestampAsOf``
give it); ``columns`` as for scans. Columns: key(s), ``kind``, ``old_`` / ``new_``
event time and values. Planned with ``Table.plan_change_splits``; Spark applies its
filters itself.

Options (case-insensitive): ``view`` (``scan``, the default, ``intervals`` or ``changes``),
``eventTimeAsOf``, ``versionAsOf``, ``timestampAsOf`` (the version current at that
commit wall-clock time, as in Delta), ``columns``, ``start`` / ``end`` / ``coalesce``
(intervals), ``from`` / ``to`` / ``at`` / ``fromVersion`` / ``toVersion`` (changes),
``targetBytes`` / ``maxSplits`` / ``minSplits`` (split sizing: by default 128 MiB a
split, but at least as many splits as the driver's machine has cores when the scan reads
4 MiB a split or more); any other option (``endpoint``,
``region``, ``access_key_id``, ...) is a storage option for s3:// tables.
"""
from __future__ import annotations

import datetime as _dt
import decimal as _decimal
import os
from typing import Any, Iterator, List, Optional

import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql.datasource import (DataSource, DataSourceArrowWriter, DataSourceReader, InputPartition,
                                    WriterCommitMessage)
from pyspark.sql.types import (BinaryType, BooleanType, ByteType, DataType, DateType, DecimalType, DoubleType,
                               FloatType, IntegerType, LongType, ShortType, StringType, StructField, StructType,
                               TimestampNTZType, TimestampType)

from ._connector import parse_bool, parse_columns, parse_version, parse_view, pin_version, plan, value_columns
from ._errors import InvalidInput
from ._table import Table, open_table

try:  # Spark 4.1+: filter pushdown for Python data sources
    from pyspark.sql.datasource import (EqualTo, GreaterThan, GreaterThanOrEqual, In, IsNotNull, IsNull,
                                        LessThan, LessThanOrEqual, Not)
    _HAS_FILTERS = True
except ImportError:  # pragma: no cover - Spark 4.0
    _HAS_FILTERS = False

__all__ = ["BazofDataSource", "register", "spark_type"]

_OWN_OPTIONS = {"path", "eventtimeasof", "versionasof", "timestampasof", "columns", "targetbytes", "maxsplits",
                "minsplits", "view", "start", "end", "coalesce", "from", "to", "at", "fromversion", "toversion"}


def register(spark: Any) -> None:
    """Registers the ``"bazof"`` format in `spark` (a SparkSession) and turns on
    filter pushdown for Python data sources (``spark.sql.python.filterPushdown.enabled``)."""
    spark.conf.set("spark.sql.python.filterPushdown.enabled", "true")
    spark.dataSource.register(BazofDataSource)


# ---- types -------------------------------------------------------------------

def spark_type(t: pa.DataType) -> DataType:
    """The Spark type a bazof column of Arrow type `t` reads as (docs/spec.md §5):
    unsigned integers widen to the next signed type (uint64 to decimal(20,0)),
    timestamps of any unit to Spark's microsecond TIMESTAMP."""
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return StringType()
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return BinaryType()
    if pa.types.is_boolean(t):
        return BooleanType()
    simple = {pa.int8(): ByteType(), pa.int16(): ShortType(), pa.int32(): IntegerType(), pa.int64(): LongType(),
              pa.uint8(): ShortType(), pa.uint16(): IntegerType(), pa.uint32(): LongType(),
              pa.float16(): FloatType(), pa.float32(): FloatType(), pa.float64(): DoubleType(),
              pa.date32(): DateType(), pa.date64(): DateType()}
    if t in simple:
        return simple[t]
    if t == pa.uint64():
        return DecimalType(20, 0)
    if pa.types.is_timestamp(t):
        return TimestampType() if t.tz is not None else TimestampNTZType()
    if pa.types.is_decimal(t) and t.precision <= 38:
        return DecimalType(t.precision, t.scale)
    raise InvalidInput(f"bazof.spark: column type {t} has no Spark equivalent")


def spark_schema(schema: pa.Schema) -> StructType:
    """`schema` (a scan's Arrow schema) as a Spark StructType, nullability kept."""
    return StructType([StructField(f.name, spark_type(f.type), f.nullable) for f in schema])


def _arrow_target(schema: StructType) -> pa.Schema:
    """The Arrow schema Spark checks a data source's batches against (UTC timestamps)."""
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(schema, timezone="UTC")


def _conform(batch: pa.RecordBatch, target: pa.Schema) -> pa.RecordBatch:
    """`batch` with exactly `target`'s columns (by name, in order) and types.
    Nanosecond timestamps are truncated to Spark's microseconds."""
    arrays = []
    for field in target:
        col = batch.column(field.name)
        if not col.type.equals(field.type):
            col = col.cast(field.type, safe=not pa.types.is_timestamp(col.type))
        arrays.append(col)
    return pa.RecordBatch.from_arrays(arrays, schema=target)


# ---- options -----------------------------------------------------------------

class _Options:
    """A data source's options, parsed once (picklable: crosses to executors)."""

    def __init__(self, options: Any):
        opts = {str(k).lower(): v for k, v in dict(options).items()}
        self.uri = opts.get("path")
        if not self.uri:
            raise InvalidInput("bazof.spark: no table URI (use .load(uri) / .save(uri))")
        self.as_of = opts.get("eventtimeasof")
        self.version = None if opts.get("versionasof") is None else parse_version(opts["versionasof"])
        self.commit_time = opts.get("timestampasof")
        self.columns = parse_columns(opts.get("columns"))
        self.target_bytes = None if opts.get("targetbytes") is None else int(opts["targetbytes"])
        self.max_splits = None if opts.get("maxsplits") is None else int(opts["maxsplits"])
        # Default: a split per core of the driver's machine, for scans big enough to cut.
        self.min_splits = int(opts["minsplits"]) if opts.get("minsplits") is not None else (os.cpu_count() or 1)
        self.view = parse_view(opts.get("view"))
        self.start = opts.get("start")
        self.end = opts.get("end")
        self.coalesce = False if opts.get("coalesce") is None else parse_bool(opts["coalesce"], "coalesce")
        self.from_time, self.to_time, self.at = opts.get("from"), opts.get("to"), opts.get("at")
        self.from_version = None if opts.get("fromversion") is None else parse_version(opts["fromversion"],
                                                                                        "fromVersion")
        self.to_version = None if opts.get("toversion") is None else parse_version(opts["toversion"], "toVersion")
        own = {"intervals": ("start", "end", "coalesce"), "changes": ("from", "to", "at", "fromVersion", "toVersion")}
        for view, names in own.items():
            given = [n for n in names if opts.get(n.lower()) is not None]
            if given and self.view != view:
                raise InvalidInput(f"bazof.spark: {', '.join(given)} apply to the {view} view only "
                                   f"(.option('view', '{view}'))")
        if self.view != "scan" and self.as_of is not None:
            raise InvalidInput(f"bazof.spark: eventTimeAsOf does not apply to the {self.view} view; "
                               + ("give start and end" if self.view == "intervals" else "give from and to, or at"))
        self.storage_options = {k: str(v) for k, v in opts.items() if k not in _OWN_OPTIONS} or None

    def table(self) -> Table:
        return open_table(self.uri, storage_options=self.storage_options)

    def read_args(self, version: int, columns: Optional[list[str]]) -> dict:
        """The arguments of the scan, intervals or changes this source reads (without a
        filter); `version` is the one pinned (changes: both points' unless given)."""
        if self.view == "intervals":
            return {"start": self.start, "end": self.end, "version": version, "columns": columns,
                    "coalesce": self.coalesce}
        if self.view == "changes":
            return {"t1": self.from_time, "t2": self.to_time, "at": self.at, "columns": columns,
                    "from_version": version if self.from_version is None else self.from_version,
                    "to_version": version if self.to_version is None else self.to_version}
        return {"as_of": self.as_of, "version": version, "columns": columns}

    def arrow_schema(self, t: Table, version: int, columns: Optional[list[str]]) -> pa.Schema:
        args = self.read_args(version, columns)
        read = {"intervals": t.intervals, "changes": t.changes}.get(self.view, t.scan)
        return read(**args).schema


# ---- reading -----------------------------------------------------------------

class BazofDataSource(DataSource):
    """The ``"bazof"`` format: reads as of an event time and a version, appends as
    one version per job. See the module's documentation for the options."""

    @classmethod
    def name(cls) -> str:
        return "bazof"

    def schema(self) -> StructType:
        o = _Options(self.options)
        t = o.table()
        version = pin_version(t, o.version, o.commit_time)
        cols = value_columns(t.schema, t.key_columns, t.event_time_column, o.columns)
        return spark_schema(o.arrow_schema(t, version, cols))

    def reader(self, schema: StructType) -> "DataSourceReader":
        return _Reader(_Options(self.options), schema)

    def writer(self, schema: StructType, overwrite: bool) -> "DataSourceArrowWriter":
        o = _Options(self.options)
        if overwrite:
            raise InvalidInput(f"bazof.spark: mode('overwrite') is not supported for {o.uri}: bazof tables "
                               "keep every version; use mode('append'), with a _deleted column for deletes")
        return _Writer(o)


class _Split(InputPartition):
    """One bazof split (its bytes) = one Spark partition."""


class _Reader(DataSourceReader):
    def __init__(self, options: _Options, schema: StructType):
        self._o = options
        self._schema = schema
        self._pushed: list[tuple] = []  # (op, column, value) in the form _expression builds

    def pushFilters(self, filters: List[Any]) -> Iterator[Any]:
        if not _HAS_FILTERS or self._o.view == "changes":  # changes take no filter: Spark applies them
            yield from filters
            return
        t = self._o.table()
        # Filters name the rows Spark sees: a scan's columns, or the intervals'
        # (with valid_from and valid_to).
        table_schema = t.schema if self._o.view == "scan" else self._o.arrow_schema(
            t, pin_version(t, self._o.version, self._o.commit_time), None)
        for f in filters:
            term = _pushable(f, table_schema)
            if term is None:
                yield f
            else:
                self._pushed.append(term)

    def _scan_args(self, t: Table) -> dict:
        version = pin_version(t, self._o.version, self._o.commit_time)
        wanted = self._o.columns
        if wanted is None:
            names = set(self._schema.names)
            all_values = [c for c in t.schema.names if c not in set(t.key_columns) | {t.event_time_column}]
            if self._o.view == "changes":  # a value column c is there as old_c and new_c
                names = {c for c in all_values if f"old_{c}" in names or f"new_{c}" in names}
            if not set(all_values) <= names:  # a schema naming a subset: prune to it
                wanted = [c for c in t.schema.names if c in names]
        cols = value_columns(t.schema, t.key_columns, t.event_time_column, wanted)
        args = self._o.read_args(version, cols)
        return args if self._o.view == "changes" else {**args, "filter": _expression(self._pushed)}

    def partitions(self) -> List[InputPartition]:
        t = self._o.table()
        splits = plan(t, view=self._o.view, **self._scan_args(t), target_bytes=self._o.target_bytes,
                      max_splits=self._o.max_splits, min_splits=self._o.min_splits)
        return [_Split(s.to_bytes()) for s in splits]

    def read(self, partition: InputPartition) -> Iterator[pa.RecordBatch]:
        import bazof

        target = _arrow_target(self._schema)
        t = self._o.table()
        scan = t.scan_split(bazof.Split.from_bytes(partition.value))
        for batch in scan.to_batches():
            yield _conform(batch, target)


def _column(f: Any, schema: pa.Schema) -> Optional[pa.Field]:
    attr = getattr(f, "attribute", None)
    if not attr or len(attr) != 1 or attr[0] not in schema.names:
        return None
    return schema.field(attr[0])


def _literal(value: Any, field: pa.Field) -> Any:
    """`value` (as Spark hands it to Python) as an Arrow scalar of the column's type,
    or None when it does not convert exactly (the filter then stays with Spark)."""
    if value is None:
        return None
    if isinstance(value, _dt.datetime) and value.tzinfo is None:
        if not (pa.types.is_timestamp(field.type) and field.type.tz is not None):
            return None
        # Spark hands TIMESTAMP literals to Python as naive local time.
        value = value.astimezone(_dt.timezone.utc)
    if isinstance(value, float) and not pa.types.is_floating(field.type):
        return None
    if isinstance(value, _decimal.Decimal) and not pa.types.is_decimal(field.type):
        return None
    try:
        scalar = pa.scalar(value, type=field.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError,
            OverflowError):
        return None
    return scalar


def _pushable(f: Any, schema: pa.Schema) -> Optional[tuple]:
    """A Spark filter as a term bazof evaluates exactly as Spark would, or None."""
    negate = False
    if isinstance(f, Not):
        if not isinstance(f.child, EqualTo):
            return None
        f, negate = f.child, True
    field = _column(f, schema)
    if field is None:
        return None
    if isinstance(f, (IsNull, IsNotNull)):
        return ("is_null" if isinstance(f, IsNull) else "is_valid", field.name, None)
    ops = {EqualTo: "==", GreaterThan: ">", GreaterThanOrEqual: ">=", LessThan: "<", LessThanOrEqual: "<="}
    if type(f) in ops:
        lit = _literal(f.value, field)
        if lit is None:
            return None
        return ("!=" if negate else ops[type(f)], field.name, lit)
    if isinstance(f, In):
        lits = [_literal(v, field) for v in f.value if v is not None]
        if any(v is None for v in lits) or not lits:
            return None
        return ("in", field.name, pa.array([v.as_py() for v in lits], type=field.type))
    return None


def _expression(terms: list[tuple]) -> Optional[pc.Expression]:
    """The AND of pushed terms as an Arrow expression (what Table.scan's filter takes)."""
    expr = None
    for op, name, value in terms:
        col = pc.field(name)
        part = {
            "==": lambda: col == value, "!=": lambda: col != value, ">": lambda: col > value,
            ">=": lambda: col >= value, "<": lambda: col < value, "<=": lambda: col <= value,
            "in": lambda: col.isin(value), "is_null": lambda: col.is_null(),
            "is_valid": lambda: col.is_valid(),
        }[op]()
        expr = part if expr is None else expr & part
    return expr


# ---- writing -----------------------------------------------------------------

class _Staged(WriterCommitMessage):
    """One task's staged files (their bytes) on their way to the driver."""

    def __init__(self, blob: bytes, rows: int):
        self.blob = blob
        self.rows = rows


def _unsigned_back(schema: pa.Schema, table: pa.Schema) -> tuple:
    """Spark has no unsigned integers: a column read as the next wider signed type (see
    spark_type) is cast back to the table's unsigned type on write, checked (a value out of
    range is an error naming the column). Returns the batches' schema and the cast."""
    fields, casts = [], {}
    for i, f in enumerate(schema):
        want = table.field(f.name).type if f.name in table.names else None
        if want is not None and pa.types.is_unsigned_integer(want) and not f.type.equals(want) and (
                pa.types.is_signed_integer(f.type) or pa.types.is_decimal(f.type)):
            casts[i] = want
            f = f.with_type(want)
        fields.append(f)
    out = pa.schema(fields, metadata=schema.metadata)
    if not casts:
        return schema, lambda b: b

    def fix(batch: pa.RecordBatch) -> pa.RecordBatch:
        arrays = list(batch.columns)
        for i, want in casts.items():
            try:
                arrays[i] = arrays[i].cast(want)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
                raise InvalidInput(f"bazof.spark: column '{out.field(i).name}' has a value that is not a "
                                   f"valid {want} ({e})") from None
        return pa.RecordBatch.from_arrays(arrays, schema=out)

    return out, fix


class _Writer(DataSourceArrowWriter):
    def __init__(self, options: _Options):
        self._o = options

    def write(self, iterator: Iterator[pa.RecordBatch]) -> WriterCommitMessage:
        from pyspark import TaskContext

        ctx = TaskContext.get()
        task = ctx.partitionId() if ctx is not None else 0
        first = next(iterator, None)
        if first is None:
            return _Staged(b"", 0)

        def batches() -> Iterator[pa.RecordBatch]:
            yield first
            yield from iterator

        t = self._o.table()
        schema, fix = _unsigned_back(first.schema, t.schema)
        reader = pa.RecordBatchReader.from_batches(schema, (fix(b) for b in batches()))
        staged = t.stage(reader, task=task)
        return _Staged(staged.to_bytes(), staged.rows)

    def _staged(self, messages: List[Optional[WriterCommitMessage]]) -> list:
        import bazof

        return [bazof.StagedFiles.from_bytes(m.blob) for m in messages
                if isinstance(m, _Staged) and m.blob]

    def commit(self, messages: List[Optional[WriterCommitMessage]]) -> None:
        staged = self._staged(messages)
        if staged:
            self._o.table().commit(staged, operation="append")

    def abort(self, messages: List[Optional[WriterCommitMessage]]) -> None:
        staged = self._staged(messages)
        if staged:
            self._o.table().abort(staged)

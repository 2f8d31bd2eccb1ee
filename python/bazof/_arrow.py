"""Arrow plumbing: data in (anything Arrow-compatible), filters, key text."""
from __future__ import annotations

import decimal
from typing import Any, Iterable, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from ._errors import InvalidInput

FilterLike = Any
"""A pyarrow.compute.Expression, or (column, op, value) tuples ANDed together
(op: ``=``/``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``in``, ``not in``),
as deltalake and pyarrow.parquet take them."""


def _from_pandas(df: Any, target: pa.Schema) -> pa.Table:
    """pandas -> Arrow. pandas keeps integer columns with missing values as
    float (NaN); where the table's column is an integer type such a column is
    cast back (safely: 1.5 still fails), NaN having become null."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    for i, field in enumerate(table.schema):
        want = target.field(field.name).type if field.name in target.names else None
        if want is not None and pa.types.is_integer(want) and pa.types.is_floating(field.type):
            try:
                table = table.set_column(i, field.name, table.column(i).cast(want))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass  # the core names the column and the problem
    return table


def to_stream(data: Any, target: pa.Schema) -> Any:
    """An object with ``__arrow_c_stream__`` for `data`: a pyarrow Table,
    RecordBatch or RecordBatchReader, a pandas or Polars DataFrame, a dict of
    columns, or anything exposing ``__arrow_c_stream__`` / ``__arrow_c_array__``.
    Nothing is copied for Arrow-backed inputs. `target` is the table's schema."""
    if isinstance(data, (pa.Table, pa.RecordBatchReader)):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    module = type(data).__module__.split(".")[0]
    if module == "pandas" and type(data).__name__ == "DataFrame":
        return _from_pandas(data, target)
    if hasattr(data, "__arrow_c_stream__"):
        return data
    if hasattr(data, "__arrow_c_array__"):
        return pa.record_batch(data)
    if isinstance(data, dict):
        return pa.table(data)
    raise InvalidInput(f"append: cannot read {type(data).__name__} as Arrow data "
                       "(expected a pyarrow Table/RecordBatch/RecordBatchReader, a pandas or Polars "
                       "DataFrame, or an object with __arrow_c_stream__)")


_OPS = {
    "=": lambda f, v: f == v, "==": lambda f, v: f == v, "!=": lambda f, v: f != v,
    "<": lambda f, v: f < v, "<=": lambda f, v: f <= v, ">": lambda f, v: f > v,
    ">=": lambda f, v: f >= v,
    "in": lambda f, v: f.isin(list(v)), "not in": lambda f, v: ~f.isin(list(v)),
}


def to_expression(filter: FilterLike) -> pc.Expression:
    """`filter` as a pyarrow.compute.Expression (InvalidInput otherwise)."""
    if isinstance(filter, pc.Expression):
        return filter
    if isinstance(filter, tuple) and len(filter) == 3 and isinstance(filter[0], str):
        filter = [filter]
    if isinstance(filter, (list, tuple)) and filter:
        expr = None
        for term in filter:
            if not (isinstance(term, (list, tuple)) and len(term) == 3 and isinstance(term[0], str)):
                raise InvalidInput(f"filter: {term!r} is not a (column, op, value) tuple")
            column, op, value = term
            make = _OPS.get(str(op).lower())
            if make is None:
                raise InvalidInput(f"filter: unknown operator {op!r} (expected one of {', '.join(_OPS)})")
            part = make(pc.field(column), value)
            expr = part if expr is None else expr & part
        return expr
    raise InvalidInput(f"filter: expected a pyarrow.compute.Expression or (column, op, value) tuples, "
                       f"not {filter!r}")


def serialize(expr: pc.Expression) -> bytes:
    """Arrow's own serialization of an expression (what pickling uses); the
    core deserializes it with arrow::compute::Deserialize."""
    _, (buffer,) = expr.__reduce__()
    return bytes(buffer)


def key_text(value: Any, key_type: pa.DataType, what: str) -> str:
    """A key value as the text the core parses by the key's type."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, decimal.Decimal)):
        try:
            scalar = pa.scalar(value, type=key_type)
            if pa.types.is_timestamp(key_type):
                return pc.strftime(scalar, format="%Y-%m-%dT%H:%M:%S").as_py() + "Z"
            return scalar.cast(pa.string()).as_py()
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError) as e:
            raise InvalidInput(f"{what}: {value!r} is not a valid {key_type}: {e}") from None
    return str(value)


def one_row(fields: Sequence[pa.Field], values: Iterable[Any], what: str) -> pa.RecordBatch:
    """A one-row batch typed by `fields`; text converts as Arrow casts it."""
    arrays = []
    for field, value in zip(fields, values):
        try:
            if isinstance(value, str) and not (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)):
                arrays.append(pa.array([value]).cast(field.type))
            else:
                arrays.append(pa.array([value], type=field.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, OverflowError,
                ValueError):
            # One line naming the value, the type and the column; Arrow's own
            # message (a cast error) would only repeat it less clearly.
            raise InvalidInput(f"{what}: {value!r} is not a valid {field.type} for column "
                               f"'{field.name}'") from None
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))

"""Helpers for the Spark connector tests: imports, the venv's Python for workers, and the
comparison of a Spark result with the core scan."""
import os
import sys

import pyarrow as pa
import pytest


def require(module):
    """Imports an optional engine; scripts/test.sh installs it (bazof[spark], bazof[ray]),
    so under CI (CI set) a missing one is a failure, elsewhere a skip."""
    if os.environ.get("CI"):
        return __import__(module)
    return pytest.importorskip(module)


def python_env():
    """Spark's Python workers (also in executors) run this interpreter: the venv with bazof."""
    return {"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}


def normalized(tbl: pa.Table, key="key") -> pa.Table:
    """Sorted by key (and valid_from: intervals have several rows per key), every
    field nullable: what equal results look like."""
    order = [(key, "ascending")] + ([("valid_from", "ascending")] if "valid_from" in tbl.schema.names else [])
    tbl = tbl.sort_by(order) if tbl.num_rows else tbl
    schema = pa.schema([pa.field(f.name, f.type, True) for f in tbl.schema])
    return tbl.cast(schema)


def assert_same(spark_result: pa.Table, core_scan: pa.Table):
    """The Spark rows equal the core scan's, after the core's types are cast to Spark's."""
    from bazof.spark import _arrow_target, _conform, spark_schema

    target = _arrow_target(spark_schema(core_scan.schema))
    expected = pa.Table.from_batches([_conform(b, target) for b in core_scan.to_batches()], schema=target)
    got = normalized(spark_result)
    want = normalized(expected)
    assert got.schema.names == want.schema.names
    assert got.num_rows == want.num_rows
    for name in want.schema.names:
        g, w = got.column(name).combine_chunks(), want.column(name).combine_chunks()
        if not g.type.equals(w.type):
            g = g.cast(w.type)
        assert g.equals(w), f"column {name} differs"

"""bazof: event-time travel for keyed tables stored as Parquet.

    import bazof
    t = bazof.open_table("/data/lake/prices")
    t.scan(as_of="2024-01-02T23:59:59Z", filter=[("symbol", "in", ["AAPL", "MSFT"])]).to_pandas()

The same C++ core as the ``bazof`` CLI (installed with this package); data
crosses through the Arrow C data interface without copies. Engines: pandas
(``to_pandas``), Polars (``to_polars``, :func:`scan_bazof`), DuckDB
(:func:`register_duckdb`, or any scan in ``duckdb.sql``), DataFusion
(:func:`register_datafusion`).

Maintenance, as the CLI's commands: ``Table.compact``, ``Table.validate``,
``Table.vacuum``, and for ``bazof alter`` ``Table.add_column``,
``drop_column``, ``rename_column``, ``widen_column``, ``set_property`` and
``unset_property``.
"""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _version

import pyarrow as _pyarrow  # noqa: F401  (loads Arrow's shared libraries before the extension)

from ._errors import (BazofError, CommitConflict, CommitStateUnknown, CorruptTable, InvalidInput, NotFound,
                      StorageError, TableExists, TableNotFound)
from ._table import Scan, Table, create_table, open_table
from ._write_table import write_table
from ._distribute import Split, StagedFiles
from ._maintenance import AbortedUpload, CompactResult, VacuumedFile, VacuumResult, ValidationProblem, ValidationReport
from ._engines import BazofDataset, datafusion_sql, register_datafusion, register_duckdb, scan_bazof

try:
    __version__ = _version("bazof")
except _PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = [
    "BazofDataset", "BazofError", "CommitConflict", "CommitStateUnknown", "CorruptTable", "InvalidInput",
    "NotFound", "Scan", "Split", "StagedFiles", "StorageError", "Table", "TableExists", "TableNotFound", "__version__",
    "create_table", "datafusion_sql", "open_table", "write_table", "register_datafusion", "register_duckdb",
    "scan_bazof",
    "AbortedUpload", "CompactResult", "VacuumResult", "VacuumedFile", "ValidationProblem", "ValidationReport",
]

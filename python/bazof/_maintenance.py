"""Results and arguments of the maintenance operations: Table.compact,
Table.validate, Table.vacuum and the alter methods (include/bazof/compact.h,
validate.h, vacuum.h, alter.h). The result classes hold the fields the CLI's
``--format json`` prints; ``to_dict()`` gives exactly that object."""
from __future__ import annotations

import dataclasses
import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Optional, Union

import pyarrow as pa

from . import _core
from ._errors import CorruptTable, InvalidInput

DurationLike = Union[str, _dt.timedelta]
"""A positive duration: text as the CLI takes it ("30d", "12h", "15m", "1w",
"500ms"; units us, ms, s, m, h, d, w) or a datetime.timedelta (also
pandas.Timedelta)."""

ByteSizeLike = Union[str, int]
"""A positive size: text as the CLI takes it ("128MiB", "64MB", "4096") or
an int number of bytes."""

TypeLike = Union[str, pa.DataType]
"""A column type: a pyarrow.DataType of a format type, or the format's name
for it as ``bazof create --schema`` takes it ("int32", "decimal(10,2)",
"timestamp[ms]")."""


def _plain(obj: Any) -> dict[str, Any]:
    """dataclass -> dict without the fields that are None (the CLI omits them)."""
    return {f.name: _value(getattr(obj, f.name)) for f in dataclasses.fields(obj)
            if f.metadata.get("json", True) and getattr(obj, f.name) is not None}


def _value(v: Any) -> Any:
    if dataclasses.is_dataclass(v):
        return _plain(v)
    if isinstance(v, list):
        return [_value(x) for x in v]
    return v


@dataclass(frozen=True)
class CompactResult:
    """What :meth:`Table.compact` did (``bazof compact --format json``).

    ``committed`` is False for a dry run or when there was nothing to compact;
    the fields from ``version`` on are set only when a version was committed."""

    table: str
    dry_run: bool
    committed: bool
    built_from_version: int  #: the version compacted
    files_read: int  #: delta files merged
    bytes_read: int
    events_read: int  #: rows of the merged deltas
    segments: int  #: segments of the new layout
    #: True when the table was already compacted with nothing written since:
    #: nothing was written or committed, and ``reason`` says why
    nothing_to_compact: bool = False
    reason: str = ""
    memory_limit_bytes: int = 0  #: the memory budget it ran under (docs/spec.md §22)
    #: peak bytes of Arrow's default memory pool in this process so far (not
    #: only this compaction's, when the process did more before)
    peak_memory_bytes: int = 0
    horizon: Optional[str] = None  #: the new version's history horizon (RFC 3339), if any
    version: Optional[int] = None  #: the new version
    events_collapsed: Optional[int] = None  #: events dropped behind the horizon
    events_written: Optional[int] = None  #: rows of the new deltas (tie losers dropped)
    bases: Optional[int] = None  #: bases written
    base_rows: Optional[int] = None
    #: bytes the merge spilled (each segment's rows, LZ4-compressed Arrow IPC,
    #: until its files were written)
    spilled_bytes: Optional[int] = None
    files_added: Optional[list[str]] = None
    files_removed: Optional[list[str]] = None

    def to_dict(self) -> dict[str, Any]:
        """The object ``bazof compact --format json`` prints."""
        return _plain(self)


@dataclass(frozen=True)
class DeleteWhereResult:
    """What a predicate delete (:meth:`Table.delete` with a filter) did
    (``bazof delete --where ... --format json``)."""

    table: str
    dry_run: bool
    keys: int  #: keys matched (and deleted, unless a dry run)
    committed: bool
    version: Optional[int]  #: the new version, None if nothing was committed
    matched: list[list[str]]  #: the matched keys, each its key column values as text

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True)
class ValidationProblem:
    """One thing wrong with a table, and the object it is wrong about."""

    object: str  #: "version.txt", "s3.json", "data/v2-….parquet" (relative to the table root)
    problem: str
    versions: list[int]  #: versions whose snapshot shows it; empty if not about versions
    text: str = field(default="", repr=False, compare=False, metadata={"json": False})

    def __str__(self) -> str:
        """"<object>: <problem> (versions 2-5)", as ``bazof validate`` prints it."""
        return self.text or f"{self.object}: {self.problem}"


@dataclass(frozen=True)
class ValidationReport:
    """What :meth:`Table.validate` found (``bazof validate --format json``)."""

    table: str
    valid: bool  #: no problems
    deep: bool  #: every row was read, not only the Parquet footers
    versions_checked: list[int]
    files_checked: int  #: distinct data files examined
    problems: list[ValidationProblem]  #: every problem, in the order found
    #: deep only: data files written without page checksums, whose pages cannot
    #: be verified (docs/spec.md §6.1); they do not make the table invalid
    unverifiable: list[ValidationProblem] = field(default_factory=list)
    verified: bool = False  #: deep, valid, and every data file's pages verified by CRC

    def __bool__(self) -> bool:
        """True when the table is valid."""
        return self.valid

    @property
    def summary(self) -> str:
        """What was checked: "versions 0-4, 7 data file(s) checked (deep)"."""
        vs = self.versions_checked
        span = ("no versions" if not vs else f"version {vs[0]}" if len(vs) == 1
                else f"versions {vs[0]}-{vs[-1]}")
        return f"{span}, {self.files_checked} data file(s) checked" + (" (deep)" if self.deep else "")

    def raise_if_invalid(self) -> None:
        """Raises CorruptTable with the CLI's message if there are problems;
        the exception's ``report`` is this report, its notes list the problems."""
        if self.valid:
            return
        error = CorruptTable(f"table '{self.table}': {len(self.problems)} problem(s) found ({self.summary})")
        error.report = self  # type: ignore[attr-defined]
        for p in self.problems:
            error.add_note(str(p))
        raise error

    def to_dict(self) -> dict[str, Any]:
        """The object ``bazof validate --format json`` prints."""
        return _plain(self)


@dataclass(frozen=True)
class VacuumedFile:
    """A file vacuum deleted (or, in a dry run, would delete)."""

    file: str  #: relative to the table root
    bytes: int  #: -1 if the storage did not say
    reason: str  #: "expired snapshot", "unreferenced data file" or "orphan"


@dataclass(frozen=True)
class AbortedUpload:
    """An incomplete multipart upload vacuum aborted (or, in a dry run, would abort)."""

    file: str  #: the object it was uploading, relative to the table root
    upload_id: str
    initiated: str  #: UTC, "" if the store did not say


@dataclass(frozen=True)
class VacuumResult:
    """What :meth:`Table.vacuum` did (``bazof vacuum --format json``)."""

    table: str
    dry_run: bool
    current_version: int
    oldest_retained_version: int  #: after this vacuum
    expired_versions: list[int]  #: snapshots removed, ascending
    deleted: list[VacuumedFile]  #: in deletion order
    deleted_bytes: int
    versions_kept_by_grace: int  #: would have expired, but younger than the grace period
    orphans_kept_by_grace: int  #: unreferenced files younger than the grace period
    #: incomplete multipart uploads of data files (object stores) initiated
    #: before the grace period, aborted (in a dry run: would be)
    aborted_uploads: list[AbortedUpload] = field(default_factory=list)
    uploads_kept_by_grace: int = 0  #: incomplete uploads younger than the grace period

    def to_dict(self) -> dict[str, Any]:
        """The object ``bazof vacuum --format json`` prints."""
        return _plain(self)


def compact_result(d: dict[str, Any]) -> CompactResult:
    return CompactResult(**d)


def validation_report(d: dict[str, Any]) -> ValidationReport:
    problems = [ValidationProblem(**p) for p in d.pop("problems")]
    unverifiable = [ValidationProblem(**p) for p in d.pop("unverifiable", [])]
    return ValidationReport(problems=problems, unverifiable=unverifiable, **d)


def vacuum_result(d: dict[str, Any]) -> VacuumResult:
    deleted = [VacuumedFile(**f) for f in d.pop("deleted")]
    aborted = [AbortedUpload(**u) for u in d.pop("aborted_uploads", [])]
    return VacuumResult(deleted=deleted, aborted_uploads=aborted, **d)


# ---- arguments ----------------------------------------------------------------

def duration_micros(value: DurationLike, what: str, allow_zero: bool = False) -> int:
    """A positive duration in microseconds (or 0 when `allow_zero`); InvalidInput naming `what`."""
    if isinstance(value, str):
        if allow_zero:
            number = value.strip().rstrip("usmhdw")
            if number and set(number) == {"0"}:
                unit = value.strip()[len(number):]
                if unit:
                    _core.parse_duration("1" + unit, what)  # the unit must be one ParseDuration knows
                return 0
        return _core.parse_duration(value, what)
    if allow_zero and isinstance(value, (int, _dt.timedelta)) and not isinstance(value, bool) and not value:
        return 0
    if isinstance(value, _dt.timedelta):
        # pandas.Timedelta is a timedelta; its nanoseconds are floored.
        micros = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
        if micros <= 0:
            raise InvalidInput(f"{what} {value!r}: a duration must be positive")
        return micros
    raise InvalidInput(f"{what}: expected a duration like '30d' or a datetime.timedelta, "
                       f"not {type(value).__name__}")


def byte_size(value: ByteSizeLike, what: str) -> int:
    """A positive size in bytes; InvalidInput naming `what`."""
    if isinstance(value, str):
        return _core.parse_byte_size(value, what)
    if isinstance(value, int) and not isinstance(value, bool):
        if value <= 0:
            raise InvalidInput(f"{what} {value}: a size must be positive")
        return value
    raise InvalidInput(f"{what}: expected a size like '128MiB' or an int number of bytes, "
                       f"not {type(value).__name__}")


def count(value: Any, what: str, minimum: int) -> int:
    """An int >= minimum (bool is not an int here)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(f"{what}: expected an int, not {type(value).__name__}")
    if value < minimum:
        raise InvalidInput(f"{what} {value}: must be at least {minimum}")
    return value


def name(value: Any, what: str) -> str:
    """A column or property name."""
    if not isinstance(value, str):
        raise InvalidInput(f"{what}: expected a name (str), not {type(value).__name__}")
    return value


def type_capsule(value: TypeLike, what: str) -> Any:
    """A one-field Arrow schema capsule carrying the column type."""
    if isinstance(value, str):
        return _core.parse_type(value, what)
    if isinstance(value, pa.DataType):
        return pa.schema([pa.field("type", value)]).__arrow_c_schema__()
    raise InvalidInput(f"{what}: expected a pyarrow.DataType or a type name like 'int32', "
                       f"not {type(value).__name__}")


def property_value(value: Any, what: str) -> str:
    """A property value as stored: text; bools as true/false, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise InvalidInput(f"{what}: expected str, bool or a number, not {type(value).__name__}")

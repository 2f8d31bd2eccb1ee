"""Scan splits and staged files: the serializable halves of distributed reads
and writes (include/bazof/split.h, stage.h; docs/spec.md, "Scan splits" and
"Staged commits"). Engines plan splits and commit staged files on a driver;
workers read splits and stage files. Both travel as bytes (UTF-8 JSON) and
pickle as such."""
from __future__ import annotations

from typing import Any

from . import _core
from ._errors import InvalidInput


def _text(data: Any, what: str) -> str:
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            return bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(f"{what}: not UTF-8 JSON") from None
    if isinstance(data, str):
        return data
    raise InvalidInput(f"{what}: expected bytes or str, not {type(data).__name__}")


class _Descriptor:
    """What Split and StagedFiles share: the checked JSON text they travel as
    (bytes = UTF-8 JSON; pickled as those bytes) and the core's parse of it."""

    __slots__ = ("_json", "_info")
    _what = ""  # names the value in errors

    @classmethod
    def from_bytes(cls, data: bytes | str) -> Any:
        """The value serialized by :meth:`to_bytes` (or :meth:`to_json`).
        Raises InvalidInput if it is malformed."""
        return cls(_text(data, cls._what))

    from_json = from_bytes

    def to_bytes(self) -> bytes:
        """UTF-8 JSON (the formats in docs/spec.md, "Scan splits" and "Staged commits")."""
        return self._json.encode("utf-8")

    def to_json(self) -> str:
        return self._json

    def __reduce__(self) -> Any:
        return (type(self).from_bytes, (self.to_bytes(),))


class Split(_Descriptor):
    """One key range of a pinned scan (``Table.plan_splits``), of validity
    intervals (``Table.plan_interval_splits``) or of the changes between two
    points (``Table.plan_change_splits``). Read it with
    ``Table.scan_split`` in any process that opens the same table; the union
    of a plan's splits is the scan's result, no key in two splits."""

    __slots__ = ()
    _what = "split"

    def __init__(self, json_text: str):
        self._info = _core.split_info(json_text)  # checks it
        self._json = self._info["json"]

    @property
    def version(self) -> int:
        """The table version the split reads (pinned when planned)."""
        return self._info["version"]

    @property
    def index(self) -> int:
        """Position among the plan's splits (key order)."""
        return self._info["index"]

    @property
    def count(self) -> int:
        """Number of splits in the plan."""
        return self._info["count"]

    @property
    def kind(self) -> str:
        """"scan" (each key's state), "events" (every event), "intervals"
        (validity intervals) or "changes" (between two points)."""
        return self._info["kind"]

    @property
    def estimated_bytes(self) -> int:
        """Data-file bytes the split is estimated to read (from key statistics)."""
        return self._info["estimated_bytes"]

    @property
    def estimated_rows(self) -> int:
        """Data-file rows the split is estimated to read."""
        return self._info["estimated_rows"]

    @property
    def files(self) -> list[str]:
        """Data files whose key range meets the split's (relative to the table root)."""
        return list(self._info["files"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Split) and other._json == self._json

    def __hash__(self) -> int:
        return hash(self._json)

    def __repr__(self) -> str:
        return (f"<bazof.Split {self.index + 1}/{self.count} of version {self.version}, "
                f"~{self.estimated_bytes} bytes, {len(self.files)} files>")


class StagedFiles(_Descriptor):
    """Data files written by ``Table.stage`` and not yet committed: pass them
    (from any number of processes) to ``Table.commit`` to publish them as one
    version, or to ``Table.abort`` to delete them."""

    __slots__ = ()
    _what = "staged files"

    def __init__(self, json_text: str):
        self._info = _core.staged_info(json_text)  # checks it
        self._json = json_text

    @property
    def rows(self) -> int:
        """Rows staged (tombstones included)."""
        return self._info["rows"]

    @property
    def files(self) -> list[str]:
        """The staged data files (relative to the table root)."""
        return list(self._info["files"])

    @property
    def task(self) -> int:
        """The task ordinal given to stage(): later tasks win ties at commit."""
        return self._info["task"]

    @property
    def sequence(self) -> int:
        return self._info["sequence"]

    @property
    def staged_against(self) -> int:
        """The table version whose schema the files were written with."""
        return self._info["staged_against"]

    def __repr__(self) -> str:
        return f"<bazof.StagedFiles task {self.task}: {self.rows} rows in {len(self.files)} files>"


def staged_texts(staged: Any) -> list[str]:
    """A StagedFiles or an iterable of them (or of their bytes) -> JSON texts."""
    if isinstance(staged, (StagedFiles, bytes, bytearray, str)):
        staged = [staged]
    out = []
    try:
        items = list(staged)
    except TypeError:
        raise InvalidInput(f"staged: expected a list of StagedFiles, not {type(staged).__name__}") from None
    for s in items:
        if isinstance(s, StagedFiles):
            out.append(s.to_json())
        elif isinstance(s, (bytes, bytearray, memoryview, str)):
            out.append(StagedFiles.from_bytes(s).to_json())
        else:
            raise InvalidInput(f"staged: expected StagedFiles, not {type(s).__name__}")
    return out

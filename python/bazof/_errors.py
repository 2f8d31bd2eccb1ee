"""The exceptions bazof raises. Every error from the core is a BazofError
subclass chosen by the core's error kind; the message is the one the CLI
prints after ``bazof: error:``."""
from __future__ import annotations


class BazofError(Exception):
    """Base class of every bazof error. ``kind`` is the core's error kind
    (``"not_found"``, ``"invalid_argument"``, ``"corruption"``, ``"conflict"``,
    ``"commit_state_unknown"``, ``"io_error"``)."""

    kind = "error"


class NotFound(BazofError, LookupError):
    """A table, version or file does not exist."""

    kind = "not_found"


class TableNotFound(NotFound):
    """No table at the given URI."""


class InvalidInput(BazofError, ValueError):
    """The caller's input is wrong: arguments, data, column names, times."""

    kind = "invalid_argument"


class CorruptTable(BazofError):
    """Stored metadata or data violates the format."""

    kind = "corruption"


class CommitConflict(BazofError):
    """Another writer won the race; retrying may help."""

    kind = "conflict"


class TableExists(CommitConflict):
    """create_table found a table already there."""


class CommitStateUnknown(BazofError):
    """A commit may or may not have happened (check ``Table.log()``)."""

    kind = "commit_state_unknown"


class StorageError(BazofError, OSError):
    """The storage failed (I/O, network, permissions)."""

    kind = "io_error"


_BY_KIND = {
    "not_found": NotFound,
    "table_not_found": TableNotFound,
    "invalid_argument": InvalidInput,
    "corruption": CorruptTable,
    "conflict": CommitConflict,
    "table_exists": TableExists,
    "commit_state_unknown": CommitStateUnknown,
    "io_error": StorageError,
}


def error_class(kind: str) -> type[BazofError]:
    """The exception class for a core error kind (used by bazof._core)."""
    return _BY_KIND.get(kind, BazofError)

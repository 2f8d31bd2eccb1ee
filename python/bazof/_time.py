"""Event times from Python values: microseconds since the epoch (UTC)."""
from __future__ import annotations

import datetime as _dt
from typing import Any, Union

from . import _core
from ._errors import InvalidInput

EventTimeLike = Union[_dt.datetime, _dt.date, str, Any]
"""datetime (naive = UTC), date (midnight UTC), pandas.Timestamp,
numpy.datetime64, or ISO-8601 text as the CLI's --as-of takes it."""

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_UNIT_US = {"W": 7 * 86_400_000_000, "D": 86_400_000_000, "h": 3_600_000_000, "m": 60_000_000,
            "s": 1_000_000, "ms": 1000, "us": 1}
_UNIT_DIV = {"ns": 1000, "ps": 1_000_000, "fs": 1_000_000_000, "as": 1_000_000_000_000}


def to_micros(value: EventTimeLike, what: str) -> int:
    """Microseconds since 1970-01-01T00:00:00Z for `value`; sub-microsecond
    parts are floored, as the core compares event times. `what` names the
    argument in errors (InvalidInput)."""
    if isinstance(value, str):
        return _core.parse_event_time(value, what)
    ns = getattr(value, "value", None)
    if type(value).__name__ == "Timestamp" and isinstance(ns, int):
        # pandas.Timestamp: .value is nanoseconds since the epoch (UTC when
        # tz-aware, the wall clock read as UTC when naive).
        return ns // 1000
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        delta = value - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if isinstance(value, _dt.date):
        return (value - _EPOCH.date()).days * 86_400_000_000
    if type(value).__name__ == "datetime64":
        import numpy as np

        if np.isnat(value):
            raise InvalidInput(f"{what}: NaT is not a time")
        unit, count = np.datetime_data(value.dtype)
        if unit in ("Y", "M"):  # calendar units: through days
            value = value.astype("datetime64[D]")
            unit, count = "D", 1
        raw = int(value.astype(np.int64)) * count
        if unit in _UNIT_US:
            return raw * _UNIT_US[unit]
        if unit in _UNIT_DIV:
            return raw // _UNIT_DIV[unit]
        raise InvalidInput(f"{what}: numpy.datetime64 unit '{unit}' is not a time of day or date")
    raise InvalidInput(
        f"{what}: expected datetime, date, pandas.Timestamp, numpy.datetime64 or ISO-8601 text, "
        f"not {type(value).__name__}")

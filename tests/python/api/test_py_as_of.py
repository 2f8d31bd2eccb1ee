"""as_of (and event_time) in every accepted form means the same instant; T is
inclusive; bad forms raise InvalidInput naming the argument."""
import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import bazof

UTC = dt.timezone.utc
# Events of key k at these instants (value = index); scans between them tell
# which instant an as_of meant, to the microsecond.
INSTANTS = [dt.datetime(2019, 1, 17, tzinfo=UTC),
            dt.datetime(2019, 1, 17, 10, 0, 0, 1, tzinfo=UTC),
            dt.datetime(2019, 1, 17, 10, 0, 0, 2, tzinfo=UTC),
            dt.datetime(2019, 1, 18, 8, 0, tzinfo=UTC)]


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("asof") / "t"
    t = bazof.create_table(path, pa.schema([("i", pa.int64()), ("event_time", pa.timestamp("us"))]))
    t.append(pa.table({"key": ["k"] * len(INSTANTS),
                       "event_time": pa.array(INSTANTS, pa.timestamp("us", tz="UTC")),
                       "i": list(range(len(INSTANTS)))}))
    return t


def winner(table, as_of):
    rows = table.scan(as_of=as_of).to_arrow().column("i").to_pylist()
    return rows[0] if rows else None


EQUIVALENT = [
    # (forms of the same instant, index of the event that wins)
    ([dt.datetime(2019, 1, 17), dt.date(2019, 1, 17), "2019-01-17", "2019-01-17T00:00:00Z",
      "2019-01-17T01:00:00+01:00", pd.Timestamp("2019-01-17"), pd.Timestamp("2019-01-16 19:00", tz="US/Eastern"),
      np.datetime64("2019-01-17"), np.datetime64("2019-01-17T00:00:00.000000000"), np.datetime64("2019-01-17", "D")],
     0),
    ([dt.datetime(2019, 1, 17, 10, 0, 0, 1), dt.datetime(2019, 1, 17, 12, 0, 0, 1, tzinfo=dt.timezone(dt.timedelta(hours=2))),
      "2019-01-17T10:00:00.000001", "2019-01-17 10:00:00.000001Z", pd.Timestamp("2019-01-17T10:00:00.000001999Z"),
      np.datetime64("2019-01-17T10:00:00.000001999", "ns"), np.datetime64("2019-01-17T10:00:00.000001", "us")],
     1),
    ([dt.datetime(2019, 1, 17, 10, 0, 0, 0, tzinfo=UTC), np.datetime64("2019-01-17T10:00:00", "s"),
      pd.Timestamp("2019-01-17T10:00:00.000000999Z")], 0),
    ([dt.datetime(2019, 1, 18, 8, tzinfo=UTC), "2019-01-18T08:00:00Z", np.datetime64("2019-01-18T08", "h"),
      pd.Timestamp("2019-01-18T08:00:00.000000001Z")], 3),
    ([dt.datetime(2019, 1, 18, 7, 59, 59, 999999, tzinfo=UTC), "2019-01-18T07:59:59.999999Z"], 2),
]


@pytest.mark.parametrize("forms,want", EQUIVALENT)
def test_forms_of_one_instant_agree(table, forms, want):
    for form in forms:
        assert winner(table, form) == want, form


def test_before_everything_and_latest(table):
    assert winner(table, "2019-01-16T23:59:59.999999Z") is None
    assert winner(table, np.datetime64("2019-01", "M")) is None  # calendar units: their first instant
    assert winner(table, np.datetime64("2020", "Y")) == 3
    assert winner(table, None) == 3
    assert table.scan().to_arrow().num_rows == 1


@pytest.mark.parametrize("bad", ["", "yesterday", "2019-13-01", np.datetime64("NaT"), 1547683200, 3.5, object()])
def test_bad_as_of_is_invalid_input(table, bad):
    with pytest.raises(bazof.InvalidInput, match="as_of"):
        table.scan(as_of=bad)


def test_event_time_takes_the_same_forms(tmp_path):
    t = bazof.create_table(tmp_path / "e", pa.schema([("v", pa.int64())]))
    forms = ["2020-05-01T12:00:00+02:00", dt.datetime(2020, 5, 1, 10), pd.Timestamp("2020-05-01T10:00Z"),
             np.datetime64("2020-05-01T10:00")]
    for i, form in enumerate(forms):
        t.put(f"k{i}", form, v=i)
    times = set(t.scan().to_arrow().column("event_time").to_pylist())
    assert times == {dt.datetime(2020, 5, 1, 10, tzinfo=UTC)}
    with pytest.raises(bazof.InvalidInput, match="event_time"):
        t.put("x", "not a time", v=1)

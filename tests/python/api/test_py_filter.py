"""Scan filters: results equal pyarrow's filtering of the unfiltered scan
(the filter applies to each key's winning row); key comparisons also narrow
what is read."""
import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import bazof


@pytest.fixture(scope="module")
def table(tmp_path_factory, run):
    path = tmp_path_factory.mktemp("f")
    run("gen", "--path", path, "--table", "g", "--keys", "300", "--events", "6", "--seed", "3")
    return bazof.open_table(path / "g")


def full(table, as_of):
    return table.scan(as_of=as_of).to_arrow()


FILTERS = [
    [("key", "=", "k000042")],
    [("key", "in", ["k000001", "k000150", "k000299", "nope"])],
    [("key", ">=", "k000100"), ("key", "<", "k000120")],
    [("key", ">", "k000100"), ("key", "<=", "k000120")],
    pc.field("key") == "k000007",
    ("key", "!=", "k000007"),
    [("key", "=", "k000001"), ("key", "=", "k000002")],  # contradiction: nothing
    [("key", ">=", "k000200"), ("key", "<=", "k000100")],  # empty range
]


@pytest.mark.parametrize("as_of", [None, "2021-06-30"])
@pytest.mark.parametrize("f", FILTERS, ids=range(len(FILTERS)))
def test_key_filters_match_pyarrow(table, as_of, f):
    want = full(table, as_of).filter(bazof._arrow.to_expression(f))
    got = table.scan(as_of=as_of, filter=f).to_arrow()
    assert got.to_pylist() == want.to_pylist()


def test_value_filters_apply_to_the_winning_row(table):
    names = table.schema.names
    value = names[2]
    t = full(table, "2022-01-01")
    sample = next(v for v in t.column(value).to_pylist() if v is not None)
    f = pc.field(value) == sample
    got = table.scan(as_of="2022-01-01", filter=f).to_arrow()
    assert got.num_rows >= 1
    assert got.to_pylist() == t.filter(f).to_pylist()
    # a filter on a column that is not returned
    got = table.scan(as_of="2022-01-01", columns=[], filter=f).to_arrow()
    assert got.schema.names == names[:2]
    assert got.to_pylist() == t.filter(f).select(got.schema.names).to_pylist()
    # and on the event time
    f = pc.field("event_time") < pa.scalar(dt.datetime(2020, 6, 1), pa.timestamp("us", tz="UTC"))
    assert table.scan(as_of="2022-01-01", filter=f).to_arrow().to_pylist() == t.filter(f).to_pylist()


def test_key_filter_on_many_row_groups(tmp_path, run):
    # Enough keys for several row groups per file, most of them skipped.
    run("gen", "--path", tmp_path, "--table", "big", "--keys", "200000", "--events", "1", "--seed", "1")
    t = bazof.open_table(tmp_path / "big")
    one = t.scan(filter=[("key", "=", "k000042")])
    assert one.to_arrow().column("key").to_pylist() == ["k000042"]

"""The alter methods (add/drop/rename/widen_column, set/unset_property): each
commits what `bazof alter` commits for the same change (compared snapshot to
snapshot on two copies of a table), scans then show the new schema while
older versions keep theirs, and refused changes raise InvalidInput with the
CLI's message and commit nothing."""
import decimal
import json
import shutil

import pyarrow as pa
import pytest

import bazof
from conftest import assert_cli_error


def cli_message(run, *args):
    return assert_cli_error(run(*args, check=False))[len("bazof: error: "):]


def snapshot(root, version):
    s = json.loads((root / f"s{version}.json").read_text())
    commit = s.pop("commit")
    return s, (commit["operation"], commit["description"])


@pytest.fixture
def table(tmp_path):
    t = bazof.create_table(tmp_path / "t", pa.schema([("n", pa.int32()), ("x", pa.float32()),
                                                     ("d", pa.decimal128(5, 2)), ("s", pa.string())]))
    t.append(pa.table({"key": ["a", "b"], "event_time": pa.array([1000, 2000], pa.timestamp("ms")),
                       "n": pa.array([1, -2], pa.int32()), "x": pa.array([0.5, None], pa.float32()),
                       "d": pa.array([decimal.Decimal("1.25"), None], pa.decimal128(5, 2)), "s": ["p", "q"]}))
    return t


# Each change through Python, and the same through the CLI.
CHANGES = [
    (lambda t: t.add_column("c", pa.decimal128(12, 3)), ["add-column", "c:decimal(12,3)"]),
    (lambda t: t.add_column("c", "timestamp[ms]"), ["add-column", "c:timestamp[ms]"]),
    (lambda t: t.add_column("c", pa.timestamp("ns", tz="Europe/Paris")), ["add-column", "c:timestamp[ns]"]),
    (lambda t: t.add_column("c", pa.large_string()), ["add-column", "c:string"]),
    (lambda t: t.drop_column("x"), ["drop-column", "x"]),
    (lambda t: t.rename_column("s", "label"), ["rename-column", "s", "label"]),
    (lambda t: t.widen_column("n", pa.int64()), ["widen-column", "n:int64"]),
    (lambda t: t.widen_column("x", "float64"), ["widen-column", "x:float64"]),
    (lambda t: t.widen_column("d", pa.decimal128(9, 3)), ["widen-column", "d:decimal(9,3)"]),
    (lambda t: t.set_property("compaction.segment_duration", "7d"),
     ["set-property", "compaction.segment_duration=7d"]),
    (lambda t: t.set_property("compaction.auto", True), ["set-property", "compaction.auto=true"]),
    (lambda t: t.set_property("compaction.max_deltas", 8), ["set-property", "compaction.max_deltas=8"]),
    (lambda t: t.set_property("owner.team", "data"), ["set-property", "owner.team=data"]),
]


@pytest.mark.parametrize("change,cli", CHANGES, ids=[" ".join(c) for _, c in CHANGES])
def test_commits_what_the_cli_commits(table, tmp_path, run, change, cli):
    shutil.copytree(tmp_path / "t", tmp_path / "u")
    before = table.version
    version = change(table)
    assert version == before + 1 == table.version
    run("alter", *cli, "--path", tmp_path, "--table", "u")
    mine, theirs = snapshot(tmp_path / "t", version), snapshot(tmp_path / "u", version)
    assert mine == theirs
    assert mine[1][0] == "alter"
    # The Table sees its new version: schema and properties from the new snapshot.
    reopened = bazof.open_table(tmp_path / "u")
    assert table.schema.equals(reopened.schema) and table.properties == reopened.properties


def test_scans_show_the_new_schema_and_old_versions_keep_theirs(table):
    v1 = table.version
    old_rows = table.scan().to_arrow()
    table.add_column("c", "int16")
    table.rename_column("s", "label")
    table.widen_column("n", pa.int64())
    table.widen_column("d", "decimal(9,3)")
    table.drop_column("x")
    got = table.scan().to_arrow()
    assert got.schema.names == ["key", "event_time", "n", "d", "label", "c"]
    assert got.schema.field("n").type == pa.int64() and got.schema.field("d").type == pa.decimal128(9, 3)
    assert got.column("n").to_pylist() == [1, -2]
    assert got.column("d").to_pylist() == [decimal.Decimal("1.250"), None]
    assert got.column("label").to_pylist() == ["p", "q"]
    assert got.column("c").to_pylist() == [None, None]
    assert table.schema.names == got.schema.names
    # New rows take the new columns; the old version still reads as before.
    table.put("c1", "2024-01-01", n=2**40, d=None, label="new", c=7)
    assert table.scan(filter=[("key", "=", "c1")]).to_arrow().to_pylist()[0]["c"] == 7
    assert table.scan(version=v1).to_arrow().equals(old_rows)
    assert table.validate(deep=True, check=True)
    ops = [r["operation"] for r in table.log().to_pylist()]
    assert ops[v1 + 1:] == ["alter"] * 5 + ["put"]


def test_properties(table):
    v = table.version
    assert table.set_property("compaction.segment_duration", "30d") == v + 1
    assert table.properties == {"compaction.segment_duration": "30d"}
    assert table.set_property("compaction.segment_duration", "30d") == v + 1  # unchanged: no commit
    assert table.unset_property("compaction.segment_duration") == v + 2
    assert table.properties == {}
    assert table.unset_property("compaction.segment_duration") == v + 2  # absent: no commit
    assert table.log().num_rows == v + 3


def test_create_table_with_properties(tmp_path):
    import pyarrow.parquet as pq

    schema = pa.schema([("v", pa.int64())])
    with pytest.raises(bazof.InvalidInput, match="property write.row_group_rows '0'"):
        bazof.create_table(tmp_path / "bad", schema, properties={"write.row_group_rows": "0"})
    assert not (tmp_path / "bad" / "s0.json").exists()
    t = bazof.create_table(tmp_path / "t", schema, properties={"write.row_group_rows": 2, "team.owner": "x"})
    assert t.properties == {"write.row_group_rows": "2", "team.owner": "x"}
    t.append(pa.table({"key": ["a", "b", "c"], "event_time": pa.array([0, 1, 2], pa.timestamp("ms", "UTC")),
                       "v": [1, 2, 3]}))
    (f,) = (tmp_path / "t" / "data").glob("*.parquet")
    assert pq.ParquetFile(f).metadata.num_row_groups == 2


REFUSED = [
    (lambda t: t.drop_column("key"), ["drop-column", "key"]),
    (lambda t: t.rename_column("event_time", "ts"), ["rename-column", "event_time", "ts"]),
    (lambda t: t.drop_column("nope"), ["drop-column", "nope"]),
    (lambda t: t.add_column("s", "int8"), ["add-column", "s:int8"]),
    (lambda t: t.add_column("c", pa.int8(), nullable=False), ["add-column", "c:int8 not null"]),
    (lambda t: t.add_column("c", pa.list_(pa.int8())), None),
    (lambda t: t.widen_column("n", "int16"), ["widen-column", "n:int16"]),
    (lambda t: t.widen_column("n", pa.float32()), ["widen-column", "n:float32"]),
    (lambda t: t.widen_column("d", "decimal(5,3)"), ["widen-column", "d:decimal(5,3)"]),
    (lambda t: t.set_property("compaction.auto", "maybe"), ["set-property", "compaction.auto=maybe"]),
    (lambda t: t.set_property("Bad Name", "1"), ["set-property", "Bad Name=1"]),
]


@pytest.mark.parametrize("change,cli", REFUSED, ids=[str(i) for i in range(len(REFUSED))])
def test_refused_changes_raise_the_cli_message(table, tmp_path, run, change, cli):
    v = table.version
    with pytest.raises(bazof.InvalidInput) as e:
        change(table)
    if cli is None:
        assert "is not supported by the bazof format" in str(e.value)
    else:
        assert str(e.value) == cli_message(run, "alter", *cli, "--path", tmp_path, "--table", "t")
    assert table.version == v and table.refresh().version == v and table.log().num_rows == v + 1


def test_bad_arguments(table):
    v = table.version
    with pytest.raises(bazof.InvalidInput, match="add_column: unknown type 'int128' \\(expected string,"):
        table.add_column("c", "int128")
    with pytest.raises(bazof.InvalidInput, match="add_column: expected a pyarrow.DataType or a type name"):
        table.add_column("c", int)
    with pytest.raises(bazof.InvalidInput, match="drop_column: expected a name \\(str\\), not int"):
        table.drop_column(3)
    with pytest.raises(bazof.InvalidInput,
                       match="widen_column: type 'decimal\\(40,2\\)': decimal\\(p,s\\) needs 1 <= p <= 38"):
        table.widen_column("d", "decimal(40,2)")
    with pytest.raises(bazof.InvalidInput, match="set_property: expected str, bool or a number, not list"):
        table.set_property("owner.team", ["a"])
    assert table.refresh().version == v


def test_legacy_tables_are_refused(copy_table, run):
    path, name = copy_table("azof-0.2/table0")
    t = bazof.open_table(path / name)
    with pytest.raises(bazof.InvalidInput) as e:
        t.set_property("owner.team", "x")
    assert str(e.value) == cli_message(run, "alter", "set-property", "owner.team=x", "--path", path, "--table", name)

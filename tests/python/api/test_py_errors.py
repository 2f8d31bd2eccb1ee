"""Core errors raise the bazof exception hierarchy with the CLI's messages."""
import pyarrow as pa
import pytest

import bazof
from conftest import assert_cli_error


def cli_message(run, *args):
    proc = run(*args, check=False)
    line = assert_cli_error(proc)
    return line[len("bazof: error: "):]


def test_hierarchy():
    assert issubclass(bazof.TableNotFound, bazof.NotFound)
    assert issubclass(bazof.TableExists, bazof.CommitConflict)
    for cls in [bazof.NotFound, bazof.InvalidInput, bazof.CorruptTable, bazof.CommitConflict,
                bazof.CommitStateUnknown, bazof.StorageError]:
        assert issubclass(cls, bazof.BazofError)
    assert issubclass(bazof.InvalidInput, ValueError)


def test_table_not_found_same_message_as_cli(tmp_path, run):
    (tmp_path / "empty").mkdir()
    with pytest.raises(bazof.TableNotFound) as e:
        bazof.open_table(tmp_path / "empty")
    assert str(e.value) == cli_message(run, "scan", "--path", tmp_path, "--table", "empty")
    with pytest.raises(bazof.TableNotFound):
        bazof.open_table(tmp_path / "no" / "such")


def test_table_exists(tmp_path, run):
    bazof.create_table(tmp_path / "t", pa.schema([("v", pa.int64())]))
    with pytest.raises(bazof.TableExists) as e:
        bazof.create_table(tmp_path / "t", pa.schema([("v", pa.int64())]))
    assert str(e.value) == cli_message(run, "create", "--path", tmp_path, "--table", "t", "--schema", "v:int64")


def test_invalid_inputs_same_messages_as_cli(tmp_path, run):
    t = bazof.create_table(tmp_path / "t", pa.schema([("v", pa.int64())]))
    base = ["--path", tmp_path, "--table", "t"]
    with pytest.raises(bazof.InvalidInput) as e:
        t.scan(columns=["nope"])
    assert str(e.value) == cli_message(run, "scan", *base, "--columns", "nope")
    with pytest.raises(bazof.InvalidInput) as e:
        t.scan(as_of="2019-02-30")
    assert str(e.value) == cli_message(run, "scan", *base, "--as-of", "2019-02-30").replace("--as-of", "as_of")
    with pytest.raises(bazof.NotFound) as e:
        t.scan(version=7)
    assert str(e.value) == cli_message(run, "scan", *base, "--version", "7")
    with pytest.raises(bazof.InvalidInput, match="unknown column 'w'"):
        t.append(pa.table({"key": ["a"], "event_time": pa.array([1], pa.timestamp("ms")), "w": [1]}))
    with pytest.raises(bazof.InvalidInput, match="missing key column 'key'"):
        t.append(pa.table({"event_time": pa.array([1], pa.timestamp("ms")), "v": [1]}))
    with pytest.raises(bazof.InvalidInput, match="column 'v' is string, the table has int64"):
        t.append(pa.table({"key": ["a"], "event_time": pa.array([1], pa.timestamp("ms")), "v": ["1"]}))
    with pytest.raises(bazof.InvalidInput, match="no value column 'w'"):
        t.put("a", "2024-01-01", w=1)
    with pytest.raises(bazof.InvalidInput, match="cannot read"):
        t.append(42)
    assert t.log().num_rows == 1  # nothing committed by any of them


def test_bad_schemas_and_filters(tmp_path):
    with pytest.raises(bazof.InvalidInput, match="not supported"):
        bazof.create_table(tmp_path / "a", pa.schema([("v", pa.list_(pa.int64()))]))
    with pytest.raises(bazof.InvalidInput, match="must be a timestamp"):
        bazof.create_table(tmp_path / "b", pa.schema([("event_time", pa.int64())]))
    with pytest.raises(bazof.InvalidInput, match="cannot be a key"):
        bazof.create_table(tmp_path / "c", pa.schema([("key", pa.float64())]))
    t = bazof.create_table(tmp_path / "d", pa.schema([("v", pa.int64())]))
    with pytest.raises(bazof.InvalidInput, match="unknown column 'w'"):
        t.scan(filter=[("w", "=", 1)])
    with pytest.raises(bazof.InvalidInput, match="unknown operator"):
        t.scan(filter=[("v", "~", 1)])


def test_decimal_precision_converts_only_exactly(tmp_path):
    import decimal
    t = bazof.create_table(tmp_path / "p", pa.schema([("p", pa.decimal128(6, 2))]))
    def rows(values, typ):
        return pa.table({"key": ["a"] * len(values), "event_time": pa.array(range(len(values)), pa.timestamp("ms")),
                         "p": pa.array(values, typ)})
    t.append(rows([decimal.Decimal("1.5")], pa.decimal128(3, 1)))       # rescales exactly
    with pytest.raises(bazof.InvalidInput, match="column 'p'"):
        t.append(rows([decimal.Decimal("1.125")], pa.decimal128(4, 3)))  # would lose a digit
    assert t.scan().to_arrow().column("p").to_pylist() == [decimal.Decimal("1.50")]


def test_corrupt_table(tmp_path, run):
    t = bazof.create_table(tmp_path / "t", pa.schema([("v", pa.int64())]))
    t.put("a", "2024-01-01", v=1)
    (tmp_path / "t" / "version.txt").write_text("banana")
    with pytest.raises(bazof.CorruptTable) as e:
        bazof.open_table(tmp_path / "t")
    assert str(e.value) == cli_message(run, "scan", "--path", tmp_path, "--table", "t")

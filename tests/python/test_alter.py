"""bazof alter end to end: schema evolution and table properties through the CLI (exit codes,
one-line errors, info and log output, appends after evolution, scans of older versions)."""
import json
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import assert_cli_error, assert_valid, committed, log_rows, parse_csv, table_state, write_csv

ALTER_RE = re.compile(r"committed version (\d+) \((.+)\)")


@pytest.fixture
def table(run, lake, tmp_path):
    """A table with value columns label:string, qty:int32, price:float32 and two rows (version 1),
    on a local path and on s3:// (the `lake` fixture)."""
    run("create", "--path", lake.path, "--table", "t", "--schema",
        "label:string,qty:int32,price:float32")
    f = write_csv(tmp_path / "v1.csv", ["key", "event_time", "label", "qty", "price"],
                  [["a", "2024-01-01T00:00:00Z", "apple", "2147483647", "1.5"],
                   ["b", "2024-01-02T00:00:00Z", "pear", "-2147483648", "-0.25"]])
    committed(run("append", "--path", lake.path, "--table", "t", "--input", f), rows=2)
    return lake.path, "t"


def alter(run, path, t, *op):
    """A successful alter -> (version, description) from its one line of output."""
    proc = run("alter", "--path", path, "--table", t, *op)
    m = ALTER_RE.fullmatch(proc.stdout.strip())
    assert m, f"unexpected alter output: {proc.stdout!r}"
    return int(m.group(1)), m.group(2)


def scan_csv(run, path, t, *args):
    header, rows = parse_csv(run("scan", "--path", path, "--table", t, "--format", "csv", *args).stdout)
    return header, [[r[c] for c in header] for r in rows]


def scan_parquet(run, path, t, out, *args):
    run("scan", "--path", path, "--table", t, "--format", "parquet", "--output", out, *args)
    return pq.read_table(out)


def info_json(run, path, t, *args):
    return json.loads(run("info", "--path", path, "--table", t, "--format", "json", *args).stdout)


def test_evolution_keeps_old_data_and_old_versions(run, table, lake, tmp_path):
    path, t = table
    assert alter(run, path, t, "add-column", "note:string") == (2, "add column 'note' string")
    assert alter(run, path, t, "rename-column", "label", "name") == (3, "rename column 'label' to 'name'")
    assert alter(run, path, t, "widen-column", "qty:int64") == (4, "widen column 'qty' to int64")
    assert alter(run, path, t, "widen-column", "price:float64") == (5, "widen column 'price' to float64")
    assert alter(run, path, t, "drop-column", "note") == (6, "drop column 'note'")

    # Current version: new names and types, old rows unchanged in value.
    got = scan_parquet(run, path, t, tmp_path / "now.parquet")
    assert [(f.name, f.type) for f in got.schema] == [
        ("key", pa.string()), ("event_time", pa.timestamp("ms", tz="UTC")),
        ("name", pa.string()), ("qty", pa.int64()), ("price", pa.float64())]
    assert got.column("qty").to_pylist() == [2147483647, -2147483648]
    assert got.column("price").to_pylist() == [1.5, -0.25]
    assert got.column("name").to_pylist() == ["apple", "pear"]

    # Each older version reads with its own schema.
    v1 = scan_parquet(run, path, t, tmp_path / "v1.parquet", "--version", "1")
    assert [(f.name, f.type) for f in v1.schema][2:] == [
        ("label", pa.string()), ("qty", pa.int32()), ("price", pa.float32())]
    v2 = scan_parquet(run, path, t, tmp_path / "v2.parquet", "--version", "2")
    assert v2.column_names[2:] == ["label", "qty", "price", "note"]
    assert v2.column("note").to_pylist() == [None, None]
    v4 = scan_parquet(run, path, t, tmp_path / "v4.parquet", "--version", "4", "--as-of", "2024-01-01")
    assert [(f.name, f.type) for f in v4.schema][2:] == [
        ("name", pa.string()), ("qty", pa.int64()), ("price", pa.float32()), ("note", pa.string())]
    assert v4.column("key").to_pylist() == ["a"]

    # log and info show what each alter did and the current schema.
    rows = log_rows(run, path, t)
    assert [(r["operation"], r["rows_added"], r["description"]) for r in rows[2:]] == [
        ("alter", "0", "add column 'note' string"), ("alter", "0", "rename column 'label' to 'name'"),
        ("alter", "0", "widen column 'qty' to int64"), ("alter", "0", "widen column 'price' to float64"),
        ("alter", "0", "drop column 'note'")]
    info = info_json(run, path, t)
    assert [(c["name"], c["type"], c["role"], c["id"]) for c in info["schema"]] == [
        ("key", "string", "key", 1), ("event_time", "timestamp[ms]", "event_time", 2),
        ("name", "string", "value", 3), ("qty", "int64", "value", 4), ("price", "float64", "value", 5)]
    assert info["commit"]["description"] == "drop column 'note'"
    # The dropped column's id (6) is not reused.
    alter(run, path, t, "add-column", "note:int8")
    assert info_json(run, path, t)["schema"][-1] == {"name": "note", "type": "int8", "role": "value", "id": 7}
    assert scan_parquet(run, path, t, tmp_path / "n.parquet").column("note").to_pylist() == [None, None]
    snap = json.loads((lake.root_path(t) / "s7.json").read_text())
    assert snap["schema"]["next_column_id"] == 8
    assert snap["commit"]["operation"] == "alter"


def test_appends_after_evolution(run, table, tmp_path):
    path, t = table
    alter(run, path, t, "widen-column", "qty:int64")
    alter(run, path, t, "rename-column", "label", "name")
    alter(run, path, t, "add-column", "weight:decimal(6,2)")
    # Parquet typed for the old schema: int32 into the widened int64 column.
    old = pa.table({"key": ["c"], "event_time": pa.array([1704240000000], pa.timestamp("ms", tz="UTC")),
                    "qty": pa.array([7], pa.int32()), "price": pa.array([2.5], pa.float32())})
    pq.write_table(old, tmp_path / "old.parquet")
    committed(run("append", "--path", path, "--table", t, "--input", tmp_path / "old.parquet"), rows=1)
    # A CSV without the new column: nulls. Values the old type could not hold now fit.
    f = write_csv(tmp_path / "new.csv", ["key", "event_time", "name", "qty"],
                  [["d", "2024-01-04", "plum", "9007199254740993"]])
    committed(run("append", "--path", path, "--table", t, "--input", f), rows=1)
    f = write_csv(tmp_path / "w.csv", ["key", "event_time", "weight"], [["e", "2024-01-05", "1234.5"]])
    committed(run("append", "--path", path, "--table", t, "--input", f), rows=1)
    header, rows = scan_csv(run, path, t)
    assert header == ["key", "event_time", "name", "qty", "price", "weight"]
    assert rows == [
        ["a", "2024-01-01T00:00:00.000Z", "apple", "2147483647", "1.5", ""],
        ["b", "2024-01-02T00:00:00.000Z", "pear", "-2147483648", "-0.25", ""],
        ["c", "2024-01-03T00:00:00.000Z", "", "7", "2.5", ""],
        ["d", "2024-01-04T00:00:00.000Z", "plum", "9007199254740993", "", ""],
        ["e", "2024-01-05T00:00:00.000Z", "", "", "", "1234.50"]]
    # put takes the new names too (partial: qty and price carried forward).
    committed(run("put", "--path", path, "--table", t, "--key", "a", "--event-time", "2024-02-01",
                  "--partial", "name=apricot", "weight=0.5"), rows=1)
    assert scan_csv(run, path, t, "--key", "a")[1] == [
        ["a", "2024-02-01T00:00:00.000Z", "apricot", "2147483647", "1.5", "0.50"]]


def test_input_with_the_old_name_of_a_renamed_column_is_refused(run, table, tmp_path):
    path, t = table
    alter(run, path, t, "rename-column", "label", "name")
    before = table_state(run, path, t)
    f = write_csv(tmp_path / "old.csv", ["key", "event_time", "label"], [["c", "2024-01-03", "fig"]])
    proc = run("append", "--path", path, "--table", t, "--input", f, check=False)
    assert_cli_error(proc, "'label'", "old.csv", problem="unknown column")
    proc = run("put", "--path", path, "--table", t, "--key", "c", "--event-time", "2024-01-03",
               "label=fig", check=False)
    assert_cli_error(proc, "'label'")
    assert table_state(run, path, t) == before


@pytest.mark.parametrize("op,names,problem", [
    (["add-column", "qty:int64"], ["'qty'"], "already has a column"),
    (["add-column", "key:int64"], ["'key'"], "already has a column"),
    (["add-column", "_bazof_x:int8"], ["'_bazof_x'"], "reserved"),
    (["add-column", "_deleted:bool"], ["'_deleted'"], "reserved"),
    (["add-column", "later:int32 not null"], ["'later'"], "nullable"),
    (["add-column", "x:blob"], ["x:blob", "blob"], "unknown type"),
    (["add-column", "nocolon"], ["nocolon"], "name:type"),
    (["drop-column", "key"], ["'key'"], "key column"),
    (["drop-column", "event_time"], ["'event_time'"], "event-time column"),
    (["drop-column", "nope"], ["'nope'", "label, qty, price"], "no such column"),
    (["rename-column", "key", "id"], ["'key'"], "cannot be renamed"),
    (["rename-column", "event_time", "ts"], ["'event_time'"], "cannot be renamed"),
    (["rename-column", "label", "qty"], ["'qty'"], "already has a column"),
    (["rename-column", "label", "_bazof_l"], ["'_bazof_l'"], "reserved"),
    (["rename-column", "nope", "x"], ["'nope'"], "no such column"),
    (["widen-column", "label:int64"], ["'label'", "string to int64"], "not a widening"),
    (["widen-column", "qty:int16"], ["'qty'", "int32 to int16"], "narrows"),
    (["widen-column", "qty:float32"], ["'qty'"], "not every int32 value is exact in float32"),
    (["widen-column", "qty:int32"], ["'qty'"], "already int32"),
    (["widen-column", "price:int64"], ["'price'"], "not a widening"),
    (["widen-column", "key:binary"], ["'key'"], "cannot be widened"),
    (["widen-column", "event_time:timestamp[us]"], ["'event_time'"], "cannot be widened"),
    (["set-property", "compaction.max_deltas=0"], ["compaction.max_deltas", "'0'"], "integer"),
    (["set-property", "Bad.Name=1"], ["'Bad.Name'"], "dotted lower case"),
    (["set-property", "novalue"], ["novalue"], "name=value"),
])
def test_refused_changes_commit_nothing(run, table, op, names, problem):
    path, t = table
    before = table_state(run, path, t)
    proc = run("alter", "--path", path, "--table", t, *op, check=False)
    assert_cli_error(proc, *names, problem=problem)
    assert table_state(run, path, t) == before


def test_int64_to_float64_is_refused(run, table):
    path, t = table
    alter(run, path, t, "widen-column", "qty:int64")
    proc = run("alter", "--path", path, "--table", t, "widen-column", "qty:float64", check=False)
    assert_cli_error(proc, "'qty'", problem="not every int64 value is exact in float64")


def test_properties(run, table):
    path, t = table
    assert info_json(run, path, t)["properties"] == {}
    assert alter(run, path, t, "set-property", "compaction.max_deltas=8") == \
        (2, "set property compaction.max_deltas=8")
    alter(run, path, t, "set-property", "team.owner=pricing")
    assert info_json(run, path, t)["properties"] == {"compaction.max_deltas": "8", "team.owner": "pricing"}
    text = run("info", "--path", path, "--table", t).stdout
    assert "  compaction.max_deltas = 8\n" in text and "  team.owner = pricing\n" in text
    # Unchanged: nothing committed, exit 0.
    proc = run("alter", "--path", path, "--table", t, "set-property", "team.owner=pricing")
    assert proc.stdout.strip() == "property team.owner is already 'pricing'; nothing committed"
    proc = run("alter", "--path", path, "--table", t, "unset-property", "not.set")
    assert proc.stdout.strip() == "property not.set is not set; nothing committed"
    assert len(log_rows(run, path, t)) == 4
    # Writes keep them; unset removes one; older versions keep theirs.
    committed(run("put", "--path", path, "--table", t, "--key", "c", "--event-time", "2024-01-03",
                  "--partial", "label=fig"), rows=1)
    assert info_json(run, path, t)["properties"]["team.owner"] == "pricing"
    assert alter(run, path, t, "unset-property", "team.owner") == (5, "unset property team.owner")
    assert info_json(run, path, t)["properties"] == {"compaction.max_deltas": "8"}
    assert info_json(run, path, t, "--version", "4")["properties"]["team.owner"] == "pricing"
    assert "properties: (none)" in run("info", "--path", path, "--table", t, "--version", "1").stdout


def test_create_with_properties_and_row_group_rows(run, tmp_path):
    """create --property sets properties in version 0 (checked as alter checks them: a bad one is
    one error and no table); write.row_group_rows sizes the row groups of appended files."""
    path = str(tmp_path)
    for bad, problem in (("write.row_group_rows=0", "integer from 1"), ("write.row_group_rows=4k", "integer from 1"),
                         ("Bad.Name=1", "dotted lower case"), ("novalue", "name=value")):
        proc = run("create", "--path", path, "--table", "bad", "--schema", "v:int64", "--property", bad,
                   check=False)
        assert_cli_error(proc, bad.split("=")[0], problem=problem)
        assert not (tmp_path / "bad" / "s0.json").exists()
    proc = run("create", "--path", path, "--table", "t", "--schema", "v:int64", "--property", "write.row_group_rows=3",
               "--property", "team.owner=pricing", "--property", "write.row_group_rows=4", check=False)
    assert_cli_error(proc, "write.row_group_rows", problem="given twice")
    run("create", "--path", path, "--table", "t", "--schema", "v:int64", "--property", "write.row_group_rows=3",
        "--property", "team.owner=pricing")
    assert info_json(run, path, "t")["properties"] == {"write.row_group_rows": "3", "team.owner": "pricing"}
    f = write_csv(tmp_path / "rows.csv", ["key", "event_time", "v"],
                  [[f"k{i}", "2024-01-01T00:00:00Z", str(i)] for i in range(10)])
    committed(run("append", "--path", path, "--table", "t", "--input", f), rows=10)
    files = list((tmp_path / "t" / "data").glob("*.parquet"))
    assert len(files) == 1
    assert [pq.ParquetFile(files[0]).metadata.row_group(i).num_rows for i in range(4)] == [3, 3, 3, 1]
    header, rows = scan_csv(run, path, "t")
    assert sorted(int(r[header.index("v")]) for r in rows) == list(range(10))


def test_history_uses_the_current_names(run, table):
    path, t = table
    alter(run, path, t, "rename-column", "label", "name")
    alter(run, path, t, "widen-column", "qty:int64")
    header, rows = parse_csv(run("history", "--path", path, "--table", t, "--key", "a",
                                 "--format", "csv").stdout)
    assert header == ["key", "event_time", "version", "deleted", "name", "qty", "price"]
    assert [r["name"] for r in rows] == ["apple"]
    header, _ = parse_csv(run("history", "--path", path, "--table", t, "--key", "a", "--version", "1",
                              "--format", "csv").stdout)
    assert header[4:] == ["label", "qty", "price"]


def test_operation_may_come_before_the_table_flags(run, table):
    path, t = table
    proc = run("alter", "add-column", "extra:bool", "--path", path, "--table", t)
    assert proc.stdout.strip() == "committed version 2 (add column 'extra' bool)"


def test_usage_errors(run, table):
    path, t = table
    before = table_state(run, path, t)
    assert_cli_error(run("alter", "--path", path, "--table", t, check=False), "add-column", "unset-property")
    assert_cli_error(run("alter", "--path", path, "--table", t, "frob", check=False), "frob")
    assert_cli_error(run("alter", "--path", path, "--table", t, "drop-column", check=False), "name")
    assert_cli_error(run("alter", "--path", path, "--table", t, "rename-column", "label", check=False), "new")
    assert_cli_error(run("alter", "add-column", "x:int8", check=False), "--path")
    assert_cli_error(run("alter", "--path", path, "--table", "missing", "add-column", "x:int8", check=False),
                     "missing", problem="not found")
    assert table_state(run, path, t) == before
    for args in (["alter", "--help"], ["alter", "widen-column", "--help"]):
        proc = run(*args)
        assert "Usage:" in proc.stdout


def test_legacy_tables_are_not_altered(run, copy_table):
    path, t = copy_table("azof-0.2/table0")
    before = table_state(run, path, t)
    proc = run("alter", "--path", path, "--table", t, "add-column", "x:int8", check=False)
    assert_cli_error(proc, t, problem="does not alter")
    assert table_state(run, path, t) == before


def test_a_reused_name_is_not_matched_in_older_files(run, table, tmp_path):
    """Rename 'label' away and add a new 'label' of another type: older files hold the old
    column under that name (another field id). Scans read it as null and deep validation, which
    matches columns as the reader does, finds nothing wrong."""
    path, t = table
    alter(run, path, t, "rename-column", "label", "old_label")
    alter(run, path, t, "add-column", "label:int64")
    got = scan_parquet(run, path, t, tmp_path / "r.parquet")
    assert got.column("label").to_pylist() == [None, None]
    assert got.column("old_label").to_pylist() == ["apple", "pear"]
    assert_valid(run, path, t)

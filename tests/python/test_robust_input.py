"""Issue #16 (part 1): malformed metadata and input never abort the CLI.

Every failure is exit 1 with exactly one stderr line `bazof: error: ...`
(valid UTF-8, control characters escaped); metadata of the wrong type is
Corruption naming the file and the field's path; text that is not UTF-8 is
refused naming the argument; CSV nulls, large fields and nanosecond
timestamps follow docs/spec.md §10a; OS reasons survive in I/O errors."""
import copy
import json
import os
import shutil
import subprocess
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import csv_map, parse_csv, write_csv


@pytest.fixture
def cli(bazof_bin):
    """cli(*args) -> (returncode, stdout bytes, stderr str); args may be bytes."""
    def _cli(*args):
        proc = subprocess.run([bazof_bin, *[a if isinstance(a, bytes) else str(a) for a in args]],
                              capture_output=True, timeout=300)
        return proc.returncode, proc.stdout, proc.stderr.decode("utf-8")  # strict: must be UTF-8
    return _cli


def assert_one_line_error(result, *needles):
    code, _, err = result
    assert code == 1, f"exit {code} (134 = abort): {err!r}"
    lines = err.split("\n")
    assert len(lines) == 2 and lines[1] == "", f"want one stderr line: {err!r}"
    line = lines[0]
    assert line.startswith("bazof: error: "), line
    assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in line), repr(line)
    for n in needles:
        assert n in line, f"{n!r} not in {line!r}"
    return line


def table_args(path, name):
    return ("--path", path, "--table", name)


@pytest.fixture
def rich_table(run, tmp_path):
    """A table whose latest snapshot has segments with a base and deltas, a
    commit object and properties: (path, name, root, latest version)."""
    path, name = tmp_path / "lake", "t"
    run("create", *table_args(path, name), "--schema", "value:string")
    for i, rows in enumerate([
            [["a", "2024-01-01", "a1"], ["b", "2024-01-02", "b1"], ["c", "2024-01-05", "c1"]],
            [["a", "2024-01-10", "a2"], ["d", "2024-01-11", "d1"]]]):
        run("append", *table_args(path, name), "--input",
            write_csv(tmp_path / f"in{i}.csv", ["key", "event_time", "value"], rows))
    run("compact", *table_args(path, name), "--segment-duration", "4d")
    run("append", *table_args(path, name), "--input",
        write_csv(tmp_path / "in9.csv", ["key", "event_time", "value"], [["a", "2024-01-03", "late"]]))
    run("alter", *table_args(path, name), "set-property", "team.owner=pricing")
    root = path / name
    latest = int((root / "version.txt").read_text())
    return path, name, root, latest


def json_pointers(doc, at=()):
    yield at
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from json_pointers(v, at + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from json_pointers(v, at + (i,))


MUTATIONS = [("deleted", None), ("null", "null"), ("list", "[]"), ("object", "{}"),
             ("string", '"x"'), ("bool", "true"), ("huge", "1e300"), ("2^70", "1180591620717411303424"),
             ("negative", "-1")]


def mutate(doc, ptr, mutation):
    doc = copy.deepcopy(doc)
    parent = doc
    for p in ptr[:-1]:
        parent = parent[p]
    if mutation is None:
        del parent[ptr[-1]]
    else:
        parent[ptr[-1]] = json.loads(mutation)
    return doc


def test_metadata_mutants_fail_cleanly(cli, rich_table):
    """A deterministic sample of wrong-type mutants (every 3rd node, mutations
    in turn) over scan, log and info: success or one clean error line."""
    path, name, root, latest = rich_table
    snap_path = root / f"s{latest}.json"
    original = snap_path.read_text()
    doc = json.loads(original)
    assert "commit" in doc and "properties" in doc
    assert any("base" in s and "delta" in s for s in doc["segments"]), original
    pointers = [p for p in json_pointers(doc) if p]
    cases = [(("commit", "rows_added"), "[]")]  # the example
    cases += [(p, MUTATIONS[i % len(MUTATIONS)][1]) for i, p in enumerate(pointers) if i % 3 == 0]
    errors = 0
    for ptr, mutation in cases:
        snap_path.write_text(json.dumps(mutate(doc, ptr, mutation), indent=2))
        for cmd in (("scan", "--format", "csv"), ("log",), ("info",)):
            result = cli(cmd[0], *table_args(path, name), *cmd[1:])
            if result[0] != 0:
                assert_one_line_error(result)
                errors += 1
    snap_path.write_text(original)
    assert errors > 0


def test_wrong_type_names_file_and_field(cli, rich_table):
    path, name, root, latest = rich_table
    snap_path = root / f"s{latest}.json"
    doc = json.loads(snap_path.read_text())
    doc["commit"]["rows_added"] = []
    snap_path.write_text(json.dumps(doc))
    line = assert_one_line_error(cli("scan", *table_args(path, name)), f"s{latest}.json")
    assert "field 'commit.rows_added': expected an integer, found an array" in line
    del doc["commit"]
    seg = next(s for s in doc["segments"] if "delta" in s)
    i = doc["segments"].index(seg)
    seg["delta"][0]["rows"] = {"x": 1}
    snap_path.write_text(json.dumps(doc))
    line = assert_one_line_error(cli("log", *table_args(path, name)))
    assert f"field 'segments[{i}].delta[0].rows': expected an integer, found an object" in line


def test_version_txt_overflow_and_garbage(cli, rich_table):
    path, name, root, _ = rich_table
    (root / "version.txt").write_text("9" * 25)
    line = assert_one_line_error(cli("scan", *table_args(path, name)), "version.txt")
    assert "out of range" in line
    (root / "version.txt").write_bytes(b"12\n\x1b[31mred\xff" + b"x" * 200)
    line = assert_one_line_error(cli("scan", *table_args(path, name)), "version.txt")
    assert "\\n" in line and "\\x1b" in line and "\\xff" in line and "..." in line
    assert "x" * 100 not in line


def test_non_utf8_text_is_refused(cli, run, tmp_path):
    path = tmp_path / "lake"
    assert_one_line_error(cli("create", *table_args(path, "bad"), "--schema", b"v\xff:string"), "UTF-8")
    run("create", *table_args(path, "t"), "--schema", "value:string")
    t = table_args(path, "t")
    assert_one_line_error(cli("put", *t, "--key", b"\xff", "--event-time", "2024-01-01"), "--key", "UTF-8")
    assert_one_line_error(cli("put", *t, "--key", "k", "--event-time", "2024-01-01", b"value=a\xfe"),
                          "value", "UTF-8")
    assert_one_line_error(cli("delete", *t, "--key", b"k\xc3", "--event-time", "2024-01-01"), "UTF-8")
    assert_one_line_error(cli("scan", *t, "--key", b"\xff"), "UTF-8")
    assert_one_line_error(cli("alter", *t, "add-column", b"c\xff:int32"), "UTF-8")
    assert_one_line_error(cli("alter", *t, "rename-column", "value", b"v\xff"), "UTF-8")
    assert_one_line_error(cli("alter", *t, "set-property", b"team.owner=\xff"), "UTF-8")
    # Input data: a string key column holding invalid UTF-8 (Parquet, CSV).
    bad = pa.Array.from_buffers(pa.string(), 2, [None, pa.py_buffer(b"\x00\x00\x00\x00\x01\x00\x00\x00\x03\x00\x00\x00"),
                                                 pa.py_buffer(b"ok\xff")])
    table = pa.table({"key": bad, "event_time": pa.array([1, 2], pa.timestamp("ms", "UTC")),
                      "value": ["x", "y"]})
    pq.write_table(table, tmp_path / "bad.parquet")
    assert_one_line_error(cli("append", *t, "--input", tmp_path / "bad.parquet"), "column 'key'", "row 2", "UTF-8")
    (tmp_path / "bad.csv").write_bytes(b"key,event_time,value\nk,2024-01-01,v\nk\xff,2024-01-02,v\n")
    assert_one_line_error(cli("append", *t, "--input", tmp_path / "bad.csv"), "column 'key'", "row 2", "UTF-8")
    assert run("log", *t, "--format", "csv").stdout.count("\n") == 2  # header + create: nothing committed


def test_csv_only_the_empty_field_is_null(run, tmp_path):
    path = tmp_path / "lake"
    t = table_args(path, "t")
    run("create", *t, "--schema", "value:string,n:float64")
    texts = ["NA", "null", "NULL", "N/A", "NaN", "#N/A", "n/a", "-NaN", "None"]
    rows = [[f"k{i}", "2024-01-01", s, "1"] for i, s in enumerate(texts)]
    rows += [["e1", "2024-01-01", None, None]]
    csv_path = write_csv(tmp_path / "in.csv", ["key", "event_time", "value", "n"], rows)
    with open(csv_path, "a") as f:
        f.write('e2,2024-01-01,"",""\n')  # quoted empty: null too
    run("append", *t, "--input", csv_path)
    _, out = parse_csv(run("scan", *t, "--format", "csv").stdout)
    got = {r["key"]: r["value"] for r in out}
    for i, s in enumerate(texts):
        assert got[f"k{i}"] == s
    out_json = [json.loads(line) for line in run("scan", *t, "--format", "json").stdout.splitlines()]
    by_key = {r["key"]: r for r in out_json}
    assert by_key["e1"]["value"] is None and by_key["e1"]["n"] is None
    assert by_key["e2"]["value"] is None and by_key["e2"]["n"] is None
    assert by_key["k0"]["value"] == "NA"


def test_csv_na_in_a_number_column_does_not_parse(cli, run, tmp_path):
    path = tmp_path / "lake"
    t = table_args(path, "t")
    run("create", *t, "--schema", "n:float64")
    csv_path = write_csv(tmp_path / "in.csv", ["key", "event_time", "n"], [["a", "2024-01-01", "NA"]])
    assert_one_line_error(cli("append", *t, "--input", csv_path), "row 1", "column 'n'", "'NA'")


def test_csv_16mb_field_round_trips(run, tmp_path):
    path = tmp_path / "lake"
    t = table_args(path, "t")
    run("create", *t, "--schema", "value:string")
    big = "".join(chr(ord("a") + i % 26) for i in range(16 * 1024 * 1024))
    rows = [["a", "2024-01-01", "small"], ["b", "2024-01-02", big], ["c", "2024-01-03", "after"]]
    run("append", *t, "--input", write_csv(tmp_path / "in.csv", ["key", "event_time", "value"], rows))
    out = tmp_path / "out.parquet"
    run("scan", *t, "--format", "parquet", "--output", out)
    got = pq.read_table(out).to_pydict()
    assert got["key"] == ["a", "b", "c"]
    assert got["value"][1] == big and got["value"][2] == "after"


def test_csv_nanosecond_timestamps_are_floored(run, tmp_path):
    path = tmp_path / "lake"
    t = table_args(path, "t")
    run("create", *t, "--schema", "value:string,at:timestamp[us]")
    rows = [["a", "2024-01-01T00:00:00.123456789Z", "x", "2024-01-01T00:00:00.999999999"],
            ["b", "1969-12-31T23:59:59.9999999Z", "y", "2024-01-01T00:00:00.1234567+01:00"]]
    run("append", *t, "--input", write_csv(tmp_path / "in.csv", ["key", "event_time", "value", "at"], rows))
    out = tmp_path / "out.parquet"
    run("scan", *t, "--format", "parquet", "--output", out, "--as-of", "2030-01-01")
    got = pq.read_table(out)
    et = got.column("event_time").cast(pa.int64()).to_pylist()   # timestamp[ms]
    at = got.column("at").cast(pa.int64()).to_pylist()           # timestamp[us]
    assert et == [1704067200123, -1]  # floored, before 1970 too
    assert at == [1704067200999999, 1704063600123456]
    # put and --as-of take 9 digits as well (--as-of floors to microseconds).
    run("put", *t, "--key", "c", "--event-time", "2024-01-02T00:00:00.001000000Z", "value=z", "at=2024-01-02T00:00:00Z")
    assert "c" not in csv_map(run("scan", *t, "--format", "csv", "--as-of", "2024-01-02T00:00:00.000999999Z").stdout)
    assert csv_map(run("scan", *t, "--format", "csv", "--as-of", "2024-01-02T00:00:00.001000999Z").stdout)["c"] == "z"


def test_csv_duplicate_column_is_refused(cli, run, tmp_path):
    path = tmp_path / "lake"
    t = table_args(path, "t")
    run("create", *t, "--schema", "value:string")
    for header in (["key", "event_time", "value", "value"], ["key", "key", "event_time", "value"]):
        csv_path = write_csv(tmp_path / "dup.csv", header, [["a", "a" if header[1] == "key" else "2024-01-01",
                                                            "2024-01-01" if header[1] == "key" else "x", "y"]])
        dup = header[1] if header[1] == "key" else "value"
        assert_one_line_error(cli("append", *t, "--input", csv_path), f"column '{dup}'", "duplicated")


def _mount_tmpfs(target, size):
    target.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip() or 'not root'}): "
                    "disk-full and read-only errors are not testable without one")


@pytest.fixture
def small_fs(tmp_path):
    target = tmp_path / f"fs-{uuid.uuid4().hex[:8]}"
    _mount_tmpfs(target, "2m")
    yield target
    subprocess.run(["umount", "-l", str(target)], check=False)


def test_disk_full_keeps_the_os_reason(cli, run, small_fs, tmp_path):
    t = table_args(small_fs, "t")
    run("create", *t, "--schema", "value:string")
    rows = [[f"k{i}", "2024-01-01", os.urandom(3000).hex()] for i in range(1000)]  # ~6 MB, incompressible
    csv_path = write_csv(tmp_path / "big.csv", ["key", "event_time", "value"], rows)
    assert_one_line_error(cli("append", *t, "--input", csv_path), "No space left on device")
    assert run("log", *t, "--format", "csv").stdout.count("\n") == 2  # nothing committed


def test_read_only_keeps_the_os_reason(cli, run, small_fs, tmp_path):
    t = table_args(small_fs, "t")
    run("create", *t, "--schema", "value:string")
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    csv_path = write_csv(tmp_path / "in.csv", ["key", "event_time", "value"], [["a", "2024-01-01", "x"]])
    assert_one_line_error(cli("append", *t, "--input", csv_path), "Read-only file system")
    assert_one_line_error(cli("put", *t, "--key", "a", "--event-time", "2024-01-01", "value=x"),
                          "Read-only file system")


def test_python_errors_are_the_same_one_line(cli, rich_table):
    """Python raises the CLI's message (same core function): one line, escaped."""
    bazof = pytest.importorskip("bazof")
    path, name, root, latest = rich_table
    snap_path = root / f"s{latest}.json"
    doc = json.loads(snap_path.read_text())
    doc["commit"]["rows_added"] = []
    snap_path.write_text(json.dumps(doc))
    with pytest.raises(bazof.CorruptTable) as e:
        bazof.open_table(root)
    assert "field 'commit.rows_added': expected an integer, found an array" in str(e.value)
    assert str(e.value) == assert_one_line_error(cli("scan", *table_args(path, name)))[len("bazof: error: "):]
    (root / "version.txt").write_bytes(b"7\n\x1b[0m")
    with pytest.raises(bazof.CorruptTable) as e:
        bazof.open_table(root)
    assert "\n" not in str(e.value) and "\\n\\x1b[0m" in str(e.value)

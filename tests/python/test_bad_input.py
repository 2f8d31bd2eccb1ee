"""Bad input: exit 1, one line `bazof: error: ...` on stderr naming object and problem, no stdout."""
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import assert_cli_error as assert_error

TABLE = "bazof-0.1/table0"   # s1.json -> base.parquet + delta1.parquet (both read when latest)


@pytest.fixture
def table(lake, lake_copy):
    """A writable copy of bazof-0.1/table0, on a local path and on s3:// (`lake`):
    (path, name, root)."""
    path, name = lake_copy(TABLE, table="tabula")
    return path, name, lake.root_path(name)


@pytest.fixture
def scan(run):
    def _scan(path, name, *args):
        return run("scan", "--path", path, "--table", name, "--format", "csv", *args, check=False)
    return _scan


def set_delta_file(root, name):
    snap = json.loads((root / "s1.json").read_text())
    snap["segments"][0]["delta"][0]["file"] = name
    (root / "s1.json").write_text(json.dumps(snap))


def test_missing_path(scan, tmp_path):
    missing = tmp_path / "does-not-exist"
    assert_error(scan(missing, "t"), missing, problem=r"not found|no such|does not exist")


def test_missing_table(scan, table):
    path, _, _ = table
    assert_error(scan(path, "nope"), "nope", problem=r"not found|no such|does not exist")


def test_no_version_txt_no_snapshot(scan, table):
    path, name, root = table
    (root / "version.txt").unlink()
    (root / "s1.json").unlink()
    assert_error(scan(path, name), name, problem=r"not found|no version|no such|does not exist")


def test_garbled_version_txt(scan, table):
    path, name, root = table
    (root / "version.txt").write_text("abc")
    assert_error(scan(path, name), "version.txt")


def test_snapshot_not_json(scan, table):
    path, name, root = table
    (root / "s1.json").write_text('{"segments": [ {"id": "10", ')
    assert_error(scan(path, name), "s1.json", problem=r"json|pars|syntax|unexpected")


def test_snapshot_without_segments(scan, table):
    path, name, root = table
    (root / "s1.json").write_text('{"schema": {"columns": []}}')
    assert_error(scan(path, name), "s1.json", "segments")


def test_version_not_found(scan, table):
    path, name, _ = table
    assert_error(scan(path, name, "--version", "7"), problem=r"s7\.json|version\D*7")


def test_data_file_missing(scan, table):
    path, name, root = table
    (root / "delta1.parquet").unlink()
    assert_error(scan(path, name), "delta1.parquet", problem=r"not found|no such|does not exist")


def test_data_file_not_parquet(scan, table):
    path, name, root = table
    (root / "delta1.parquet").write_text("key,value,event_time\n1,abc,2024-02-01\n")
    assert_error(scan(path, name), "delta1.parquet",
                 problem=r"not a parquet|magic|corrupt|invalid")


@pytest.mark.parametrize("missing", ["event_time", "key"])
def test_data_file_lacks_column(scan, table, missing):
    path, name, root = table
    cols = {"key": pa.array(["1"]), "value": pa.array(["q"]),
            "event_time": pa.array([1706745600000], pa.timestamp("ms", tz="UTC"))}
    del cols[missing]
    buf = pa.BufferOutputStream()
    pq.write_table(pa.table(cols), buf)
    (root / "delta1.parquet").write_bytes(buf.getvalue().to_pybytes())
    assert_error(scan(path, name), "delta1.parquet", problem=rf"\b{missing}\b")


@pytest.mark.parametrize("bad", ["yesterday", "2024-13-01", "2024-02-30", "2024-02-17T25:00:00Z",
                                 "2024-02-17 junk", ""])
def test_unparsable_as_of(scan, table, bad):
    path, name, _ = table
    line = assert_error(scan(path, name, "--as-of", bad), problem=r"as-of")
    assert f"'{bad}'" in line or (bad and bad in line), line


ESCAPES = ["../x.parquet", "/etc/passwd", "s3://b/x.parquet", "a/../../x.parquet",
           "./delta1.parquet", "a//delta1.parquet", "..\\x.parquet", "C:/x.parquet",
           "file:///etc/passwd"]


@pytest.mark.parametrize("bad", ESCAPES)
def test_file_name_escaping_root(scan, lake, table, bad):
    path, name, root = table
    # A valid Parquet file waits at the place "../x.parquet" would resolve to: never read it.
    (lake.root_path() / "x.parquet").write_bytes((root / "delta1.parquet").read_bytes())
    (root / "a").mkdir()
    (root / "a" / "delta1.parquet").write_bytes((root / "delta1.parquet").read_bytes())
    set_delta_file(root, bad)
    assert_error(scan(path, name), bad, problem=r"escap|outside|root|invalid|not allowed")


def test_base_file_name_escaping_root(scan, lake, table):
    path, name, root = table
    (lake.root_path() / "x.parquet").write_bytes((root / "base.parquet").read_bytes())
    snap = json.loads((root / "s1.json").read_text())
    snap["segments"][0]["file"] = "../x.parquet"
    (root / "s1.json").write_text(json.dumps(snap))
    assert_error(scan(path, name), "../x.parquet", problem=r"escap|outside|root")


def test_empty_file_name(scan, table):
    path, name, root = table
    set_delta_file(root, "")
    assert_error(scan(path, name), "s1.json")


@pytest.mark.parametrize("cols", ["nosuch", "value,nosuch"])
def test_unknown_column(scan, table, cols):
    path, name, _ = table
    assert_error(scan(path, name, "--columns", cols), "nosuch")


def test_parquet_without_output(run, table):
    path, name, _ = table
    proc = run("scan", "--path", path, "--table", name, "--format", "parquet", check=False)
    assert_error(proc, "--output")


def test_unknown_format(run, table):
    path, name, _ = table
    proc = run("scan", "--path", path, "--table", name, "--format", "xml", check=False)
    assert_error(proc, "xml")


def test_unsupported_format_version(scan, table):
    path, name, root = table
    snap = json.loads((root / "s1.json").read_text())
    snap["format_version"] = 99
    (root / "s1.json").write_text(json.dumps(snap))
    assert_error(scan(path, name), "99", problem=r"format")


def test_unknown_flag_is_exit_1(run, table):
    path, name, _ = table
    proc = run("scan", "--path", path, "--table", name, "--bogus", check=False)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""
    assert "--bogus" in proc.stderr


@pytest.mark.parametrize("flag", ["--version", "-V", "--version-info"])
def test_version_flag(run, flag):
    proc = run(flag)
    assert proc.stdout.strip() == "bazof 0.1.0 (format 1)", proc.stdout
    assert proc.stderr == ""


@pytest.mark.parametrize("word, suggestion", [("scna", "scan"), ("apend", "append"), ("vacum", "vacuum"),
                                              ("comapct", "compact"), ("Scan", "scan")])
def test_misspelt_command_suggests(run, word, suggestion):
    line = assert_error(run(word, "--path", ".", check=False), word, problem="unknown command")
    assert f"did you mean '{suggestion}'?" in line, line


def test_unknown_command_far_from_any(run):
    line = assert_error(run("frobnicate", check=False), "frobnicate", problem="unknown command")
    assert "did you mean" not in line and "--help" in line, line


def test_subcommand_version_option_is_the_table_version(run, fixtures_dir):
    # After a command, --version is that command's table version, not the program's.
    out = run("scan", "--path", fixtures_dir / "azof-0.2", "--table", "table0", "--version", "1",
              "--format", "csv").stdout
    assert out.startswith("key,event_time,value")


def test_no_command(run):
    assert_error(run(check=False), problem="a command is required")

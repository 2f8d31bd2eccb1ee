"""The installed package: the `bazof` CLI beside the interpreter runs on its
own (Arrow found through its RPATH in the installed pyarrow), the extension
is the one in site-packages, and the package metadata is there."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import bazof
import bazof._core


def installed_cli():
    path = Path(sys.executable).parent / "bazof"
    assert path.is_file() and os.access(path, os.X_OK), f"no bazof CLI installed at {path}"
    return path


def test_installed_cli_runs_the_showcase(fixtures_dir, bazof_bin):
    args = ["scan", "--path", fixtures_dir / "bazof-0.1", "--table", "ltm_revenue", "--key", "AAPL", "--key", "GOOG",
            "--as-of", "2019-01-17", "--format", "csv"]
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    got = subprocess.run([installed_cli(), *map(str, args)], capture_output=True, text=True, env=env, cwd="/")
    assert got.returncode == 0, got.stderr
    want = subprocess.run([bazof_bin, *map(str, args)], capture_output=True, text=True, check=True)
    assert got.stdout == want.stdout
    assert "261612000000" in got.stdout


def test_installed_cli_errors_like_the_build_tree_one(tmp_path):
    got = subprocess.run([installed_cli(), "scan", "--path", str(tmp_path), "--table", "none"],
                         capture_output=True, text=True)
    assert got.returncode == 1 and got.stderr.startswith("bazof: error: ")


def test_package_metadata():
    assert bazof.__version__ == "0.1.0"
    pkg = Path(bazof.__file__).parent
    assert (pkg / "py.typed").is_file()
    assert Path(bazof._core.__file__).parent == pkg
    for name in ["open_table", "create_table", "scan_bazof", "register_duckdb", "register_datafusion"]:
        assert getattr(bazof, name).__doc__, name


def test_table_uris_split_into_location_and_name(tmp_path):
    from bazof._table import _options, _split_uri
    assert _split_uri("s3://bucket/prefix/table") == ("s3://bucket/prefix", "table")
    assert _split_uri("s3://bucket/table/") == ("s3://bucket", "table")
    assert _split_uri(tmp_path / "t") == (str(tmp_path), "t")
    assert _split_uri("t") == (".", "t")
    for bad in ["s3://bucket", ""]:
        with pytest.raises(bazof.InvalidInput):
            _split_uri(bad)
    # storage_options become the core's StorageOptions, as text.
    assert _options("s3://b/t", None) == {}
    assert _options("s3://b/t", {"region": "eu-west-1", "conditional_writes": False, "max_attempts": 5}) == {
        "region": "eu-west-1", "conditional_writes": "false", "max_attempts": "5"}
    for uri, options in [(str(tmp_path / "t"), {"region": "x"}), ("s3://b/t", ["region"])]:
        with pytest.raises(bazof.InvalidInput):
            _options(uri, options)

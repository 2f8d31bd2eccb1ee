"""`bazof intervals` and `bazof diff` (docs/spec.md §19): output formats, --help, and one-line
errors with exit code 1 for bad input. Semantics are checked against the oracle in
api/test_py_views.py; here the CLI renders the same core."""
import json

import pyarrow.parquet as pq

from conftest import assert_cli_error, committed
from conftest import parse_csv as _parse_csv


def parse_csv(text):
    header, rows = _parse_csv(text)
    return header, [list(r.values()) for r in rows]


def make(run, tmp_path):
    base = ["--path", tmp_path, "--table", "t"]
    run("create", *base, "--schema", "price:float64")
    committed(run("put", *base, "--key", "a", "--event-time", "2024-01-01", "price=1"))
    committed(run("put", *base, "--key", "a", "--event-time", "2024-02-01", "price=2"))
    committed(run("put", *base, "--key", "b", "--event-time", "2024-02-01", "price=5"))
    committed(run("delete", *base, "--key", "b", "--event-time", "2024-03-01"))
    committed(run("put", *base, "--key", "a", "--event-time", "2024-02-01", "price=2.5"))
    return base


def test_intervals_and_diff_formats(run, tmp_path):
    base = make(run, tmp_path)
    header, rows = parse_csv(run("intervals", *base, "--format", "csv").stdout)
    assert header == ["key", "valid_from", "valid_to", "price"]
    assert [r[0] for r in rows] == ["a", "a", "b"]
    assert rows[0][1:] == ["2024-01-01T00:00:00.000Z", "2024-02-01T00:00:00.000Z", "1"]
    assert rows[1][2] == "" and rows[1][3] == "2.5"          # current: valid_to null; v5's correction won
    assert rows[2][2] == "2024-03-01T00:00:00.000Z"          # closed by the tombstone
    out = run("intervals", *base, "--start", "2024-02-01", "--end", "2024-03-01", "--key", "b",
              "--format", "json").stdout
    assert [json.loads(x)["price"] for x in out.splitlines()] == [5]
    assert "valid_from" in run("intervals", *base).stdout  # table format

    header, rows = parse_csv(run("diff", *base, "--from", "2024-01-15", "--to", "2024-02-15", "--format", "csv").stdout)
    assert header == ["key", "kind", "old_event_time", "new_event_time", "old_price", "new_price"]
    assert [(r[0], r[1], r[4], r[5]) for r in rows] == [("a", "update", "1", "2.5"), ("b", "insert", "", "5")]
    _, rows = parse_csv(run("diff", *base, "--at", "2024-02-15", "--from-version", "2", "--to-version", "5",
                            "--format", "csv").stdout)
    assert [(r[0], r[1], r[4], r[5]) for r in rows] == [("a", "update", "2", "2.5"), ("b", "insert", "", "5")]
    out = tmp_path / "d.parquet"
    run("diff", *base, "--from", "2024-02-15", "--to", "2024-03-01", "--format", "parquet", "--output", out)
    assert pq.read_table(out).column("kind").to_pylist() == ["delete"]
    # A memory budget changes how, not what (§19.3: the key side or the streaming merge-join).
    for limit in ("32MiB", "1GiB"):
        _, rows = parse_csv(run("diff", *base, "--at", "2024-02-15", "--from-version", "2", "--to-version", "5",
                                "--memory-limit", limit, "--format", "csv").stdout)
        assert [(r[0], r[1], r[4], r[5]) for r in rows] == [("a", "update", "2", "2.5"), ("b", "insert", "", "5")]


def test_bad_input_is_one_line_exit_1(run, tmp_path):
    base = make(run, tmp_path)
    assert_cli_error(run("intervals", *base, "--start", "2024-03-01", "--end", "2024-01-01", check=False),
                     "2024-03-01", problem="not before end")
    assert_cli_error(run("intervals", *base, "--start", "March", check=False), "--start")
    assert_cli_error(run("intervals", *base, "--columns", "nope", check=False), "nope", problem="unknown column")
    assert_cli_error(run("intervals", *base, "--format", "parquet", check=False), "--output")
    assert_cli_error(run("diff", *base, check=False), "--from", problem="two points")
    assert_cli_error(run("diff", *base, "--from", "2024-01-01", "--memory-limit", "1MiB", check=False),
                     "1MiB", problem="below the minimum")
    assert_cli_error(run("diff", *base, "--at", "2024-01-01", "--from", "2024-01-01", "--to-version", "2",
                         check=False), "--at")
    assert_cli_error(run("diff", *base, "--from", "2024-01-01", "--to-version", "99", check=False),
                     "version 99", problem="does not exist")
    assert_cli_error(run("diff", "--path", tmp_path, "--table", "missing", "--from", "2024-01-01", check=False),
                     "missing", problem="not found")


def test_diff_commit_time_travel(run, tmp_path):
    """diff --as-of-commit / --from-commit / --to-commit pick the versions scan --as-of-commit
    picks (the latest committed at or before the time) and give what --version / --from-version /
    --to-version give with those versions."""
    from conftest import log_rows
    base = make(run, tmp_path)
    stamps = {int(r["version"]): r["timestamp"] for r in log_rows(run, tmp_path, "t") if r["timestamp"]}
    assert len(stamps) >= 5

    def at(ts):  # the version current at commit time ts
        return max(v for v, s in stamps.items() if s <= ts)

    def csv(*args):
        return run("diff", *base, *args, "--format", "csv").stdout

    for v, ts in stamps.items():
        want = at(ts)
        assert csv("--from", "2024-01-15", "--to", "2024-02-15", "--as-of-commit", ts) == \
            csv("--from", "2024-01-15", "--to", "2024-02-15", "--version", str(want))
        assert csv("--at", "2024-02-15", "--from-commit", stamps[min(stamps)], "--to-commit", ts) == \
            csv("--at", "2024-02-15", "--from-version", str(at(stamps[min(stamps)])), "--to-version", str(want))
        assert csv("--at", "2024-02-15", "--from-version", "1", "--to-commit", ts) == \
            csv("--at", "2024-02-15", "--from-version", "1", "--to-version", str(want))
    assert_cli_error(run("diff", *base, "--at", "2024-02-15", "--from-commit", "2000-01-01", check=False),
                     "2000-01-01", problem="no version was committed")
    assert_cli_error(run("diff", *base, "--at", "2024-02-15", "--from-commit", "yesterday", check=False),
                     "--from-commit")
    bad = run("diff", *base, "--from", "2024-01-01", "--as-of-commit", stamps[1], "--version", "2", check=False)
    assert bad.returncode == 1 and "excludes" in bad.stderr
    assert "--as-of-commit" in run("diff", "--help").stdout

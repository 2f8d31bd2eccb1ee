"""Issue #17 verbs through the CLI: compaction that never makes a small table
worse and is idempotent, put semantics (--partial), delete of an unknown key
(--strict), restore --version, delete --where, with one-line errors that
commit nothing."""
import json

import pytest

from conftest import assert_cli_error, assert_valid, csv_rows, log_rows, write_csv


def table_args(path, table="s"):
    return ["--path", path, "--table", table]


@pytest.fixture
def stocks(run, tmp_path):
    """The issue's stocks table: 5 symbols x 113 months of prices (565 rows),
    one CSV append per symbol."""
    run("create", *table_args(tmp_path), "--key", "symbol", "--event-time", "date",
        "--schema", "symbol:string,date:timestamp[ms],price:float64")
    for s, sym in enumerate(["AAPL", "AMZN", "GOOG", "IBM", "MSFT"]):
        rows = [[sym, f"{2000 + m // 12}-{m % 12 + 1:02d}-01", f"{10 + s + m * 0.5}"] for m in range(113)]
        csv = tmp_path / f"{sym}.csv"
        write_csv(csv, ["symbol", "date", "price"], rows)
        run("append", *table_args(tmp_path), "--input", csv)
    return tmp_path


def version_of(run, path, table="s"):
    return int(log_rows(run, path, table)[-1]["version"])


def scan(run, path, *args, table="s"):
    return run("scan", *table_args(path, table), "--format", "csv", *args).stdout


def test_compact_small_table_is_one_segment_and_a_second_compact_does_nothing(run, stocks):
    r = json.loads(run("compact", *table_args(stocks), "--format", "json").stdout)
    assert r["committed"] and not r["nothing_to_compact"]
    assert r["segments"] == 1 and r["bases"] == 0, r  # was 113 segments with 112 bases
    assert len(r["files_added"]) == 1
    v = version_of(run, stocks)
    before = scan(run, stocks, "--as-of", "2004-06-01")
    again = run("compact", *table_args(stocks))
    assert again.stdout.startswith("nothing to compact: version 6 is already compacted"), again.stdout
    assert "nothing committed" in again.stdout
    j = json.loads(run("compact", *table_args(stocks), "--format", "json").stdout)
    assert j["nothing_to_compact"] and not j["committed"] and "already compacted" in j["reason"]
    assert version_of(run, stocks) == v
    assert scan(run, stocks, "--as-of", "2004-06-01") == before
    # A forced rewrite still works, and a late event makes compaction useful again.
    assert json.loads(run("compact", *table_args(stocks), "--force", "--format", "json").stdout)["committed"]
    run("put", *table_args(stocks), "--key", "IBM", "--event-time", "2001-01-15", "price=1")
    assert json.loads(run("compact", *table_args(stocks), "--format", "json").stdout)["committed"]
    assert_valid(run, stocks, "s")


def test_put_needs_every_value_or_partial(run, tmp_path):
    run("create", *table_args(tmp_path), "--key", "symbol", "--schema", "symbol:string,price:float64,qty:int64")
    line = assert_cli_error(run("put", *table_args(tmp_path), "--key", "IBM", "--event-time", "2024-01-01",
                                check=False), "no value column", "price")
    assert "delete" in line
    line = assert_cli_error(run("put", *table_args(tmp_path), "--key", "IBM", "--event-time", "2024-01-01",
                                "price=1", check=False), "'qty'", "--partial")
    assert version_of(run, tmp_path) == 0
    run("put", *table_args(tmp_path), "--key", "IBM", "--event-time", "2024-01-01", "price=1", "qty=2")
    run("put", *table_args(tmp_path), "--key", "IBM", "--event-time", "2024-01-03", "--partial", "qty=5")
    rows = csv_rows(scan(run, tmp_path))
    assert [(r["price"], r["qty"]) for r in rows] == [("1", "5")]
    assert "--partial" in run("put", "--help").stdout
    # A value that does not fit its column: one line naming column, value and type.
    line = assert_cli_error(run("put", *table_args(tmp_path), "--key", "IBM", "--event-time", "2024-01-04",
                                "price=1", "qty=99999999999999999999", check=False), "qty", "99999999999999999999",
                            "int64")
    assert "Arrow" not in line and "Invalid:" not in line


def test_delete_of_an_unknown_key_warns_and_strict_refuses(run, stocks):
    v = version_of(run, stocks)
    proc = run("delete", *table_args(stocks), "--key", "IBMX", "--event-time", "2024-01-01")
    assert "warning" in proc.stderr and "IBMX" in proc.stderr and "no event" in proc.stderr
    assert version_of(run, stocks) == v + 1
    j = json.loads(run("delete", *table_args(stocks), "--key", "IBMY", "--event-time", "2024-01-01",
                       "--format", "json").stdout)
    assert j["committed"] and j["key_had_no_events"] and "IBMY" in j["warning"]
    known = run("delete", *table_args(stocks), "--key", "IBM", "--event-time", "2024-01-01")
    assert known.stderr == ""
    assert_cli_error(run("delete", *table_args(stocks), "--key", "IBMZ", "--event-time", "2024-01-01",
                         "--strict", check=False), "IBMZ", "strict")
    assert version_of(run, stocks) == v + 3


def test_restore_version(run, stocks):
    run("compact", *table_args(stocks))
    run("delete", *table_args(stocks), "--key", "AAPL", "--event-time", "2003-01-01")
    run("put", *table_args(stocks), "--key", "IBM", "--event-time", "2002-05-01", "price=7")
    probes = ["2000-01-01", "2002-05-01", "2003-06-01", "2010-01-01"]
    at3 = {t: scan(run, stocks, "--as-of", t, "--version", "3") for t in probes}
    head = version_of(run, stocks)
    j = json.loads(run("restore", *table_args(stocks), "--version", "3", "--format", "json").stdout)
    assert j["version"] == head + 1 and j["restored_version"] == 3
    for t in probes:
        assert scan(run, stocks, "--as-of", t) == at3[t], t
    log = log_rows(run, stocks, "s")
    assert log[-1]["operation"] == "restore"
    run("put", *table_args(stocks), "--key", "NEW", "--event-time", "2001-01-01", "price=3")
    assert "NEW" in scan(run, stocks)
    assert_valid(run, stocks, "s")
    v = version_of(run, stocks)
    assert_cli_error(run("restore", *table_args(stocks), "--version", str(v + 5), check=False),
                     str(v + 5), "beyond")
    run("vacuum", *table_args(stocks), "--retain-versions", "2", "--grace", "0")
    assert_cli_error(run("restore", *table_args(stocks), "--version", "1", check=False), "version 1", "vacuumed")
    assert version_of(run, stocks) == v


def test_delete_where(run, stocks):
    v = version_of(run, stocks)
    dry = run("delete", *table_args(stocks), "--where", "price>=60", "--event-time", "2005-01-01", "--dry-run")
    # As of 2005-01-01 (month 60), price = 10 + s + 30: only s >= 20... none; use a lower bar.
    assert dry.stdout.startswith("would delete 0 key(s)")
    dry = run("delete", *table_args(stocks), "--where", "price >= 42", "--where", "symbol != AMZN",
              "--event-time", "2005-01-01", "--dry-run")
    assert dry.stdout.splitlines()[1:] == ["GOOG", "IBM", "MSFT"], dry.stdout
    assert version_of(run, stocks) == v
    j = json.loads(run("delete", *table_args(stocks), "--where", "price >= 42", "--where", "symbol != AMZN",
                       "--event-time", "2005-01-01", "--format", "json").stdout)
    assert j["keys"] == 3 and j["committed"] and j["version"] == v + 1
    rows = {r["symbol"] for r in csv_rows(scan(run, stocks, "--as-of", "2005-01-01"))}
    assert rows == {"AAPL", "AMZN"}
    rows = {r["symbol"] for r in csv_rows(scan(run, stocks, "--as-of", "2004-12-31"))}
    assert rows == {"AAPL", "AMZN", "GOOG", "IBM", "MSFT"}
    for bad, needle in [("colour=1", "colour"), ("price~1", "OP"), ("price>=cheap", "cheap")]:
        assert_cli_error(run("delete", *table_args(stocks), "--where", bad, "--event-time", "2005-01-01",
                             check=False), needle)
    assert version_of(run, stocks) == v + 1

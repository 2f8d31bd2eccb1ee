"""Issue #17 part B in the CLI: one table URI, composite keys, commit-time travel and
the messages about types and timestamp precision."""
import re
import subprocess
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import _bazof_path, assert_cli_error, csv_rows, log_rows, parse_csv, write_csv


def scan_csv(run, *args):
    return csv_rows(run("scan", *args, "--format", "csv").stdout)


# ---- 1. one table URI -------------------------------------------------------

def test_uri_everywhere(run, lake, tmp_path):
    uri = lake.root("stocks")
    run("create", uri, "--schema", "price:float64")
    run("put", uri, "--key", "IBM", "--event-time", "2024-01-01", "price=1.5")
    f = write_csv(tmp_path / "in.csv", ["key", "event_time", "price"], [["AAPL", "2024-01-02", "2.5"]])
    run("append", uri, "--input", f)
    run("delete", uri, "--key", "IBM", "--event-time", "2024-02-01")
    assert [r["key"] for r in scan_csv(run, uri)] == ["AAPL"]
    assert [r["key"] for r in scan_csv(run, uri, "--as-of", "2024-01-15")] == ["AAPL", "IBM"]
    # --path/--table keep working, and may be given with the URI when they agree.
    assert scan_csv(run, "--path", lake.path, "--table", "stocks") == scan_csv(run, uri)
    assert scan_csv(run, uri + "/", "--path", lake.path, "--table", "stocks") == scan_csv(run, uri)
    for cmd in (["log"], ["info"], ["validate"], ["history", "--key", "IBM"], ["intervals"],
                ["diff", "--from-version", "1"]):
        run(cmd[0], uri, *cmd[1:])
    run("watermark", "show", uri)
    run("watermark", "set", uri, "2024-01-31")
    run("watermark", "set", "--path", lake.path, "--table", "stocks", "2024-02-01")  # the time is not a URI
    run("put", "--path", lake.path, "--table", "stocks", "--key", "X", "--event-time", "2024-03-01",
        "price=3")  # price=3 is a value, not a URI
    assert {r["key"]: r["price"] for r in scan_csv(run, uri)} == {"AAPL": "2.5", "X": "3"}
    run("alter", uri, "add-column", "volume:int64")
    run("compact", uri)
    run("vacuum", uri, "--dry-run")


def test_file_uri_and_relative_path(run, tmp_path):
    lake = tmp_path / "lake"
    lake.mkdir()
    run("create", f"file://{lake}/t", "--schema", "v:int64")
    run("put", str(lake / "t"), "--key", "a", "--event-time", "2024-01-01", "v=1")
    proc = subprocess.run([str(_bazof_path()), "scan", "lake/t", "--format", "csv"], cwd=tmp_path,
                          capture_output=True, text=True, check=True)
    assert csv_rows(proc.stdout)[0]["v"] == "1"
    proc = subprocess.run([str(_bazof_path()), "scan", "lake/t", "--path", "./lake/", "--table", "t",
                           "--format", "csv"], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert csv_rows(proc.stdout)[0]["v"] == "1"


def test_uri_errors(run, tmp_path):
    (tmp_path / "l").mkdir()
    uri = str(tmp_path / "l" / "t")
    run("create", uri, "--schema", "v:int64")
    assert_cli_error(run("scan", check=False), problem="no table given")
    assert_cli_error(run("scan", "--path", str(tmp_path), check=False), "--table")
    assert_cli_error(run("scan", uri, "--table", "other", check=False), uri, "other", problem="give one of them")
    assert_cli_error(run("scan", uri, "--path", str(tmp_path / "x"), "--table", "t", check=False),
                     problem="give one of them")
    assert_cli_error(run("scan", "s3://bucket", check=False), "s3://bucket", problem="does not name a table")
    assert_cli_error(run("scan", str(tmp_path / "l" / "missing"), check=False), "missing")
    # Nothing committed by a refused put.
    proc = run("put", uri, "--path", str(tmp_path), "--table", "t", "--key", "a", "--event-time", "2024-01-01",
               check=False)
    assert_cli_error(proc, problem="give one of them")
    assert len(log_rows(run, str(tmp_path / "l"), "t")) == 1
    assert_cli_error(run("watermark", "set", uri, check=False), problem="give the event time")


# ---- 2. composite keys -----------------------------------------------------------

def test_composite_keys(run, lake, tmp_path):
    uri = lake.root("quotes")
    run("create", uri, "--schema", "sym:string,venue:string,price:float64", "--key", "sym,venue")
    run("put", uri, "--key", "sym=AAPL,venue=XNAS", "--event-time", "2024-01-01", "price=1")
    run("put", uri, "--key", "sym=AAPL", "--key", "venue=BATS", "--event-time", "2024-01-01", "price=2")
    run("put", uri, "--key", "venue=XNAS,sym=MSFT", "--event-time", "2024-01-01", "price=3")
    run("put", uri, "--key", "sym=AAPL,venue=XNAS", "--event-time", "2024-02-01", "price=4")
    rows = scan_csv(run, uri, "--key", "sym=AAPL,venue=XNAS", "--key", "sym=MSFT,venue=XNAS")
    assert [(r["sym"], r["venue"], r["price"]) for r in rows] == [("AAPL", "XNAS", "4"), ("MSFT", "XNAS", "3")]
    rows = scan_csv(run, uri, "--key", "venue=XNAS,sym=AAPL", "--as-of", "2024-01-15")
    assert [(r["sym"], r["venue"], r["price"]) for r in rows] == [("AAPL", "XNAS", "1")]
    assert scan_csv(run, uri, "--key", "sym=NONE,venue=XNAS") == []
    hist = csv_rows(run("history", uri, "--key", "sym=AAPL,venue=XNAS", "--format", "csv").stdout)
    assert [r["price"] for r in hist] == ["1", "4"]
    iv = csv_rows(run("intervals", uri, "--key", "sym=AAPL,venue=XNAS", "--format", "csv").stdout)
    assert [r["price"] for r in iv] == ["1", "4"]
    run("delete", uri, "--key", "sym=MSFT,venue=XNAS", "--event-time", "2024-03-01")
    assert [r["sym"] for r in scan_csv(run, uri)] == ["AAPL", "AAPL"]
    assert_cli_error(run("scan", uri, "--key", "sym=AAPL", check=False), "--key", problem="key column")
    assert_cli_error(run("scan", uri, "--key", "AAPL", check=False), "--key")
    assert_cli_error(run("scan", uri, "--key", "sym=AAPL,place=X", check=False), "place", problem="not a key column")


def test_single_key_text_is_taken_whole(run, tmp_path):
    uri = str(tmp_path / "t")
    run("create", uri, "--schema", "v:int64")
    run("put", uri, "--key", "key=a=b,c", "--event-time", "2024-01-01", "v=1")
    f = write_csv(tmp_path / "in.csv", ["key", "event_time", "v"], [["x=1,y=2", "2024-01-01", "2"]])
    run("append", uri, "--input", f)
    assert [r["v"] for r in scan_csv(run, uri, "--key", "x=1,y=2")] == ["2"]
    assert [r["v"] for r in scan_csv(run, uri, "--key", "key=a=b,c")] == ["1"]
    assert [r["v"] for r in scan_csv(run, uri, "--key", "a=b,c")] == ["1"]


def test_integer_composite_key_prunes(run, tmp_path):
    """Composite key lists read only the files that can hold them (Parquet key statistics)."""
    uri = str(tmp_path / "t")
    run("create", uri, "--schema", "a:int64,b:int64,v:int64", "--key", "a,b")
    for a in range(3):
        f = write_csv(tmp_path / f"in{a}.csv", ["a", "b", "event_time", "v"],
                      [[a, b, "2024-01-01", a * 10 + b] for b in range(5)])
        run("append", uri, "--input", f)
    rows = scan_csv(run, uri, "--key", "a=1,b=3", "--key", "b=4,a=2")
    assert [r["v"] for r in rows] == ["13", "24"]


# ---- 3. commit-time travel ------------------------------------------------------

def test_as_of_commit(run, tmp_path):
    uri = str(tmp_path / "t")
    run("create", uri, "--schema", "v:int64")
    run("put", uri, "--key", "a", "--event-time", "2024-01-01", "v=1")
    time.sleep(0.01)  # commit times are kept in milliseconds
    run("put", uri, "--key", "a", "--event-time", "2024-01-01", "v=2")
    log = parse_csv(run("log", uri, "--format", "csv").stdout)[1]
    at1 = log[1]["timestamp"]
    assert [r["v"] for r in scan_csv(run, uri, "--as-of-commit", at1)] == ["1"]
    assert [r["v"] for r in scan_csv(run, uri, "--as-of-commit", "2999-01-01")] == ["2"]
    hist = csv_rows(run("history", uri, "--key", "a", "--as-of-commit", at1, "--format", "csv").stdout)
    assert [r["v"] for r in hist] == ["1"]
    iv = csv_rows(run("intervals", uri, "--as-of-commit", at1, "--format", "csv").stdout)
    assert [r["v"] for r in iv] == ["1"]
    assert_cli_error(run("scan", uri, "--as-of-commit", "2001-01-01", check=False),
                     "2001-01-01", problem="no version was committed at or before")
    assert_cli_error(run("scan", uri, "--as-of-commit", "yesterday", check=False), "--as-of-commit", "yesterday")
    assert_cli_error(run("scan", uri, "--as-of-commit", at1, "--version", "1", check=False),
                     "--as-of-commit", "--version")


# ---- 4. messages: type names and timestamp precision ----------------------------------

def test_type_aliases(run, tmp_path):
    uri = str(tmp_path / "t")
    run("create", uri, "--schema",
        "p:double,f:float,n:int,l:long,b:boolean,s:utf8,t:timestamp[us, tz=UTC],d:decimal128(10, 2),"
        "dd:date32[day]")
    run("put", uri, "--key", "k", "--event-time", "2024-01-01", "p=1.5", "f=2.5", "n=3", "l=4", "b=true",
        "s=x", "t=2024-01-01T00:00:00.000001Z", "d=1.25", "dd=2024-01-02")
    out = tmp_path / "o.parquet"
    run("scan", uri, "--format", "parquet", "--output", out)
    s = pq.read_schema(out)
    assert [str(s.field(c).type) for c in ("p", "f", "n", "l", "b", "s", "t", "d", "dd")] == [
        "double", "float", "int32", "int64", "bool", "string", "timestamp[us, tz=UTC]", "decimal128(10, 2)",
        "date32[day]"]
    run("alter", uri, "add-column", "x:Double")
    assert_cli_error(run("create", str(tmp_path / "u"), "--schema", "p:real", check=False),
                     "'real'", "float64 (double)")
    assert_cli_error(run("create", str(tmp_path / "u"), "--schema", "t:timestamp[us, tz=Europe/Paris]",
                         check=False), "UTC")


def test_timestamp_precision(run, tmp_path):
    uri = str(tmp_path / "t")
    run("create", uri, "--schema", "ts:timestamp[ms],event_time:timestamp[ms]")
    # Text finer than the column is floored (docs/spec.md §10a), from put and from CSV.
    run("put", uri, "--key", "a", "--event-time", "2024-01-01T00:00:00.123456789Z",
        "ts=2024-01-01T00:00:00.9999999999Z")
    f = write_csv(tmp_path / "in.csv", ["key", "event_time", "ts"],
                  [["b", "2024-01-01T00:00:00.1234567891Z", "2024-01-01T00:00:00.0019999999999Z"]])
    run("append", uri, "--input", f)
    rows = {r["key"]: r for r in scan_csv(run, uri)}
    assert set(rows) == {"a", "b"}
    out = tmp_path / "o.parquet"
    run("scan", uri, "--format", "parquet", "--output", out)
    t = pq.read_table(out).to_pylist()
    assert [r["event_time"].microsecond for r in t] == [123000, 123000]
    assert [r["ts"].microsecond for r in t] == [999000, 1000]
    # Typed data finer than the column is refused, naming the value and the row.
    p = tmp_path / "in.parquet"
    pq.write_table(pa.table({"key": ["c"], "event_time": pa.array([1_704_067_200_000_001], pa.timestamp("us")),
                             "ts": pa.array([0], pa.timestamp("us"))}), p)
    line = assert_cli_error(run("append", uri, "--input", p, check=False), "event_time", "row 1",
                            problem="more precision than the column")
    assert "timestamp[ms, tz=UTC]" in line
    assert len(log_rows(run, str(tmp_path), "t")) == 3


# ---- 5. CSV options ---------------------------------------------------------------

def test_csv_options(run, tmp_path):
    uri = str(tmp_path / "t")
    run("create", uri, "--schema", "price:decimal(10,2),n:int64,s:string")
    f = tmp_path / "eu.csv"
    f.write_text("key;event_time;price;n;s\n"
                 "a;17/01/2024 10:30;1.5;NA;NA\n"
                 "b;2024-01-18T00:00:00Z;2;2;\n")
    run("append", uri, "--input", f, "--csv-delimiter", ";", "--timestamp-format", "%d/%m/%Y %H:%M",
        "--null-values", "NA")
    rows = {r["key"]: r for r in scan_csv(run, uri)}
    assert rows["a"]["event_time"] == "2024-01-17T10:30:00.000Z" and rows["a"]["n"] == "" and rows["a"]["s"] == ""
    out = tmp_path / "o.parquet"
    run("scan", uri, "--format", "parquet", "--output", out)
    got = {r["key"]: r for r in pq.read_table(out).to_pylist()}
    assert got["a"]["n"] is None and got["a"]["s"] is None  # NA is null when asked
    assert got["b"]["s"] == "" and got["b"]["price"] is not None  # "" is not null then: an empty string...
    # ... and an empty number fails (no null markers apply to it).
    bad = tmp_path / "bad.csv"
    bad.write_text("key;event_time;price\nc;2024-01-19;\n")
    assert_cli_error(run("append", uri, "--input", bad, "--csv-delimiter", ";", "--null-values", "NA",
                         check=False), "row 1", "price")
    # Tab-separated, default null rule (only the empty field).
    tsv = tmp_path / "in.tsv"
    tsv.write_text("key\tevent_time\tprice\ts\nd\t2024-01-20\t\tNA\n")
    run("append", uri, "--input", tsv, "--input-format", "csv", "--csv-delimiter", "tab")
    out2 = tmp_path / "o2.parquet"
    run("scan", uri, "--format", "parquet", "--output", out2, "--key", "d")
    d = pq.read_table(out2).to_pylist()[0]
    assert d["price"] is None and d["s"] == "NA"
    # A float that is not exactly a decimal(10,2) is refused, naming it; text too.
    assert_cli_error(run("append", uri, "--input", write_csv(tmp_path / "x.csv", ["key", "event_time", "price"],
                                                             [["e", "2024-01-21", "1.255"]]), check=False),
                     "row 1", "price", "1.255")
    p = tmp_path / "f.parquet"
    pq.write_table(pa.table({"key": ["f", "g"], "event_time": pa.array([0, 0], pa.timestamp("ms")),
                             "price": [0.1, 1e-7]}), p)
    assert_cli_error(run("append", uri, "--input", p, check=False), "row 2", "price", "float 1e-7",
                     problem="not exactly a decimal")
    pq.write_table(pa.table({"key": ["f"], "event_time": pa.array([0], pa.timestamp("ms")), "price": [0.1]}), p)
    run("append", uri, "--input", p)
    run("scan", uri, "--format", "parquet", "--output", out, "--overwrite", "--key", "f")
    assert str(pq.read_table(out).column("price")[0].as_py()) == "0.10"
    # Misuse is one clear line.
    assert_cli_error(run("append", uri, "--input", f, "--csv-delimiter", ";;", check=False), "--csv-delimiter")
    assert_cli_error(run("append", uri, "--input", p, "--csv-delimiter", ";", check=False), "parquet")
    assert_cli_error(run("append", uri, "--input", f, "--timestamp-format", "dd/mm", check=False),
                     "--timestamp-format")
    assert_cli_error(run("append", uri, "--input", f, "--csv-delimiter", ";", check=False), "row 1", "event_time")


# ---- 7. shell completion ------------------------------------------------------------

def test_completion_bash(run, tmp_path):
    script = tmp_path / "bazof.bash"
    script.write_text(run("completion", "bash").stdout)
    commands = []
    in_commands = False
    for line in run("--help").stdout.splitlines():
        if line.strip().lower().startswith("subcommands"):
            in_commands = True
            continue
        if in_commands and re.match(r"^  \S", line):
            commands.append(line.split()[0])
    assert {"scan", "put", "alter", "completion", "watermark"} <= set(commands)

    def complete(*words):
        line = " ".join(f"'{w}'" for w in words)
        proc = subprocess.run(["bash", "-c", f"source {script}; complete -p bazof; COMP_WORDS=(bazof {line}); "
                               f"COMP_CWORD={len(words)}; _bazof; printf '%s\\n' \"${{COMPREPLY[@]}}\""],
                              capture_output=True, text=True, check=True, cwd=tmp_path)
        first, *rest = proc.stdout.splitlines()
        assert first.startswith("complete") and "_bazof" in first and first.endswith(" bazof")
        return rest

    assert sorted(c for c in complete("") if not c.startswith("-")) == sorted(commands)
    assert {"--as-of", "--as-of-commit"} <= set(complete("scan", "--as"))
    assert set(complete("alter", "t", "")) >= {"add-column", "drop-column", "rename-column"}
    assert "--csv-delimiter" in complete("append", "--csv")
    zsh = run("completion", "zsh").stdout
    assert zsh.startswith("#compdef bazof") and "bashcompinit" in zsh and "_bazof()" in zsh
    assert_cli_error(run("completion", "fish", check=False), "fish")

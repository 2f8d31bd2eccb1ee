"""`bazof watermark`, `append --watermark`, `scan --require-complete`, `compact --horizon`,
`forget` and the timeline in `info` / `log` through the CLI (docs/spec.md §20): results,
exit codes and one-line errors naming the object."""
import json

import pytest

from conftest import assert_cli_error, assert_valid, committed, csv_rows, log_rows, write_csv


def scan_csv(run, path, table, *args):
    return run("scan", "--path", path, "--table", table, "--format", "csv", *args).stdout


@pytest.fixture
def kv(run, tmp_path):
    path = tmp_path / "lake"
    run("create", "--path", path, "--table", "t", "--schema", "value:string")
    return path, "t"


def append(run, path, table, tmp_path, rows, *extra, name="in.csv"):
    f = tmp_path / name
    write_csv(f, ["key", "event_time", "value"], rows)
    return run("append", "--path", path, "--table", table, "--input", f, *extra, check=False)


def test_watermark_commands_and_lateness(run, kv, tmp_path):
    path, t = kv
    show = run("watermark", "show", "--path", path, "--table", t).stdout.strip()
    assert show == "none"
    assert committed(append(run, path, t, tmp_path, [["a", "2024-01-01", "x"]], "--watermark", "2024-01-10")) == 1
    out = run("watermark", "set", "--path", path, "--table", t, "2024-02-01", "--format", "json").stdout
    assert json.loads(out) == {"table": str(path / t), "version": 2, "watermark": "2024-02-01T00:00:00.000Z"}
    # Back in time: refused, one line naming the table and both times; nothing committed.
    bad = run("watermark", "set", "--path", path, "--table", t, "2024-01-15", check=False)
    assert_cli_error(bad, t, "2024-01-15T00:00:00.000Z", "2024-02-01T00:00:00.000Z",
                     problem="before the current watermark")
    bad = append(run, path, t, tmp_path, [["b", "2024-01-01", "y"]], "--watermark", "2024-01-01")
    assert_cli_error(bad, t, problem="before the current watermark")
    bad = run("watermark", "set", "--path", path, "--table", t, "yesterday", check=False)
    assert_cli_error(bad, "watermark", "yesterday")
    # Late events: 1 h, 1 d and 31 d behind the watermark of 2024-02-01; one on time.
    assert committed(append(run, path, t, tmp_path, [["a", "2024-01-31T23:00:00Z", "l1"],
                                                     ["b", "2024-01-31", "l2"],
                                                     ["c", "2024-01-01", "l3"],
                                                     ["d", "2024-03-01", "ok"]])) == 3
    info = json.loads(run("info", "--path", path, "--table", t, "--format", "json").stdout)
    late = info["timeline"]["late_events"]
    assert info["timeline"]["watermark"] == "2024-02-01T00:00:00.000Z"
    assert info["timeline"]["horizon"] is None
    assert late["count"] == 3 and late["max_lateness_us"] == 31 * 86_400_000_000
    assert [b["count"] for b in late["buckets"]] == [0, 0, 1, 1, 0, 0, 1, 0]
    text = run("info", "--path", path, "--table", t).stdout
    assert "watermark: 2024-02-01T00:00:00.000Z" in text
    assert "late events: 3 arrived behind the watermark; lateness max 31d" in text
    ops = [(r["operation"], r["description"]) for r in log_rows(run, path, t)]
    assert ops[1:3] == [("append", "watermark 2024-01-10T00:00:00.000Z"),
                        ("watermark", "watermark 2024-02-01T00:00:00.000Z")]
    info1 = json.loads(run("info", "--path", path, "--table", t, "--version", "1", "--format", "json").stdout)
    assert info1["timeline"]["watermark"] == "2024-01-10T00:00:00.000Z"
    assert info1["format_version"] == 1  # the watermark is a format-1 field


def test_require_complete(run, kv, tmp_path):
    path, t = kv
    committed(append(run, path, t, tmp_path, [["a", "2024-01-01", "x"]]))
    bad = run("scan", "--path", path, "--table", t, "--as-of", "2024-01-01", "--require-complete", check=False)
    assert_cli_error(bad, t, problem="no completeness watermark")
    run("watermark", "set", "--path", path, "--table", t, "2024-01-05")
    ok = run("scan", "--path", path, "--table", t, "--as-of", "2024-01-05", "--require-complete",
             "--format", "csv")
    assert [r["key"] for r in csv_rows(ok.stdout)] == ["a"] and ok.stderr == ""
    bad = run("scan", "--path", path, "--table", t, "--as-of", "2024-01-06", "--require-complete", check=False)
    assert_cli_error(bad, t, "2024-01-06T00:00:00.000Z", "2024-01-05T00:00:00.000Z",
                     problem="past the completeness watermark")
    # Without the flag: the rows, and one note on stderr.
    past = run("scan", "--path", path, "--table", t, "--format", "csv")
    assert [r["key"] for r in csv_rows(past.stdout)] == ["a"]
    assert "past the completeness watermark 2024-01-05T00:00:00.000Z" in past.stderr
    # Parquet output keeps the schema metadata.
    import pyarrow.parquet as pq
    out = tmp_path / "o.parquet"
    run("scan", "--path", path, "--table", t, "--as-of", "2024-01-02", "--format", "parquet", "--output", out)
    md = pq.read_schema(out).metadata
    assert md[b"bazof.complete"] == b"true" and md[b"bazof.watermark"] == b"2024-01-05T00:00:00.000Z"


def test_compact_horizon(run, kv, tmp_path):
    path, t = kv
    committed(append(run, path, t, tmp_path, [["a", "2020-01-01", "a1"], ["a", "2021-01-01", "a2"],
                                              ["b", "2020-06-01", "b1"], ["a", "2023-01-01", "a3"]]))
    committed(append(run, path, t, tmp_path, [["b", "2021-06-01", ""], ["c", "2022-01-01", "c1"]], name="b.csv"))
    probes = ["2022-01-01", "2022-06-01", "2023-01-01", "2030-01-01"]
    before = {p: scan_csv(run, path, t, "--as-of", p) for p in probes}
    out = json.loads(run("compact", "--path", path, "--table", t, "--horizon", "2022-01-01",
                         "--format", "json").stdout)
    assert out["committed"] and out["horizon"] == "2022-01-01T00:00:00.000Z"
    assert out["events_collapsed"] == 2  # a@2020 and b@2020 are superseded by 2022-01-01
    for p in probes:
        assert scan_csv(run, path, t, "--as-of", p) == before[p], p
    bad = run("scan", "--path", path, "--table", t, "--as-of", "2021-12-31", check=False)
    assert_cli_error(bad, t, "2022-01-01T00:00:00.000Z", problem="before the history horizon")
    # Older versions still answer until vacuum expires them.
    assert [r["value"] for r in csv_rows(scan_csv(run, path, t, "--as-of", "2020-07-01", "--version", "2"))] == \
        ["a1", "b1"]
    info = json.loads(run("info", "--path", path, "--table", t, "--format", "json").stdout)
    assert info["timeline"]["horizon"] == "2022-01-01T00:00:00.000Z" and info["format_version"] == 2
    bad = run("compact", "--path", path, "--table", t, "--horizon", "2021-01-01", check=False)
    assert_cli_error(bad, t, "2021-01-01T00:00:00.000Z", problem="before the table's history horizon")
    bad = run("compact", "--path", path, "--table", t, "--horizon", "soon", check=False)
    assert_cli_error(bad, "--horizon", "soon")
    # retention.event_time: 1y before the latest event time (2023-01-01) -> 2022-01-01, no change.
    run("alter", "--path", path, "--table", t, "set-property", "retention.event_time=1y")
    bad = run("alter", "--path", path, "--table", t, "set-property", "retention.event_time=forever",
              check=False)
    assert_cli_error(bad, "retention.event_time", "forever")
    out = json.loads(run("compact", "--path", path, "--table", t, "--format", "json").stdout)
    assert out["horizon"] == "2022-01-01T00:00:00.000Z"
    run("vacuum", "--path", path, "--table", t, "--retain-versions", "1", "--grace", "1ms")
    for p in probes:
        assert scan_csv(run, path, t, "--as-of", p) == before[p], p
    assert_valid(run, path, t)


def test_forget(run, kv, tmp_path):
    path, t = kv
    committed(append(run, path, t, tmp_path, [["alice", "2024-01-01", "a1"], ["bob", "2024-01-01", "b1"],
                                              ["alice", "2024-02-01", "a2"]]))
    run("compact", "--path", path, "--table", t, "--force")  # a table this small is laid out already
    committed(append(run, path, t, tmp_path, [["alice", "2024-03-01", "a3"], ["carol", "2024-03-01", "c1"]],
                     name="b.csv"))
    out = json.loads(run("forget", "--path", path, "--table", t, "--key", "alice", "--format", "json").stdout)
    assert out["committed"] and out["version"] == 4 and out["events_removed"] >= 3
    assert [r["key"] for r in csv_rows(scan_csv(run, path, t))] == ["bob", "carol"]
    # Until vacuum, older versions still hold alice.
    assert "alice" in scan_csv(run, path, t, "--version", "3")
    assert "alice" not in json.dumps(log_rows(run, path, t))
    run("vacuum", "--path", path, "--table", t, "--grace", "1ms")
    bad = run("scan", "--path", path, "--table", t, "--version", "3", check=False)
    assert_cli_error(bad, t, problem="vacuumed")
    for f in (path / t / "data").glob("*.parquet"):
        assert b"alice" not in f.read_bytes(), f
    again = run("forget", "--path", path, "--table", t, "--key", "alice")
    assert "nothing committed" in again.stdout
    assert_valid(run, path, t)
    bad = run("forget", "--path", path, "--table", t, check=False)
    assert_cli_error(bad, "--key")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_forget_composite_keys(run, tmp_path, seed):
    """`forget --key sym=..,venue=..` (the spelling of put and scan) on a composite key: the
    forgotten keys' events are gone from the new version, every other key's latest state is
    what an oracle of the appended events says, older versions keep them until vacuum."""
    import random
    r = random.Random(seed)
    path = tmp_path / "lake"
    run("create", "--path", path, "--table", "q", "--key", "sym,venue", "--schema", "sym:string,venue:int64,px:int64")
    keys = [(s, v) for s in ("A", "B", "C D", "E=F") for v in (1, 2, 3)]
    events = []  # (key, day, px), committed in order
    for batch in range(4):
        rows = []
        for _ in range(r.randint(5, 15)):
            k = r.choice(keys)
            day = r.randint(1, 28)
            events.append((k, day, len(events)))
            rows.append([k[0], k[1], f"2024-02-{day:02d}", events[-1][2]])
        write_csv(tmp_path / f"b{batch}.csv", ["sym", "venue", "event_time", "px"], rows)
        run("append", "--path", path, "--table", "q", "--input", tmp_path / f"b{batch}.csv")
        if r.random() < 0.5:
            run("compact", "--path", path, "--table", "q", "--force", "--no-progress")
    present = sorted({e[0] for e in events})
    gone = r.sample(present, 2)
    before = scan_csv(run, path, "q")
    args = []
    for s, v in gone:
        args += ["--key", f"sym={s},venue={v}"]
    out = json.loads(run("forget", "--path", path, "--table", "q", *args, "--format", "json").stdout)
    assert out["committed"]
    assert out["events_removed"] >= sum(1 for e in events if e[0] in gone)

    def latest(evs):
        state = {}
        for k, day, px in evs:  # later rows win ties (same key and day)
            if k not in state or day >= state[k][0]:
                state[k] = (day, px)
        return {(s, str(v)): str(px) for (s, v), (day, px) in state.items()}

    got = {(row["sym"], row["venue"]): row["px"] for row in csv_rows(scan_csv(run, path, "q"))}
    assert got == latest([e for e in events if e[0] not in gone])
    assert scan_csv(run, path, "q", "--version", str(out["version"] - 1)) == before
    # A key spelt with a missing or unknown key column: one clear error, nothing committed.
    bad = run("forget", "--path", path, "--table", "q", "--key", "sym=A", check=False)
    assert_cli_error(bad, "venue")
    bad = run("forget", "--path", path, "--table", "q", "--key", "sym=A,venue=x", check=False)
    assert_cli_error(bad, "venue", "int64")

"""`bazof compact` through the CLI: scans of every version and many T are unchanged, the
layout and `info` report what a latest scan reads, and bad input is one clear error."""
import json
import random
import shutil

import pytest

from conftest import assert_valid, csv_rows


def scan_csv(run, path, table, *args):
    return run("scan", "--path", path, "--table", table, "--format", "csv", *args).stdout


PROBES = ["2019-06-01", "2020-01-01", "2020-07-15T12:00:00Z", "2021-03-01", "2022-12-31T23:59:59Z",
          "2023-06-30", "2024-02-29", "2024-12-31T23:59:59.999Z", "2030-01-01"]


@pytest.fixture
def gen_table(run, lake):
    """A gen table on a local path and on s3:// (the `lake` fixture)."""
    run("gen", "--path", lake.path, "--table", "g", "--keys", "300", "--events", "12", "--seed", "7")
    return lake.path, "g"


def snapshot_scans(run, path, table, versions):
    return {(v, t): scan_csv(run, path, table, "--version", v, "--as-of", t)
            for v in versions for t in PROBES} | \
           {(v, None): scan_csv(run, path, table, "--version", v) for v in versions}


def test_compaction_changes_no_scan(run, gen_table):
    path, table = gen_table
    before = snapshot_scans(run, path, table, [1, 2])
    out = run("compact", "--path", path, "--table", table, "--segment-duration", "90d",
              "--format", "json").stdout
    r = json.loads(out)
    assert r["committed"] and r["version"] == 3 and r["built_from_version"] == 2
    assert_valid(run, path, table)
    assert r["events_written"] <= r["events_read"]
    after = snapshot_scans(run, path, table, [1, 2, 3])
    for (v, t), text in before.items():
        assert after[(v, t)] == text, (v, t)
        assert after[(3, t)] == before[(2, t)], t
    assert len(csv_rows(after[(3, None)])) > 0


def test_late_events_after_compaction_are_seen(run, gen_table, tmp_path):
    path, table = gen_table
    run("compact", "--path", path, "--table", table, "--segment-duration", "30d")
    # Earlier than every base, and later than everything: both must count.
    run("put", "--path", path, "--table", table, "--key", "k000000", "--event-time", "2019-01-01",
        "value=very-late")
    run("put", "--path", path, "--table", table, "--key", "k000001", "--event-time", "2031-01-01",
        "value=future")
    rows = {r["key"]: r for r in csv_rows(scan_csv(run, path, table, "--as-of", "2019-06-01"))}
    assert rows["k000000"]["value"] == "very-late"
    latest = {r["key"]: r for r in csv_rows(scan_csv(run, path, table))}
    assert latest["k000001"]["value"] == "future"
    # A second compaction folds them in; nothing changes again.
    before = {t: scan_csv(run, path, table, "--as-of", t) for t in PROBES}
    run("compact", "--path", path, "--table", table, "--segment-duration", "365d")
    assert {t: scan_csv(run, path, table, "--as-of", t) for t in PROBES} == before
    assert_valid(run, path, table)


def test_random_puts_and_compactions_match_a_fresh_append(run, tmp_path):
    """The same events written once in one append and, elsewhere, as puts with
    compactions in between: every scan is the same."""
    rng = random.Random(11)
    events = []
    for i in range(60):
        key = f"k{rng.randrange(8)}"
        day = rng.randrange(1, 28)
        events.append((key, f"2024-{rng.randrange(1, 13):02d}-{day:02d}T00:00:00Z", f"v{i}",
                       rng.random() < 0.15))
    run("create", "--path", tmp_path, "--table", "a", "--schema", "value:string")
    run("create", "--path", tmp_path, "--table", "b", "--schema", "value:string")
    csv_path = tmp_path / "in.csv"
    with open(csv_path, "w") as f:
        f.write("key,event_time,value,_deleted\n")
        for k, t, v, d in events:
            f.write(f"{k},{t},{'' if d else v},{'true' if d else 'false'}\n")
    run("append", "--path", tmp_path, "--table", "a", "--input", csv_path)
    for i, (k, t, v, d) in enumerate(events):
        if d:
            run("delete", "--path", tmp_path, "--table", "b", "--key", k, "--event-time", t)
        else:
            run("put", "--path", tmp_path, "--table", "b", "--key", k, "--event-time", t, f"value={v}")
        if i % 17 == 16:
            run("compact", "--path", tmp_path, "--table", "b", "--segment-duration", f"{rng.randrange(5, 60)}d")
            assert_valid(run, tmp_path, "b")
    for t in ["2024-01-15", "2024-03-01", "2024-06-30T12:00:00Z", "2024-09-09", "2025-01-01"]:
        assert scan_csv(run, tmp_path, "a", "--as-of", t) == scan_csv(run, tmp_path, "b", "--as-of", t), t


def test_info_reports_read_cost_and_hint(run, tmp_path):
    run("create", "--path", tmp_path, "--table", "p", "--schema", "value:int64")
    for i in range(40):
        run("put", "--path", tmp_path, "--table", "p", "--key", f"k{i % 5}",
            "--event-time", f"2024-01-{1 + i % 28:02d}T{i % 24:02d}:00:00Z", f"value={i}")
    info = json.loads(run("info", "--path", tmp_path, "--table", "p", "--format", "json").stdout)
    cost = info["latest_scan"]
    assert cost["deltas"] == 40 and cost["files"] == 40
    assert cost["compaction_advised"] and "delta files" in cost["reason"]
    text = run("info", "--path", tmp_path, "--table", "p").stdout
    assert "hint: compaction would help" in text and "bazof compact" in text
    dry = json.loads(run("compact", "--path", tmp_path, "--table", "p", "--dry-run", "--format", "json").stdout)
    assert dry["files_read"] == 40 and not dry["committed"]
    assert json.loads(run("info", "--path", tmp_path, "--table", "p", "--format", "json").stdout)["version"] == 40
    run("compact", "--path", tmp_path, "--table", "p")
    info = json.loads(run("info", "--path", tmp_path, "--table", "p", "--format", "json").stdout)
    assert info["latest_scan"]["files"] <= 2 and not info["latest_scan"]["compaction_advised"]
    assert "hint" not in run("info", "--path", tmp_path, "--table", "p").stdout


@pytest.mark.parametrize("args, needle", [
    (["--segment-duration", "30"], "--segment-duration '30'"),
    (["--segment-duration", "0d"], "--segment-duration '0d'"),
    (["--target-file-size", "big"], "--target-file-size 'big'"),
    (["--format", "xml"], "--format 'xml'"),
    (["--segment-duration", "1us"], "choose a longer --segment-duration"),
    (["--force", "--spill-dir", "/nonexistent/spill"], "spill directory '/nonexistent/spill'"),
])
def test_bad_flags_are_one_clear_error(run, gen_table, args, needle):
    path, table = gen_table
    p = run("compact", "--path", path, "--table", table, *args, check=False)
    assert p.returncode == 1
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bazof: error: ") and needle in lines[0], p.stderr
    assert json.loads(run("info", "--path", path, "--table", table, "--format", "json").stdout)["version"] == 2


def test_the_merge_spills_to_the_spill_dir_and_leaves_nothing_there(run, gen_table, tmp_path):
    path, table = gen_table
    spill = tmp_path / "spill"
    spill.mkdir()
    before = {t: scan_csv(run, path, table, "--as-of", t) for t in PROBES}
    r = json.loads(run("compact", "--path", path, "--table", table, "--segment-duration", "90d",
                       "--spill-dir", spill, "--format", "json").stdout)
    assert r["committed"] and r["segments"] > 1
    assert r["spilled_bytes"] > 0
    assert list(spill.iterdir()) == []  # unnamed files, gone with the process
    for t, text in before.items():
        assert scan_csv(run, path, table, "--as-of", t) == text, t
    assert_valid(run, path, table)


def test_legacy_and_missing_tables_are_refused(run, copy_table, tmp_path):
    path, table = copy_table("bazof-0.1/ltm_revenue")
    p = run("compact", "--path", path, "--table", table, check=False)
    assert p.returncode == 1 and "does not rewrite it" in p.stderr
    p = run("compact", "--path", tmp_path, "--table", "nope", check=False)
    assert p.returncode == 1 and "not found" in p.stderr


def test_help_describes_the_command(run):
    out = run("compact", "--help").stdout
    for flag in ["--segment-duration", "--target-file-size", "--dry-run", "--format", "--spill-dir"]:
        assert flag in out

"""End-to-end tests of `bazof vacuum`: every retained version scans exactly as before (checked
against the oracle on random workloads); expired versions fail with a clear error; a dry run
deletes nothing; orphans go only once older than the grace period; bad flags are one-line errors."""
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import assert_cli_error, assert_valid, log_rows, write_csv
from test_write_oracle import Workload


def files_under(root):
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*") if p.is_file())


def vacuum(run, path, table, *args):
    proc = run("vacuum", "--path", path, "--table", table, "--format", "json", *args)
    return json.loads(proc.stdout)


@pytest.mark.s3_seeds(22)
@pytest.mark.parametrize("seed,retain", [(21, 1), (22, 4), (23, 9)])
def test_retained_versions_scan_as_before(run, lake, tmp_path, seed, retain):
    run("create", "--path", lake.path, "--table", "w", "--schema", "v:int64,s:string")
    w = Workload(run, lake.path, "w", tmp_path, seed)
    for _ in range(10):
        w.step()
    checks = [(t, v, t_text) for t, _, t_text in w.checks() for v in range(w.version + 1)]
    before = {}
    with ThreadPoolExecutor(max_workers=4) as pool:
        for (t, v, t_text), got, want in pool.map(w.scan, checks):
            assert got == want, f"version {v} as of {t_text} before vacuum"
            before[(t, v)] = got
    report = vacuum(run, lake.path, "w", "--retain-versions", retain, "--grace", "1us")
    oldest = w.version - retain + 1
    assert report["oldest_retained_version"] == oldest
    assert report["expired_versions"] == list(range(oldest))
    assert report["current_version"] == w.version

    retained = [c for c in checks if c[1] >= oldest]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for (t, v, t_text), got, want in pool.map(w.scan, retained):
            assert got == before[(t, v)] == want, f"version {v} as of {t_text} changed by vacuum"
    for v in range(oldest):
        for cmd in (["scan"], ["info"], ["history", "--key", "k0"], ["validate"]):
            proc = run(*cmd, "--path", lake.path, "--table", "w", "--version", v, check=False)
            assert_cli_error(proc, f"version {v}", f"was vacuumed (oldest retained version: {oldest})")
    assert [int(r["version"]) for r in log_rows(run, lake.path, "w")] == list(range(oldest, w.version + 1))
    assert_valid(run, lake.path, "w")
    # Nothing left to do; and the table still takes writes.
    again = vacuum(run, lake.path, "w", "--retain-versions", retain, "--grace", "1us")
    assert again["deleted"] == [] and again["expired_versions"] == []
    w.step()
    assert_valid(run, lake.path, "w")


def test_dry_run_deletes_nothing(run, tmp_path):
    run("create", "--path", tmp_path, "--table", "d", "--schema", "v:string")
    for i in range(4):
        run("put", "--path", tmp_path, "--table", "d", "--key", f"k{i}", "--event-time", "2024-01-01",
            f"v={i}")
    root = Path(tmp_path) / "d"
    before = files_under(root)
    proc = run("vacuum", "--path", tmp_path, "--table", "d", "--retain-versions", "2", "--grace", "1us",
               "--dry-run")
    lines = proc.stdout.splitlines()
    assert lines[-1].startswith("dry run: would expire versions 0-2; would delete 3 file(s)"), lines
    assert [ln.split()[2] for ln in lines[:-1]] == ["s0.json", "s1.json", "s2.json"], lines
    assert files_under(root) == before
    proc = run("vacuum", "--path", tmp_path, "--table", "d", "--retain-versions", "2", "--grace", "1us")
    assert proc.stdout.splitlines()[-1].startswith("expired versions 0-2; deleted 3 file(s)"), proc.stdout
    assert sorted(set(before) - set(files_under(root))) == ["s0.json", "s1.json", "s2.json"]


def test_orphans_older_than_the_grace_period(run, tmp_path):
    run("create", "--path", tmp_path, "--table", "o", "--schema", "v:string")
    f = write_csv(tmp_path / "in.csv", ["key", "event_time", "v"], [["a", "2024-01-02", "x"]])
    run("append", "--path", tmp_path, "--table", "o", "--input", f)
    root = Path(tmp_path) / "o"
    two_hours_ago = time.time() - 7200
    for name, old in [("data/crashed.parquet", True), ("data/in-flight.parquet", False),
                      ("s2.json.tmp-00000000deadbeef", True), ("README.txt", True)]:
        (root / name).write_bytes(b"partial")
        if old:
            os.utime(root / name, (two_hours_ago, two_hours_ago))
    report = vacuum(run, tmp_path, "o")   # default grace: 1h
    assert sorted((d["file"], d["reason"], d["bytes"]) for d in report["deleted"]) == [
        ("data/crashed.parquet", "orphan", 7), ("s2.json.tmp-00000000deadbeef", "orphan", 7)]
    assert report["orphans_kept_by_grace"] == 1
    assert (root / "data/in-flight.parquet").exists() and (root / "README.txt").exists()
    assert run("scan", "--path", tmp_path, "--table", "o", "--format", "csv").stdout.splitlines()[1:] \
        == ["a,2024-01-02T00:00:00.000Z,x"]
    # A shorter grace period takes the younger one too.
    report = vacuum(run, tmp_path, "o", "--grace", "1us")
    assert [d["file"] for d in report["deleted"]] == ["data/in-flight.parquet"]
    assert_valid(run, tmp_path, "o")


def test_fresh_versions_are_kept_by_the_grace_period(run, tmp_path):
    run("create", "--path", tmp_path, "--table", "g", "--schema", "v:string")
    run("put", "--path", tmp_path, "--table", "g", "--key", "a", "--event-time", "2024-01-01", "v=1")
    proc = run("vacuum", "--path", tmp_path, "--table", "g", "--retain-versions", "1")
    assert "kept 1 version(s) younger than the grace period (1h)" in proc.stdout, proc.stdout
    assert [int(r["version"]) for r in log_rows(run, tmp_path, "g")] == [0, 1]


def test_older_than_keeps_recent_commits(run, tmp_path):
    run("create", "--path", tmp_path, "--table", "a", "--schema", "v:string")
    run("put", "--path", tmp_path, "--table", "a", "--key", "a", "--event-time", "2024-01-01", "v=1")
    report = vacuum(run, tmp_path, "a", "--older-than", "1h", "--grace", "1us")
    assert report["expired_versions"] == []      # committed seconds ago
    time.sleep(0.01)
    report = vacuum(run, tmp_path, "a", "--older-than", "1ms", "--grace", "1us")
    assert report["expired_versions"] == [0] and report["oldest_retained_version"] == 1


@pytest.mark.parametrize("grace", ["0", "0s", "0h", "00ms"])
def test_grace_zero_removes_every_orphan_with_a_warning(run, tmp_path, grace):
    run("create", "--path", tmp_path, "--table", "z", "--schema", "v:string")
    run("put", "--path", tmp_path, "--table", "z", "--key", "a", "--event-time", "2024-01-01", "v=1")
    root = Path(tmp_path) / "z"
    (root / "data/just-written.parquet").write_bytes(b"partial")
    dry = run("vacuum", "--path", tmp_path, "--table", "z", "--grace", grace, "--dry-run", "--format", "json")
    assert [d["file"] for d in json.loads(dry.stdout)["deleted"]] == ["data/just-written.parquet"]
    assert dry.stderr == "" and (root / "data/just-written.parquet").exists()
    proc = run("vacuum", "--path", tmp_path, "--table", "z", "--grace", grace, "--retain-versions", "1",
               "--format", "json")
    report = json.loads(proc.stdout)
    assert [d["file"] for d in report["deleted"] if d["reason"] == "orphan"] == ["data/just-written.parquet"]
    assert report["expired_versions"] == [0] and report["orphans_kept_by_grace"] == 0
    warning = proc.stderr.splitlines()
    assert len(warning) == 1 and warning[0].startswith("bazof: warning: --grace ") and "in flight" in warning[0]
    assert run("scan", "--path", tmp_path, "--table", "z", "--format", "csv").stdout.splitlines()[1:] \
        == ["a,2024-01-01T00:00:00.000Z,1"]
    assert_valid(run, tmp_path, "z")


@pytest.mark.parametrize("args,names", [
    (["--grace", "0x"], ["--grace", "0x"]),
    (["--grace", "-1s"], ["--grace", "-1s"]),
    (["--older-than", "5x"], ["--older-than", "5x"]),
    (["--older-than", "0d"], ["--older-than", "0d"]),
    (["--grace", "soon"], ["--grace", "soon"]),
    (["--retain-versions", "0"], ["--retain-versions", "at least 1"]),
    (["--format", "xml"], ["--format", "xml"]),
])
def test_cli_errors(run, tmp_path, args, names):
    run("create", "--path", tmp_path, "--table", "e", "--schema", "v:string")
    before = files_under(Path(tmp_path) / "e")
    assert_cli_error(run("vacuum", "--path", tmp_path, "--table", "e", *args, check=False), *names)
    assert files_under(Path(tmp_path) / "e") == before


def test_missing_table_is_one_line(run, tmp_path):
    assert_cli_error(run("vacuum", "--path", tmp_path, "--table", "none", check=False), "none",
                     problem="not found")


def test_vacuum_after_compaction(run, lake, tmp_path):
    """Expiring the versions before a compaction deletes the old layout's files; every retained
    version scans as before and matches the oracle."""
    run("create", "--path", lake.path, "--table", "k", "--schema", "v:int64,s:string")
    w = Workload(run, lake.path, "k", tmp_path, 31)
    for _ in range(6):
        w.step()
    out = json.loads(run("compact", "--path", lake.path, "--table", "k", "--segment-duration", "90d",
                         "--format", "json").stdout)
    w.version += 1
    w.step()
    report = vacuum(run, lake.path, "k", "--retain-versions", "2", "--grace", "1us")
    assert report["oldest_retained_version"] == w.version - 1
    unreferenced = sorted(d["file"] for d in report["deleted"] if d["reason"] == "unreferenced data file")
    assert unreferenced == sorted(out["files_removed"]), (unreferenced, out)
    checks = [(t, v, t_text) for t, _, t_text in w.checks() for v in (w.version - 1, w.version)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for (t, v, t_text), got, want in pool.map(w.scan, checks):
            assert got == want, f"version {v} as of {t_text}"
    assert_valid(run, lake.path, "k")

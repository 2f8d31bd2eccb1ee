"""Table.compact, Table.validate and Table.vacuum: the CLI's operations through
the Python API. Results equal the CLI's `--format json` on the same table;
compaction changes no scan (checked against the oracle and against the scans
before); vacuum makes expired versions unreadable with the CLI's error;
validate finds planted damage; bad arguments raise InvalidInput."""
import datetime as dt
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pytest

import bazof
from conftest import EPOCH, assert_cli_error
from oracle import as_of
from test_py_oracle import Workload, as_datetime
from test_write_oracle import TIMES

US = dt.timedelta(microseconds=1)


def cli_json(run, cmd, path, *args, check=True):
    proc = run(cmd, "--path", path.parent, "--table", path.name, "--format", "json", *args, check=check)
    return json.loads(proc.stdout)


def cli_message(run, *args):
    return assert_cli_error(run(*args, check=False))[len("bazof: error: "):]


def cli_error(run, *args):
    """The message of a command that may print data before failing (validate)."""
    proc = run(*args, check=False)
    assert proc.returncode == 1 and proc.stderr.startswith("bazof: error: "), proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    return proc.stderr.strip()[len("bazof: error: "):]


def workload_table(path, seed, commits=10):
    t = bazof.create_table(path, pa.schema([("v", pa.int64()), ("s", pa.string()),
                                           ("event_time", pa.timestamp("us"))]))
    w = Workload(t, seed)
    for _ in range(commits):
        w.step()
    return t, w


def all_scans(t, versions):
    """{(version, as_of): rows} at every version and several event times."""
    times = [None, *(as_datetime(x) for x in TIMES[::3]), as_datetime(TIMES[5] + 1)]
    return {(v, a): t.scan(as_of=a, version=v).to_arrow().to_pylist() for v in versions for a in times}


@pytest.mark.parametrize("seed,duration", [(31, "365d"), (32, dt.timedelta(days=90)), (33, "auto")])
def test_compaction_changes_no_scan(tmp_path, seed, duration):
    t, w = workload_table(tmp_path / "c", seed)
    before = all_scans(t, range(t.version + 1))
    r = t.compact(segment_duration=duration)
    assert r.committed and r.version == w.version + 1 == t.version
    assert r.built_from_version == w.version and r.files_read > 0 and r.segments >= 1
    assert t.log().to_pylist()[-1]["operation"] == "compact"
    after = all_scans(t, range(t.version + 1))
    for (v, a), rows in before.items():
        assert after[(v, a)] == rows, f"version {v} as of {a}"
        assert after[(t.version, a)] == before[(w.version, a)], f"latest as of {a}"
    w.version += 1  # compaction adds a version and no events
    w.verify()
    for _ in range(3):  # and the table takes writes that the oracle agrees with
        w.step()
        w.verify()
    assert t.validate(deep=True, check=True).valid


def _without_peak(d):
    """The pool's peak is of the process (the test's or the CLI's), so it is
    checked for shape, not equality."""
    d = dict(d)
    peak = d.pop("peak_memory_bytes")
    assert isinstance(peak, int) and peak >= 0
    assert d["memory_limit_bytes"] == 512 * 1024 * 1024  # the default budget
    return d


def test_compact_matches_cli_json(tmp_path, run):
    t, _ = workload_table(tmp_path / "a", 34)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    # A dry run writes nothing, so both see the same table.
    py = t.compact(segment_duration="365d", target_file_size="1MiB", dry_run=True)
    assert not py.committed and py.version is None
    cli = cli_json(run, "compact", tmp_path / "a", "--segment-duration", "365d", "--target-file-size", "1MiB",
                   "--dry-run")
    assert _without_peak(py.to_dict()) == _without_peak(cli)
    assert t.version == py.built_from_version  # nothing committed

    py = t.compact(segment_duration=dt.timedelta(days=365), target_file_size=1024 * 1024).to_dict()
    cli = cli_json(run, "compact", tmp_path / "b", "--segment-duration", "365d", "--target-file-size", "1MiB")
    # Same layout; new files have random names, and the tables' paths differ.
    assert len(py.pop("files_added")) == len(cli.pop("files_added"))
    assert py.pop("table") == str(tmp_path / "a") and cli.pop("table") == str(tmp_path / "b")
    assert _without_peak(py) == _without_peak(cli)
    # A table without deltas: nothing to compact, as the CLI says too.
    empty = bazof.create_table(tmp_path / "e", pa.schema([("v", pa.int64())]))
    nothing = empty.compact()
    assert not nothing.committed and nothing.files_read == 0 and empty.version == 0
    assert _without_peak(nothing.to_dict()) == _without_peak(cli_json(run, "compact", tmp_path / "e"))


def test_compact_bad_arguments(tmp_path, run):
    t, _ = workload_table(tmp_path / "t", 35, commits=3)
    v = t.version
    with pytest.raises(bazof.InvalidInput) as e:
        t.compact(segment_duration="3x")
    assert str(e.value) == cli_message(run, "compact", "--path", tmp_path, "--table", "t",
                                       "--segment-duration", "3x").replace("--segment-duration", "segment_duration")
    with pytest.raises(bazof.InvalidInput) as e:
        t.compact(target_file_size="lots")
    assert str(e.value) == cli_message(run, "compact", "--path", tmp_path, "--table", "t",
                                       "--target-file-size", "lots").replace("--target-file-size", "target_file_size")
    with pytest.raises(bazof.InvalidInput, match="segment_duration .*must be positive"):
        t.compact(segment_duration=dt.timedelta(0))
    with pytest.raises(bazof.InvalidInput, match="target_file_size -5: a size must be positive"):
        t.compact(target_file_size=-5)
    with pytest.raises(bazof.InvalidInput, match="segment_duration: expected a duration like '30d'"):
        t.compact(segment_duration=30)
    with pytest.raises(bazof.InvalidInput, match="threads -1: must be at least 0"):
        t.compact(threads=-1)
    assert t.refresh().version == v and t.log().num_rows == v + 1


def test_compact_refuses_a_legacy_table(copy_table, run):
    path, name = copy_table("azof-0.2/table0")
    t = bazof.open_table(path / name)
    with pytest.raises(bazof.InvalidInput) as e:
        t.compact()
    assert str(e.value) == cli_message(run, "compact", "--path", path, "--table", name)


# ---- validate -----------------------------------------------------------------

def plant_damage(root):
    """Deletes the first delta file of s1.json; returns its name."""
    s1 = json.loads((root / "s1.json").read_text())
    lost = s1["segments"][0]["delta"][0]["file"]
    (root / lost).unlink()
    return lost


def test_validate_matches_cli_and_finds_a_deleted_file(tmp_path, run):
    t, _ = workload_table(tmp_path / "v", 36, commits=4)
    for deep in (False, True):
        flags = ["--deep"] if deep else []
        report = t.validate(deep=deep)
        assert report.valid and bool(report) and report.problems == []
        assert report.versions_checked == list(range(t.version + 1))
        assert report.to_dict() == cli_json(run, "validate", tmp_path / "v", *flags)
    assert t.validate(version=2).to_dict() == cli_json(run, "validate", tmp_path / "v", "--version", "2")

    lost = plant_damage(tmp_path / "v")
    for deep in (False, True):
        flags = ["--deep"] if deep else []
        report = t.validate(deep=deep)
        assert not report.valid and not report
        assert report.to_dict() == cli_json(run, "validate", tmp_path / "v", *flags, check=False)
        missing = [p for p in report.problems if p.object == lost]
        assert len(missing) == 1 and missing[0].versions == list(range(1, t.version + 1))
        assert str(missing[0]) == f"{lost}: missing: the file does not exist (versions 1-{t.version})"
        text = run("validate", "--path", tmp_path, "--table", "v", *flags, check=False).stdout.splitlines()
        assert [str(p) for p in report.problems] == text
    with pytest.raises(bazof.CorruptTable) as e:
        t.validate(check=True)
    assert str(e.value) == cli_error(run, "validate", "--path", tmp_path, "--table", "v")
    assert e.value.report.problems == t.validate().problems
    assert f"{lost}: missing" in "\n".join(e.value.__notes__)


def test_validate_bad_arguments(tmp_path, run):
    t, _ = workload_table(tmp_path / "t", 37, commits=2)
    with pytest.raises(bazof.NotFound) as e:
        t.validate(version=9)
    assert str(e.value) == cli_message(run, "validate", "--path", tmp_path, "--table", "t", "--version", "9")
    with pytest.raises(bazof.InvalidInput, match="version -1: must be at least 0"):
        t.validate(version=-1)
    with pytest.raises(bazof.InvalidInput, match="version: expected an int, not str"):
        t.validate(version="1")


# ---- vacuum -------------------------------------------------------------------

def test_vacuum_expires_versions_like_the_cli(tmp_path, run):
    t, w = workload_table(tmp_path / "a", 38)
    t.compact(segment_duration="365d")
    w.version += 1
    for _ in range(2):  # versions after the compaction need none of the files before it
        w.step()
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    before = all_scans(t, range(t.version + 1))
    files = sorted(str(p.relative_to(tmp_path / "a")) for p in (tmp_path / "a").rglob("*") if p.is_file())

    dry = t.vacuum(retain_versions=3, grace=US, dry_run=True)
    assert dry.to_dict() == cli_json(run, "vacuum", tmp_path / "a", "--retain-versions", "3", "--grace", "1us",
                                     "--dry-run")
    assert sorted(str(p.relative_to(tmp_path / "a")) for p in (tmp_path / "a").rglob("*") if p.is_file()) == files

    r = t.vacuum(retain_versions=3, grace=US)
    oldest = t.version - 2
    assert r.oldest_retained_version == oldest and r.expired_versions == list(range(oldest))
    assert [f.file for f in r.deleted] == [f.file for f in dry.deleted] and r.deleted_bytes == dry.deleted_bytes
    assert {f.reason for f in r.deleted} == {"expired snapshot", "unreferenced data file"}
    cli = cli_json(run, "vacuum", tmp_path / "b", "--retain-versions", "3", "--grace", "1us")
    assert {**r.to_dict(), "table": None} == {**cli, "table": None}

    for (v, a), rows in before.items():
        if v >= oldest:
            assert t.scan(as_of=a, version=v).to_arrow().to_pylist() == rows, f"version {v} as of {a}"
    for v in range(oldest):
        with pytest.raises(bazof.NotFound, match=f"was vacuumed \\(oldest retained version: {oldest}\\)") as e:
            t.scan(version=v)
        assert str(e.value) == cli_message(run, "scan", "--path", tmp_path, "--table", "a", "--version", v)
        with pytest.raises(bazof.NotFound, match="was vacuumed"):
            t.history("k0", version=v)
    assert [x["version"] for x in t.log().to_pylist()] == list(range(oldest, t.version + 1))
    assert t.validate(deep=True, check=True).versions_checked == list(range(oldest, t.version + 1))
    w.step()  # still takes writes, and the latest state is the oracle's
    want = [(k, et, *vals) for k, et, vals in as_of(w.events, None, None)]
    got = [(x["key"], (x["event_time"] - EPOCH) // US, x["v"], x["s"]) for x in t.scan().to_arrow().to_pylist()]
    assert got == want


def test_vacuum_older_than_and_grace(tmp_path):
    t, _ = workload_table(tmp_path / "t", 39, commits=4)
    # Every commit is younger than a day: nothing expires.
    r = t.vacuum(older_than=dt.timedelta(days=1), grace=US)
    assert r.expired_versions == [] and r.deleted == []
    # The default grace period (1h) keeps versions the rule would expire.
    r = t.vacuum(older_than="1us", dry_run=True)
    assert r.expired_versions == [] and r.versions_kept_by_grace == t.version
    r = t.vacuum(older_than=US, grace="1us")
    assert r.expired_versions == list(range(t.version)) and r.oldest_retained_version == t.version
    # An orphan in data/ goes once older than the grace period.
    (tmp_path / "t" / "data" / "stray.parquet").write_bytes(b"x" * 10)
    assert t.vacuum().orphans_kept_by_grace == 1
    r = t.vacuum(grace=US)
    assert [(f.file, f.bytes, f.reason) for f in r.deleted] == [("data/stray.parquet", 10, "orphan")]


@pytest.mark.parametrize("grace", ["0s", "0", 0, dt.timedelta(0)])
def test_vacuum_grace_zero(tmp_path, grace):
    t, _ = workload_table(tmp_path / "t", 42, commits=2)
    (tmp_path / "t" / "data" / "just-written.parquet").write_bytes(b"x" * 3)
    r = t.vacuum(retain_versions=1, grace=grace)
    assert [(f.file, f.reason) for f in r.deleted if f.reason == "orphan"] == [("data/just-written.parquet", "orphan")]
    assert r.expired_versions == list(range(t.version)) and r.versions_kept_by_grace == 0


def test_vacuum_sees_other_writers_commits(tmp_path):
    t, _ = workload_table(tmp_path / "t", 40, commits=3)
    other = bazof.open_table(tmp_path / "t")
    other.put("k1", "2024-01-01", v=1, s=None)
    r = t.vacuum(retain_versions=1, grace=US)
    assert r.current_version == other.version == t.version == 4
    assert r.expired_versions == [0, 1, 2, 3]


def test_vacuum_bad_arguments(tmp_path, run):
    t, _ = workload_table(tmp_path / "t", 41, commits=2)
    base = ["vacuum", "--path", tmp_path, "--table", "t"]
    with pytest.raises(bazof.InvalidInput, match="retain_versions 0: must be at least 1"):
        t.vacuum(retain_versions=0)
    with pytest.raises(bazof.InvalidInput, match="retain_versions: expected an int, not float"):
        t.vacuum(retain_versions=2.5)
    with pytest.raises(bazof.InvalidInput) as e:
        t.vacuum(older_than="yesterday")
    assert str(e.value) == cli_message(run, *base, "--older-than", "yesterday").replace("--older-than", "older_than")
    with pytest.raises(bazof.InvalidInput) as e:
        t.vacuum(grace="0x")
    assert str(e.value) == cli_message(run, *base, "--grace", "0x").replace("--grace", "grace")
    with pytest.raises(bazof.InvalidInput, match="grace .*a duration must be positive"):
        t.vacuum(grace=-US)
    with pytest.raises(bazof.InvalidInput, match="older_than: expected a duration"):
        t.vacuum(older_than=3600)
    assert t.log().num_rows == 3 and all((Path(tmp_path) / "t" / f"s{v}.json").exists() for v in range(3))

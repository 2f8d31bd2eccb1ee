"""End-to-end tests of `bazof validate`: the legacy fixtures and every table our writers make are
valid after every operation; damage is reported (every problem, naming the object) with exit 1."""
import json
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import assert_cli_error, assert_valid, write_csv
from test_write_oracle import Workload

FIXTURES = ["azof-0.2/table0", "azof-0.2/table1", "azof-0.2/table2", "bazof-0.1/table0",
            "bazof-0.1/ltm_revenue"]


@pytest.mark.parametrize("fixture", FIXTURES)
def test_fixtures_are_valid(run, fixtures_dir, fixture):
    parent, name = fixture.split("/")
    proc = run("validate", "--path", fixtures_dir / parent, "--table", name)
    lines = proc.stdout.splitlines()
    assert len(lines) == 1 and "is valid: version 1," in lines[0], proc.stdout
    assert proc.stderr == ""
    # --deep decodes every page; these files predate page checksums (docs/spec.md §6.1).
    proc = run("validate", "--path", fixtures_dir / parent, "--table", name, "--deep")
    lines = proc.stdout.splitlines()
    assert all(line.startswith("unverifiable: ") and "without page checksums" in line for line in lines[:-1])
    assert f"has no problems, but {len(lines) - 1} data file(s) are unverifiable" in lines[-1], proc.stdout
    assert proc.stderr == ""
    assert_valid(run, fixtures_dir / parent, name)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_valid_after_every_operation(run, tmp_path, seed):
    """create, then random appends (ties, late events, tombstones), puts and deletes."""
    run("create", "--path", tmp_path, "--table", "w", "--schema", "v:int64,s:string")
    assert_valid(run, tmp_path, "w")
    w = Workload(run, tmp_path, "w", tmp_path, seed)
    for _ in range(12):
        w.step()
        report = assert_valid(run, tmp_path, "w")
        assert report["versions_checked"] == list(range(w.version + 1))
    # Validating one version checks just that one.
    report = assert_valid(run, tmp_path, "w", version=3)
    assert report["versions_checked"] == [3]


@pytest.mark.s3_seeds(14)
@pytest.mark.parametrize("seed", [14, 15])
def test_valid_after_compactions_in_a_workload(run, lake, tmp_path, seed):
    """Writes and compactions interleaved: compaction lays deltas out per segment, later
    appends may end past their segment's end (spec §10a); all of it validates."""
    run("create", "--path", lake.path, "--table", "c", "--schema", "v:int64,s:string")
    w = Workload(run, lake.path, "c", tmp_path, seed)
    for i in range(12):
        if i % 4 == 3:
            duration = w.rng.choice(["3d", "30d", "400d", "auto"])
            run("compact", "--path", lake.path, "--table", "c", "--segment-duration", duration)
            w.version += 1
            w.trace.append(f"v{w.version}: compact {duration}")
        else:
            w.step()
        assert_valid(run, lake.path, "c")
    with ThreadPoolExecutor(max_workers=4) as pool:
        w.verify(pool)


def test_events_before_the_first_segment(run, tmp_path):
    """create's only segment starts in 1970; earlier events are filed under it (spec §10a)."""
    run("create", "--path", tmp_path, "--table", "old", "--schema", "v:string")
    run("put", "--path", tmp_path, "--table", "old", "--key", "a", "--event-time", "1960-01-01", "v=x")
    assert_valid(run, tmp_path, "old")


def test_gen_tables_are_valid(run, tmp_path):
    run("gen", "--path", tmp_path, "--table", "g", "--keys", "300", "--events", "6", "--segments", "7")
    report = assert_valid(run, tmp_path, "g")
    assert report["versions_checked"] == [1, 2]


def damaged_table(run, lake, tmp_path):
    run("create", "--path", lake.path, "--table", "d", "--schema", "v:string")
    f = write_csv(tmp_path / "in.csv", ["key", "event_time", "v"],
                  [["a", "2024-01-02", "x"], ["b", "2024-01-03", "y"]])
    run("append", "--path", lake.path, "--table", "d", "--input", f)
    run("put", "--path", lake.path, "--table", "d", "--key", "c", "--event-time", "2024-02-01", "v=z")
    root = lake.root_path("d")
    s1 = json.loads((root / "s1.json").read_text())
    lost = s1["segments"][0]["delta"][0]["file"]
    (root / lost).unlink()                                 # a data file deleted from outside
    s2 = json.loads((root / "s2.json").read_text())
    miscounted = s2["segments"][0]["delta"][1]["file"]
    s2["segments"][0]["delta"][1]["rows"] = 7              # a wrong row count
    (root / "s2.json").write_text(json.dumps(s2))
    return lost, miscounted


def test_damage_is_reported(run, lake, tmp_path):
    lost, miscounted = damaged_table(run, lake, tmp_path)
    proc = run("validate", "--path", lake.path, "--table", "d", check=False)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert f"{lost}: missing: the file does not exist (versions 1-2)" in lines, lines
    assert f"{miscounted}: recorded 7 rows, the file has 1 (version 2)" in lines, lines
    assert len(lines) == 2, lines
    err = proc.stderr.splitlines()
    assert len(err) == 1 and err[0].startswith("bazof: error: ") and "2 problem(s) found" in err[0], err

    proc = run("validate", "--path", lake.path, "--table", "d", "--format", "json", "--deep", check=False)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert not report["valid"] and report["deep"]
    assert {(p["object"], tuple(p["versions"])) for p in report["problems"]} == {
        (lost, (1, 2)), (miscounted, (2,))}


def test_cli_errors(run, tmp_path):
    assert_cli_error(run("validate", "--path", tmp_path, "--table", "nope", check=False), "nope",
                     problem="not found")
    run("create", "--path", tmp_path, "--table", "t", "--schema", "v:string")
    assert_cli_error(run("validate", "--path", tmp_path, "--table", "t", "--version", "4", check=False),
                     "version 4", problem="does not exist")
    assert_cli_error(run("validate", "--path", tmp_path, "--table", "t", "--format", "xml",
                         check=False), "--format", "xml")


def test_random_damage_never_passes(run, tmp_path):
    """Whatever single file of a table is truncated, validate notices."""
    rng = random.Random(5)
    run("create", "--path", tmp_path, "--table", "r", "--schema", "v:string")
    for i in range(4):
        f = write_csv(tmp_path / f"{i}.csv", ["key", "event_time", "v"],
                      [[f"k{rng.randrange(5)}", f"2024-01-{rng.randrange(1, 28):02d}", str(i)]
                       for _ in range(3)])
        run("append", "--path", tmp_path, "--table", "r", "--input", f)
    files = sorted((Path(tmp_path) / "r" / "data").iterdir())
    for victim in files:
        data = victim.read_bytes()
        victim.write_bytes(data[: len(data) // 2])
        proc = run("validate", "--path", tmp_path, "--table", "r", check=False)
        assert proc.returncode == 1 and f"data/{victim.name}: not a Parquet file" in proc.stdout, \
            proc.stdout
        victim.write_bytes(data)
    assert_valid(run, tmp_path, "r")

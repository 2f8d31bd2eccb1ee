"""Concurrent appends: several processes append small CSV files to one table at the same time.
Each append either succeeds (prints its version) or fails with a one-line conflict error; every
successful append is visible, in exactly the version it printed; versions are 1..N without gaps,
and `log` lists each with its row count. On a local path and on s3:// (`lake`)."""
import subprocess
import threading

import pytest

from conftest import assert_cli_error, committed, log_rows, parse_csv, write_csv

ROWS_PER_FILE = 3


def make_files(tmp_path, writers, files):
    """-> {writer: [(file, {key: value})]} with keys unique over all files."""
    out = {}
    for w in range(writers):
        out[w] = []
        for i in range(files):
            rows = {f"w{w}-f{i:02d}-r{j}": f"v{w}.{i}.{j}" for j in range(ROWS_PER_FILE)}
            # event times overlap between writers and go back in time (late data)
            f = write_csv(tmp_path / f"w{w}_{i:02d}.csv", ["key", "event_time", "value", "writer"],
                          [[k, f"2024-01-{28 - i:02d}T0{j}:00:00Z", v, w]
                           for j, (k, v) in enumerate(rows.items())])
            out[w].append((f, rows))
    return out


def run_writers(bazof_bin, path, table, files):
    """Each writer is a thread running the CLI for its files in order, all started together."""
    barrier = threading.Barrier(len(files))
    results = {w: [] for w in files}

    def writer(w):
        barrier.wait()
        for f, rows in files[w]:
            proc = subprocess.run([bazof_bin, "append", "--path", str(path), "--table", table,
                                   "--input", str(f)], capture_output=True, text=True, timeout=300)
            results[w].append((f, rows, proc))

    threads = [threading.Thread(target=writer, args=(w,)) for w in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [r for w in files for r in results[w]]


@pytest.fixture
def concurrent_run(run, bazof_bin, tmp_path, lake):
    """Writers racing on a local path and on s3:// (conditional PUT commits)."""
    def _go(writers, files_each):
        path, table = lake.path, "shared"
        run("create", "--path", path, "--table", table, "--schema", "value:string,writer:int32")
        files = make_files(tmp_path, writers, files_each)
        return path, table, run_writers(bazof_bin, path, table, files)
    return _go


def scan_map(run, path, table, *args):
    out = run("scan", "--path", path, "--table", table, "--format", "csv", *args).stdout
    rows = parse_csv(out)[1]
    got = {r["key"]: r["value"] for r in rows}
    assert len(got) == len(rows), "duplicate keys in scan output"
    return got


@pytest.mark.parametrize("writers,files_each", [(2, 15), (4, 8)])
def test_concurrent_appends(run, concurrent_run, writers, files_each):
    path, table, results = concurrent_run(writers, files_each)
    by_version = {}
    failed = []
    for f, rows, proc in results:
        if proc.returncode == 0:
            v = committed(proc, rows=ROWS_PER_FILE)
            assert v not in by_version, \
                f"version {v} printed twice: {by_version[v][0].name} and {f.name}"
            by_version[v] = (f, rows)
        else:
            assert_cli_error(proc, problem=r"conflict")
            failed.append((f, rows, proc.stderr.strip()))
    n = len(by_version)
    assert n + len(failed) == writers * files_each
    assert n > 0, f"no append succeeded: {failed[:3]}"
    assert sorted(by_version) == list(range(1, n + 1)), f"versions with gaps: {sorted(by_version)}"

    log = log_rows(run, path, table)
    assert [int(r["version"]) for r in log] == list(range(n + 1)), [r["version"] for r in log]
    assert log[0]["operation"] == "create"
    for r in log[1:]:
        assert r["operation"] == "append", r
        assert int(r["rows_added"]) == ROWS_PER_FILE, r
    assert sum(int(r["rows_added"]) for r in log) == ROWS_PER_FILE * n

    # every successful append is visible, nothing of a failed one is
    want = {k: v for _, rows in by_version.values() for k, v in rows.items()}
    assert scan_map(run, path, table) == want
    # ... and each one became visible exactly at the version it printed
    seen = {}
    for v in range(n + 1):
        got = scan_map(run, path, table, "--version", v)
        if v:
            seen.update(by_version[v][1])
        assert got == seen, f"version {v} ({by_version[v][0].name if v else 'create'})"


def test_blind_appends_all_succeed(concurrent_run):
    """The brief: blind appends rebase on conflict, so in practice all succeed."""
    _, _, results = concurrent_run(2, 15)
    failed = [(f.name, proc.stderr.strip()) for f, _, proc in results if proc.returncode != 0]
    assert not failed, f"{len(failed)} of {len(results)} appends failed: {failed[:3]}"

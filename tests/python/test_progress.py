"""Progress bars (issue #17 item 10): on a terminal, gen / append (file and
standard input) / compact (and its dry run) / vacuum (and its dry run) draw a
bar on stderr with the total, a rate and an ETA; with stderr not a terminal
nothing is drawn unless --progress; --no-progress draws nothing; stdout (and
its JSON) never holds a byte of a bar."""
import json
import os
import pty
import re
import select
import subprocess
import time

import pytest

# A barkeep bar: "<label> <phase>  42.00% |███   | 4200/10000 (123.45 events/s) ETA 00:03"
BAR = re.compile(r"(\d+\.\d\d)% \|[^|]*\| +(\d+)/(\d+) \((\d+\.\d\d) ([a-z ]+)/s\) (ETA (?:--:--|\d+:\d\d(?::\d\d)?)(?:, took \d+:\d\d(?::\d\d)?)?)")


def run_on_terminal(bazof_bin, *args, stdin=None):
    """Runs bazof with stderr on a pseudo-terminal and stdout on a pipe;
    returns (exit code, stdout text, what the terminal received)."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([bazof_bin, *map(str, args)], stdin=subprocess.PIPE if stdin is not None else None,
                                stdout=subprocess.PIPE, stderr=slave)
    finally:
        os.close(slave)
    if stdin is not None:
        proc.stdin.write(stdin)
        proc.stdin.close()
    screen = b""
    deadline = time.time() + 300
    while time.time() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed its side
                break
            if not chunk:
                break
            screen += chunk
        elif proc.poll() is not None:
            break
    out = proc.stdout.read().decode()
    code = proc.wait(timeout=60)
    os.close(master)
    return code, out, screen.decode("utf-8", "replace")


def bars(screen, label, phase):
    """The frames of `label phase` bars on the terminal: (percent, done, total, rate, unit, eta)."""
    out = []
    for m in re.finditer(re.escape(f"{label} {phase}") + r" +" + BAR.pattern, screen):
        out.append((float(m.group(1)), int(m.group(2)), int(m.group(3)), float(m.group(4)), m.group(5), m.group(6)))
    return out


def assert_bar(screen, label, phase, total, unit):
    """The bar was drawn with its total, unit, rate and ETA, and reached its total (its last
    frame also says how long the phase took)."""
    frames = bars(screen, label, phase)
    assert frames, f"no '{label} {phase}' bar on the terminal:\n{screen!r}"
    assert {f[2] for f in frames} == {total}, frames
    assert all(f[4] == unit for f in frames), frames
    dones = [f[1] for f in frames]
    assert dones == sorted(dones), dones
    assert dones[-1] == total, frames[-1]
    assert frames[-1][0] == 100.0
    assert all(f[5].startswith("ETA ") for f in frames), frames
    assert ", took " in frames[-1][5], frames[-1]
    return frames


@pytest.fixture
def table(run, tmp_path):
    uri = tmp_path / "lake" / "t"
    run("gen", uri, "--keys", 3000, "--events", 20, "--no-progress")
    return uri


def test_gen_draws_a_bar_on_a_terminal(bazof_bin, tmp_path):
    code, out, screen = run_on_terminal(bazof_bin, "gen", tmp_path / "g", "--keys", 20000, "--events", 10)
    assert code == 0, screen
    assert "wrote 200000 events" in out
    assert "%" not in out and "\x1b" not in out and "\r" not in out  # stdout holds the result only
    assert_bar(screen, "gen", "write", 200000, "events")


def test_compact_and_its_dry_run_draw_bars_and_json_stays_clean(bazof_bin, table):
    code, out, screen = run_on_terminal(bazof_bin, "compact", table, "--dry-run", "--format", "json")
    assert code == 0, screen
    dry = json.loads(out)
    assert dry["committed"] is False
    assert_bar(screen, "compact", "plan", dry["events_read"], "events")
    assert "compact merge" not in screen

    code, out, screen = run_on_terminal(bazof_bin, "compact", table, "--format", "json")
    assert code == 0, screen
    r = json.loads(out)
    assert r["committed"] is True
    assert_bar(screen, "compact", "plan", r["events_read"], "events")
    assert_bar(screen, "compact", "merge", r["events_read"], "events")


def test_append_of_a_file_and_of_standard_input_draw_bars(bazof_bin, tmp_path, run):
    uri = tmp_path / "lake" / "a"
    run("create", uri, "--schema", "value:int64")
    lines = ["key,event_time,value"] + [f"k{i % 1000},2024-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z,{i}"
                                        for i in range(60000)]
    data = ("\n".join(lines) + "\n").encode()
    csv = tmp_path / "in.csv"
    csv.write_bytes(data)
    code, out, screen = run_on_terminal(bazof_bin, "append", uri, "--input", csv)
    assert code == 0, screen
    assert out.strip() == "committed version 1 (60000 rows)"
    assert_bar(screen, "append", "read input", len(data), "bytes")

    code, out, screen = run_on_terminal(bazof_bin, "append", uri, "--input", "-", "--input-format", "csv",
                                        stdin=data)
    assert code == 0, screen
    assert out.strip() == "committed version 2 (60000 rows)"
    assert_bar(screen, "append", "read input", len(data), "bytes")
    # Reading standard input (size unknown) is counted, not barred.
    assert re.search(r"append read standard input \d+ \(\d+\.\d\d bytes/s\)", screen), screen


def test_vacuum_and_its_dry_run_draw_bars(bazof_bin, table, run):
    run("compact", table, "--no-progress")
    snapshots = len([f for f in os.listdir(table) if re.fullmatch(r"s\d+\.json", f)])
    assert snapshots >= 3
    code, out, screen = run_on_terminal(bazof_bin, "vacuum", table, "--retain-versions", 1, "--grace", 0,
                                        "--dry-run", "--format", "json")
    assert code == 0, screen
    dry = json.loads(out)
    assert dry["dry_run"] is True and dry["deleted"]
    assert_bar(screen, "vacuum", "read snapshots", snapshots, "snapshots")
    assert "vacuum delete" not in screen
    code, out, screen = run_on_terminal(bazof_bin, "vacuum", table, "--retain-versions", 1, "--grace", 0,
                                        "--format", "json")
    assert code == 0, screen
    r = json.loads(out)
    assert_bar(screen, "vacuum", "delete", len(r["deleted"]), "files")


def test_no_bar_without_a_terminal_unless_asked(run, table):
    # Pipes: nothing on stderr, valid JSON on stdout.
    p = run("compact", table, "--dry-run", "--format", "json")
    assert p.stderr == ""
    assert json.loads(p.stdout)["committed"] is False
    # --progress forces the bar onto stderr (a pipe here); stdout stays JSON.
    p = run("compact", table, "--dry-run", "--format", "json", "--progress")
    assert json.loads(p.stdout)["committed"] is False
    assert bars(p.stderr, "compact", "plan"), p.stderr
    p = run("gen", table.parent / "g2", "--keys", 10, "--events", 2)
    assert p.stderr == ""


def test_no_progress_on_a_terminal_draws_nothing(bazof_bin, table):
    code, out, screen = run_on_terminal(bazof_bin, "compact", table, "--format", "json", "--no-progress")
    assert code == 0
    assert json.loads(out)["committed"] is True
    assert screen == ""


def test_progress_flags_are_documented_and_exclusive(run):
    for cmd in ("gen", "append", "compact", "vacuum"):
        help_text = run(cmd, "--help").stdout
        assert "--progress" in help_text and "--no-progress" in help_text, cmd
    p = run("compact", "x", "--progress", "--no-progress", check=False)
    assert p.returncode != 0 and "excludes" in p.stderr

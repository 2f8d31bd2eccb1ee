"""kill -9 soak (bounded: ~45 s of operations, then the checks): random operations through the CLI
on a local table (append, put, delete, compact, alter add-column, vacuum), each killed with SIGKILL
at a random moment with probability 1/2. A command that exits 0 is acknowledged: the version it
printed must keep scanning as the oracle (oracle.py) says. A killed one either committed entirely
(the next version exists and holds exactly its events) or not at all. At the end `validate --deep`
must pass and every acknowledged version must scan as the oracle said when it was acknowledged.
BAZOF_SOAK_SECONDS and BAZOF_SOAK_SEED override the duration and the (printed) seed."""
import os
import random
import re
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from conftest import fmt_ts, parse_csv, write_csv
from oracle import Event, as_of

KEYS = [f"k{i}" for i in range(12)]
DAY_US = 86_400_000_000
T0 = 1_700_000_000_000_000  # 2023-11-14, microseconds
COMMITTED = re.compile(r"committed version (\d+) \(")
COMPACTED = re.compile(r"compacted version \d+ into version (\d+)")


class Soak:
    def __init__(self, bazof_bin, path, tmp, seed):
        self.bin, self.path, self.tmp = bazof_bin, str(path), tmp
        self.rng = random.Random(seed)
        self.events = []        # oracle events of every committed version
        self.columns = ["v"]    # value columns, in schema order
        self.version = 0        # the table's current version, as far as we know
        self.expected = {}      # acknowledged version -> its latest scan (csv rows)
        self.durations = {}     # op -> recent durations of runs not killed (s)
        self.trace = []
        self.kills = self.landed_after_kill = 0

    def base(self):
        return ["--path", self.path, "--table", "t"]

    def cli(self, *args):
        proc = subprocess.run([self.bin, *map(str, args)], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"bazof {' '.join(map(str, args))}: {proc.stderr}"
        return proc.stdout

    def current_version(self):
        header, rows = parse_csv(self.cli("log", *self.base(), "--format", "csv"))
        return max(int(r["version"]) for r in rows)

    def scan_rows(self, version=None):
        args = ["scan", *self.base(), "--format", "csv"]
        if version is not None:
            args += ["--version", version]
        header, rows = parse_csv(self.cli(*args))
        return header, [[r[c] for c in header] for r in rows]

    def oracle_rows(self):
        return [[k, fmt_ts(et, "ms"), *[values.get(c, "") for c in self.columns]]
                for k, et, values in as_of(self.events, None, None)]

    # ---- operations: (argv, events it commits, columns it adds) ----

    def op_append(self):
        r = self.rng
        rows = []
        for _ in range(r.randint(1, 40)):
            key, t, tomb = r.choice(KEYS), T0 + r.randrange(60) * DAY_US, r.random() < 0.15
            rows.append((key, t, tomb, "" if tomb else str(r.randrange(10_000))))
        f = write_csv(self.tmp / f"in{len(self.trace)}.csv", ["key", "event_time", "v", "_deleted"],
                      [[k, fmt_ts(t, "ms"), v, "true" if d else "false"] for k, t, d, v in rows])
        return ["append", *self.base(), "--input", f], rows, None

    def op_put(self):
        key, t = self.rng.choice(KEYS), T0 + self.rng.randrange(60) * DAY_US
        v = str(self.rng.randrange(10_000))
        return ["put", *self.base(), "--key", key, "--event-time", fmt_ts(t, "ms"), f"v={v}", "--partial"], \
            [(key, t, False, v)], None

    def op_delete(self):
        key, t = self.rng.choice(KEYS), T0 + self.rng.randrange(60) * DAY_US
        return ["delete", *self.base(), "--key", key, "--event-time", fmt_ts(t, "ms")], \
            [(key, t, True, "")], None

    def op_compact(self):
        return ["compact", *self.base(), "--segment-duration", self.rng.choice(["7d", "30d"])], [], None

    def op_add_column(self):
        name = f"c{len(self.columns)}"
        return ["alter", *self.base(), "add-column", f"{name}:string"], [], name

    def op_vacuum(self):
        # No retention rule: every version stays; a 1 us grace deletes what killed writers left
        # (safe here: one command runs at a time).
        return ["vacuum", *self.base(), "--grace", "1us"], [], None

    def commit(self, rows, column):
        self.version += 1
        for i, (key, t, tomb, v) in enumerate(rows):
            self.events.append(Event(key, t, self.version, 0, i, tomb, {} if tomb else {"v": v}))
        if column:
            self.columns.append(column)

    def step(self):
        r = self.rng
        name, make = r.choices(
            [("append", self.op_append), ("put", self.op_put), ("delete", self.op_delete),
             ("compact", self.op_compact), ("add-column", self.op_add_column),
             ("vacuum", self.op_vacuum)],
            weights=[40, 15, 10, 15, 5, 15])[0]
        if name == "add-column" and len(self.columns) >= 4:
            name, make = "put", self.op_put
        argv, rows, column = make()
        kill = r.random() < 0.5
        typical = sorted(self.durations.get(name, [0.05]))[len(self.durations.get(name, [0.05])) // 2]
        delay = r.uniform(0.2, 1.2) * typical  # mostly mid-command: writing, committing
        started = time.monotonic()
        proc = subprocess.Popen([self.bin, *map(str, argv)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        if kill:
            try:
                proc.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=120)
        took = time.monotonic() - started
        killed = proc.returncode == -signal.SIGKILL
        what = f"{name} {'killed' if killed else 'exit ' + str(proc.returncode)} after {took:.3f}s"
        self.trace.append(what)
        if not killed:
            assert proc.returncode == 0, f"{what}: {err}"
            self.durations.setdefault(name, []).append(took)
            m = COMMITTED.search(out) or COMPACTED.search(out)
            if name in ("vacuum",) or (name == "compact" and not m):
                return
            assert m, f"{what}: unexpected output {out!r}"
            self.commit(rows, column)
            assert int(m.group(1)) == self.version, f"{what}: printed {out!r}, want {self.version}"
            self.expected[self.version] = self.oracle_rows()
            return
        # Killed: all or nothing.
        self.kills += 1
        now = self.current_version()
        assert now in (self.version, self.version + 1), f"{what}: version {now} after {self.version}"
        if now == self.version + 1:
            self.landed_after_kill += 1
            self.commit(rows, column)
            header, got = self.scan_rows()
            assert header == ["key", "event_time", *self.columns], header
            assert got == self.oracle_rows(), f"{what}: the landed commit scans differently"

    def check_all(self):
        proc = subprocess.run([self.bin, "validate", *self.base(), "--deep"], capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, f"validate --deep after the soak:\n{proc.stdout}{proc.stderr}"

        def scan(v):
            return v, self.scan_rows(v)[1]

        with ThreadPoolExecutor(2) as pool:
            for v, got in pool.map(scan, sorted(self.expected)):
                assert got == self.expected[v], f"acknowledged version {v} scans differently"


def test_kill9_soak(bazof_bin, tmp_path):
    seed = int(os.environ.get("BAZOF_SOAK_SEED") or random.randrange(1 << 30))
    seconds = float(os.environ.get("BAZOF_SOAK_SECONDS", "45"))
    subprocess.run([bazof_bin, "create", "--path", tmp_path, "--table", "t", "--schema", "v:string"],
                   check=True, capture_output=True)
    s = Soak(bazof_bin, tmp_path, tmp_path, seed)
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            s.step()
        s.check_all()
    except AssertionError as e:
        raise AssertionError(f"kill -9 soak, seed {seed} (BAZOF_SOAK_SEED={seed} to replay): {e}\n"
                             "last operations:\n  " + "\n  ".join(s.trace[-15:])) from e
    print(f"soak seed {seed}: {len(s.trace)} operations, {s.kills} killed "
          f"({s.landed_after_kill} had committed), {len(s.expected)} acknowledged versions")
    assert len(s.expected) >= 5, "too few acknowledged commits to mean anything"

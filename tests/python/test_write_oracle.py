"""Differential test of the write path: random commits (CSV appends with ties, late events and
`_deleted` tombstones, single puts and deletes) on a fresh table; after EVERY commit,
`scan --as-of T --version V` must equal the oracle (oracle.py, DESIGN.md section 1) evaluated
on every event committed so far, for random T (exact event times, +-1 ms, in between, latest)
and random V <= current. At the end, `history` of every key is checked too."""
import random
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta, timezone

import pytest

from conftest import EPOCH, committed, fmt_ts, parse_csv, parse_ts_us, write_csv
from oracle import Event, as_of

KEYS = [f"k{i}" for i in range(7)]
TIMES = [parse_ts_us(s) for s in [
    "2019-06-01T00:00:00Z", "2020-02-29T12:00:00Z", "2020-12-31T23:59:59.999Z",
    "2021-01-01T00:00:00Z", "2021-01-01T00:00:00.001Z", "2021-07-15T08:30:00Z",
    "2022-03-01T00:00:00Z", "2022-03-01T00:00:01Z", "2023-11-11T11:11:11.111Z",
    "2024-01-01T00:00:00Z", "2024-06-30T23:59:59.999Z", "2025-01-01T00:00:00Z"]]
STRINGS = ["a", "b", "hello world", "x,y", 'say "hi"', "ünï", "0"]
COMMITS = 15
SEEDS = [1, 2, 3, 4, 5]


def iso(us, rng):
    """One instant in one of several ISO-8601 spellings (Z, offset, naive UTC, date only)."""
    dt = EPOCH + timedelta(microseconds=us)
    choice = rng.randrange(4)
    if choice == 0:
        return fmt_ts(us, "ms")
    if choice == 1:
        off = rng.choice([-330, -60, 120, 540])
        local = dt.astimezone(timezone(timedelta(minutes=off)))
        return local.isoformat(timespec="milliseconds")
    if choice == 2 or dt.hour or dt.minute or dt.second or dt.microsecond:
        return dt.replace(tzinfo=None).isoformat(timespec="milliseconds")
    return dt.date().isoformat()


class Workload:
    def __init__(self, run, path, table, tmp, seed):
        self.run, self.path, self.table, self.tmp = run, path, table, tmp
        self.rng = random.Random(seed)
        self.events = []
        self.version = 0
        self.trace = []   # what was committed, for failure messages

    def base(self):
        return ["--path", self.path, "--table", self.table]

    def random_values(self):
        r = self.rng
        v = None if r.random() < 0.2 else r.randrange(-1000, 1000)
        s = None if r.random() < 0.2 else r.choice(STRINGS)
        return v, s

    def commit_append(self):
        r = self.rng
        n = r.randint(1, 8)
        rows = []
        for _ in range(n):
            key, t, tomb = r.choice(KEYS), r.choice(TIMES), r.random() < 0.15
            v, s = (None, None) if tomb and r.random() < 0.7 else self.random_values()
            rows.append((key, t, tomb, v, s))
        if r.random() < 0.3 and len(rows) > 1:       # an exact duplicate (key, event_time)
            dup = rows[r.randrange(len(rows))]
            rows.insert(r.randrange(len(rows) + 1), (dup[0], dup[1], r.random() < 0.3,
                                                     *self.random_values()))
        cols = ["key", "event_time", "v", "s"]
        if any(row[2] for row in rows) or r.random() < 0.3:
            cols.append("_deleted")
        drop = r.choice([None, None, None, "v", "s"])
        if drop:                                         # a missing value column reads as null
            cols.remove(drop)
            rows = [(k, t, tomb, None if drop == "v" else v, None if drop == "s" else s)
                    for k, t, tomb, v, s in rows]
        r.shuffle(cols)
        out = []
        for key, t, tomb, v, s in rows:
            cell = {"key": key, "event_time": iso(t, r), "v": v, "s": s,
                    "_deleted": "true" if tomb else "false"}
            out.append([cell[c] for c in cols])
        f = write_csv(self.tmp / f"c{self.version + 1}.csv", cols, out)
        proc = self.run("append", *self.base(), "--input", f)
        self.record(proc, rows, f"append {f.name}: {[cols] + out}")

    def commit_put(self):
        r = self.rng
        key, t = r.choice(KEYS), r.choice(TIMES)
        v, s = self.random_values()
        while v is None or s is None:  # a put gives every value column (the CLI has no null text)
            v, s = self.random_values()
        args = [f"v={v}"] if v is not None else []
        if s is not None:
            args.append(f"s={s}")
        r.shuffle(args)
        proc = self.run("put", *self.base(), "--key", key, "--event-time", iso(t, r), *args)
        self.record(proc, [(key, t, False, v, s)], f"put {key} {fmt_ts(t)} {args}")

    def commit_delete(self):
        r = self.rng
        key, t = r.choice(KEYS), r.choice(TIMES)
        proc = self.run("delete", *self.base(), "--key", key, "--event-time", iso(t, r))
        self.record(proc, [(key, t, True, None, None)], f"delete {key} {fmt_ts(t)}")

    def record(self, proc, rows, what):
        self.version += 1
        got = committed(proc, rows=len(rows))
        assert got == self.version, f"{what}: printed version {got}, want {self.version}"
        for i, (key, t, tomb, v, s) in enumerate(rows):
            vals = ("", "") if tomb else ("" if v is None else str(v), "" if s is None else s)
            self.events.append(Event(key, t, self.version, 0, i, tomb, vals))
        self.trace.append(f"v{self.version}: {what}")

    def step(self):
        x = self.rng.random()
        if x < 0.6:
            self.commit_append()
        elif x < 0.8:
            self.commit_put()
        else:
            self.commit_delete()

    # ---- checks ----

    def random_ts(self):
        r = self.rng
        x = r.random()
        if x < 0.4:
            return r.choice(TIMES)
        if x < 0.6:
            return r.choice(TIMES) + r.choice([-1000, 1000])
        return r.randrange(TIMES[0] - 86_400_000_000, TIMES[-1] + 86_400_000_000) // 1000 * 1000

    def checks(self):
        ts = [self.random_ts() for _ in range(5)] + [None]
        vs = [None] + [self.rng.randint(0, self.version) for _ in range(2)]
        return [(t, v, None if t is None else iso(t, self.rng)) for t in ts for v in vs]

    def scan(self, check):
        t, v, t_text = check
        args = ["scan", *self.base(), "--format", "csv"]
        if t_text is not None:
            args += ["--as-of", t_text]
        if v is not None:
            args += ["--version", v]
        header, rows = parse_csv(self.run(*args).stdout)
        assert header == ["key", "event_time", "v", "s"], header
        got = [[row[c] for c in header] for row in rows]
        want = [[k, fmt_ts(et, "ms"), *vals] for k, et, vals in as_of(self.events, t, v)]
        return check, got, want

    def verify(self, pool):
        for (t, v, t_text), got, want in pool.map(self.scan, self.checks()):
            assert got == want, (
                f"scan --as-of {t_text} --version {v} after v{self.version}:\n got  {got}\n"
                f" want {want}\ncommits:\n  " + "\n  ".join(self.trace))

    def verify_history(self):
        for key in KEYS:
            out = self.run("history", *self.base(), "--key", key, "--format", "csv").stdout
            header, rows = parse_csv(out)
            assert header == ["key", "event_time", "version", "deleted", "v", "s"], header
            got = [[row[c] for c in header] for row in rows]
            mine = sorted((e for e in self.events if e.key == key),
                          key=lambda e: (e.event_time, e.version, e.row_index))
            want = [[key, fmt_ts(e.event_time, "ms"), str(e.version),
                     "true" if e.is_tombstone else "false", *e.values] for e in mine]
            assert got == want, f"history {key}:\n got  {got}\n want {want}\ncommits:\n  " + \
                "\n  ".join(self.trace)


@pytest.mark.s3_seeds(1, 4)
@pytest.mark.parametrize("seed", SEEDS)
def test_random_commits_match_oracle(run, lake, tmp_path, seed):
    run("create", "--path", lake.path, "--table", "o", "--schema", "v:int64,s:string")
    w = Workload(run, lake.path, "o", tmp_path, seed)
    with ThreadPoolExecutor(max_workers=4) as pool:
        w.verify(pool)                      # version 0: empty
        for _ in range(COMMITS):
            w.step()
            w.verify(pool)
    w.verify_history()

"""Requests and bytes bazof fetches from object storage (issue #5, "Efficiency"; issue #14).

    .venv/bin/python bench/s3_requests.py [--table bazof-0.1/ltm_revenue] [--as-of 2019-01-17]
        [--keyed] [--gen-keys 20000] [--gen-events 20]

Starts the tests' S3 server (moto, tests/python/s3_server.py) on 127.0.0.1, copies the fixture
table to it, runs `bazof scan --as-of T` (all columns, then `--columns key`: the key and
event-time columns alone), `bazof info` and `bazof log`, and counts, from the server's request
log, the requests by kind and the bytes of the response bodies. Prints one JSON object per
command. Counts, not times: they do not depend on the machine.

--keyed (issue #14): the keyed reads instead -- q3 (`scan --as-of T --key K`), q4 (100 keys),
q6 (`history --key K`) on the fixture, then on a format-1 table `bazof gen` writes to the server
(--gen-keys keys x --gen-events events, 12 segments) the same three and j2 (`join-asof` of a
1,000-row spine over 100 of its keys, times uniform over 2020-2024). Set BAZOF_BIN to compare
two builds. --gen-compact V: compact that table (`bazof compact --force`) before the queries,
with write.row_group_rows=V (auto: the default, 4096-row groups), to count what compaction's
row-group size does to keyed reads on object storage.
"""
import argparse
import collections
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "python"))
from s3_server import S3Server  # noqa: E402

BAZOF = os.environ.get("BAZOF_BIN", str(REPO / "build" / "bazof"))
FIXTURES = REPO.parent / "shared" / "fixtures"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", default="bazof-0.1/ltm_revenue")
    ap.add_argument("--as-of", default="2019-01-17")
    ap.add_argument("--keyed", action="store_true", help="q3/q4/q6 and j2 instead of whole scans")
    ap.add_argument("--gen-keys", type=int, default=20000)
    ap.add_argument("--gen-events", type=int, default=20)
    ap.add_argument("--gen-compact", help="compact the generated table first, with write.row_group_rows=V")
    args = ap.parse_args()
    src = FIXTURES / args.table
    server = S3Server().start()
    try:
        s3 = server.client()
        s3.create_bucket(Bucket="bench")
        name = src.name
        total = 0
        for p in sorted(src.rglob("*")):
            if p.is_file():
                s3.put_object(Bucket="bench", Key=f"lake/{name}/{p.relative_to(src)}",
                              Body=p.read_bytes())
                total += p.stat().st_size
        env = dict(os.environ, **server.env())
        print(json.dumps({"table": args.table, "objects_bytes": total}))
        base = ["--path", "s3://bench/lake", "--table", name]
        commands = [
            (f"scan --as-of {args.as_of} (all columns)", ["scan", *base, "--as-of", args.as_of]),
            (f"scan --as-of {args.as_of} --columns key",
             ["scan", *base, "--as-of", args.as_of, "--columns", "key"]),
            ("info", ["info", *base]),
            ("log", ["log", *base]),
        ]
        if args.keyed:
            commands = keyed_commands(server, env, base, args, name)
        for label, cmd in commands:
            mark = server.mark()
            proc = subprocess.run([BAZOF, *cmd, "--format", "csv" if cmd[0] != "info" else "json"],
                                  capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                sys.exit(f"bazof {' '.join(cmd)} failed: {proc.stderr}")
            reqs = server.since(mark)
            kinds = collections.Counter(
                f"{r.method} {'data' if r.path.endswith('.parquet') else 'metadata'}"
                + (" ranged" if r.range else "") for r in reqs)
            print(json.dumps({
                "command": label if label.startswith(("W", "G")) else f"bazof {label}",
                "requests": len(reqs),
                "bytes": sum(r.bytes_out for r in reqs),
                "by_kind": dict(sorted(kinds.items())),
                "listings": sum("list-type" in r.query or r.path.rstrip("/") == "/bench"
                                for r in reqs),
                "objects": (len({r.path for r in reqs}) if args.keyed
                            else sorted({r.path.split(f"/{name}/", 1)[1] for r in reqs})),
            }))
    finally:
        server.stop()


def keyed_commands(server, env, base, args, name):
    """q3/q4/q6 on the fixture; q3/q4/q6/j2 on a generated format-1 table."""
    import csv
    import random
    import tempfile

    import pyarrow.parquet as pq

    rng = random.Random(14)
    # The fixture's keys, from its first data file (any file lists most of them).
    first = next(p for p in sorted((FIXTURES / args.table).rglob("*.parquet")))
    fixture_keys = sorted(set(pq.read_table(first, columns=["key"]).column("key").to_pylist()))
    one = "AAPL"  # field_bench's q3/q6 key
    hundred = [one] + rng.sample([k for k in fixture_keys if k != one], min(99, len(fixture_keys) - 1))
    out = [
        (f"W2 q3 scan --as-of {args.as_of} --key {one}", ["scan", *base, "--as-of", args.as_of, "--key", one]),
        (f"W2 q4 scan --as-of {args.as_of} (100 keys)",
         ["scan", *base, "--as-of", args.as_of, *sum([["--key", k] for k in hundred], [])]),
        (f"W2 q6 history --key {one}", ["history", *base, "--key", one]),
    ]
    gen = ["--path", "s3://bench/lake", "--table", "gen"]
    proc = subprocess.run([BAZOF, "gen", *gen, "--keys", str(args.gen_keys), "--events", str(args.gen_events),
                           "--segments", "12"], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"bazof gen failed: {proc.stderr}")
    if args.gen_compact:
        steps = [] if args.gen_compact == "auto" else [
            ["alter", *gen, "set-property", f"write.row_group_rows={args.gen_compact}"]]
        for step in steps + [["compact", *gen, "--force"]]:
            proc = subprocess.run([BAZOF, *step], capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                sys.exit(f"bazof {' '.join(step)} failed: {proc.stderr}")
    width = max(6, len(str(args.gen_keys)))  # as gen names them (src/write/gen.cc)
    keys = [f"k{i:0{width}d}" for i in rng.sample(range(args.gen_keys), 100)]
    spine = Path(tempfile.mkdtemp()) / "spine.csv"
    with open(spine, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["rid", "key", "t"])
        for i in range(1000):
            secs = rng.randrange(0, 5 * 365 * 86400)
            w.writerow([i, rng.choice(keys), f"{1577836800 + secs}"])
    # Times as RFC 3339 text (the CLI parses text spines' time column as UTC).
    import datetime as dt
    rows = list(csv.reader(open(spine)))
    with open(spine, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(rows[0])
        for r in rows[1:]:
            w.writerow([r[0], r[1], dt.datetime.fromtimestamp(int(r[2]), dt.timezone.utc).isoformat()])
    t = "2022-06-30T00:00:00+00:00"
    out += [
        (f"G q3 scan --as-of {t} --key {keys[0]}", ["scan", *gen, "--as-of", t, "--key", keys[0]]),
        (f"G q4 scan --as-of {t} (100 keys)", ["scan", *gen, "--as-of", t, *sum([["--key", k] for k in keys], [])]),
        (f"G q6 history --key {keys[0]}", ["history", *gen, "--key", keys[0]]),
        ("G j2 join-asof (1,000-row spine, 100 keys)",
         ["join-asof", *gen, "--spine", str(spine), "--on", "t", "--by", "key"]),
    ]
    return out


if __name__ == "__main__":
    main()

"""Requests and bytes bazof fetches from object storage (issue #5, "Efficiency").

    .venv/bin/python bench/s3_requests.py [--table bazof-0.1/ltm_revenue] [--as-of 2019-01-17]

Starts the tests' S3 server (moto, tests/python/s3_server.py) on 127.0.0.1, copies the fixture
table to it, runs `bazof scan --as-of T` (all columns, then `--columns key`: the key and
event-time columns alone), `bazof info` and `bazof log`, and counts, from the server's request
log, the requests by kind and the bytes of the response bodies. Prints one JSON object per
command. Counts, not times: they do not depend on the machine.
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
        for label, cmd in [
            (f"scan --as-of {args.as_of} (all columns)", ["scan", *base, "--as-of", args.as_of]),
            (f"scan --as-of {args.as_of} --columns key",
             ["scan", *base, "--as-of", args.as_of, "--columns", "key"]),
            ("info", ["info", *base]),
            ("log", ["log", *base]),
        ]:
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
                "command": f"bazof {label}",
                "requests": len(reqs),
                "bytes": sum(r.bytes_out for r in reqs),
                "by_kind": dict(sorted(kinds.items())),
                "listings": sum("list-type" in r.query or r.path.rstrip("/") == "/bench"
                                for r in reqs),
                "objects": sorted({r.path.split(f"/{name}/", 1)[1] for r in reqs}),
            }))
    finally:
        server.stop()


if __name__ == "__main__":
    main()

"""Timeline views on W1 (issue #18): validity intervals and changes between two event times.

    .venv/bin/python bench/views_bench.py [--keys 200000] [--events-per-key 50] [--runs 5]
        [--work DIR] [--out FILE] [--seed 8]

W1 is field_bench.py's workload (N keys x H events over 2020-2024, 8 value columns, 5% late
events, 20 appends then `bazof compact`); the same events as the 20 history Parquet files.

- intervals: bazof `Table.intervals()` of the whole table vs DuckDB's
  `lead(event_time) OVER (PARTITION BY key ORDER BY event_time)` over the history Parquet
  (W1 has no ties or tombstones, so lead() is the whole definition there).
- changes: bazof `Table.changes(T1, T2)` vs two bazof scans (as of T1 and T2, streamed into
  DuckDB) joined in DuckDB (FULL OUTER JOIN on key, kind from which side is missing or
  which value differs).

Each side is consumed as a stream of Arrow record batches (nothing else materialized); times
are medians of --runs runs after one warm-up, in one process, files in the OS cache. Answers
are checked equal (row count and an order-independent hash sum computed by DuckDB over
every column) before timing; a mismatch exits 1. Prints a Markdown section (and writes it to
--out when given).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from field_bench import VALUE_COLUMNS, write_w1  # noqa: E402

T1 = "2023-01-01 00:00:00+00"
T2 = "2024-01-01 00:00:00+00"


def changes_join_sql() -> str:
    """Changes from two as-of scans registered as s1 (old) and s2 (new), joined in DuckDB."""
    diff_cond = " OR ".join(f"a.{c} IS DISTINCT FROM b.{c}" for c in VALUE_COLUMNS)
    olds = ", ".join(f"a.{c} AS old_{c}" for c in VALUE_COLUMNS)
    news = ", ".join(f"b.{c} AS new_{c}" for c in VALUE_COLUMNS)
    return (f"SELECT coalesce(a.key, b.key) AS key, CASE WHEN a.key IS NULL THEN 'insert' WHEN b.key IS NULL "
            f"THEN 'delete' ELSE 'update' END AS kind, a.event_time AS old_event_time, "
            f"b.event_time AS new_event_time, {olds}, {news} FROM s1 a FULL OUTER JOIN s2 b ON a.key = b.key "
            f"WHERE a.key IS NULL OR b.key IS NULL OR {diff_cond}")


def changes_times() -> tuple[dt.datetime, dt.datetime]:
    """T1 and T2 as datetimes."""
    return tuple(dt.datetime.fromisoformat(t.replace(" ", "T").replace("+00", "+00:00")) for t in (T1, T2))


def consume(reader) -> int:
    return sum(b.num_rows for b in reader)


def timed(fn, runs):
    """(median wall s, wall times, median CPU s of the process: all its threads, DuckDB's too)."""
    fn()  # warm-up
    out, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        out.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(out), out, statistics.median(cpu)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keys", type=int, default=200_000)
    ap.add_argument("--events-per-key", type=int, default=50)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--work", default=None, help="keep the data here (default: a temporary directory)")
    ap.add_argument("--out", default=None, help="also write the Markdown section to this file")
    args = ap.parse_args()

    import duckdb
    import pyarrow as pa  # noqa: F401
    import bazof

    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="views_bench_"))
    try:
        if (work / "w1").exists():
            files = sorted(str(p) for p in (work / "history").glob("*.parquet"))
            info = {"keys": args.keys, "events_per_key": args.events_per_key}
        else:
            ds = write_w1(work, args.keys, args.events_per_key, args.seed, with_delta=False)
            files, info = ds["history_files"], ds["info"]
        t = bazof.open_table(str(work / "w1"))
        con = duckdb.connect()
        src = "read_parquet([" + ",".join(f"'{f}'" for f in files) + "])"
        cols = ", ".join(VALUE_COLUMNS)
        digest_cols = "key, valid_from, valid_to, " + cols

        lead_sql = (f"SELECT key, event_time AS valid_from, lead(event_time) OVER (PARTITION BY key ORDER BY "
                    f"event_time) AS valid_to, {cols} FROM {src}")

        def digest(relation_sql, columns):
            return con.sql(f"SELECT count(*), sum(hash({columns})) FROM ({relation_sql})").fetchall()[0]

        def digest_stream(stream, columns):
            con.register("v", stream.to_batches())
            try:
                return digest("SELECT * FROM v", columns)
            finally:
                con.unregister("v")

        got = digest_stream(t.intervals(), digest_cols)
        want = digest(lead_sql, digest_cols)
        if got != want:
            print(f"intervals differ: bazof {got} vs duckdb lead() {want}", file=sys.stderr)
            return 1

        def bazof_intervals():
            return consume(t.intervals().to_batches())

        def duckdb_lead():
            return consume(con.sql(lead_sql).to_arrow_reader())

        # Changes: two scans joined in DuckDB.
        join_sql = changes_join_sql()
        t1, t2 = changes_times()

        def joined():
            con.register("s1", t.scan(t1).to_batches())
            con.register("s2", t.scan(t2).to_batches())
            return con.sql(join_sql)

        ch_cols = ("key, kind, old_event_time, new_event_time, "
                   + ", ".join(f"old_{c}, new_{c}" for c in VALUE_COLUMNS))
        got = digest_stream(t.changes(t1, t2), ch_cols)
        rel = joined().to_arrow_table()
        con.register("j", rel)
        want = digest("SELECT * FROM j", ch_cols)
        con.unregister("j")
        del rel
        if got != want:
            print(f"changes differ: bazof {got} vs two scans joined {want}", file=sys.stderr)
            return 1
        n_changes = got[0]

        def bazof_changes():
            return consume(t.changes(t1, t2).to_batches())

        def scans_joined():
            return consume(joined().to_arrow_reader())

        res = {}
        for name, fn in [("bazof_intervals", bazof_intervals), ("duckdb_lead", duckdb_lead),
                         ("bazof_changes", bazof_changes), ("two_scans_joined", scans_joined)]:
            res[name] = timed(fn, args.runs)
            print(f"{name}: median {res[name][0] * 1000:.1f} ms {[round(x * 1000, 1) for x in res[name][1]]}"
                  f" cpu {res[name][2] * 1000:.1f} ms", file=sys.stderr)

        cmd = "bench/views_bench.py " + " ".join(sys.argv[1:])
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        lines = [
            "## Timeline views (issue #18): intervals and changes on W1", "",
            f"Generated by `.venv/bin/python {cmd}` on {dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')}"
            f" (load average {load}; 2 shared cores): W1 {info['keys']} keys x {info['events_per_key']} events, "
            f"20 commits + compact. Medians of {args.runs} runs (after a warm-up) of consuming each result as "
            f"Arrow batches; answers checked equal (count and DuckDB hash sum over every column).", "",
            "| query | bazof wall / CPU | alternative wall / CPU | alternative / bazof, wall / CPU |",
            "|---|---|---|---|",
            f"| intervals of the whole table ({got_rows(t)} rows) | {ms(res['bazof_intervals'])} "
            f"| DuckDB lead() over the history Parquet: {ms(res['duckdb_lead'])} "
            f"| {ratios(res['duckdb_lead'], res['bazof_intervals'])} |",
            f"| changes {T1[:10]} -> {T2[:10]} ({n_changes} rows) | {ms(res['bazof_changes'])} "
            f"| two bazof scans joined in DuckDB: {ms(res['two_scans_joined'])} "
            f"| {ratios(res['two_scans_joined'], res['bazof_changes'])} |", ""]
        text = "\n".join(lines)
        print(text)
        if args.out:
            Path(args.out).write_text(text + "\n")
        return 0
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


def ms(r) -> str:
    return f"{r[0] * 1000:.0f} / {r[2] * 1000:.0f} ms"


def ratios(alt, ours) -> str:
    return f"{alt[0] / ours[0]:.2f}x / {alt[2] / ours[2]:.2f}x"


def got_rows(t) -> int:
    return t.intervals(columns=[]).to_arrow().num_rows


if __name__ == "__main__":
    sys.exit(main())

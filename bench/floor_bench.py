"""What Arrow's Parquet reader alone costs, next to the DuckDB queries the targets of issues #14
and #18 compare against: the ceiling of any speed-up a reader built on Arrow can show.

    .venv/bin/python bench/floor_bench.py --w1 DIR [--spine FILE] [--legacy DIR --legacy-history FILE]
        [--runs 5] [--threads 2] [--out FILE]

--w1 is a field_bench W1 directory (DIR/w1 the bazof table, DIR/history/*.parquet the event
history DuckDB reads). Measured, each the median of --runs runs after a warm-up, files in the
OS cache, wall and process CPU (all threads):

- floor: pyarrow reads every delta file of the table's current snapshot (the files the
  intervals view and the as-of join read: every event once; bases repeat earlier events),
  every table column plus `_bazof_deleted`, string columns as dictionaries, --threads files
  at a time. Page checksums are not verified (bazof verifies them), so bazof's own floor is
  higher.
- DuckDB lead() over the history Parquet (views_bench's intervals query) and, with --spine,
  DuckDB's ASOF LEFT JOIN of that spine (field_bench's j1 query), consumed as Arrow.
- Changes between views_bench's T1 and T2: pyarrow reads every file either as-of state is
  planned from, wholly (in key-sorted files the events at or before T lie on every page),
  against two bazof scans joined in DuckDB (views_bench's alternative).
- With --legacy (a bazof 0.1 table, e.g. the ltm_revenue fixture) and --legacy-history (its
  event history as one Parquet file, field_bench's w2_history.parquet): the floor of one
  key's history there (pyarrow reads every data file's key column and the matching rows; the
  files are not sorted, so no file or row group can be skipped) against DuckDB reading the
  history file with the same key filter.

Prints a Markdown section: for each DuckDB query, its time over the floor's = the largest
speed-up over DuckDB a reader that decodes what the query must decode with Arrow could reach
(wall on a quiet machine; CPU when the machine is loaded, since DuckDB's threads then wait).
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime as dt
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from views_bench import changes_join_sql, changes_times, timed as views_timed  # noqa: E402


def timed(fn, runs: int) -> tuple[float, float]:
    """(median wall s, median process CPU s) of runs calls after one warm-up (views_bench's timer)."""
    wall, _, cpu = views_timed(fn, runs)
    return wall, cpu


def snapshot_deltas(table: Path) -> list[Path]:
    """The delta files of the table's current snapshot (spec §4: s<V>.json, nested segments)."""
    version = int((table / "version.txt").read_text().split()[0]) if (table / "version.txt").exists() else None
    snaps = sorted(table.glob("s*.json"), key=lambda p: int(p.stem[1:]))
    snap = table / f"s{version}.json" if version is not None else snaps[-1]
    doc = json.loads(snap.read_text())

    def walk(segments):
        for s in segments:
            yield s
            yield from walk(s.get("segments", []))

    return [table / d["file"] for s in walk(doc["segments"]) for d in s.get("delta", [])]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--w1", required=True, help="field_bench W1 directory (w1/ and history/)")
    ap.add_argument("--spine", help="j1's spine Parquet (rid, key, t) for DuckDB's ASOF LEFT JOIN")
    ap.add_argument("--legacy", help="a bazof 0.1 table directory (ltm_revenue)")
    ap.add_argument("--legacy-history", help="that table's event history as one Parquet file")
    ap.add_argument("--legacy-key", default="AAPL")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", help="also write the Markdown section here")
    args = ap.parse_args()
    if bool(args.legacy) != bool(args.legacy_history):
        ap.error("--legacy and --legacy-history go together")

    import duckdb
    import pyarrow.parquet as pq

    w1 = Path(args.w1)
    deltas = snapshot_deltas(w1 / "w1")
    if not deltas:
        print(f"error: {w1 / 'w1'}: no delta files in the current snapshot", file=sys.stderr)
        return 1
    schema = pq.read_schema(deltas[0])
    columns = [n for n in schema.names if n != "_bazof_version"]
    strings = [f.name for f in schema if str(f.type) in ("string", "large_string") and f.name != "key"]

    def read_one(path):
        return pq.read_table(path, columns=columns, use_threads=False, read_dictionary=strings).num_rows

    def floor():
        with cf.ThreadPoolExecutor(args.threads) as ex:
            return sum(ex.map(read_one, deltas))

    rows = floor()
    history = sorted(str(p) for p in (w1 / "history").glob("*.parquet"))
    src = "read_parquet([" + ",".join(f"'{f}'" for f in history) + "])"
    values = [c for c in columns if c not in ("key", "event_time", "_bazof_deleted")]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    lead_sql = (f"SELECT key, event_time AS valid_from, lead(event_time) OVER (PARTITION BY key ORDER BY "
                f"event_time) AS valid_to, {', '.join(values)} FROM {src}")

    def consume(sql):
        return sum(b.num_rows for b in con.sql(sql).to_arrow_reader())

    res = {"floor": timed(floor, args.runs), "lead": timed(lambda: consume(lead_sql), args.runs)}
    if args.spine:
        con.register("spine", pq.read_table(args.spine))
        cols = ", ".join(f"h.{c}" for c in ["event_time", *values])
        asof_sql = (f"SELECT s.*, {cols} FROM spine s ASOF LEFT JOIN {src} h "
                    f"ON s.key = h.key AND s.t >= h.event_time")
        res["asof"] = timed(lambda: consume(asof_sql), args.runs)
    # Changes between views_bench's T1 and T2: pyarrow reads every file the two as-of states
    # are planned from (wholly: a key-sorted file's rows at or before T lie on every page),
    # next to two bazof scans joined in DuckDB.
    import bazof

    table = bazof.open_table(str(w1 / "w1"))
    t1, t2 = changes_times()
    point_files = sorted({str(w1 / "w1" / f) for t in (t1, t2) for f in table.scan(t).files})

    def changes_floor():
        with cf.ThreadPoolExecutor(args.threads) as ex:
            return sum(ex.map(read_one, point_files))

    changes_sql = changes_join_sql()

    def two_scans_joined():
        con.register("s1", table.scan(t1).to_batches())
        con.register("s2", table.scan(t2).to_batches())
        return consume(changes_sql)

    res["changes_floor"] = timed(changes_floor, args.runs)
    res["changes_alt"] = timed(two_scans_joined, args.runs)
    if args.legacy:
        files = sorted(Path(args.legacy).glob("*.parquet"))
        key = args.legacy_key

        def legacy_one(path):
            return pq.read_table(path, filters=[("key", "=", key)], use_threads=False).num_rows

        def legacy_floor():
            with cf.ThreadPoolExecutor(args.threads) as ex:
                return sum(ex.map(legacy_one, files))

        res["legacy_floor"] = timed(legacy_floor, args.runs)
        q6 = f"SELECT * FROM read_parquet('{args.legacy_history}') WHERE key = '{key}' ORDER BY event_time"
        res["legacy_duckdb"] = timed(lambda: con.sql(q6).to_arrow_table().num_rows, args.runs)

    def ms(r):
        return f"{r[0] * 1000:.0f} / {r[1] * 1000:.0f}"

    def over(r, f):
        return f"{r[0] / f[0]:.2f}x / {r[1] / f[1]:.2f}x"

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        "## Arrow's reader alone against the DuckDB queries of the targets", "",
        f"`.venv/bin/python bench/floor_bench.py {' '.join(sys.argv[1:])}` at "
        f"{dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')} (load average {load}); medians of "
        f"{args.runs} runs; ms wall / ms CPU (all threads).", "",
        "| measurement | ms wall / CPU | DuckDB / floor, wall / CPU | target |", "|---|---|---:|---|",
        f"| floor: pyarrow reads the {len(deltas)} deltas ({rows:,} rows, {len(columns)} columns, "
        f"{args.threads} files at a time) | {ms(res['floor'])} | | |",
        f"| DuckDB lead() over the history (intervals) | {ms(res['lead'])} | {over(res['lead'], res['floor'])} | 5x |"]
    if "asof" in res:
        lines.append(f"| DuckDB ASOF LEFT JOIN of {Path(args.spine).name} (j1) | {ms(res['asof'])} | "
                     f"{over(res['asof'], res['floor'])} | 2x |")
    lines += [f"| changes floor: pyarrow reads the {len(point_files)} files both points of `changes` "
              f"({t1:%Y-%m-%d} -> {t2:%Y-%m-%d}) plan | {ms(res['changes_floor'])} | | |",
              f"| two bazof scans joined in DuckDB (changes' alternative) | {ms(res['changes_alt'])} | "
              f"{over(res['changes_alt'], res['changes_floor'])} | 2x |"]
    if "legacy_floor" in res:
        lines += [f"| legacy floor: pyarrow reads key `{args.legacy_key}` from the {len(files)} files of "
                  f"{Path(args.legacy).name} | {ms(res['legacy_floor'])} | | |",
                  f"| DuckDB: that key's history from the history file (q6) | {ms(res['legacy_duckdb'])} | "
                  f"{over(res['legacy_duckdb'], res['legacy_floor'])} | 5x |"]
    text = "\n".join(lines + [""])
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

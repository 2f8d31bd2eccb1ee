"""bazof against the field (issue #8): the same data, the same queries, the same run.

    .venv/bin/python bench/field_bench.py [--keys 200000] [--events-per-key 50] [--runs 5]
        [--out bench/results] [--sweep-keys 20000] [--sweep-h 1,10,50,200] [--write-rows 1000000]
        [--skip-sweep] [--skip-writes] [--skip-w2] [--work DIR] [--seed 8]
        [--queries q3,q4,q6] [--engines bazof,duckdb_argmax,limit] [--report KEYED.md] [--reuse]

W1 (entity history): N keys x H events over 5 years (2020-2024), 8 value columns (int64 x3,
float64 x2, short strings x2, a timestamp), 5% late events (delivered in a later commit than
their event time's), written through the bazof Python package's `append` in 20 commits, then
compacted with `bazof compact`. The same events, as the same 20 commits, go to Parquet files
(the "event history" DuckDB and Polars read) and to a delta-rs table.

W2: the seed's ltm_revenue fixture (../shared/fixtures/bazof-0.1, table ltm_revenue); its
event history for the alternatives is what `Table.history` returns per key.

Queries: q1 every key as of T, q2 latest, q3 one key as of T, q4 100 keys (IN list) as of T,
q5 two columns as of T, q6 every event of one key. Engines: bazof (Python package, the C++
core), DuckDB over the history Parquet (arg_max ... GROUP BY, QUALIFY row_number()), DuckDB
over the delta-rs table's files (arg_max), Polars over the history Parquet
(sort/group_by().last()), and the physical limit: pyarrow reading a Parquet file holding
exactly the answer (Snappy, like bazof's data files); for q3/q4 (issue #14's definition) the
file holds every key's state as of T, key-sorted in 4096-row groups, and pyarrow reads it with
the same key filter. Every engine runs in its own process
(peak RSS = its ru_maxrss; the RSS after imports is reported too), R times in a row (the
median is reported); its answer is checked equal to bazof's, so the harness is also a
differential test: any mismatch makes the command exit 1.

Writes: append of --write-rows rows (bazof append vs pyarrow write_table vs
deltalake.write_deltalake), `bazof put` latency (CLI process and Python call), compaction
time. Scaling: q1 for H in --sweep-h with --sweep-keys keys, bazof after compaction vs DuckDB
over the history.

Joins: j1, the as-of join of a --spine-rows-row spine (1M; keys over all of W1's, 1% absent,
2% of times before every event), j2, of a 1,000-row spine over 100 keys, and j3, j1's size with
times in W1's last 90 days (recent training examples over a long history): bazof's
Table.join_asof vs DuckDB's ASOF LEFT JOIN over the history Parquet (answers checked equal).
--only-joins runs W1 and the joins only (reusing --work's W1 when present).

Writes RESULTS.md, results.json (every raw timing) and q1_scaling.png into --out; the data
goes to --work (a temporary directory by default, removed at the end).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BAZOF_CLI = os.environ.get("BAZOF_BIN", str(REPO / "build" / "bazof"))
FIXTURES = Path(os.environ.get("BAZOF_FIXTURES", REPO.parent / "shared" / "fixtures"))
COMMITS = 20
START = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
SPAN_S = 5 * 365 * 86400
VALUE_COLUMNS = ["i1", "i2", "i3", "f1", "f2", "s1", "s2", "ts"]
QUERIES = ["q1", "q2", "q3", "q4", "q5", "q6"]
ENGINES = ["bazof", "duckdb_argmax", "duckdb_qualify", "delta_duckdb", "polars", "limit"]
JOIN_QUERIES = ["j1", "j2", "j3"]
JOIN_ENGINES = ["bazof", "duckdb_asof"]


# --------------------------------------------------------------------------- child side
# A child runs one (engine, query) R times and prints one JSON line. It imports only what
# its engine needs, so its RSS is that engine's.

def _hwm_kb() -> int:
    """Peak RSS of this process image (VmHWM). ru_maxrss is not used: after fork and exec it
    still counts the parent's pages at the fork."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def _child(spec: dict) -> None:
    engine, q = spec["engine"], spec["query"]
    runner = _make_runner(spec)
    base_rss = _hwm_kb()
    result = runner()  # warm-up (lazy imports, thread pools), not counted
    times, cpu_times = [], []
    for _ in range(spec["runs"]):
        # The previous run's answer is dropped first: held, it would count
        # twice in the peak RSS (one answer per run is what a user holds).
        result = None
        t0, c0 = time.perf_counter(), time.process_time()
        result = runner()
        times.append(time.perf_counter() - t0)
        # CPU seconds of every thread of the process: what the run cost, whatever else the
        # shared machine was doing (wall time is not).
        cpu_times.append(time.process_time() - c0)
    peak = _hwm_kb()
    import pyarrow.parquet as pq

    if spec.get("answer_out"):
        pq.write_table(result, spec["answer_out"])
    print(json.dumps({"engine": engine, "query": q, "times": times, "cpu_times": cpu_times, "rows": result.num_rows,
                      "arrow_bytes": result.nbytes, "import_rss_kb": base_rss, "peak_rss_kb": peak}))


def _as_of_sql(spec):
    return f"TIMESTAMPTZ '{spec['as_of']}'" if spec.get("as_of") else None


def _make_runner(spec: dict):
    engine, q = spec["engine"], spec["query"]
    if q in JOIN_QUERIES:
        return _make_join_runner(spec)
    key, et = spec["key_col"], spec["et_col"]
    cols = spec["columns"] if q == "q5" else spec["value_cols"]
    if engine == "bazof":
        import bazof

        t = bazof.open_table(spec["bazof_uri"])
        as_of = spec.get("as_of")
        if q == "q6":
            return lambda: t.history(spec["one_key"])
        flt = None
        if q == "q3":
            flt = [(key, "==", spec["one_key"])]
        elif q == "q4":
            flt = [(key, "in", spec["keys"])]
        proj = spec["columns"] if q == "q5" else None
        return lambda: t.scan(as_of=as_of, columns=proj, filter=flt).to_arrow()
    if engine == "limit":
        import pyarrow.parquet as pq

        flt = None
        if spec.get("limit_filtered"):
            if q == "q3":
                flt = [(key, "==", spec["one_key"])]
            elif q == "q4":
                flt = [(key, "in", spec["keys"])]
        return lambda: pq.read_table(spec["limit_file"], filters=flt)
    if engine == "polars":
        import polars as pl

        def run():
            lf = pl.scan_parquet(spec["history_files"]).select([key, et, *cols])
            if q == "q6":
                return lf.filter(pl.col(key) == spec["one_key"]).sort(et).collect().to_arrow()
            if spec.get("as_of"):
                lf = lf.filter(pl.col(et) <= pl.lit(dt.datetime.fromisoformat(spec["as_of"])))
            if q == "q3":
                lf = lf.filter(pl.col(key) == spec["one_key"])
            elif q == "q4":
                lf = lf.filter(pl.col(key).is_in(spec["keys"]))
            return lf.sort([key, et]).group_by(key, maintain_order=True).last().collect().to_arrow()

        return run
    # DuckDB, over the history Parquet files or over the files the Delta log names.
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if engine == "delta_duckdb":
        from deltalake import DeltaTable

        def source():  # the Delta log is read on every run: it is part of the query
            return "read_parquet([" + ",".join(f"'{f}'" for f in DeltaTable(spec["delta_path"]).file_uris()) + "])"
    else:
        files = "read_parquet([" + ",".join(f"'{f}'" for f in spec["history_files"]) + "])"

        def source():
            return files
    conds = []
    if spec.get("as_of"):
        conds.append(f"{et} <= {_as_of_sql(spec)}")
    if q in ("q3", "q6"):
        conds.append(f"{key} = '{spec['one_key']}'")
    elif q == "q4":
        conds.append(f"{key} IN (" + ",".join(f"'{k}'" for k in spec["keys"]) + ")")
    where = ("WHERE " + " AND ".join(conds)) if conds else ""
    if q == "q6":
        sql = lambda: f"SELECT {key}, {et}, {', '.join(cols)} FROM {source()} {where} ORDER BY {et}"
    elif engine == "duckdb_qualify":
        sql = lambda: (f"SELECT {key}, {et}, {', '.join(cols)} FROM {source()} {where} "
                       f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY {et} DESC) = 1")
    else:
        sel = ", ".join(f"arg_max({c}, {et}) AS {c}" for c in cols)
        sql = lambda: f"SELECT {key}, max({et}) AS {et}, {sel} FROM {source()} {where} GROUP BY {key}"
    return lambda: con.execute(sql()).to_arrow_table()


def _make_join_runner(spec: dict):
    """j1/j2: the as-of join of a spine (read before timing) against W1: bazof's
    Table.join_asof, or DuckDB's ASOF LEFT JOIN over the history Parquet (unordered:
    bazof returns spine order, DuckDB is not asked to)."""
    import pyarrow.parquet as pq

    spine = pq.read_table(spec["spine_file"])
    if spec["engine"] == "bazof":
        import bazof

        t = bazof.open_table(spec["bazof_uri"])
        return lambda: t.join_asof(spine, on="t", by="key").to_arrow()
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("spine", spine)
    files = "read_parquet([" + ",".join(f"'{f}'" for f in spec["history_files"]) + "])"
    cols = ", ".join(f"h.{c}" for c in ["event_time", *spec["value_cols"]])
    sql = (f"SELECT s.*, {cols} FROM spine s ASOF LEFT JOIN {files} h "
           f"ON s.key = h.key AND s.t >= h.event_time")
    return lambda: con.execute(sql).to_arrow_table()


def make_spine(path: Path, n_rows: int, n_keys: int, key_pool: int, seed: int, recent_s: int = 0) -> None:
    """A spine of n_rows (rid, key, t): keys drawn from key_pool of W1's n_keys keys (1% absent
    from the table), times uniform over W1's span (2% before every event), or with recent_s
    over its last recent_s seconds only."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    pool = rng.choice(n_keys, size=min(key_pool, n_keys), replace=False)
    kid = pool[rng.integers(0, len(pool), size=n_rows)]
    absent = rng.random(n_rows) < 0.01
    kid = np.where(absent, n_keys + kid, kid)
    if recent_s:
        secs = rng.integers(SPAN_S - recent_s, SPAN_S, size=n_rows)
    else:
        secs = rng.integers(0, SPAN_S, size=n_rows)
        secs = np.where(rng.random(n_rows) < 0.02, -86400, secs)
    micros = (int(START.timestamp()) + secs) * 1_000_000 + rng.integers(0, 1_000_000, size=n_rows)
    keys = pc.binary_join_element_wise("k", pc.utf8_lpad(pc.cast(pa.array(kid), pa.string()), 7, "0"), "")
    pq.write_table(pa.table({"rid": pa.array(np.arange(n_rows, dtype=np.int64)), "key": keys,
                             "t": pa.array(micros, pa.timestamp("us", tz="UTC"))}), path)


def run_joins(work: Path, dataset: dict, n_keys: int, runs: int, seed: int, spine_rows: int) -> tuple[dict, list[str]]:
    """j1: a spine_rows-row spine over all of W1's keys; j2: a 1,000-row spine over 100 keys;
    j3: j1's size and keys, times in the last 90 days of W1 (a training set of recent
    examples over a long history)."""
    answers = work / "answers_joins"
    answers.mkdir(exist_ok=True)
    results, problems = {}, []
    for q, rows, pool, recent_s in (("j1", spine_rows, n_keys, 0), ("j2", 1000, 100, 0),
                                    ("j3", spine_rows, n_keys, 90 * 86400)):
        spine_file = work / f"spine_{q}.parquet"
        make_spine(spine_file, rows, n_keys, pool, seed + {"j1": 1, "j2": 2, "j3": 3}[q], recent_s)
        results[q] = {}
        for engine in JOIN_ENGINES:
            spec = {"engine": engine, "query": q, "runs": runs, "bazof_uri": dataset["bazof_uri"],
                    "history_files": dataset["history_files"], "value_cols": VALUE_COLUMNS,
                    "spine_file": str(spine_file), "answer_out": str(answers / f"{q}_{engine}.parquet")}
            r = run_child(spec)
            r["median_s"] = statistics.median(r["times"])
            r["spine_rows"] = rows
            results[q][engine] = r
            if engine != "bazof":
                bad = check_equal(answers, q, engine, "rid", "rid")
                r["equal_to_bazof"] = bad is None
                if bad:
                    problems.append(f"joins {q} {engine}: {bad}")
            print(f"[joins] {q} {engine}: {r['median_s'] * 1000:.1f} ms, {r['rows']} rows, "
                  f"peak RSS {r['peak_rss_kb'] / 1024:.0f} MB", file=sys.stderr, flush=True)
    return results, problems


def join_table(joins: dict) -> list[str]:
    lines = ["| query | spine rows | bazof | DuckDB ASOF LEFT JOIN | speed-up | bazof / DuckDB CPU ms | CPU ratio | "
             "bazof peak RSS | DuckDB peak RSS | same answer |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for q, r in joins.items():
        b, d = r["bazof"], r["duckdb_asof"]
        bc, dc = (statistics.median(x.get("cpu_times") or [float("nan")]) for x in (b, d))
        lines.append(f"| {q} | {b['spine_rows']:,} | {fmt_ms(b['median_s'])} | {fmt_ms(d['median_s'])} | "
                     f"{d['median_s'] / b['median_s']:.1f}x | {fmt_ms(bc)} / {fmt_ms(dc)} | {dc / bc:.1f}x | "
                     f"{b['peak_rss_kb'] / 1024:.0f} MB | "
                     f"{d['peak_rss_kb'] / 1024:.0f} MB | {'yes' if d.get('equal_to_bazof') else 'NO'} |")
    return lines


# --------------------------------------------------------------------------- parent side

def run_child(spec: dict) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{spec['engine']} {spec['query']} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def timed_rss(cmd: list[str]) -> tuple[float, float, str]:
    """Runs a command once; returns (seconds, its peak RSS in MB, stdout)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        secs = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {err.read()[-2000:]}")
        return secs, ru.ru_maxrss / 1024, out.read()


def make_events(n_keys: int, h: int, seed: int):
    """W1's events, sorted by (key, event_time), with the commit each arrives in."""
    import numpy as np

    return events_of_keys(np.random.default_rng(seed), 0, n_keys, h)


def events_of_keys(rng, k0: int, k1: int, h: int):
    """W1's distributions for keys [k0, k1), h events each, drawn from `rng`: the events
    sorted by (key, event_time), the commit each arrives in (5% late), and the number of
    late events. W1 is keys [0, n); bench/w3_bench.py draws W3 block by block."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    nk = k1 - k0
    n = nk * h
    kid = np.repeat(np.arange(k0, k1, dtype=np.int64), h)
    secs = rng.integers(0, SPAN_S, size=n)
    # Unique event times per key: distinct microsecond offsets within the second.
    idx_in_key = np.tile(np.arange(h, dtype=np.int64), nk)
    micros = (int(START.timestamp()) + secs) * 1_000_000 + idx_in_key
    order = np.lexsort((micros, kid))
    kid, secs, micros = kid[order], secs[order], micros[order]
    commit = np.minimum(secs * COMMITS // SPAN_S, COMMITS - 1)
    late = (rng.random(n) < 0.05) & (commit < COMMITS - 1)
    commit[late] += rng.integers(1, COMMITS - commit[late])
    keys = pc.binary_join_element_wise("k", pc.utf8_lpad(pc.cast(pa.array(kid), pa.string()), 7, "0"), "")
    words = pa.array([f"w{i:04d}" + "abcdefgh"[: i % 7] for i in range(5000)])
    tbl = pa.table({
        "key": keys,
        "event_time": pa.array(micros, pa.timestamp("us", tz="UTC")),
        "i1": pa.array(rng.integers(0, 1_000_000, size=n)),
        "i2": pa.array(rng.integers(-(2**40), 2**40, size=n)),
        "i3": pa.array(rng.integers(0, 100, size=n)),
        "f1": pa.array(rng.random(n) * 1000),
        "f2": pa.array(rng.standard_normal(n)),
        "s1": words.take(pa.array(rng.integers(0, 5000, size=n))),
        "s2": words.take(pa.array(rng.integers(0, 50, size=n))),
        "ts": pa.array(micros - rng.integers(0, 86400 * 1_000_000, size=n), pa.timestamp("us", tz="UTC")),
    })
    return tbl, commit, int(late.sum())


def write_w1(work: Path, n_keys: int, h: int, seed: int, with_delta: bool) -> dict:
    """Writes bazof (20 appends + compact), the history Parquet files and (optionally) delta."""
    import pyarrow as pa
    import pyarrow.compute  # noqa: F401
    import pyarrow.parquet as pq
    import bazof

    t0 = time.perf_counter()
    events, commit, n_late = make_events(n_keys, h, seed)
    info = {"keys": n_keys, "events_per_key": h, "events": events.num_rows,
            "late_events": n_late, "generate_s": time.perf_counter() - t0}
    work.mkdir(parents=True, exist_ok=True)
    schema = events.schema
    table = bazof.create_table(str(work / "w1"), schema, key="key")
    hist_dir = work / "history"
    hist_dir.mkdir(exist_ok=True)
    append_s, history_s, delta_s = 0.0, 0.0, 0.0
    files = []
    commit_arr = pa.array(commit)
    for c in range(COMMITS):
        part = events.filter(pa.compute.equal(commit_arr, c))
        t1 = time.perf_counter()
        table.append(part)
        append_s += time.perf_counter() - t1
        f = hist_dir / f"commit_{c:02d}.parquet"
        t1 = time.perf_counter()
        pq.write_table(part, f, compression="snappy")
        history_s += time.perf_counter() - t1
        files.append(str(f))
        if with_delta:
            from deltalake import write_deltalake

            t1 = time.perf_counter()
            write_deltalake(str(work / "delta"), part, mode="append")
            delta_s += time.perf_counter() - t1
    secs, rss, _ = timed_rss([BAZOF_CLI, "compact", "--path", str(work), "--table", "w1", "--format", "json"])
    info.update(append_20_commits_s=append_s, history_parquet_20_files_s=history_s,
                delta_20_commits_s=delta_s if with_delta else None, compact_s=secs, compact_peak_rss_mb=rss,
                bazof_bytes=_du(work / "w1"), history_bytes=_du(hist_dir),
                delta_bytes=_du(work / "delta") if with_delta else None)
    return {"info": info, "history_files": files, "bazof_uri": str(work / "w1"),
            "delta_path": str(work / "delta") if with_delta else None}


def _du(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def normalize(t, sort_by):
    import pyarrow as pa

    cols = []
    for name in t.column_names:
        a = t[name]
        if pa.types.is_timestamp(a.type):
            a = a.cast(pa.timestamp("us", tz="UTC"))
        elif pa.types.is_large_string(a.type) or pa.types.is_string_view(a.type):
            a = a.cast(pa.string())
        cols.append(a.combine_chunks() if a.num_chunks != 1 else a)
    t = pa.table(cols, names=t.column_names)
    return t.sort_by([(c, "ascending") for c in sort_by]).combine_chunks()


def reference(answer_dir: Path, q: str, dedupe: bool):
    """bazof's answer to q. dedupe: keep distinct rows (legacy tables' history once listed an
    event once per data file holding it; the alternatives' answers are distinct rows too)."""
    import pyarrow.parquet as pq

    ref = pq.read_table(answer_dir / f"{q}_bazof.parquet")
    if dedupe:
        ref = ref.group_by(ref.column_names, use_threads=False).aggregate([])
    return ref


def check_equal(answer_dir: Path, q: str, engine: str, key: str, et: str, dedupe_ref: bool = False) -> str | None:
    import pyarrow.parquet as pq

    ref = reference(answer_dir, q, dedupe_ref)
    got = pq.read_table(answer_dir / f"{q}_{engine}.parquet")
    want_cols = [c for c in got.column_names]
    missing = [c for c in want_cols if c not in ref.column_names]
    if missing:
        return f"columns {missing} not in bazof's answer"
    ref = normalize(ref.select(want_cols), [key, et])
    got = normalize(got, [key, et])
    if ref.num_rows != got.num_rows:
        return f"{got.num_rows} rows, bazof {ref.num_rows}"
    if not ref.equals(got):
        for c in want_cols:
            if not ref[c].equals(got[c]):
                return f"column {c} differs"
        return "schemas differ: " + str(got.schema) + " vs " + str(ref.schema)
    return None


def run_queries(work: Path, dataset: dict, qspec: dict, runs: int, engines: list[str], label: str,
                queries=QUERIES) -> tuple[dict, list[str]]:
    """Runs every query on every engine; returns (results, mismatches)."""
    import pyarrow.parquet as pq

    answers = work / f"answers_{label}"
    answers.mkdir(exist_ok=True)
    results, problems = {}, []
    for q in queries:
        base = dict(qspec, query=q, runs=runs, bazof_uri=dataset["bazof_uri"],
                    history_files=dataset["history_files"], delta_path=dataset.get("delta_path"))
        if q in ("q2",):
            base["as_of"] = None
        if q == "q6":
            base["as_of"] = None
        results[q] = {}
        for engine in engines:
            if engine == "delta_duckdb" and not dataset.get("delta_path"):
                continue
            if engine == "duckdb_qualify" and q == "q6":
                continue  # the same SELECT as duckdb_argmax's for a history
            spec = dict(base, engine=engine, answer_out=str(answers / f"{q}_{engine}.parquet"))
            dedupe = q == "q6" and qspec.get("legacy", False)
            if engine == "limit":
                lim = answers / f"{q}_limit_source.parquet"
                if q in ("q3", "q4"):
                    # The issue's limit (#14): the unfiltered answer (every key as of T, i.e. q1's
                    # answer) written key-sorted in 4096-row groups, read by pyarrow with the same
                    # key filter (row groups pruned by statistics).
                    full = answers / "q1_bazof.parquet"
                    if not full.exists():
                        run_child(dict(base, query="q1", engine="bazof", runs=1, answer_out=str(full)))
                    state = pq.read_table(full).sort_by([(qspec["key_col"], "ascending")])
                    pq.write_table(state, lim, compression="snappy", row_group_size=4096)
                    spec["limit_filtered"] = True
                else:
                    ref = reference(answers, q, dedupe)
                    pq.write_table(ref, lim, compression="snappy")
                spec["limit_file"] = str(lim)
            r = run_child(spec)
            r["median_s"] = statistics.median(r["times"])
            results[q][engine] = r
            if engine != "bazof":
                bad = check_equal(answers, q, engine, qspec["key_col"], qspec["et_col"], dedupe_ref=dedupe)
                r["equal_to_bazof"] = bad is None
                if bad:
                    problems.append(f"{label} {q} {engine}: {bad}")
            print(f"[{label}] {q} {engine}: {r['median_s'] * 1000:.1f} ms, {r['rows']} rows, "
                  f"peak RSS {r['peak_rss_kb'] / 1024:.0f} MB", file=sys.stderr, flush=True)
    return results, problems


def w1_qspec(n_keys: int, seed: int) -> dict:
    import numpy as np

    rng = np.random.default_rng(seed + 1)
    as_of = START + dt.timedelta(seconds=int(rng.uniform(0.3, 0.9) * SPAN_S))
    keys = sorted({f"k{int(k):07d}" for k in rng.choice(n_keys, size=min(100, n_keys), replace=False)})
    return {"as_of": as_of.isoformat(), "one_key": f"k{int(rng.integers(n_keys)):07d}", "keys": keys,
            "key_col": "key", "et_col": "event_time", "value_cols": VALUE_COLUMNS, "columns": ["i1", "s1"]}


def prepare_w2(work: Path) -> tuple[dict, dict]:
    """The ltm_revenue fixture (copied), and its event history as Parquet via Table.history."""
    import pyarrow as pa
    import pyarrow.compute  # noqa: F401
    import pyarrow.parquet as pq
    import bazof

    src = FIXTURES / "bazof-0.1"
    dst = work / "w2"
    shutil.copytree(src, dst, dirs_exist_ok=True)
    t = bazof.open_table(str(dst / "ltm_revenue"))
    value_cols = [f.name for f in t.schema if f.name not in ("key", "event_time")]
    # The event history: every row of every data file (bases repeat earlier events), one per
    # (key, event_time); the files never disagree on a value there (checked).
    rows = pa.concat_tables([pq.read_table(f, columns=["key", "event_time", *value_cols])
                             for f in sorted((dst / "ltm_revenue").glob("*.parquet"))])
    aggs = [(c, "first") for c in value_cols] + [(c, "count_distinct") for c in value_cols]
    g = rows.group_by(["key", "event_time"], use_threads=False).aggregate(aggs)
    for c in value_cols:
        if pa.compute.max(g[f"{c}_count_distinct"]).as_py() > 1:
            raise RuntimeError(f"ltm_revenue: data files disagree on column {c} at some (key, event_time)")
    hist = pa.table([g["key"], g["event_time"], *[g[f"{c}_first"] for c in value_cols]],
                    names=["key", "event_time", *value_cols])
    keys = sorted(set(hist["key"].to_pylist()))
    hf = work / "w2_history.parquet"
    pq.write_table(hist, hf, compression="snappy")
    qspec = {"as_of": "2019-01-17T00:00:00+00:00", "one_key": "AAPL", "keys": keys[:100],
             "key_col": "key", "et_col": "event_time", "value_cols": value_cols, "columns": value_cols[:2],
             "legacy": True}
    return {"bazof_uri": str(dst / "ltm_revenue"), "history_files": [str(hf)], "events": hist.num_rows,
            "keys": len(keys)}, qspec


def prepare_w2f(work: Path, ds2: dict, qspec2: dict) -> tuple[dict, dict]:
    """W2's events in a format-1 table: bazof reads legacy tables but does not rewrite them, so
    its history (the Parquet the alternatives read) is appended as one commit and compacted,
    as a user moving the table to format 1 would. The alternatives read the same history."""
    import pyarrow.parquet as pq
    import bazof

    dst = work / "w2f"
    shutil.rmtree(dst, ignore_errors=True)
    hist = pq.read_table(ds2["history_files"][0])
    table = bazof.create_table(str(dst / "ltm_revenue"), hist.schema, key="key")
    table.append(hist)
    subprocess.run([BAZOF_CLI, "compact", "--path", str(dst), "--table", "ltm_revenue", "--no-progress"],
                   check=True, capture_output=True)
    return dict(ds2, bazof_uri=str(dst / "ltm_revenue")), dict(qspec2, legacy=False)


def bench_writes(work: Path, rows: int, runs: int, seed: int) -> dict:
    import pyarrow.parquet as pq

    h = 10
    events, _, _ = make_events(max(1, rows // h), h, seed + 7)
    src = work / "write_input.parquet"
    pq.write_table(events, src)
    res = {"rows": events.num_rows}
    for engine in ("bazof_append", "pyarrow_write_table", "deltalake_write"):
        spec = {"mode": "write", "engine": engine, "input": str(src), "dir": str(work / f"write_{engine}"),
                "runs": runs}
        out = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True,
                             text=True)
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-3000:])
        r = json.loads(out.stdout.strip().splitlines()[-1])
        r["median_s"] = statistics.median(r["times"])
        r["rows_per_s"] = events.num_rows / r["median_s"]
        res[engine] = r
        print(f"[writes] {engine}: {r['median_s']:.2f} s", file=sys.stderr, flush=True)
    # put latency: one CLI process per put, and the Python call in-process.
    table_root = work / f"write_bazof_append"
    cli = []
    for i in range(runs):
        t0 = time.perf_counter()
        subprocess.run([BAZOF_CLI, "put", "--path", str(table_root), "--table", "t0", "--key", "k0000001",
                        "--event-time", f"2026-01-0{1 + i % 9}T00:00:00Z", "--partial", f"i1={i}"], check=True,
                       capture_output=True)
        cli.append(time.perf_counter() - t0)
    spec = {"mode": "put", "uri": str(table_root / "t0"), "runs": runs}
    out = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True,
                         check=True)
    py = json.loads(out.stdout.strip().splitlines()[-1])["times"]
    res["put_cli"] = {"times": cli, "median_s": statistics.median(cli)}
    res["put_python"] = {"times": py, "median_s": statistics.median(py)}
    return res


def _child_write(spec: dict) -> None:
    import pyarrow.parquet as pq

    data = pq.read_table(spec["input"])
    base_rss = _hwm_kb()
    root = Path(spec["dir"])
    times = []
    for i in range(spec["runs"]):
        if spec["engine"] == "bazof_append":
            import bazof

            t = bazof.create_table(str(root / f"t{i}"), data.schema, key="key")
            t0 = time.perf_counter()
            t.append(data)
        elif spec["engine"] == "pyarrow_write_table":
            root.mkdir(parents=True, exist_ok=True)
            t0 = time.perf_counter()
            pq.write_table(data, root / f"t{i}.parquet", compression="snappy")
        else:
            from deltalake import write_deltalake

            t0 = time.perf_counter()
            write_deltalake(str(root / f"t{i}"), data, mode="append")
        times.append(time.perf_counter() - t0)
    print(json.dumps({"engine": spec["engine"], "times": times, "import_rss_kb": base_rss,
                      "peak_rss_kb": _hwm_kb()}))


def _child_put(spec: dict) -> None:
    import bazof

    t = bazof.open_table(spec["uri"])
    times = []
    for i in range(spec["runs"]):
        t0 = time.perf_counter()
        t.put("k0000002", f"2026-02-0{1 + i % 9}T00:00:00Z", partial=True, i1=i)  # one of 8 columns
        times.append(time.perf_counter() - t0)
    print(json.dumps({"times": times}))


def sweep(work: Path, n_keys: int, hs: list[int], runs: int, seed: int) -> dict:
    out = {}
    for h in hs:
        d = work / f"sweep_h{h}"
        ds = write_w1(d, n_keys, h, seed, with_delta=False)
        qspec = w1_qspec(n_keys, seed)
        res, problems = run_queries(d, ds, qspec, runs, ["bazof", "duckdb_argmax"], f"sweep_h{h}", queries=["q1"])
        out[h] = {"info": ds["info"], "q1": res["q1"], "problems": problems}
        shutil.rmtree(d, ignore_errors=True)
    return out


# --------------------------------------------------------------------------- report

def machine() -> dict:
    model = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": model, "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(), "load_avg_at_start": os.getloadavg()}


def versions() -> dict:
    from importlib.metadata import version

    out = {}
    for p in ("pyarrow", "duckdb", "polars", "deltalake", "bazof"):
        try:
            out[p] = version(p)
        except Exception:  # noqa: BLE001
            out[p] = None
    return out


def fmt_ms(s):
    return f"{s * 1000:.1f}" if s is not None else "-"


def query_table(results: dict, title: str) -> list[str]:
    lines = [f"### {title}", "",
             "| query | " + " | ".join(ENGINES) + " |", "|---" * (len(ENGINES) + 1) + "|"]
    for q, per in results.items():
        b = per.get("bazof", {}).get("median_s")
        cells = []
        for e in ENGINES:
            r = per.get(e)
            if not r:
                cells.append("-")
                continue
            ratio = "" if e == "bazof" or not b else f" ({r['median_s'] / b:.2f}x)"
            ok = "" if r.get("equal_to_bazof", True) else " MISMATCH"
            cells.append(f"{fmt_ms(r['median_s'])}{ratio}{ok}")
        lines.append(f"| {q} | " + " | ".join(cells) + " |")
    lines += ["", "Peak RSS in MB (RSS after imports in parentheses):", "",
              "| query | " + " | ".join(ENGINES) + " |", "|---" * (len(ENGINES) + 1) + "|"]
    for q, per in results.items():
        cells = [f"{per[e]['peak_rss_kb'] / 1024:.0f} ({per[e]['import_rss_kb'] / 1024:.0f})" if e in per else "-"
                 for e in ENGINES]
        lines.append(f"| {q} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def write_report(out: Path, res: dict, args) -> None:
    m = res["machine"]
    L = ["# bazof against the field (issue #8)", "",
         f"Generated by `bench/field_bench.py {' '.join(res['argv'])}` on {m['date']}: "
         f"{m['cores']} cores, {m['cpu']}; load average at start {', '.join(f'{x:.1f}' for x in m['load_avg_at_start'])} (the machine is shared); "
         f"versions {res['versions']}.", "",
         "Times are medians of the runs (ms) of one process per engine and query (after one "
         "uncounted warm-up run in that process; files in the OS cache); in parentheses the ratio to bazof (>1: bazof "
         "faster). Every alternative's answer was checked equal to bazof's (sorted by key, event time). "
         "Engines: bazof = Python package over the compacted table; duckdb_argmax / duckdb_qualify = "
         "DuckDB over the 20 history Parquet files; delta_duckdb = DuckDB arg_max over the files of the "
         "delta-rs table (its log read on every run); polars = Polars lazy sort + group_by().last() over "
         "the history files; limit = pyarrow reading a Snappy Parquet file holding exactly the answer "
         "(q3/q4: holding every key's state as of T, key-sorted in 4096-row groups, read with the same key "
         "filter: issue #14's definition).", ""]
    if "w1" in res:
        i = res["w1"]["info"]
        if "late_events" not in i:  # --reuse of a W1 whose dataset.json has no write figures
            L += [f"## W1: {i['keys']} keys x {i['events_per_key']} events = {i['events']} events, reused "
                  f"(its write figures are in the run that wrote it)", ""]
        else:
            L += [f"## W1: {i['keys']} keys x {i['events_per_key']} events = {i['events']} events "
              f"({i['late_events']} late), 20 commits", "",
              f"- bazof: 20 appends {i['append_20_commits_s']:.2f} s, compaction {i['compact_s']:.2f} s "
              f"(peak RSS {i['compact_peak_rss_mb']:.0f} MB), {i['bazof_bytes'] / 2**20:.0f} MiB on disk "
              f"(all versions); history Parquet: {i['history_parquet_20_files_s']:.2f} s, "
              f"{i['history_bytes'] / 2**20:.0f} MiB; delta-rs 20 commits: "
              + (f"{i['delta_20_commits_s']:.2f} s, {i['delta_bytes'] / 2**20:.0f} MiB" if i.get('delta_20_commits_s') is not None else "-")]
        L += [f"- as of T = {res['w1']['qspec']['as_of']}; q3/q6 key {res['w1']['qspec']['one_key']}; "
              f"q5 columns {res['w1']['qspec']['columns']}", ""]
        L += query_table(res["w1"]["queries"], "W1 query times (ms)")
        q1 = res["w1"]["queries"].get("q1", {})
        if "bazof" in q1:
            L += [f"q1 answer: {q1['bazof']['rows']} rows, {q1['bazof']['arrow_bytes'] / 2**20:.0f} MiB as Arrow; "
                  f"bazof peak RSS {q1['bazof']['peak_rss_kb'] / 1024:.0f} MB, "
                  f"{(q1['bazof']['peak_rss_kb'] - q1['bazof']['import_rss_kb']) / 1024:.0f} MB above its RSS after imports.", ""]
    if "joins" in res:
        L += ["## As-of join (j1: a spine over every W1 key; j2: 1,000 rows over 100 keys; "
              "j3: j1's size, times in W1's last 90 days)", "",
              *join_table(res["joins"]), ""]
    if "w2" in res:
        L += [f"## W2: ltm_revenue fixture ({res['w2']['keys']} keys, {res['w2']['events']} events)", "",
              f"as of {res['w2']['qspec']['as_of']}, q3/q6 key {res['w2']['qspec']['one_key']}.", ""]
        L += query_table(res["w2"]["queries"], "W2 query times (ms)")
        h = res["w2"]["queries"].get("q6", {})
        if "bazof" in h and "duckdb_argmax" in h:
            L += [f"W2 q6: bazof's history of a legacy table lists each event once per data file holding "
                  f"it ({h['bazof']['rows']} rows for {h['duckdb_argmax']['rows']} distinct events: bases "
                  f"repeat their segment's earlier events); the check compares its distinct rows.", ""]
    if "w2f" in res:
        L += [f"## W2 in format 1: ltm_revenue's {res['w2f']['events']} events appended to a new table and "
              "compacted (legacy tables are read, not rewritten)", ""]
        L += query_table(res["w2f"]["queries"], "W2 in format 1: query times (ms)")
    if "writes" in res:
        w = res["writes"]
        pa_rps = w["pyarrow_write_table"]["rows_per_s"]
        L += [f"## Writes ({w['rows']} rows, W1's columns)", "",
              "| write | median s | rows/s | vs pyarrow write_table | peak RSS MB (after imports) |",
              "|---|---|---|---|---|"]
        for e in ("bazof_append", "pyarrow_write_table", "deltalake_write"):
            r = w[e]
            L.append(f"| {e} | {r['median_s']:.3f} | {r['rows_per_s']:,.0f} | {r['rows_per_s'] / pa_rps:.0%} | "
                     f"{r['peak_rss_kb'] / 1024:.0f} ({r['import_rss_kb'] / 1024:.0f}) |")
        L += ["", f"- `bazof put` (one CLI process per put): median {fmt_ms(w['put_cli']['median_s'])} ms; "
              f"`Table.put` in Python: median {fmt_ms(w['put_python']['median_s'])} ms.", ""]
    if "sweep" in res:
        L += [f"## Scaling: q1 as H grows ({args.sweep_keys} keys; fewer than W1's so the sweep fits the time)", "",
              "| H | events | bazof q1 ms (compacted) | DuckDB arg_max q1 ms | DuckDB / bazof | bazof vs H=first |",
              "|---|---|---|---|---|---|"]
        first = None
        for h, s in res["sweep"].items():
            b = s["q1"]["bazof"]["median_s"]
            d = s["q1"]["duckdb_argmax"]["median_s"]
            first = first or b
            L.append(f"| {h} | {s['info']['events']} | {fmt_ms(b)} | {fmt_ms(d)} | {d / b:.2f}x | {b / first:.2f}x |")
        L += ["", "![q1 scaling](q1_scaling.png)", ""]
    if res.get("problems"):
        L += ["## MISMATCHES", ""] + [f"- {p}" for p in res["problems"]] + [""]
    else:
        L += ["All alternatives' answers equal bazof's.", ""]
    extra = out / "RESULTS_NOTES.md"
    if extra.exists() and args.report == "RESULTS.md":
        L += [extra.read_text()]
    (out / args.report).write_text("\n".join(L))


def plot(out: Path, sw: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hs = list(sw)
    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=100)
    ax.plot(hs, [sw[h]["q1"]["bazof"]["median_s"] * 1000 for h in hs], "o-", label="bazof (compacted)")
    ax.plot(hs, [sw[h]["q1"]["duckdb_argmax"]["median_s"] * 1000 for h in hs], "s-", label="DuckDB arg_max on history")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("events per key H")
    ax.set_ylabel("q1 ms (median)")
    ax.set_title("q1 (all keys as of T) vs history length")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "q1_scaling.png")


def joins_only(work: Path, out: Path, args, res: dict) -> int:
    """--only-joins: W1 (written once into --work, then reused) and j1/j2."""
    d = work / "w1data"
    hist = sorted(str(f) for f in (d / "history").glob("commit_*.parquet")) if d.exists() else []
    if (d / "w1").exists() and len(hist) == COMMITS:
        ds = {"bazof_uri": str(d / "w1"), "history_files": hist, "info": {"reused": str(d)}}
    else:
        ds = write_w1(d, args.keys, args.events_per_key, args.seed, with_delta=False)
    try:
        j, problems = run_joins(d, ds, args.keys, args.runs, args.seed, args.spine_rows)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    res.update(joins=j, problems=problems, w1={"info": ds["info"]})
    (out / "results_joins.json").write_text(json.dumps(res, indent=1, default=str))
    lines = [f"# As-of join: bazof vs DuckDB ASOF LEFT JOIN (W1, {args.keys:,} keys x {args.events_per_key} events)",
             "", f"`{' '.join(['bench/field_bench.py', *sys.argv[1:]])}`; median of {args.runs} runs.", "",
             *join_table(j), ""]
    (out / "RESULTS_JOINS.md").write_text("\n".join(lines))
    print("\n".join(lines), file=sys.stderr)
    for p in problems:
        print(f"MISMATCH: {p}", file=sys.stderr)
    return 1 if problems else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--keys", type=int, default=200_000)
    ap.add_argument("--events-per-key", type=int, default=50)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", default=str(REPO / "bench" / "results"))
    ap.add_argument("--work", help="directory for the generated data (default: a temporary one, removed)")
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--sweep-keys", type=int, default=20_000)
    ap.add_argument("--sweep-h", default="1,10,50,200")
    ap.add_argument("--write-rows", type=int, default=1_000_000)
    ap.add_argument("--skip-sweep", action="store_true")
    ap.add_argument("--skip-writes", action="store_true")
    ap.add_argument("--skip-w2", action="store_true")
    ap.add_argument("--skip-delta", action="store_true", help="no delta-rs table (saves its write)")
    ap.add_argument("--reuse", action="store_true",
                    help="reuse the W1 data an earlier run left in --work (same --keys/--events-per-key/--seed)")
    ap.add_argument("--queries", default=",".join(QUERIES), help="comma-separated subset of " + ",".join(QUERIES))
    ap.add_argument("--engines", default=",".join(ENGINES), help="comma-separated subset of " + ",".join(ENGINES))
    ap.add_argument("--report", default="RESULTS.md", help="report file name in --out (results json: same stem)")
    ap.add_argument("--skip-joins", action="store_true", help="no as-of join queries (j1, j2)")
    ap.add_argument("--only-joins", action="store_true",
                    help="W1 and the as-of joins only (reuses --work's W1 when present); writes RESULTS_JOINS.md")
    ap.add_argument("--spine-rows", type=int, default=1_000_000, help="rows of j1's spine")
    args = ap.parse_args()
    if args.child:
        spec = json.loads(args.child)
        {"write": _child_write, "put": _child_put}.get(spec.get("mode"), _child)(spec)
        return 0

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="bazof_field_"))
    work.mkdir(parents=True, exist_ok=True)
    res = {"argv": sys.argv[1:], "machine": machine(), "versions": versions(), "problems": []}
    if args.only_joins:
        return joins_only(work, out, args, res)
    try:
        saved = work / "w1data" / "dataset.json"
        if args.reuse and saved.exists():
            ds = json.loads(saved.read_text())  # written by an earlier run with the same --work
        else:
            ds = write_w1(work / "w1data", args.keys, args.events_per_key, args.seed,
                          with_delta=not args.skip_delta)
            saved.write_text(json.dumps(ds))
        print(f"[w1] written: {json.dumps(ds['info'])}", file=sys.stderr, flush=True)
        qspec = w1_qspec(args.keys, args.seed)
        queries = [x for x in args.queries.split(",") if x]
        engines = [x for x in args.engines.split(",") if x]
        q, problems = run_queries(work / "w1data", ds, qspec, args.runs, engines, "w1", queries=queries)
        res["w1"] = {"info": ds["info"], "qspec": qspec, "queries": q}
        res["problems"] += problems
        if not args.skip_joins:
            j, problems = run_joins(work / "w1data", ds, args.keys, args.runs, args.seed, args.spine_rows)
            res["joins"] = j
            res["problems"] += problems
        if not args.skip_w2:
            ds2, qspec2 = prepare_w2(work)
            q2, problems = run_queries(work, ds2, qspec2, args.runs, [e for e in engines if e != "delta_duckdb"], "w2",
                                       queries=queries)
            res["w2"] = {"keys": ds2["keys"], "events": ds2["events"], "qspec": qspec2, "queries": q2}
            res["problems"] += problems
            ds2f, qspec2f = prepare_w2f(work, ds2, qspec2)
            q2f, problems = run_queries(work, ds2f, qspec2f, args.runs, [e for e in engines if e != "delta_duckdb"],
                                        "w2f", queries=queries)
            res["w2f"] = {"keys": ds2["keys"], "events": ds2["events"], "qspec": qspec2f, "queries": q2f}
            res["problems"] += problems
        if not args.skip_writes:
            res["writes"] = bench_writes(work, args.write_rows, args.runs, args.seed)
        if not args.skip_sweep:
            sw = sweep(work, args.sweep_keys, [int(h) for h in args.sweep_h.split(",")], args.runs, args.seed)
            res["sweep"] = sw
            for s in sw.values():
                res["problems"] += s["problems"]
            plot(out, sw)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    (out / (Path(args.report).stem.replace("RESULTS", "results") + ".json")).write_text(
        json.dumps(res, indent=1, default=str))
    write_report(out, res, args)
    for p in res["problems"]:
        print(f"MISMATCH: {p}", file=sys.stderr)
    print(f"wrote {out / args.report}", file=sys.stderr)
    return 1 if res["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())

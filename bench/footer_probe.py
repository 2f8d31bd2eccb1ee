"""What an open Parquet writer holds per column chunk (issue #15, compaction writers).

    .venv/bin/python bench/footer_probe.py [--row-groups 20000]

Writes --row-groups row groups of 100 rows x 13 columns (9 int64, 4 short strings; Snappy,
statistics and page CRCs as bazof writes them) through Arrow C++'s Parquet writer (pyarrow's
ParquetWriter wraps the writer bazof uses) and prints the process RSS before, with the file
open, and after closing it, and the bytes of RSS per column chunk: the footer metadata a writer
keeps until it closes, which no memory pool accounts for.
"""
import argparse
import os
import tempfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--row-groups", type=int, default=20000)
    args = ap.parse_args()
    n = 100
    t = pa.table({**{f"i{c}": pa.array(np.arange(n, dtype=np.int64)) for c in range(9)},
                  **{f"s{c}": pa.array([f"k{x:07d}" for x in range(n)]) for c in range(4)}})
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "probe.parquet")
        w = pq.ParquetWriter(path, t.schema, compression="snappy", write_page_checksum=True)
        r0 = rss_mb()
        for _ in range(args.row_groups):
            w.write_table(t)
        r1 = rss_mb()
        w.close()
        r2 = rss_mb()
        chunks = args.row_groups * t.num_columns
        footer = pq.ParquetFile(path).metadata.serialized_size
    print(f"RSS {r0:.0f} MB before, {r1:.0f} MB with {args.row_groups} row groups x {t.num_columns} columns "
          f"written and the file open ({(r1 - r0) * 2**20 / chunks:.0f} B per column chunk), {r2:.0f} MB after "
          f"close; footer {footer / 2**20:.1f} MB ({footer / chunks:.0f} B per column chunk)")


if __name__ == "__main__":
    main()

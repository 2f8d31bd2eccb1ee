"""Data integrity end to end (docs/spec.md §6.1): a flipped byte in a data page is an error naming
the file (never different rows) and `validate --deep` reports it; files written without page
checksums still read and are listed as unverifiable (CLI json and Python)."""
import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import committed, write_csv


def make_table(run, tmp_path, rows=3000):
    path = tmp_path / "lake"
    path.mkdir()
    run("create", "--path", path, "--table", "t", "--schema", "v:int64,s:string")
    data = [[f"key{i % 911:04d}", f"2024-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z", i * 7919 % 10007,
             f"text-{i % 37}"] for i in range(rows)]
    committed(run("append", "--path", path, "--table", "t",
                  "--input", write_csv(tmp_path / "in.csv", ["key", "event_time", "v", "s"], data)))
    (data_file,) = (path / "t" / "data").glob("*.parquet")
    return path, data_file


def page_ranges(data_file):
    md = pq.ParquetFile(data_file).metadata
    out = []
    for rg in range(md.num_row_groups):
        for c in range(md.num_columns):
            col = md.row_group(rg).column(c)
            begin = col.dictionary_page_offset if col.has_dictionary_page else col.data_page_offset
            out.append((begin, begin + col.total_compressed_size))
    return out


def assert_scan_error(proc, file_name, problem=""):
    """Exit 1 and one error line naming the file (a streaming scan may have printed its header)."""
    lines = proc.stderr.splitlines()
    assert proc.returncode == 1 and len(lines) == 1, (proc.returncode, proc.stderr)
    assert lines[0].startswith("bazof: error: ") and file_name in lines[0] and problem in lines[0], lines[0]


def deep_report(run, path):
    proc = run("validate", "--path", path, "--table", "t", "--deep", "--format", "json", check=False)
    return proc.returncode, json.loads(proc.stdout)


def test_written_files_record_page_checksums(run, tmp_path):
    path, data_file = make_table(run, tmp_path, rows=100)
    assert pq.ParquetFile(data_file).metadata.metadata[b"bazof.page_checksums"] == b"crc32"
    code, report = deep_report(run, path)
    assert code == 0 and report["valid"] and report["verified"] and report["unverifiable"] == []


def test_flipped_page_byte_is_an_error_naming_the_file(run, tmp_path):
    path, data_file = make_table(run, tmp_path)
    name = f"data/{data_file.name}"
    md = pq.ParquetFile(data_file).metadata
    col = md.row_group(0).column(2)  # v
    begin = col.dictionary_page_offset if col.has_dictionary_page else col.data_page_offset
    raw = bytearray(data_file.read_bytes())
    raw[begin + col.total_compressed_size // 2] ^= 0x10
    data_file.write_bytes(bytes(raw))

    proc = run("scan", "--path", path, "--table", "t", "--format", "csv", check=False)
    assert_scan_error(proc, data_file.name, "page checksum mismatch")
    code, report = deep_report(run, path)
    assert code == 1 and not report["valid"] and not report["verified"]
    assert any(p["object"] == name and "page checksum mismatch" in p["problem"] for p in report["problems"]), report
    import bazof
    # Errors met while streaming arrive through the Arrow C stream, as pyarrow's.
    with pytest.raises((bazof.CorruptTable, pa.ArrowInvalid), match=f"{data_file.name}.*page checksum mismatch"):
        bazof.open_table(path / "t").scan().to_arrow()


def test_random_flips_never_change_rows(run, tmp_path):
    """20 random bytes of the pages, one at a time: an error, or exactly the same rows."""
    path, data_file = make_table(run, tmp_path)
    good = data_file.read_bytes()
    want = run("scan", "--path", path, "--table", "t", "--format", "csv").stdout
    ranges = page_ranges(data_file)
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    errors = 0
    for _ in range(20):
        begin, end = rng.choice(ranges)
        pos, mask = rng.randrange(begin, end), rng.randrange(1, 256)
        raw = bytearray(good)
        raw[pos] ^= mask
        data_file.write_bytes(bytes(raw))
        proc = run("scan", "--path", path, "--table", "t", "--format", "csv", check=False)
        where = f"seed {seed}, byte {pos} ^ {mask}"
        if proc.returncode == 0:
            assert proc.stdout == want, f"{where}: different rows without an error"
        else:
            errors += 1
            assert_scan_error(proc, data_file.name)
            code, report = deep_report(run, path)
            assert code == 1 and any(p["object"] == f"data/{data_file.name}" for p in report["problems"]), where
    assert errors > 10, f"seed {seed}: only {errors} of 20 flips detected"
    data_file.write_bytes(good)


def test_files_without_checksums_are_unverifiable(run, copy_table):
    path, table = copy_table("bazof-0.1/table0")
    proc = run("validate", "--path", path, "--table", table, "--deep", "--format", "json")
    report = json.loads(proc.stdout)
    assert report["valid"] and not report["verified"]
    assert report["unverifiable"] and len(report["unverifiable"]) == report["files_checked"]
    assert all("without page checksums" in u["problem"] for u in report["unverifiable"])
    text = run("validate", "--path", path, "--table", table, "--deep").stdout
    assert "unverifiable" in text and "is valid" not in text
    # Footer-only validation reads no page, so it says nothing about them.
    shallow = json.loads(run("validate", "--path", path, "--table", table, "--format", "json").stdout)
    assert shallow["unverifiable"] == [] and not shallow["verified"]
    import bazof
    py = bazof.open_table(path / table).validate(deep=True)
    assert py.valid and not py.verified
    assert [u.object for u in py.unverifiable] == [u["object"] for u in report["unverifiable"]]
    assert py.to_dict() == report

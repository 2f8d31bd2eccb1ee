"""Data integrity end to end (docs/spec.md §6.1): a flipped byte in a data page is an error naming
the file (never different rows) and `validate --deep` reports it; files written without page
checksums still read and are listed as unverifiable (CLI json and Python). Leaked S3 multipart
uploads (docs/spec.md, "Vacuum and retention"): vacuum aborts those older than the grace period,
reports them in a dry run, leaves young ones alone; on moto, the tests' S3 server."""
import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import S3_BUCKET, committed, write_csv


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


def chunk_ranges(data_file):
    """(row group, column, first byte, byte after) of every column chunk's pages."""
    md = pq.ParquetFile(data_file).metadata
    out = []
    for rg in range(md.num_row_groups):
        for c in range(md.num_columns):
            col = md.row_group(rg).column(c)
            begin = col.dictionary_page_offset if col.has_dictionary_page else col.data_page_offset
            out.append((rg, c, begin, begin + col.total_compressed_size))
    return out


def page_ranges(data_file):
    return [(begin, end) for _, _, begin, end in chunk_ranges(data_file)]


def _varint(b, i):
    out = shift = 0
    while True:
        x = b[i]
        i += 1
        out |= (x & 0x7F) << shift
        shift += 7
        if not x & 0x80:
            return out, i


def _skip_thrift(b, i, t):
    """Past one thrift compact-protocol value of type t starting at b[i]."""
    if t in (1, 2):  # bool true / false: in the field header
        return i
    if t == 3:
        return i + 1
    if t in (4, 5, 6):
        return _varint(b, i)[1]
    if t == 7:
        return i + 8
    if t == 8:
        n, i = _varint(b, i)
        return i + n
    if t in (9, 10):
        h = b[i]
        n, elem = h >> 4, h & 0x0F
        i += 1
        if n == 15:
            n, i = _varint(b, i)
        for _ in range(n):
            i = _skip_thrift(b, i, elem)
        return i
    assert t == 12, t
    while b[i]:
        h = b[i]
        i += 1
        if h >> 4 == 0:
            i = _varint(b, i)[1]
        i = _skip_thrift(b, i, h & 0x0F)
    return i + 1


def page_headers(data_file):
    """(row group, column, first byte, byte after) of every page header of the file: the
    PageHeader structs walked page by page (field 3 is compressed_page_size)."""
    b = data_file.read_bytes()
    out = []
    for rg, c, i, end in chunk_ranges(data_file):
        while i < end:
            j, size, fid = i, None, 0
            while b[j]:
                h = b[j]
                j += 1
                if h >> 4:
                    fid += h >> 4
                else:
                    v, j = _varint(b, j)
                    fid = (v >> 1) ^ -(v & 1)
                if fid == 3 and h & 0x0F == 5:
                    v, _ = _varint(b, j)
                    size = (v >> 1) ^ -(v & 1)
                j = _skip_thrift(b, j, h & 0x0F)
            out.append((rg, c, i, j + 1))
            i = j + 1 + size
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


def test_page_header_that_hides_a_page_is_an_error_in_every_read(run, tmp_path):
    """Found by the random test in CI (seed 331098007): byte 35003 ^ 96 turns the
    `_bazof_deleted` page header's crc field id into an unknown one, which hides its data page
    header too. The header still decodes; Parquet's batch reader then gave the row group no rows
    and no error. Every read must refuse it, naming the file (spec §6.1)."""
    path, data_file = make_table(run, tmp_path)
    raw = bytearray(data_file.read_bytes())
    # The crc field's header byte in the first page header of `_bazof_deleted` (field 4, an
    # i32, after fields 1-3): ^ 96 makes its id 10, which PageHeader does not have.
    md = pq.ParquetFile(data_file).metadata
    (deleted,) = [c for c in range(md.num_columns) if md.schema.column(c).name == "_bazof_deleted"]
    (begin,) = [b for rg, c, b, _ in page_headers(data_file) if (rg, c) == (0, deleted)][:1]
    i, fid = begin, 0
    while fid != 3:
        assert raw[i] >> 4 and raw[i] & 0x0F == 5, (i, raw[i])  # short-form i32 field headers
        fid += raw[i] >> 4
        i = _varint(raw, i + 1)[1]
    assert raw[i] == 0x15, raw[i]  # crc: field 4 (delta 1), an i32
    raw[i] ^= 96
    data_file.write_bytes(bytes(raw))
    common = ["--path", path, "--table", "t"]
    spine = write_csv(tmp_path / "spine.csv", ["key", "ts"], [["key0001", "2024-01-01T01:00:00Z"]])
    for args in (["scan", "--format", "csv"], ["history", "--key", "key0001", "--format", "csv"],
                 ["join-asof", "--spine", spine, "--on", "ts", "--format", "csv"],
                 ["intervals", "--format", "csv"]):
        proc = run(args[0], *common, *args[1:], check=False)
        assert_scan_error(proc, data_file.name)
    code, report = deep_report(run, path)
    assert code == 1 and any(p["object"] == f"data/{data_file.name}" for p in report["problems"]), report
    before = sorted(p.name for p in (path / "t").iterdir())
    proc = run("compact", *common, "--force", check=False)
    assert proc.returncode == 1 and data_file.name in proc.stderr, proc.stderr
    assert sorted(p.name for p in (path / "t").iterdir()) == before  # nothing committed
    import bazof
    with pytest.raises((bazof.CorruptTable, pa.ArrowInvalid), match=data_file.name):
        bazof.open_table(path / "t").scan().to_arrow()


def test_every_bit_of_every_page_header_is_an_error_or_the_same_rows(tmp_path, run):
    """Page headers are not under the page CRC: each of their bits, flipped alone, must give
    an error or exactly the rows of the intact file (in process, so it is quick)."""
    import bazof
    path, data_file = make_table(run, tmp_path, rows=1200)
    good = data_file.read_bytes()
    want = bazof.open_table(path / "t").scan().to_arrow()
    headers = [pos for _, _, begin, end in page_headers(data_file) for pos in range(begin, end)]
    assert len(headers) > 50
    silent = []
    for pos in headers:
        for bit in range(8):
            raw = bytearray(good)
            raw[pos] ^= 1 << bit
            data_file.write_bytes(bytes(raw))
            try:
                got = bazof.open_table(path / "t").scan().to_arrow()
            except (bazof.BazofError, pa.ArrowException, OSError) as e:
                assert data_file.name in str(e), (pos, bit, str(e))
                continue
            if not got.equals(want):
                silent.append((pos, 1 << bit))
    data_file.write_bytes(good)
    assert silent == [], f"flips that changed rows without an error: {silent}"


def test_page_hidden_before_a_page_read_alone_is_an_error(run, tmp_path):
    """Page-level reads (spec §7b item 8) decode chosen pages of a column chunk. A damaged header
    that turns a data page into an index page (type 0 -> 1, one bit) hides it from Parquet's page
    reader; a read of a later page must not then take its neighbour's rows (page reads locate
    each page by the offset index, so they do not count pages)."""
    path = tmp_path / "lake"
    path.mkdir()
    run("create", "--path", path, "--table", "t", "--schema", "v:int64,s:string")
    data = [[f"key{i % 50:04d}", f"2024-01-{1 + i // 1000:02d}T00:{i // 60 % 60:02d}:{i % 60:02d}Z", i,
             f"text-{i % 37}"] for i in range(20000)]
    committed(run("append", "--path", path, "--table", "t",
                  "--input", write_csv(tmp_path / "in.csv", ["key", "event_time", "v", "s"], data)))
    # Row groups of 4096 rows: the compacted file has several.
    run("alter", "--path", path, "--table", "t", "set-property", "write.row_group_rows=4096")
    run("compact", "--path", path, "--table", "t", "--force")
    compacted = [f for f in (path / "t" / "data").glob("*.parquet")
                 if pq.ParquetFile(f).metadata.num_row_groups > 1]
    (data_file,) = compacted
    spine = write_csv(tmp_path / "spine.csv", ["key", "ts"], [["key0005", "2024-02-01T00:00:00Z"]])
    join = ["join-asof", "--path", path, "--table", "t", "--spine", spine, "--on", "ts", "--format", "csv"]
    want = run(*join).stdout
    assert ",19955," in want  # key0005's last event, row 2399 of the file: its v column's 5th page
    md = pq.ParquetFile(data_file).metadata
    v = next(c for c in range(md.num_columns) if md.row_group(0).column(c).path_in_schema == "v")
    starts = [begin for rg, c, begin, _ in page_headers(data_file) if (rg, c) == (0, v)]
    assert len(starts) == 8  # 4096 rows in 512-row pages
    raw = bytearray(data_file.read_bytes())
    assert raw[starts[3]:starts[3] + 2] == b"\x15\x00"  # PageHeader.type = DATA_PAGE
    raw[starts[3] + 1] = 0x02                           # INDEX_PAGE
    data_file.write_bytes(bytes(raw))
    proc = run(*join, check=False)
    assert proc.returncode == 1 or proc.stdout == want, proc.stdout
    if proc.returncode:
        assert_scan_error(proc, data_file.name)


def test_damaged_plain_key_pages_fail_the_join(run, tmp_path):
    """Keys written plain (3000 distinct keys in a compacted row group: more than a page's rows)
    are read on the join's key side by Parquet's column readers, not its Arrow reader: a flipped
    byte in a key page (the page CRC) and a key page hidden by its header (fewer rows than the
    footer gives) are each one error naming the file, in the join and in changes."""
    path = tmp_path / "lake"
    path.mkdir()
    run("create", "--path", path, "--table", "t", "--schema", "v:int64")
    data = [[f"key{i % 3000:05d}", f"2024-01-{1 + i % 28:02d}T00:00:{i % 60:02d}Z", i] for i in range(9000)]
    committed(run("append", "--path", path, "--table", "t",
                  "--input", write_csv(tmp_path / "in.csv", ["key", "event_time", "v"], data)))
    run("alter", "--path", path, "--table", "t", "set-property", "write.row_group_rows=4096")
    run("compact", "--path", path, "--table", "t", "--force")
    (data_file,) = [f for f in (path / "t" / "data").glob("*.parquet")
                    if pq.ParquetFile(f).metadata.num_row_groups > 1]
    md = pq.ParquetFile(data_file).metadata
    key = next(c for c in range(md.num_columns) if md.row_group(0).column(c).path_in_schema == "key")
    assert not md.row_group(0).column(key).has_dictionary_page  # plain: the path under test
    spine = write_csv(tmp_path / "spine.csv", ["key", "ts"],
                      [[f"key{k:05d}", "2024-01-20T00:00:00Z"] for k in range(0, 3000, 7)])
    common = ["--path", path, "--table", "t"]
    join = ["join-asof", *common, "--spine", spine, "--on", "ts", "--format", "csv"]
    diff = ["diff", *common, "--from", "2024-01-05T00:00:00Z", "--to", "2024-01-20T00:00:00Z", "--format", "csv"]
    want_join, want_diff = run(*join).stdout, run(*diff).stdout
    good = data_file.read_bytes()
    (header_begin, header_end) = [(b, e) for rg, c, b, e in page_headers(data_file) if (rg, c) == (0, key)][0]
    flipped = bytearray(good)
    flipped[header_end + 40] ^= 0x10  # in the first key page's bytes
    hidden = bytearray(good)
    assert hidden[header_begin:header_begin + 2] == b"\x15\x00"  # PageHeader.type = DATA_PAGE
    hidden[header_begin + 1] = 0x02                               # INDEX_PAGE
    for name, raw in (("flipped byte", flipped), ("hidden page", hidden)):
        data_file.write_bytes(bytes(raw))
        assert_scan_error(run(*join, check=False), data_file.name)
        proc = run(*diff, check=False)
        assert proc.returncode == 1 or proc.stdout == want_diff, (name, proc.stdout)
        if proc.returncode:
            assert_scan_error(proc, data_file.name)
    data_file.write_bytes(good)
    assert run(*join).stdout == want_join


def test_page_hidden_in_a_legacy_file_is_an_error(run, copy_table):
    """Legacy (bazof 0.1) files are read whole and sorted in memory, one read for all their row
    groups: a page hidden by its header (type DATA_PAGE -> INDEX_PAGE) must fail that read too."""
    path, table = copy_table("bazof-0.1/table0")
    data_file = path / table / "base.parquet"
    raw = bytearray(data_file.read_bytes())
    begin = next(b for _, c, b, _ in page_headers(data_file) if c == 2 and raw[b:b + 2] == b"\x15\x00")
    raw[begin + 1] = 0x02
    data_file.write_bytes(bytes(raw))
    proc = run("scan", "--path", path, "--table", table, "--format", "csv", check=False)
    assert_scan_error(proc, data_file.name, "rows where the footer gives")


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


# ---- leaked multipart uploads -------------------------------------------------

def _uploads(s3, prefix):
    return {(u["Key"], u["UploadId"])
            for u in s3.list_multipart_uploads(Bucket=S3_BUCKET, Prefix=prefix).get("Uploads", [])}


def test_vacuum_aborts_stale_multipart_uploads(s3_server, run, tmp_path):
    """moto reports every upload as initiated at 2010-11-10T20:48:33Z: a grace period longer
    than that age (1000w) makes it young, 1h makes it stale."""
    s3 = s3_server.client()
    location = f"s3://{S3_BUCKET}/mpu"
    run("create", "--path", location, "--table", "t", "--schema", "v:string")
    committed(run("append", "--path", location, "--table", "t", "--input",
                  write_csv(tmp_path / "a.csv", ["key", "event_time", "v"], [["a", "2024-01-01", "x"]])))
    # A writer killed mid-upload leaves this behind: initiated, a part stored, never completed.
    stale_key = "mpu/t/data/v2-00000000deadbeef.parquet"
    stale = s3.create_multipart_upload(Bucket=S3_BUCKET, Key=stale_key)["UploadId"]
    s3.upload_part(Bucket=S3_BUCKET, Key=stale_key, PartNumber=1, UploadId=stale, Body=b"x" * 4096)
    # Not bazof's: outside data/ (left alone), and another table's (not even listed).
    other_key = "mpu/t/notes.bin"
    other = s3.create_multipart_upload(Bucket=S3_BUCKET, Key=other_key)["UploadId"]
    neighbour_key = "mpu/t2/data/x.parquet"
    neighbour = s3.create_multipart_upload(Bucket=S3_BUCKET, Key=neighbour_key)["UploadId"]
    vacuum = ["vacuum", "--path", location, "--table", "t", "--format", "json"]

    # Younger than the grace period: kept (a writer may still complete it), counted.
    young = json.loads(run(*vacuum, "--grace", "1000w").stdout)
    assert young["aborted_uploads"] == [] and young["uploads_kept_by_grace"] == 1, young
    assert (stale_key, stale) in _uploads(s3, "mpu/")

    # A dry run reports it and aborts nothing (Python API, same fields as the CLI).
    import bazof
    dry = bazof.open_table(f"{location}/t").vacuum(grace="1h", dry_run=True)
    assert [(u.file, u.upload_id) for u in dry.aborted_uploads] == [("data/v2-00000000deadbeef.parquet", stale)]
    assert dry.aborted_uploads[0].initiated == "2010-11-10T20:48:33.000Z" and dry.uploads_kept_by_grace == 0
    assert (stale_key, stale) in _uploads(s3, "mpu/")

    out = json.loads(run(*vacuum, "--grace", "1h").stdout)
    assert [(u["file"], u["upload_id"]) for u in out["aborted_uploads"]] == \
        [("data/v2-00000000deadbeef.parquet", stale)], out
    left = _uploads(s3, "mpu/")
    assert (stale_key, stale) not in left
    assert {(other_key, other), (neighbour_key, neighbour)} <= left
    # The table is untouched and a second vacuum has nothing left to abort.
    assert run("scan", "--path", location, "--table", "t", "--format", "csv").stdout.count("\n") == 2
    text = run("vacuum", "--path", location, "--table", "t", "--grace", "1h").stdout
    assert "incomplete upload" not in text, text
    for key, upload in [(other_key, other), (neighbour_key, neighbour)]:
        s3.abort_multipart_upload(Bucket=S3_BUCKET, Key=key, UploadId=upload)


def test_vacuum_of_local_table_reports_no_uploads(run, tmp_path):
    path, _ = make_table(run, tmp_path, rows=10)
    out = json.loads(run("vacuum", "--path", path, "--table", "t", "--format", "json").stdout)
    assert out["aborted_uploads"] == [] and out["uploads_kept_by_grace"] == 0

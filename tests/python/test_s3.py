"""Object storage specifics, against the real S3 server the tests start (s3_server.py): failures
injected in the middle of an append (nothing committed, table valid, one error naming the URI),
answers lost after the server committed (read back, committed once), transient 5xx retried,
refused connections, missing buckets, wrong credentials on a server that checks signatures, no
listing on the read path, configuration by flags and URI query. The suites shared with local
paths (write CLI, oracle, concurrent writers, bad input, fixtures) run on s3:// via `lake`."""
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import S3_BUCKET, assert_cli_error, committed, csv_rows, log_rows, write_csv
from s3_server import TEST_SECRET, free_port

HEADER = ["key", "event_time", "value"]


@pytest.fixture
def bazof(bazof_bin, s3_server):
    """bazof(*args, env={...}, drop=[...]) -> CompletedProcess, with the S3 env of the server."""
    def _bazof(*args, env=None, drop=()):
        e = dict(os.environ)
        e.update(env or {})
        for k in drop:
            e.pop(k, None)
        return subprocess.run([bazof_bin, *map(str, args)], capture_output=True, text=True,
                              env=e, timeout=300)
    return _bazof


@pytest.fixture
def table(s3_server, bazof, tmp_path, request):
    """A table on s3:// with version 1 (two rows): (path, name, uri of its root)."""
    prefix = f"s3://{S3_BUCKET}/{request.node.name.replace('[', '-').replace(']', '')}"
    assert bazof("create", "--path", prefix, "--table", "t", "--schema", "value:string").returncode == 0
    f = write_csv(tmp_path / "v1.csv", HEADER, [["a", "2024-01-01", "1"], ["b", "2024-01-02", "2"]])
    committed(bazof("append", "--path", prefix, "--table", "t", "--input", f), rows=2)
    return prefix, "t", f"{prefix}/t"


def state(bazof, path, name):
    """What a failed write must leave unchanged (read with the server healthy)."""
    log = bazof("log", "--path", path, "--table", name, "--format", "csv")
    scan = bazof("scan", "--path", path, "--table", name, "--format", "csv")
    assert log.returncode == 0 and scan.returncode == 0, (log.stderr, scan.stderr)
    return log.stdout, scan.stdout


def object_names(s3_server, uri_root):
    prefix = uri_root.removeprefix(f"s3://{S3_BUCKET}/") + "/"
    s3 = s3_server.client()
    got = s3.list_objects_v2(Bucket=S3_BUCKET, Prefix=prefix).get("Contents", [])
    return sorted(o["Key"][len(prefix):] for o in got)


def assert_data_files_whole(s3_server, uri_root):
    """Every data object is a complete Parquet file: a failed upload was aborted, not published."""
    prefix = uri_root.removeprefix(f"s3://{S3_BUCKET}/") + "/"
    s3 = s3_server.client()
    for name in object_names(s3_server, uri_root):
        if name.startswith("data/"):
            body = s3.get_object(Bucket=S3_BUCKET, Key=prefix + name)["Body"].read()
            pq.read_table(io.BytesIO(body))  # raises on a truncated file


def test_server_failing_from_any_request_of_an_append(bazof, s3_server, table, tmp_path):
    """The server fails every request from the k-th on (k = 1, 2, ...): until the commit point
    the append exits 1 with one error naming the table's URI and nothing is committed; the table
    stays readable and writable. Past the commit point (the version.txt hint) it succeeds."""
    path, name, root = table
    f = write_csv(tmp_path / "v2.csv", HEADER, [["c", "2024-01-03", "3"], ["a", "2024-01-04", "4"]])
    before = state(bazof, path, name)
    failed_at = []
    for k in range(1, 40):
        mark = s3_server.mark()
        s3_server.fail_from(k)
        try:
            proc = bazof("append", "--path", path, "--table", name, "--input", f,
                         env={"AWS_MAX_ATTEMPTS": "2"})
        finally:
            s3_server.heal()
        reqs = s3_server.since(mark)
        if proc.returncode == 0:
            break
        assert_cli_error(proc, root)
        assert TEST_SECRET not in proc.stderr
        first = next(r for r in reqs if r.status == 500)
        failed_at.append(f"{first.method} {first.path.rsplit('/', 2)[-2:]}")
        assert state(bazof, path, name) == before, f"failure at request {k} changed the table"
        assert "s2.json" not in object_names(s3_server, root)
        assert_data_files_whole(s3_server, root)
    else:
        pytest.fail("the append never succeeded")
    # The loop covered the upload of the data file and the commit itself.
    assert any("data" in s for s in failed_at), failed_at
    assert any("s2.json" in s and s.startswith("PUT") for s in failed_at), failed_at
    assert committed(proc, rows=2) == 2
    log = log_rows(lambda *a, **k: bazof(*a), path, name)
    assert [r["version"] for r in log] == ["0", "1", "2"]
    rows = {r["key"]: r["value"] for r in csv_rows(
        bazof("scan", "--path", path, "--table", name, "--format", "csv").stdout)}
    assert rows == {"a": "4", "b": "2", "c": "3"}


def test_transient_failures_are_retried(bazof, s3_server, table, tmp_path):
    """One failing request anywhere in an append is retried: every append commits exactly once."""
    path, name, _ = table
    mark = s3_server.mark()
    f = write_csv(tmp_path / "x.csv", HEADER, [["x", "2024-02-01", "0"]])
    committed(bazof("append", "--path", path, "--table", name, "--input", f), rows=1)
    n = len(s3_server.since(mark))
    version = 2
    for k in range(1, n + 1):
        f = write_csv(tmp_path / f"k{k}.csv", HEADER, [[f"k{k}", "2024-02-01", str(k)]])
        s3_server.fail_once(k)
        try:
            proc = bazof("append", "--path", path, "--table", name, "--input", f)
        finally:
            s3_server.heal()
        version += 1
        assert committed(proc, rows=1) == version, f"request {k} failed once"
    log = log_rows(lambda *a, **k: bazof(*a), path, name)
    assert [int(r["version"]) for r in log] == list(range(version + 1))
    keys = {r["key"] for r in csv_rows(
        bazof("scan", "--path", path, "--table", name, "--format", "csv").stdout)}
    assert keys == {"a", "b", "x"} | {f"k{k}" for k in range(1, n + 1)}


def test_lost_answer_to_the_commit_is_read_back(bazof, s3_server, table, tmp_path):
    """The server stores s<N+1>.json but its answer is lost (a 500): the retry gets 412, the
    writer reads the snapshot back, finds its own commit and reports success - once."""
    path, name, root = table
    mark = s3_server.mark()
    f = write_csv(tmp_path / "p.csv", HEADER, [["p", "2024-03-01", "p"]])
    committed(bazof("append", "--path", path, "--table", name, "--input", f), rows=1)
    reqs = s3_server.since(mark)
    k = next(i for i, r in enumerate(reqs, 1) if r.method == "PUT" and r.path.endswith("/s2.json"))
    f = write_csv(tmp_path / "q.csv", HEADER, [["q", "2024-03-02", "q"]])
    mark = s3_server.mark()
    s3_server.lose_answer(k)
    try:
        proc = bazof("append", "--path", path, "--table", name, "--input", f)
    finally:
        s3_server.heal()
    assert committed(proc, rows=1) == 3
    seen = [(r.method, r.path.rsplit("/", 1)[-1], r.status) for r in s3_server.since(mark)]
    assert ("PUT", "s3.json", 500) in seen and ("PUT", "s3.json", 412) in seen, seen
    assert ("GET", "s3.json", 200) in seen, seen
    log = log_rows(lambda *a, **k: bazof(*a), path, name)
    assert [r["version"] for r in log] == ["0", "1", "2", "3"]
    assert "s4.json" not in object_names(s3_server, root)


def test_connection_refused(bazof, table, tmp_path):
    path, name, root = table
    dead = f"http://127.0.0.1:{free_port()}"
    f = write_csv(tmp_path / "r.csv", HEADER, [["r", "2024-01-01", "r"]])
    for args in (["scan"], ["info"], ["log"], ["append", "--input", f],
                 ["put", "--key", "z", "--event-time", "2024-01-01", "value=1"]):
        proc = bazof(args[0], "--path", path, "--table", name, *args[1:], "--s3-endpoint", dead,
                     env={"AWS_MAX_ATTEMPTS": "2"})
        line = assert_cli_error(proc, root, problem=r"connect")
        assert TEST_SECRET not in line
    proc = bazof("create", "--path", path, "--table", "new", "--schema", "v:string",
                 "--s3-endpoint", dead, env={"AWS_MAX_ATTEMPTS": "1"})
    assert_cli_error(proc, f"{path}/new", problem=r"connect")


def test_missing_bucket(bazof, tmp_path):
    path = "s3://no-such-bucket/p"
    f = write_csv(tmp_path / "m.csv", HEADER, [["m", "2024-01-01", "m"]])
    for args in (["scan"], ["info"], ["log"], ["history", "--key", "m"], ["append", "--input", f],
                 ["create", "--schema", "v:string"]):
        proc = bazof(args[0], "--path", path, "--table", "t", *args[1:])
        assert_cli_error(proc, f"{path}/t", "no-such-bucket", problem=r"bucket .* does not exist")


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    """A second moto server that checks credentials and SigV4 signatures (after the 4 set-up
    requests below), with bucket 'auth' and an IAM user allowed everything: (endpoint, key)."""
    import boto3
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("s3_server.py")),
                             str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            env=dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="4"))
    try:
        assert proc.stdout.readline().strip() == b"ready"
        endpoint = f"http://127.0.0.1:{port}"
        kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="setup",
                  aws_secret_access_key="setup")
        boto3.client("s3", **kw).create_bucket(Bucket="auth")
        iam = boto3.client("iam", **kw)
        iam.create_user(UserName="writer")
        key = iam.create_access_key(UserName="writer")["AccessKey"]
        iam.put_user_policy(UserName="writer", PolicyName="all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        yield endpoint, key
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


def test_signed_requests_and_wrong_credentials(bazof, auth_server, tmp_path):
    endpoint, key = auth_server
    good = {"AWS_ENDPOINT_URL_S3": endpoint, "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
    path, root = "s3://auth/lake", "s3://auth/lake/t"
    f = write_csv(tmp_path / "a.csv", HEADER, [["a", "2024-01-01", "1"]])
    # Every kind of request bazof makes is signed right: the server checks each signature.
    assert bazof("create", "--path", path, "--table", "t", "--schema", "value:string",
                 env=good).returncode == 0
    committed(bazof("append", "--path", path, "--table", "t", "--input", f, env=good), rows=1)
    committed(bazof("put", "--path", path, "--table", "t", "--key", "b", "--event-time",
                    "2024-01-02", "value=2", env=good), rows=1)
    scan = bazof("scan", "--path", path, "--table", "t", "--format", "csv", env=good)
    assert [r["key"] for r in csv_rows(scan.stdout)] == ["a", "b"], scan.stderr

    wrong_secret = dict(good, AWS_SECRET_ACCESS_KEY="wrong-" + TEST_SECRET)
    unknown_key = dict(good, AWS_ACCESS_KEY_ID="AKIANOSUCHKEY0000000")
    # A HEAD's answer has no body: "403 Forbidden (wrong credentials ...)" is all it tells.
    for env, problem in ((wrong_secret, r"signature|credentials"),
                         (unknown_key, r"access key|credentials")):
        for args in (["scan"], ["info"], ["append", "--input", f],
                     ["create", "--schema", "v:string"]):
            table = "new" if args[0] == "create" else "t"
            proc = bazof(args[0], "--path", path, "--table", table, *args[1:], env=env)
            line = assert_cli_error(proc, f"{path}/{table}", problem=problem)
            assert TEST_SECRET not in line and key["SecretAccessKey"] not in line
    scan2 = bazof("scan", "--path", path, "--table", "t", "--format", "csv", env=good)
    assert scan2.stdout == scan.stdout


def test_read_path_lists_nothing(bazof, s3_server, fixtures_dir):
    """scan, info, log, history: O(1) metadata objects, the data files needed, no listing."""
    from conftest import S3Lake
    lake = S3Lake(s3_server, "readpath")
    lake.put_tree(fixtures_dir / "bazof-0.1" / "ltm_revenue", "ltm")
    for args in (["scan", "--as-of", "2019-01-17"], ["scan", "--as-of", "2019-01-17", "--columns",
                                                     "key"], ["info"], ["log"],
                 ["history", "--key", "AAPL"]):
        mark = s3_server.mark()
        proc = bazof(args[0], "--path", lake.path, "--table", "ltm", *args[1:])
        assert proc.returncode == 0, proc.stderr
        reqs = s3_server.since(mark)
        assert all(r.method in ("GET", "HEAD") for r in reqs), reqs
        assert not any("list-type" in r.query or r.path.rstrip("/") == f"/{S3_BUCKET}"
                       for r in reqs), f"{args[0]} listed: {reqs}"
        names = [r.path.split("/ltm/", 1)[1] for r in reqs]
        meta = [n for n in names if not n.endswith(".parquet")]
        if args[0] in ("scan", "info"):
            assert meta == ["version.txt", "s2.json", "s1.json"], meta
        else:  # log and history look at every version's snapshot (and, as s0.json is missing
            # from this legacy table, at vacuum's retention.json: spec §14)
            assert set(meta) <= {"version.txt", "s0.json", "s1.json", "s2.json", "retention.json"}, meta
        if args[0] == "scan":
            # The two files the plan reads, and the footer of the first file of the snapshot:
            # bazof 0.1 snapshots record no schema, so it is taken from there.
            assert {n for n in names if n.endswith(".parquet")} == {
                "year_2019_q1_delta.parquet", "year_2019_base.parquet",
                "year_2000_base.parquet"}, names


def test_projection_fetches_less(bazof, s3_server, fixtures_dir):
    """Only the projected columns' chunks are fetched (ranged GETs)."""
    from conftest import S3Lake
    lake = S3Lake(s3_server, "projection")
    lake.put_tree(fixtures_dir / "bazof-0.1" / "ltm_revenue", "ltm")
    fetched = {}
    for cols in ("all", "key"):
        extra = [] if cols == "all" else ["--columns", "key"]
        mark = s3_server.mark()
        proc = bazof("scan", "--path", lake.path, "--table", "ltm", "--as-of", "2019-01-17", *extra)
        assert proc.returncode == 0, proc.stderr
        data = [r for r in s3_server.since(mark) if r.path.endswith(".parquet") and r.method == "GET"]
        assert all(r.range.startswith("bytes=") for r in data), data
        fetched[cols] = sum(r.bytes_out for r in data)
    assert fetched["key"] < fetched["all"], fetched


def test_configuration_by_flags_and_uri_query(bazof, s3_server, tmp_path):
    host = s3_server.endpoint.removeprefix("http://")
    drop = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION"]
    path = f"s3://{S3_BUCKET}/config"
    proc = bazof("create", "--path", path, "--table", "t", "--schema", "value:string",
                 "--s3-endpoint", s3_server.endpoint, "--s3-region", "us-east-1", drop=drop)
    assert proc.stdout.strip() == f"created {path}/t (version 0)", proc.stderr
    query = f"{path}?endpoint_override={host}&scheme=http"
    f = write_csv(tmp_path / "c.csv", HEADER, [["c", "2024-01-01", "c"]])
    committed(bazof("append", "--path", query, "--table", "t", "--input", f, drop=drop), rows=1)
    # The query configures; messages name the location without it.
    proc = bazof("scan", "--path", query, "--table", "t", "--version", "7", drop=drop)
    line = assert_cli_error(proc, f"{path}/t")
    assert "endpoint_override" not in line
    proc = bazof("scan", "--path", path, "--table", "t", "--s3-option", "bogus=1")
    assert_cli_error(proc, "bogus", problem="unknown S3 option")
    for uri in (f"s3://key:{TEST_SECRET}@{S3_BUCKET}/config",
                f"{path}?secret_access_key={TEST_SECRET}"):
        proc = bazof("scan", "--path", uri, "--table", "t")
        line = assert_cli_error(proc, problem="credentials")
        assert TEST_SECRET not in line


def test_single_writer_mode(bazof, tmp_path):
    """conditional_writes=false (servers without If-None-Match): check-then-write commits."""
    path, opt = f"s3://{S3_BUCKET}/single", ["--s3-option", "conditional_writes=false"]
    assert bazof("create", "--path", path, "--table", "t", "--schema", "value:string",
                 *opt).returncode == 0
    proc = bazof("create", "--path", path, "--table", "t", "--schema", "value:string", *opt)
    assert_cli_error(proc, f"{path}/t", problem="already exists")
    f = write_csv(tmp_path / "s.csv", HEADER, [["s", "2024-01-01", "s"]])
    assert committed(bazof("append", "--path", path, "--table", "t", "--input", f, *opt)) == 1
    out = bazof("scan", "--path", path, "--table", "t", "--format", "csv", *opt).stdout
    assert [r["key"] for r in csv_rows(out)] == ["s"]


@pytest.mark.parametrize("build", ["build", "build-asan"])
def test_cpp_s3_storage_tests(s3_server, build):
    """The C++ S3 tests (tests/cpp/s3_storage_test.cc) need a server: run them against this one,
    in the release build and, when scripts/test.sh made it, the ASan + UBSan build."""
    from conftest import REPO
    binary = REPO / build / "tests" / "cpp" / "bazof_tests"
    if not binary.is_file():
        pytest.skip(f"{binary} not built (scripts/test.sh builds both)")
    env = dict(os.environ, BAZOF_TEST_S3=f"s3://{S3_BUCKET}/cpp",
               ASAN_OPTIONS="detect_container_overflow=0:abort_on_error=1",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    proc = subprocess.run([str(binary), "--gtest_filter=S3*"], capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "SKIPPED" not in proc.stdout and "[  PASSED  ] 6 tests" in proc.stdout, proc.stdout


def test_tls_endpoint_and_openssl_in_one_process(bazof, tmp_path):
    """pyarrow's libparquet carries its own copy of OpenSSL's symbols; libcurl's TLS must still
    bind to the system's libcrypto. A TLS handshake with an https endpoint (self-signed: refused
    with a clear error, never a crash), and Python's hashlib imported after bazof."""
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"], check=True,
                   capture_output=True)
    server = subprocess.Popen([sys.executable, "-c", f"""
import http.server, ssl
srv = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain({str(cert)!r}, {str(key)!r})
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"""], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        proc = bazof("info", "--path", f"s3://{S3_BUCKET}/tls", "--table", "t",
                     "--s3-endpoint", f"https://127.0.0.1:{port}", env={"AWS_MAX_ATTEMPTS": "1"})
        assert_cli_error(proc, f"s3://{S3_BUCKET}/tls/t/version.txt", problem="certificate")
    finally:
        server.kill()
        server.wait()
    proc = subprocess.run([sys.executable, "-c",
                           "import bazof, hashlib, hmac, ssl; print(hashlib.sha256(b'x').hexdigest()[:8])"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "2d711642", (proc.returncode, proc.stderr)


def test_c_api_opens_s3_tables_with_options(bazof, table, s3_server, monkeypatch):
    """bazof_table_open's "s3.<key>" options reach the storage: with the environment pointing at
    a dead endpoint, the handle opens the table only through them; an unknown key is refused."""
    import ctypes
    path, name, root = table
    lib = ctypes.CDLL(str(Path(__file__).resolve().parents[2] / "build" / "libbazof_c.so"))
    lib.bazof_table_open.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p),
                                     ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t,
                                     ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_char_p)]
    lib.bazof_table_current_version.argtypes = [ctypes.c_void_p]
    lib.bazof_table_current_version.restype = ctypes.c_int64
    lib.bazof_table_free.argtypes = [ctypes.c_void_p]

    def open_with(options):
        keys = (ctypes.c_char_p * len(options))(*[k.encode() for k in options])
        values = (ctypes.c_char_p * len(options))(*[v.encode() for v in options.values()])
        handle, error = ctypes.c_void_p(), ctypes.c_char_p()
        code = lib.bazof_table_open(path.encode(), name.encode(), keys, values, len(options),
                                    ctypes.byref(handle), ctypes.byref(error))
        return code, handle, (error.value or b"").decode()

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    code, handle, error = open_with({"threads": "1"})
    assert code != 0 and f"{root}/version.txt" in error and "connect" in error.lower(), error
    code, handle, error = open_with({"s3.endpoint": s3_server.endpoint, "s3.region": "us-east-1"})
    assert code == 0, error
    assert lib.bazof_table_current_version(handle) == 1
    lib.bazof_table_free(handle)
    code, handle, error = open_with({"s3.no_such_option": "1"})
    assert code != 0 and "no_such_option" in error, error


def test_format1_scan_fetches_data_with_ranged_gets_only(bazof, s3_server):
    """Format-1 snapshots record each file's size, so opening a data file costs no HEAD: a scan
    is 3 metadata requests plus ranged GETs of footers and column chunks."""
    path = f"s3://{S3_BUCKET}/ranged-only"
    assert bazof("gen", "--path", path, "--table", "g", "--keys", "200", "--events", "5").returncode == 0
    mark = s3_server.mark()
    proc = bazof("scan", "--path", path, "--table", "g", "--as-of", "2023-01-01", "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    reqs = s3_server.since(mark)
    data = [r for r in reqs if "/data/" in r.path]
    assert data and all(r.method == "GET" for r in data), [(r.method, r.path) for r in data]
    assert len(reqs) - len(data) == 3, [(r.method, r.path) for r in reqs]


def test_join_asof_on_many_small_row_groups_merges_ranged_gets(bazof, s3_server, tmp_path):
    """The as-of join over files of many small row groups (write.row_group_rows=16): on S3 it
    reads each file's row groups in merged ranged GETs (key side, then values: a few per file,
    not a few per row group) and answers exactly as the same table read from a local copy."""
    import random

    path = f"s3://{S3_BUCKET}/join-ranges"
    g = ["--path", path, "--table", "g"]
    assert bazof("gen", *g, "--keys", "300", "--events", "20", "--segments", "3").returncode == 0
    assert bazof("alter", *g, "set-property", "write.row_group_rows=16").returncode == 0
    assert bazof("compact", *g, "--force").returncode == 0
    scan = bazof("scan", *g, "--format", "csv", "--columns", "key")
    assert scan.returncode == 0, scan.stderr
    keys = sorted({line.split(",")[0] for line in scan.stdout.splitlines()[1:]})
    rng = random.Random(5)
    rows = [[rng.choice(keys[:40] + ["absent"]), f"202{rng.randrange(5)}-0{1 + rng.randrange(9)}-15"]
            for _ in range(300)]
    spine = write_csv(tmp_path / "spine.csv", ["key", "t"], rows)
    join = ["join-asof", "--spine", spine, "--on", "t", "--by", "key", "--format", "csv"]
    mark = s3_server.mark()
    remote = bazof(*join, *g)
    assert remote.returncode == 0, remote.stderr
    data = [r for r in s3_server.since(mark) if "/data/" in r.path]
    # The same table, copied to local disk.
    local_root = tmp_path / "local"
    s3 = s3_server.client()
    for o in s3.list_objects_v2(Bucket=S3_BUCKET, Prefix="join-ranges/g/").get("Contents", []):
        dest = local_root / o["Key"].removeprefix("join-ranges/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(s3.get_object(Bucket=S3_BUCKET, Key=o["Key"])["Body"].read())
    local = bazof(*join, "--path", local_root, "--table", "g")
    assert local.returncode == 0, local.stderr
    assert remote.stdout == local.stdout
    assert len(remote.stdout.splitlines()) == 301
    files = {r.path for r in data}
    groups = sum(pq.ParquetFile(local_root / "g" / "data" / Path(p).name).metadata.num_row_groups
                 for p in files)
    assert groups >= 10 * len(files)  # many row groups per file...
    # ...few GETs: the footer (its tail, then the rest), the key side, the values.
    assert len(data) <= 4 * len(files), [(r.method, r.range) for r in data]

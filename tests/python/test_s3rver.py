"""A second S3 implementation: s3rver (npm, installed by scripts/setup.sh into tests/s3rver),
started on 127.0.0.1 by these tests. It ignores If-None-Match, so:
creating a table there is refused with a message naming the option, and with
`conditional_writes=false` (single writer) the differential oracle test and the ltm_revenue
scans run on it as on a local path."""
import os
import socket
import subprocess
import time

import pytest

from conftest import REPO, assert_cli_error, csv_rows
from s3_server import free_port
from test_write_oracle import Workload

S3RVER = REPO / "tests" / "s3rver" / "node_modules" / ".bin" / "s3rver"
BUCKET = "bazof"


@pytest.fixture(scope="module")
def s3rver(tmp_path_factory):
    """-> env for bazof talking to a fresh s3rver (bucket BUCKET), stopped afterwards."""
    if not S3RVER.exists():
        pytest.fail(f"{S3RVER} missing: run scripts/setup.sh", pytrace=False)
    port = free_port()
    proc = subprocess.Popen([str(S3RVER), "-d", str(tmp_path_factory.mktemp("s3rver")), "-a",
                             "127.0.0.1", "-p", str(port), "-s", "--configure-bucket", BUCKET],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            pytest.fail("s3rver did not start")
        # s3rver stores aws-chunked uploads (the AWS SDK's default trailing checksums)
        # verbatim, which corrupts data files; the SDK's standard setting turns them off.
        yield dict(os.environ, AWS_ENDPOINT_URL_S3=f"http://127.0.0.1:{port}",
                   AWS_ACCESS_KEY_ID="S3RVER", AWS_SECRET_ACCESS_KEY="S3RVER",
                   AWS_REGION="us-east-1", AWS_REQUEST_CHECKSUM_CALCULATION="when_required")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def run_on(bazof_bin):
    def _make(env):
        def _run(*args, check=True):
            proc = subprocess.run([bazof_bin, *map(str, args)], capture_output=True, text=True,
                                  env=env, timeout=600)
            if check and proc.returncode != 0:
                raise AssertionError(f"bazof {' '.join(map(str, args))}: {proc.stderr}")
            return proc
        return _run
    return _make


def test_ignored_conditional_writes_are_detected(s3rver, run_on):
    run = run_on(s3rver)
    path = f"s3://{BUCKET}/detect"
    proc = run("create", "--path", path, "--table", "t", "--schema", "v:string", check=False)
    assert_cli_error(proc, f"{path}/t", "conditional_writes=false", problem="ignores conditional")
    proc = run("scan", "--path", path, "--table", "t", check=False)
    assert_cli_error(proc, f"{path}/t", problem="not found")  # nothing was created


def test_oracle_single_writer(s3rver, run_on, tmp_path):
    run = run_on(s3rver)
    path = f"s3://{BUCKET}/oracle?conditional_writes=false"
    proc = run("create", "--path", path, "--table", "o", "--schema", "v:int64,s:string")
    assert proc.stdout.strip() == f"created s3://{BUCKET}/oracle/o (version 0)"
    w = Workload(run, path, "o", tmp_path, 1)
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=2) as pool:
        w.verify(pool)
        for _ in range(6):
            w.step()
            w.verify(pool)
    w.verify_history()


def test_ltm_revenue_scans_as_local(s3rver, run_on, run, fixtures_dir):
    import boto3
    s3 = boto3.client("s3", endpoint_url=s3rver["AWS_ENDPOINT_URL_S3"], region_name="us-east-1",
                      aws_access_key_id="S3RVER", aws_secret_access_key="S3RVER")
    src = fixtures_dir / "bazof-0.1" / "ltm_revenue"
    for p in sorted(src.rglob("*")):
        if p.is_file():
            s3.put_object(Bucket=BUCKET, Key=f"fixtures/ltm/{p.relative_to(src)}",
                          Body=p.read_bytes())
    remote = run_on(s3rver)
    for as_of in ("2019-01-17", "2000-04-01T00:00:00Z", "2023-03-01"):
        local = run("scan", "--path", src.parent, "--table", "ltm_revenue", "--as-of", as_of,
                    "--format", "csv").stdout
        got = remote("scan", "--path", f"s3://{BUCKET}/fixtures", "--table", "ltm", "--as-of",
                     as_of, "--format", "csv").stdout
        assert got == local and len(csv_rows(got)) > 0, as_of


def test_vacuum_with_an_incomplete_upload(s3rver, run_on, tmp_path):
    """s3rver does not implement ListMultipartUploads (it answers 501 NotImplemented): vacuum
    still works and reports no upload; aborting stale uploads is tested on moto (test_integrity)."""
    import json

    import boto3
    from botocore.exceptions import ClientError
    run = run_on(s3rver)
    path = f"s3://{BUCKET}/mpu?conditional_writes=false"
    run("create", "--path", path, "--table", "t", "--schema", "v:string")
    s3 = boto3.client("s3", endpoint_url=s3rver["AWS_ENDPOINT_URL_S3"], region_name="us-east-1",
                      aws_access_key_id="S3RVER", aws_secret_access_key="S3RVER")
    key = "mpu/t/data/v1-00000000deadbeef.parquet"
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    s3.upload_part(Bucket=BUCKET, Key=key, PartNumber=1, UploadId=upload, Body=b"x" * 1024)
    out = json.loads(run("vacuum", "--path", path, "--table", "t", "--grace", "1us", "--format",
                         "json").stdout)
    assert out["aborted_uploads"] == [] and out["uploads_kept_by_grace"] == 0
    try:
        s3.list_multipart_uploads(Bucket=BUCKET, Prefix="mpu/")
    except ClientError as e:
        if e.response["Error"]["Code"] == "NotImplemented":
            pytest.skip("s3rver does not implement ListMultipartUploads (501 NotImplemented): "
                        "vacuum cannot see incomplete uploads there")
        raise
    pytest.fail("s3rver now lists multipart uploads: extend this test to check vacuum aborts them")

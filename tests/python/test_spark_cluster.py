"""bazof.spark on a real standalone Spark cluster: a Master and one Worker on 127.0.0.1,
started and stopped here by PID, and a driver in its own process. Reads and writes run in
the executor the Worker launches (another JVM, with its own Python workers), so splits and
staged files really cross processes. Every wait is bounded."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from connector_tables import make_table
from spark_support import python_env, require

pyspark = require("pyspark")

import bazof  # noqa: E402

DRIVER = r'''
import json, os, sys
import pyarrow as pa
from pyspark.sql import SparkSession
import bazof, bazof.spark

master, src, dst = sys.argv[1:4]
spark = (SparkSession.builder.master(master).appName("bazof-cluster-test")
         .config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC")
         .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
         .config("spark.executor.memory", "512m").config("spark.cores.max", "2")
         .config("spark.pyspark.python", sys.executable)
         .getOrCreate())
bazof.spark.register(spark)
df = (spark.read.format("bazof").option("eventTimeAsOf", "2024-01-10T00:00:00Z").option("versionAsOf", 3)
      .option("targetBytes", 4096).load(src))
parts = df.rdd.getNumPartitions()
got = df.toArrow()
# Where the tasks ran: executor ids other than the driver's.
execs = spark.sparkContext.parallelize(range(4), 2).map(lambda _: os.getpid()).collect()
df.write.format("bazof").mode("append").save(dst)
import pyarrow.parquet as pq
pq.write_table(got, sys.argv[4])
# Validity intervals, their splits read in the executor too.
iv = (spark.read.format("bazof").option("view", "intervals").option("start", "2024-01-05T00:00:00Z")
      .option("targetBytes", 4096).load(src))
iv_parts = iv.rdd.getNumPartitions()
pq.write_table(iv.toArrow(), sys.argv[4] + ".intervals")
# Block managers: the driver's and one per executor.
executors = spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size() - 1
print(json.dumps({"partitions": parts, "interval_partitions": iv_parts, "rows": got.num_rows,
                  "executors": executors,
                  "task_pids": sorted(set(execs)), "driver_pid": os.getpid()}))
spark.stop()
'''


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port, proc, timeout, log):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"process exited ({proc.returncode}): {Path(log).read_text()[-3000:]}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    pytest.fail(f"port {port} not open after {timeout}s: {Path(log).read_text()[-3000:]}")


def _stop(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture
def cluster(tmp_path):
    spark_home = Path(pyspark.__file__).parent
    spark_class = str(spark_home / "bin" / "spark-class")
    env = {**os.environ, **python_env(), "SPARK_HOME": str(spark_home), "SPARK_LOCAL_IP": "127.0.0.1",
           "SPARK_LOG_DIR": str(tmp_path / "logs"), "SPARK_WORKER_DIR": str(tmp_path / "work")}
    port, ui, wui = _free_port(), _free_port(), _free_port()
    procs = []
    try:
        mlog = tmp_path / "master.log"
        master = subprocess.Popen(
            [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
             "--webui-port", str(ui)], env=env, stdout=open(mlog, "w"), stderr=subprocess.STDOUT,
            start_new_session=True)
        procs.append(master)
        _wait_port(port, master, 90, mlog)
        url = f"spark://127.0.0.1:{port}"
        wlog = tmp_path / "worker.log"
        worker = subprocess.Popen(
            [spark_class, "org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1", "--cores", "2",
             "--memory", "1g", "--webui-port", str(wui), "--work-dir", str(tmp_path / "work")],
            env=env, stdout=open(wlog, "w"), stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(worker)
        deadline = time.monotonic() + 90
        while "Successfully registered with master" not in wlog.read_text():
            if worker.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"worker did not register: {wlog.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url, env
    finally:
        for p in reversed(procs):
            _stop(p)


def test_standalone_cluster_reads_and_writes(cluster, tmp_path):
    url, env = cluster
    src = make_table(tmp_path / "src")
    dst = bazof.create_table(str(tmp_path / "dst"), src.schema, key="key")
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    out = tmp_path / "read.parquet"
    # The driver (and its JVM) in its own process group, killed whole if it overruns.
    driver = subprocess.Popen([sys.executable, str(script), url, src.uri, dst.uri, str(out)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = driver.communicate(timeout=480)
    except subprocess.TimeoutExpired:
        _stop(driver)
        pytest.fail("the cluster driver did not finish in 480 s")
    assert driver.returncode == 0, stderr[-5000:]
    res = json.loads(stdout.strip().splitlines()[-1])
    assert res["executors"], "no executor registered"
    assert res["driver_pid"] not in res["task_pids"]
    splits = src.plan_splits(as_of="2024-01-10T00:00:00Z", version=3, target_bytes=4096)
    assert res["partitions"] == len(splits) > 1

    import pyarrow.parquet as pq
    from spark_support import assert_same

    want = src.scan(as_of="2024-01-10T00:00:00Z", version=3).to_arrow()
    assert_same(pq.read_table(out), want)
    iv_splits = src.plan_interval_splits(start="2024-01-05T00:00:00Z", target_bytes=4096)
    assert res["interval_partitions"] == len(iv_splits) > 1
    assert_same(pq.read_table(str(out) + ".intervals"), src.intervals(start="2024-01-05T00:00:00Z").to_arrow())
    dst.refresh()
    assert dst.version == 1
    assert_same(dst.scan().to_arrow().cast(want.schema), want)

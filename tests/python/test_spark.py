"""bazof.spark on a local[2] SparkSession: every read equals the core scan of the same
(as-of, version, columns, filter); one Spark partition per split; appends are one version
each; a failed job leaves nothing; a concurrent commit is kept. One session for the module."""
import datetime as dt
import os
import time
from pathlib import Path

import pyarrow as pa
import pytest

from connector_tables import AS_OF_PAIRS, make_table
from spark_support import assert_same, python_env, require

pyspark = require("pyspark")

import bazof  # noqa: E402
import bazof.spark  # noqa: E402
from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402


@pytest.fixture(scope="module")
def spark():
    os.environ.update(python_env())
    session = (SparkSession.builder.master("local[2]").appName("bazof-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.driver.memory", "1g")
               .getOrCreate())
    bazof.spark.register(session)
    yield session
    session.stop()


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return make_table(tmp_path_factory.mktemp("spark") / "t")


def read(spark, uri, **options):
    r = spark.read.format("bazof")
    for k, v in options.items():
        if v is not None:
            r = r.option(k, v)
    return r.load(uri)


@pytest.mark.parametrize("as_of,version", AS_OF_PAIRS)
def test_read_equals_core_scan(spark, table, as_of, version):
    df = read(spark, table.uri, eventTimeAsOf=as_of, versionAsOf=version, targetBytes=4096)
    assert_same(df.toArrow(), table.scan(as_of=as_of, version=version).to_arrow())


def test_schema_is_sparks(spark, table):
    types = {f.name: f.dataType.simpleString() for f in read(spark, table.uri).schema.fields}
    assert types == {"key": "string", "event_time": "timestamp", "i64": "bigint", "f64": "double",
                     "amount": "decimal(12,2)", "seen": "timestamp", "day": "date", "flag": "boolean",
                     "name": "string", "small": "tinyint", "u32": "bigint"}
    key = read(spark, table.uri).schema["key"]
    assert key.nullable == table.schema.field("key").nullable


def test_one_partition_per_split(spark, table):
    splits = table.plan_splits(as_of="2024-01-10T00:00:00Z", target_bytes=4096)
    assert len(splits) > 1, "the table is big enough for several splits at this size"
    df = read(spark, table.uri, eventTimeAsOf="2024-01-10T00:00:00Z", targetBytes=4096)
    assert df.rdd.getNumPartitions() == len(splits)
    one = read(spark, table.uri, maxSplits=1)
    assert one.rdd.getNumPartitions() == 1
    assert_same(one.toArrow(), table.scan().to_arrow())


def test_columns_option_and_schema_pruning(spark, table):
    df = read(spark, table.uri, columns="amount,name", versionAsOf=3)
    assert df.columns == ["key", "event_time", "amount", "name"]
    assert_same(df.toArrow(), table.scan(version=3, columns=["amount", "name"]).to_arrow())
    # A schema naming a subset of the columns prunes the scan to them (in the schema's order).
    df = (spark.read.format("bazof").schema("key string, event_time timestamp, flag boolean, i64 bigint")
          .option("versionAsOf", 2).load(table.uri))
    got = df.toArrow()
    want = table.scan(version=2, columns=["flag", "i64"]).to_arrow().select(["key", "event_time", "flag", "i64"])
    assert_same(got, want)


# (Spark condition, made once a session exists; the same filter for Table.scan, or None
# where it has no tuple form and the core scan is filtered by Spark instead)
FILTERS = [
    (lambda: F.col("key").isin("k0001", "k0100", "k0399", "nope"), [("key", "in", ["k0001", "k0100", "k0399", "nope"])]),
    (lambda: F.col("key") >= "k0350", [("key", ">=", "k0350")]),
    (lambda: (F.col("key") < "k0050") & (F.col("i64") > 0), [("key", "<", "k0050"), ("i64", ">", 0)]),
    (lambda: F.col("name") == "n7", [("name", "==", "n7")]),
    (lambda: F.col("name") != "n7", [("name", "!=", "n7")]),
    (lambda: F.col("amount") <= 100, None),  # decimal vs integer literal: Spark casts, bazof need not push
    (lambda: F.col("f64").isNull(), None),
    (lambda: F.col("flag"), [("flag", "==", True)]),
    (lambda: F.col("event_time") > dt.datetime(2024, 1, 5, tzinfo=dt.timezone.utc), None),
    (lambda: (F.col("small") < 0) | (F.col("u32") > 2**31), None),  # an OR: Spark evaluates it
]


@pytest.mark.parametrize("i", range(len(FILTERS)))
def test_filters_equal_core_scan(spark, table, i):
    make_condition, core_filter = FILTERS[i]
    condition = make_condition()
    as_of = "2024-01-12T00:00:00Z"
    got = read(spark, table.uri, eventTimeAsOf=as_of, targetBytes=4096).filter(condition).toArrow()
    full = table.scan(as_of=as_of).to_arrow()
    if core_filter is not None:
        want = table.scan(as_of=as_of, filter=core_filter).to_arrow()
    else:  # the same condition evaluated by Spark over the unfiltered core scan
        want = spark.createDataFrame(full.to_pandas()).filter(condition).toArrow()
        want = full.filter(pa.compute.is_in(full["key"], want["key"]))
    assert_same(got, want)


def test_pushed_key_filters_narrow_the_partitions(spark, table):
    """Key filters Spark pushes (EqualTo / In / ranges on the key) reach planning: only the
    splits holding wanted keys become partitions, and the answer is the core scan's."""
    all_parts = read(spark, table.uri, targetBytes=4096).rdd.getNumPartitions()
    assert all_parts > 3
    for condition, core, most in [
            (F.col("key").isin("k0001", "k0399"), [("key", "in", ["k0001", "k0399"])], 2),
            (F.col("key") == "k0100", [("key", "==", "k0100")], 1),
            # 30 of 400 keys: about that share of the bytes, so of the splits.
            ((F.col("key") >= "k0200") & (F.col("key") < "k0230"), [("key", ">=", "k0200"), ("key", "<", "k0230")],
             all_parts // 5)]:
        df = read(spark, table.uri, targetBytes=4096).filter(condition)
        parts = df.rdd.getNumPartitions()
        assert 1 <= parts <= most < all_parts, (core, parts, all_parts)
        assert parts == len(table.plan_splits(filter=core, target_bytes=4096))
        assert_same(df.toArrow(), table.scan(filter=core).to_arrow())


def test_pushed_filters(table):
    """Which Spark filters bazof takes (and evaluates exactly); the rest stay with Spark."""
    from pyspark.sql.datasource import (EqualTo, GreaterThan, In, IsNotNull, IsNull, LessThan, Not,
                                        StringStartsWith)

    reader = bazof.spark.BazofDataSource({"path": table.uri}).reader(None)
    filters = [EqualTo(("key",), "k0001"), In(("name",), ("n1", "n2")), GreaterThan(("i64",), 5),
               LessThan(("amount",), 1.5), IsNull(("f64",)), IsNotNull(("seen",)), Not(EqualTo(("flag",), True)),
               StringStartsWith(("name",), "n1"), EqualTo(("nope",), 1), Not(IsNull(("f64",))),
               EqualTo(("small",), 1000)]
    left = list(reader.pushFilters(filters))
    assert left == [filters[3], filters[7], filters[8], filters[9], filters[10]]
    assert len(reader._pushed) == 6


INTERVAL_READS = [
    ({}, {}),
    ({"start": "2024-01-05T00:00:00Z", "end": "2024-01-12T00:00:00Z", "versionAsOf": 3, "columns": "name,i64"},
     {"start": "2024-01-05T00:00:00Z", "end": "2024-01-12T00:00:00Z", "version": 3, "columns": ["name", "i64"]}),
    ({"coalesce": "true", "columns": "flag"}, {"coalesce": True, "columns": ["flag"]}),
]


@pytest.mark.parametrize("i", range(len(INTERVAL_READS)))
def test_intervals_view_equals_core_intervals(spark, table, i):
    """view=intervals: one partition per interval split, and the rows of Table.intervals."""
    options, core = INTERVAL_READS[i]
    df = read(spark, table.uri, view="intervals", targetBytes=4096, **options)
    planned = {k: v for k, v in core.items() if k != "columns"}
    splits = table.plan_interval_splits(**planned, columns=core.get("columns"), target_bytes=4096)
    assert len(splits) > 1 and df.rdd.getNumPartitions() == len(splits)
    want = table.intervals(**core).to_arrow()
    assert df.columns == want.schema.names
    assert_same(df.toArrow(), want)


def test_intervals_view_pushes_filters_on_the_bounds(spark, table):
    """Filters on valid_from / valid_to and keys reach each interval row; key terms
    narrow the partitions."""
    df = (read(spark, table.uri, view="intervals", targetBytes=4096)
          .filter(F.col("valid_to").isNull() & (F.col("key") >= "k0350")))
    core = [("valid_to", "is_null"), ("key", ">=", "k0350")]
    import pyarrow.compute as pc
    expr = pc.field("valid_to").is_null() & (pc.field("key") >= "k0350")
    assert_same(df.toArrow(), table.intervals(filter=expr).to_arrow())
    assert df.rdd.getNumPartitions() < read(spark, table.uri, view="intervals",
                                            targetBytes=4096).rdd.getNumPartitions(), core
    since = dt.datetime(2024, 1, 20, tzinfo=dt.timezone.utc)
    df = read(spark, table.uri, view="intervals").filter(F.col("valid_from") >= since)
    assert_same(df.toArrow(), table.intervals(filter=pc.field("valid_from") >= since).to_arrow())


CHANGE_READS = [
    ({"from": "2024-01-05T00:00:00Z", "to": "2024-01-12T00:00:00Z"},
     {"t1": "2024-01-05T00:00:00Z", "t2": "2024-01-12T00:00:00Z"}),
    ({"at": "2024-01-10T00:00:00Z", "fromVersion": 2, "toVersion": 4, "columns": "name,i64"},
     {"at": "2024-01-10T00:00:00Z", "from_version": 2, "to_version": 4, "columns": ["name", "i64"]}),
]


@pytest.mark.parametrize("i", range(len(CHANGE_READS)))
def test_changes_view_equals_core_changes(spark, table, i):
    """view=changes: one partition per change split, the rows of Table.changes; Spark
    applies its own filters."""
    options, core = CHANGE_READS[i]
    df = read(spark, table.uri, view="changes", targetBytes=4096, **options)
    assert df.rdd.getNumPartitions() == len(table.plan_change_splits(**core, target_bytes=4096)) > 1
    want = table.changes(**core).to_arrow()
    assert df.columns == want.schema.names
    assert_same(df.toArrow(), want)
    updates = df.filter(F.col("kind") == "update").toArrow()
    assert_same(updates, want.filter(pa.compute.equal(want["kind"], "update")))


def test_intervals_view_refusals(spark, table):
    with pytest.raises(Exception, match="eventTimeAsOf does not apply to the intervals view"):
        read(spark, table.uri, view="intervals", eventTimeAsOf="2024-01-02T00:00:00Z").schema
    with pytest.raises(Exception, match="apply to the intervals view only"):
        read(spark, table.uri, start="2024-01-02T00:00:00Z").schema
    with pytest.raises(Exception, match="is not one of scan, intervals, changes"):
        read(spark, table.uri, view="diff").schema
    with pytest.raises(Exception, match="fromVersion apply to the changes view only"):
        read(spark, table.uri, view="intervals", fromVersion=2).schema


def test_timestamp_as_of_is_commit_time(spark, tmp_path):
    t = bazof.create_table(str(tmp_path / "c"), pa.schema([("v", pa.int64())]))
    t.put("a", "2030-01-01", v=1)  # version 1: an event time far after every commit time
    time.sleep(0.01)  # commit times are kept in milliseconds
    t.put("a", "2020-01-01", v=2)  # version 2
    log = t.log()
    at = log["timestamp"].to_pylist()[log["version"].to_pylist().index(1)]  # inclusive
    assert read(spark, t.uri, timestampAsOf=at).collect()[0]["v"] == 1  # the 2020 event did not exist yet
    assert read(spark, t.uri).collect()[0]["v"] == 1  # the latest event time wins at version 2
    assert read(spark, t.uri, eventTimeAsOf="2021-01-01").collect()[0]["v"] == 2
    assert read(spark, t.uri, eventTimeAsOf="2021-01-01", timestampAsOf=at).count() == 0
    with pytest.raises(Exception, match="no version committed at or before"):
        read(spark, t.uri, timestampAsOf="2001-01-01T00:00:00Z").collect()
    with pytest.raises(Exception, match="at most one of versionAsOf and timestampAsOf"):
        read(spark, t.uri, timestampAsOf=at, versionAsOf=1).collect()


def _files(uri):
    return sorted(p for p in Path(uri).rglob("*") if p.is_file() and p.suffix == ".parquet")


@pytest.fixture
def target(tmp_path):
    return bazof.create_table(str(tmp_path / "w"), pa.schema([("v", pa.int64()), ("note", pa.string())]))


def _events(spark, n, parts=3, offset=0):
    return (spark.range(offset, offset + n, numPartitions=parts)
            .select(F.format_string("k%05d", (F.col("id") % 500).cast("int")).alias("key"),
                    (F.lit(dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)) + F.make_interval(
                        secs=F.col("id").cast("int"))).alias("event_time"),
                    F.col("id").alias("v"), F.lit("spark").alias("note")))


def test_append_is_one_version(spark, target):
    df = _events(spark, 3000)
    df.write.format("bazof").mode("append").save(target.uri)
    target.refresh()
    assert target.version == 1
    assert target.log()["operation"].to_pylist()[-1] == "append"
    # Each key's winner is its latest id (ids grow with event time).
    got = target.scan().to_arrow()
    assert got.num_rows == 500
    assert sorted(got["v"].to_pylist()) == list(range(2500, 3000))
    assert_same(read(spark, target.uri).toArrow(), got)
    # A second append (with tombstones through _deleted) is version 2.
    dels = spark.createDataFrame([("k00001", dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc), True)],
                                 "key string, event_time timestamp, _deleted boolean")
    dels.write.format("bazof").mode("append").save(target.uri)
    target.refresh()
    assert target.version == 2
    assert "k00001" not in target.scan().to_arrow()["key"].to_pylist()
    assert "k00001" in target.scan(as_of="2029-01-01").to_arrow()["key"].to_pylist()


def test_overwrite_is_refused(spark, target):
    with pytest.raises(Exception, match=r"mode\('overwrite'\) is not supported"):
        _events(spark, 10).write.format("bazof").mode("overwrite").save(target.uri)
    target.refresh()
    assert target.version == 0


def test_failed_job_commits_nothing_and_removes_staged_files(spark, target):
    target.put("k00000", "2024-01-01", v=-1, note=None)
    before = _files(target.uri)

    @F.udf("bigint")
    def explode_late(i):
        if i == 2900:  # in the last of 3 partitions: earlier tasks have staged by then
            raise ValueError("boom in a task")
        return i

    df = _events(spark, 3000).withColumn("v", explode_late("v"))
    with pytest.raises(Exception, match="boom in a task"):
        df.write.format("bazof").mode("append").save(target.uri)
    target.refresh()
    assert target.version == 1
    assert target.scan().to_arrow().num_rows == 1
    # The driver aborts what the tasks that finished staged. A task still
    # running when the job fails may finish staging after that abort (its
    # commit message never reaches the driver): such files are unreferenced,
    # and vacuum's grace rule removes them (docs/spec.md, staged commits).
    deadline, seen = time.monotonic() + 30, None
    while time.monotonic() < deadline and seen != _files(target.uri):
        seen = _files(target.uri)
        time.sleep(2)
    left = set(_files(target.uri)) - set(before)
    if left:
        target.vacuum(grace="1s")  # the files settled at least 2 s ago
        assert _files(target.uri) == before


def test_commit_by_another_writer_between_plan_and_commit(spark, target):
    uri = target.uri

    def other_writer(batches):
        from pyspark import TaskContext

        if TaskContext.get().partitionId() == 0:
            bazof.open_table(uri).put("other", "2024-06-01", v=42, note="concurrent")
        yield from batches

    df = _events(spark, 1000, parts=2)
    df = df.mapInArrow(other_writer, df.schema)
    df.write.format("bazof").mode("append").save(uri)
    target.refresh()
    assert target.version == 2
    assert [r for r in target.log()["operation"].to_pylist()][-2:] == ["put", "append"]
    rows = target.scan().to_arrow()
    assert rows.num_rows == 501
    assert "other" in rows["key"].to_pylist()


def test_file_uri(spark, table):
    uri = "file://" + table.uri
    assert_same(read(spark, uri, versionAsOf=2, targetBytes=4096).toArrow(), table.scan(version=2).to_arrow())


def test_s3_with_storage_options(spark, s3_server):
    """Option keys other than bazof's are storage options, in the driver and every task."""
    import uuid

    from conftest import S3_BUCKET
    from s3_server import TEST_KEY_ID, TEST_SECRET

    opts = {"endpoint": s3_server.endpoint, "access_key_id": TEST_KEY_ID, "secret_access_key": TEST_SECRET,
            "region": "us-east-1"}
    uri = f"s3://{S3_BUCKET}/spark-{uuid.uuid4().hex[:8]}/t"
    t = bazof.create_table(uri, pa.schema([("v", pa.int64()), ("note", pa.string())]), storage_options=opts)
    w = _events(spark, 800, parts=2).write.format("bazof").mode("append")
    for k, v in opts.items():
        w = w.option(k, v)
    w.save(uri)
    t.refresh()
    assert t.version == 1
    got = read(spark, uri, **opts).toArrow()
    assert got.num_rows == 500
    assert_same(got, t.scan().to_arrow())
    from s3_server import free_port

    dead = {**opts, "endpoint": f"http://127.0.0.1:{free_port()}", "max_attempts": "1"}
    with pytest.raises(Exception, match=r"(?i)127\.0\.0\.1|connect"):
        read(spark, uri, **dead).collect()

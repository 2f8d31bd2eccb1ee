"""bazof.ray on ray.init(num_cpus=2) (once for the module): reads equal the core scan, one
read task per split; write_bazof commits one version; a failed write leaves nothing."""
import datetime as dt
import os
from pathlib import Path

import pyarrow as pa
import pytest

from connector_tables import AS_OF_PAIRS, make_table
from spark_support import normalized, require

ray = require("ray")

import bazof  # noqa: E402
import bazof.ray  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def ray_cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"RAY_DATA_DISABLE_PROGRESS_BARS": "1"}})
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return make_table(tmp_path_factory.mktemp("ray") / "t")


def assert_same(got: pa.Table, want: pa.Table):
    got, want = normalized(got), normalized(want)
    assert got.schema.names == want.schema.names
    assert got.num_rows == want.num_rows
    for name in want.schema.names:
        assert got.column(name).combine_chunks().equals(want.column(name).combine_chunks()), name


def to_arrow(ds):
    return pa.concat_tables([ray.get(ref) for ref in ds.to_arrow_refs()])


@pytest.mark.parametrize("as_of,version", AS_OF_PAIRS)
def test_read_equals_core_scan(table, as_of, version):
    ds = bazof.ray.read_bazof(table.uri, as_of=as_of, version=version, target_bytes=4096)
    assert_same(to_arrow(ds), table.scan(as_of=as_of, version=version).to_arrow())


def test_columns_filter_and_one_task_per_split(table):
    f = [("key", ">=", "k0100"), ("i64", ">", 0)]
    source = bazof.ray.BazofDatasource(table.uri, as_of="2024-01-12", columns=["amount", "name"], filter=f,
                                       target_bytes=4096)
    splits = table.plan_splits(as_of="2024-01-12", columns=["amount", "name"], filter=f, target_bytes=4096)
    assert len(splits) > 1
    assert len(source.get_read_tasks(len(splits) * 4)) == len(splits)
    ds = bazof.ray.read_bazof(table.uri, as_of="2024-01-12", columns=["amount", "name"], filter=f,
                              target_bytes=4096)
    assert_same(to_arrow(ds), table.scan(as_of="2024-01-12", columns=["amount", "name"], filter=f).to_arrow())
    # Ray's own projection reaches the scan.
    sel = to_arrow(ds.select_columns(["key", "name"]))
    assert sel.schema.names == ["key", "name"]
    want = table.scan(as_of="2024-01-12", columns=["name"], filter=f).to_arrow().select(["key", "name"])
    assert_same(sel, want)


def test_intervals_equal_core_intervals_one_task_per_split(table):
    """read_bazof_intervals: one read task per interval split; the rows of Table.intervals,
    with a window, columns, a filter on the bounds, and coalescing."""
    import pyarrow.compute as pc

    current = pc.field("valid_to").is_null()
    for kw in [{}, {"start": "2024-01-05", "end": "2024-01-12", "version": 3, "columns": ["name", "i64"]},
               {"filter": current, "coalesce": True, "columns": ["flag"]}]:
        splits = table.plan_interval_splits(**kw, target_bytes=4096)
        assert len(splits) > 1
        source = bazof.ray.BazofDatasource(table.uri, view="intervals", target_bytes=4096, **kw)
        assert len(source.get_read_tasks(len(splits) * 4)) == len(splits)
        ds = bazof.ray.read_bazof_intervals(table.uri, target_bytes=4096, **kw)
        want = table.intervals(**kw).to_arrow()
        got = to_arrow(ds)
        assert got.schema.names == want.schema.names
        assert_same(got, want)
    with pytest.raises(bazof.InvalidInput, match="as_of does not apply"):
        bazof.ray.BazofDatasource(table.uri, view="intervals", as_of="2024-01-02")


def test_changes_equal_core_changes(table):
    """read_bazof_changes: the rows of Table.changes, one read task per change split."""
    for kw in [{"t1": "2024-01-05", "t2": "2024-01-12"},
               {"at": "2024-01-10", "from_version": 2, "to_version": 4, "columns": ["name"]}]:
        splits = table.plan_change_splits(**kw, target_bytes=4096)
        assert len(splits) > 1
        ds = bazof.ray.read_bazof_changes(table.uri, target_bytes=4096, **kw)
        want = table.changes(**kw).to_arrow()
        got = to_arrow(ds)
        assert got.schema.names == want.schema.names
        assert_same(got, want)
    # Ray's projection: old_/new_ columns select their value column.
    sel = to_arrow(ds.select_columns(["key", "kind", "old_name"]))
    assert sel.schema.names == ["key", "kind", "old_name"]
    assert_same(sel, want.select(["key", "kind", "old_name"]))


def test_version_is_pinned_at_read(tmp_path):
    t = bazof.create_table(str(tmp_path / "p"), pa.schema([("v", pa.int64())]))
    t.put("a", "2024-01-01", v=1)
    ds = bazof.ray.read_bazof(t.uri)
    t.put("a", "2024-01-02", v=2)  # after the read was planned
    assert to_arrow(ds)["v"].to_pylist() == [1]


def _files(uri):
    return sorted(p for p in Path(uri).rglob("*.parquet"))


def _events(n, blocks):
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    return ray.data.from_arrow([
        pa.table({"key": [f"k{i % 300:04d}" for i in range(b, n, blocks)],
                  "event_time": pa.array([start + dt.timedelta(seconds=i) for i in range(b, n, blocks)],
                                         pa.timestamp("us", tz="UTC")),
                  "v": list(range(b, n, blocks))})
        for b in range(blocks)])


def test_write_is_one_version(tmp_path, table):
    t = bazof.create_table(str(tmp_path / "w"), pa.schema([("v", pa.int64())]))
    version = bazof.ray.write_bazof(_events(2000, 4), t.uri)
    t.refresh()
    assert version == t.version == 1
    got = t.scan().to_arrow()
    assert got.num_rows == 300
    assert sorted(got["v"].to_pylist()) == list(range(1700, 2000))
    # Round trip of the many-types table: read with Ray, write with Ray, same scan.
    copy = bazof.create_table(str(tmp_path / "copy"), table.schema, key="key")
    bazof.ray.write_bazof(bazof.ray.read_bazof(table.uri, target_bytes=4096), copy.uri)
    copy.refresh()
    assert copy.version == 1
    assert_same(copy.scan().to_arrow(), table.scan().to_arrow())
    # Tombstones through _deleted.
    dels = ray.data.from_arrow(pa.table({"key": ["k0001"], "event_time": pa.array(
        [dt.datetime(2030, 1, 1)], pa.timestamp("us", tz="UTC")), "_deleted": [True]}))
    assert bazof.ray.write_bazof(dels, t.uri) == 2
    assert "k0001" not in t.refresh().scan().to_arrow()["key"].to_pylist()


def test_failed_write_commits_nothing(tmp_path):
    t = bazof.create_table(str(tmp_path / "f"), pa.schema([("v", pa.int64())]))
    t.put("a", "2024-01-01", v=1)
    before = _files(t.uri)

    def fail_on_last(batch):
        if 1999 in batch["v"].to_pylist():
            raise ValueError("boom in a write task")
        return batch

    ds = _events(2000, 4).map_batches(fail_on_last, batch_format="pyarrow")
    with pytest.raises(Exception, match="boom in a write task"):
        bazof.ray.write_bazof(ds, t.uri)
    assert t.refresh().version == 1
    assert _files(t.uri) == before


def test_s3_read_and_write_with_storage_options(s3_server, table, monkeypatch):
    """s3:// on the tests' S3 server: storage_options reach the driver and every Ray task
    (the environment names a dead endpoint and wrong keys); reads equal the core scan."""
    import uuid

    from conftest import S3_BUCKET
    from s3_server import TEST_KEY_ID, TEST_SECRET, free_port

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "wrong")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    opts = {"endpoint": s3_server.endpoint, "access_key_id": TEST_KEY_ID, "secret_access_key": TEST_SECRET,
            "region": "us-east-1"}
    base = f"s3://{S3_BUCKET}/ray-{uuid.uuid4().hex[:8]}"
    # Write: two Ray writes, two versions.
    t = bazof.create_table(f"{base}/w", pa.schema([("v", pa.int64())]), storage_options=opts)
    assert bazof.ray.write_bazof(_events(2000, 4), t.uri, storage_options=opts) == 1
    assert bazof.ray.write_bazof(_events(900, 3).map_batches(
        lambda b: b.set_column(2, "v", pa.array([-x for x in b["v"].to_pylist()], pa.int64())),
        batch_format="pyarrow"), t.uri, storage_options=opts) == 2
    t.refresh()
    assert t.version == 2
    for as_of, version in [(None, None), (None, 1), ("2024-01-01T00:10:00Z", None)]:
        splits = t.plan_splits(as_of=as_of, version=version, target_bytes=2048)
        assert len(splits) > 1
        ds = bazof.ray.read_bazof(t.uri, as_of=as_of, version=version, storage_options=opts, target_bytes=2048)
        assert_same(to_arrow(ds), t.scan(as_of=as_of, version=version).to_arrow())
    # A key filter narrows the splits Ray reads.
    f = [("key", "in", ["k0003", "k0250"])]
    source = bazof.ray.BazofDatasource(t.uri, filter=f, storage_options=opts, target_bytes=2048)
    assert 1 <= len(source.get_read_tasks(64)) <= 2
    assert_same(to_arrow(bazof.ray.read_bazof(t.uri, filter=f, storage_options=opts, target_bytes=2048)),
                t.scan(filter=f).to_arrow())
    # The many-types table, local -> S3 through Ray, then read back from S3 with Ray.
    copy = bazof.create_table(f"{base}/copy", table.schema, key="key", storage_options=opts)
    assert bazof.ray.write_bazof(bazof.ray.read_bazof(table.uri, target_bytes=4096), copy.uri,
                                 storage_options=opts) == 1
    got = to_arrow(bazof.ray.read_bazof(copy.uri, storage_options=opts, target_bytes=4096))
    assert_same(got, table.scan().to_arrow())
    # Without the options the tasks would use the (dead) environment.
    with pytest.raises(Exception):
        to_arrow(bazof.ray.read_bazof(copy.uri))

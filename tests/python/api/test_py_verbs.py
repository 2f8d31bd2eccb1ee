"""Issue #17 verbs through the Python API: put semantics (no values refused,
partial puts carry the key's state forward, checked against an oracle on
random workloads with late partial puts), delete of an unknown key (warning,
strict), restore(version), the predicate delete (checked against an oracle),
and compaction's "nothing to compact"."""
import datetime as dt
import random
import warnings

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import bazof

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
SCHEMA = pa.schema([("symbol", pa.string()), ("price", pa.float64()), ("qty", pa.int64())])
COLS = ("price", "qty")


def day(n):
    return T0 + dt.timedelta(days=n)


def state(table, as_of=None, version=None):
    """{symbol: (event day, price, qty)} of a scan."""
    rows = table.scan(as_of=as_of, version=version).to_arrow().to_pylist()
    return {r["symbol"]: ((r["event_time"] - T0).days, r["price"], r["qty"]) for r in rows}


class Oracle:
    """Events in commit order; the state rule of DESIGN.md §1 (later commit wins ties)."""

    def __init__(self):
        self.events = []  # (key, day, seq, values or None for a tombstone)

    def add(self, key, d, values):
        self.events.append((key, d, len(self.events), values))

    def state(self, key, d):
        best = None
        for e in self.events:
            if e[0] == key and e[1] <= d and (best is None or (e[1], e[2]) > (best[1], best[2])):
                best = e
        return None if best is None else best[3]

    def scan(self, d=None):
        out = {}
        for key in {e[0] for e in self.events}:
            at = 10 ** 6 if d is None else d
            best = None
            for e in self.events:
                if e[0] == key and e[1] <= at and (best is None or (e[1], e[2]) > (best[1], best[2])):
                    best = e
            if best is not None and best[3] is not None:
                out[key] = (best[1], *best[3])
        return out


@pytest.fixture
def table(tmp_path):
    return bazof.create_table(tmp_path / "t", SCHEMA, key="symbol")


def test_put_without_values_or_with_some_is_refused(table):
    with pytest.raises(bazof.InvalidInput, match="no value column given"):
        table.put("IBM", day(1))
    with pytest.raises(bazof.InvalidInput, match=r"'qty' not given.*partial"):
        table.put("IBM", day(1), price=1.0)
    with pytest.raises(bazof.InvalidInput, match="no value column given"):
        table.put("IBM", day(1), partial=True)
    assert table.version == 0
    with pytest.raises(bazof.InvalidInput) as e:  # Arrow's own cast message does not leak
        table.put("IBM", day(1), price=1.0, qty=2 ** 70)
    assert str(e.value).splitlines()[0] == f"put: {2 ** 70} is not a valid int64 for column 'qty'"
    table.put("IBM", day(1), price=None, qty=3)  # a given None is a null
    assert state(table) == {"IBM": (1, None, 3)}


def test_partial_put_carries_the_state_as_of_its_time(table):
    table.put("IBM", day(1), price=10.0, qty=1)
    table.put("IBM", day(5), price=20.0, qty=2)
    table.put("IBM", day(3), partial=True, qty=9)  # late: carries day 1's price
    assert state(table, as_of=day(3)) == {"IBM": (3, 10.0, 9)}
    assert state(table) == {"IBM": (5, 20.0, 2)}
    table.put("NEW", day(2), partial=True, price=1.5)  # no state: null
    assert state(table, as_of=day(2))["NEW"] == (2, 1.5, None)
    table.delete("IBM", day(6))
    table.put("IBM", day(7), partial=True, qty=4)  # deleted: null
    assert state(table)["IBM"] == (7, None, 4)


@pytest.mark.filterwarnings("ignore:delete of key")
@pytest.mark.parametrize("seed", range(4))
def test_random_partial_puts_match_the_oracle(table, seed):
    rng = random.Random(seed)
    oracle = Oracle()
    keys = ["A", "B", "C", "D"]
    for _ in range(40):
        key, d = rng.choice(keys), rng.randrange(30)
        kind = rng.random()
        if kind < 0.12:
            table.delete(key, day(d))
            oracle.add(key, d, None)
        elif kind < 0.45:
            values = {"price": round(rng.uniform(1, 100), 2), "qty": rng.randrange(100)}
            table.put(key, day(d), **values)
            oracle.add(key, d, (values["price"], values["qty"]))
        else:
            col = rng.choice(COLS)
            value = round(rng.uniform(1, 100), 2) if col == "price" else rng.randrange(100)
            table.put(key, day(d), partial=True, **{col: value})
            before = oracle.state(key, d) or (None, None)
            row = dict(zip(COLS, before))
            row[col] = value
            oracle.add(key, d, (row["price"], row["qty"]))
    for d in [None, 0, 3, 7, 12, 15, 20, 25, 29]:
        assert state(table, as_of=None if d is None else day(d)) == oracle.scan(d), (seed, d)


def test_delete_of_an_unknown_key_warns_or_is_refused_when_strict(table):
    table.put("IBM", day(1), price=1.0, qty=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table.delete("IBM", day(2))  # a known key: no warning
    with pytest.warns(UserWarning, match="IBX.*no event at any time"):
        v = table.delete("IBX", day(2))
    assert v == 3 and table.version == 3
    with pytest.raises(bazof.InvalidInput, match="IBY.*strict"):
        table.delete("IBY", day(2), strict=True)
    assert table.version == 3


def test_restore_makes_a_version_equal_to_an_older_one(table):
    for i in range(4):
        table.put(f"k{i}", day(i), price=float(i), qty=i)
    table.delete("k0", day(10))
    table.compact(force=True)
    table.put("k1", day(2), price=99.0, qty=99)
    head = table.version
    probes = [None] + [day(d) for d in range(0, 12, 2)]
    before = {t: state(table, as_of=t, version=3) for t in probes}
    new = table.restore(3)
    assert new == head + 1 == table.version
    for t in probes:
        assert state(table, as_of=t) == before[t], t
    table.put("k9", day(1), price=9.0, qty=9)
    assert state(table)["k9"] == (1, 9.0, 9)
    log = table.log().to_pylist()
    assert log[new]["operation"] == "restore"
    with pytest.raises(bazof.InvalidInput, match="beyond the current version"):
        table.restore(table.version + 1)
    assert table.validate(deep=True).valid


@pytest.mark.filterwarnings("ignore:delete of key")
@pytest.mark.parametrize("seed", range(3))
def test_predicate_delete_matches_the_oracle(table, seed):
    rng = random.Random(100 + seed)
    oracle = Oracle()
    for i in range(60):
        key, d = f"k{rng.randrange(15):02d}", rng.randrange(20)
        if rng.random() < 0.1:
            table.delete(key, day(d))
            oracle.add(key, d, None)
        else:
            values = (float(rng.randrange(100)), rng.randrange(10))
            table.put(key, day(d), price=values[0], qty=values[1])
            oracle.add(key, d, values)
    t = rng.randrange(5, 15)
    expect = sorted(k for k, v in oracle.scan(t).items() if v[1] >= 50)
    dry = table.delete(filter=pc.field("price") >= 50, event_time=day(t), dry_run=True)
    assert dry.keys == len(expect) and not dry.committed
    assert [m[0] for m in dry.matched] == expect
    v = table.version
    r = table.delete(filter=pc.field("price") >= 50, event_time=day(t))
    assert r.keys == len(expect)
    assert r.committed == bool(expect) and table.version == v + bool(expect)
    for key in expect:
        oracle.add(key, t, None)
    for d in [None, 0, t - 1, t, t + 1, 19]:
        assert state(table, as_of=None if d is None else day(d)) == oracle.scan(d), d
    # key comparisons work as in scans
    r = table.delete(filter=pc.field("symbol") == "zzz", event_time=day(3))
    assert r.keys == 0 and not r.committed


def test_compact_twice_reports_nothing_to_compact(table):
    for i in range(5):
        table.put(f"k{i}", day(i), price=1.0, qty=1)
    first = table.compact()
    assert first.committed and first.segments == 1 and not first.nothing_to_compact
    v = table.version
    again = table.compact()
    assert again.nothing_to_compact and not again.committed and "already compacted" in again.reason
    assert table.version == v

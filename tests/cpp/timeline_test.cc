// The timeline (docs/spec.md §20): completeness watermark, lateness profile,
// history horizon and forget, checked against the oracle on random workloads.
#include "bazof/timeline.h"

#include <arrow/api.h>
#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>

#include <random>
#include <set>

#include "bazof/compact.h"
#include "bazof/error.h"
#include "bazof/vacuum.h"
#include "bazof/validate.h"
#include "bazof/write.h"
#include "metadata/snapshot_json.h"
#include "test_util.h"

namespace bazof::testing {
namespace {

constexpr int64_t kDay = 86400000;

EventTime AtMs(int64_t ms) { return EventTime::FromMicros(ms * 1000); }

arrow::Result<CommitResult> AppendEvents(const std::shared_ptr<io::Storage>& storage, const std::vector<Ev>& rows,
                                         std::optional<int64_t> watermark_ms = std::nullopt) {
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(storage));
  AppendOptions o;
  if (watermark_ms) o.watermark = AtMs(*watermark_ms);
  return Append(table, *AppendInput(rows), o);
}

// ---- snapshot JSON --------------------------------------------------------

TEST(TimelineJsonTest, RoundTripAndFormatVersion) {
  Snapshot snap;
  snap.format_version = 1;
  snap.version = Version(3);
  snap.schema = KvSchema();
  snap.watermark = AtMs(Ms("2024-03-01"));
  snap.lateness.Add(5);
  snap.lateness.Add(2 * 86400000000LL);
  ASSERT_OK_AND_ASSIGN(auto text, metadata::SerializeSnapshot(snap));
  EXPECT_NE(text.find("\"format_version\": 1"), std::string::npos) << text;
  ASSERT_OK_AND_ASSIGN(auto back, metadata::ParseSnapshot(text, "s3.json"));
  EXPECT_EQ(back.watermark, snap.watermark);
  EXPECT_EQ(back.lateness.count, 2);
  EXPECT_EQ(back.lateness.max_us, 2 * 86400000000LL);
  EXPECT_EQ(back.lateness.buckets, snap.lateness.buckets);
  EXPECT_FALSE(back.horizon);

  snap.horizon = AtMs(Ms("2024-01-01"));
  snap.erase_below = Version(3);
  ASSERT_OK_AND_ASSIGN(text, metadata::SerializeSnapshot(snap));
  EXPECT_NE(text.find("\"format_version\": 2"), std::string::npos) << text;
  ASSERT_OK_AND_ASSIGN(back, metadata::ParseSnapshot(text, "s3.json"));
  EXPECT_EQ(back.format_version, 2);
  EXPECT_EQ(back.horizon, snap.horizon);
  EXPECT_EQ(back.erase_below, Version(3));

  // A horizon in a format-1 snapshot: a format-1 reader would answer wrongly.
  std::string bad = text;
  bad.replace(bad.find("\"format_version\": 2"), 19, "\"format_version\": 1");
  auto r = metadata::ParseSnapshot(bad, "s3.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kCorruption);
  EXPECT_NE(r.status().message().find("timeline.horizon"), std::string::npos) << r.status().message();

  // Bucket counts must add up.
  bad = text;
  bad.replace(bad.find("\"count\": 2"), 10, "\"count\": 3");
  r = metadata::ParseSnapshot(bad, "s3.json");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("late_events.buckets"), std::string::npos) << r.status().message();
}

TEST(TimelineJsonTest, QuantilesAreBucketBounds) {
  LatenessProfile p;
  EXPECT_EQ(p.Quantile(0.5), 0);
  for (int i = 0; i < 9; ++i) p.Add(500000);  // 0.5 s
  p.Add(3 * 3600000000LL);                      // 3 h
  EXPECT_EQ(p.count, 10);
  EXPECT_EQ(p.Quantile(0.5), 1000000);  // the bound of the <= 1 s bucket
  EXPECT_EQ(p.Quantile(0.9), 1000000);
  EXPECT_EQ(p.Quantile(0.99), 3 * 3600000000LL);  // the 1 d bucket, capped at the max
}

// ---- watermark ------------------------------------------------------------

TEST(WatermarkTest, MonotonicAndCommittedWithTheData) {
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema()));
  const int64_t t0 = Ms("2024-01-01");
  ASSERT_OK_AND_ASSIGN(auto r1, SetWatermark(table, AtMs(t0 + 10 * kDay)));
  EXPECT_EQ(r1.version.value(), 1);
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  EXPECT_EQ(table->current_snapshot()->watermark, AtMs(t0 + 10 * kDay));
  EXPECT_EQ(table->current_snapshot()->commit->operation, "watermark");

  auto back = SetWatermark(table, AtMs(t0 + 9 * kDay));
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(ErrorKindOf(back.status()), ErrorKind::kInvalidArgument);
  EXPECT_NE(back.status().message().find("before the current watermark"), std::string::npos);
  auto back2 = AppendEvents(storage, {{"a", t0, "x"}}, t0 + 5 * kDay);
  ASSERT_FALSE(back2.ok());
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  EXPECT_EQ(table->current_version().value(), 1);  // nothing committed

  ASSERT_OK_AND_ASSIGN(auto same, SetWatermark(table, AtMs(t0 + 10 * kDay)));  // equal: allowed
  EXPECT_EQ(same.version.value(), 2);
  // An empty append with a watermark still commits it.
  ASSERT_OK_AND_ASSIGN(auto empty, AppendEvents(storage, {}, t0 + 20 * kDay));
  EXPECT_TRUE(empty.committed);
  ASSERT_OK(AppendEvents(storage, {{"a", t0 + 25 * kDay, "x"}}, t0 + 30 * kDay).status());
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  EXPECT_EQ(table->current_snapshot()->watermark, AtMs(t0 + 30 * kDay));
  EXPECT_EQ(table->current_snapshot()->lateness.count, 0);  // 25 d > the watermark before (20 d)
  // Compaction carries the watermark.
  ASSERT_OK(Compact(table).status());
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  EXPECT_EQ(table->current_snapshot()->watermark, AtMs(t0 + 30 * kDay));
}

TEST(WatermarkTest, ScanMetadataAndRequireComplete) {
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema()));
  const int64_t t0 = Ms("2024-01-01");
  ASSERT_OK(AppendEvents(storage, {{"a", t0, "x"}}).status());
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  ASSERT_OK_AND_ASSIGN(auto plain, table->NewScan().Build());
  EXPECT_EQ(plain->schema()->metadata(), nullptr);  // no watermark: nothing added
  auto refused = table->NewScan().AsOf(AtMs(t0)).RequireComplete().Build();
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("no completeness watermark"), std::string::npos);

  ASSERT_OK(AppendEvents(storage, {{"b", t0 + kDay, "y"}}, t0 + 2 * kDay).status());
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  for (auto [t, complete] : {std::pair{t0 + 2 * kDay, true}, std::pair{t0 + 2 * kDay + 1, false},
                             std::pair{INT64_MAX / 1000, false}}) {
    auto b = table->NewScan();
    if (t != INT64_MAX / 1000) b.AsOf(AtMs(t));
    ASSERT_OK_AND_ASSIGN(auto scan, b.Build());
    ASSERT_NE(scan->schema()->metadata(), nullptr);
    EXPECT_EQ(scan->schema()->metadata()->Get("bazof.complete").ValueOrDie(), complete ? "true" : "false");
    EXPECT_EQ(scan->schema()->metadata()->Get("bazof.watermark").ValueOrDie(), "2024-01-03T00:00:00.000Z");
    ASSERT_OK_AND_ASSIGN(auto reader, scan->ToReader());
    EXPECT_TRUE(reader->schema()->Equals(*scan->schema(), /*check_metadata=*/true));
    ASSERT_OK_AND_ASSIGN(auto rows, reader->ToTable());
    EXPECT_EQ(rows->num_rows(), 2);
    auto strict = b.RequireComplete().Build();
    EXPECT_EQ(strict.ok(), complete) << t;
    if (!complete) {
      EXPECT_NE(strict.status().message().find("past the completeness watermark 2024-01-03T00:00:00.000Z"),
                std::string::npos)
          << strict.status().message();
    }
  }
}

// Random appends (late events, ties, tombstones) and watermark moves: the
// profile in the snapshot equals a direct computation over the commits.
class LatenessOracleTest : public ::testing::TestWithParam<int> {};

TEST_P(LatenessOracleTest, ProfileEqualsDirectComputation) {
  std::mt19937_64 rng(7100 + GetParam());
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
  const int64_t t0 = Ms("2024-01-01");
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema()));
  std::optional<int64_t> watermark_ms;
  LatenessProfile expected;
  for (int c = 0; c < 12; ++c) {
    std::vector<Ev> rows;
    for (int64_t i = 0, n = pick(30); i < n; ++i) {
      // Minute-granular times over 2 years: lateness spans every bucket.
      rows.push_back({"k" + std::to_string(pick(8)), t0 + pick(2 * 365 * 1440) * 60000, "v", pick(5) == 0});
    }
    std::optional<int64_t> advance;
    if (pick(2) == 0) advance = std::max(watermark_ms.value_or(t0), t0 + pick(2 * 365) * kDay);
    if (pick(4) == 0) {
      ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
      ASSERT_OK(Compact(table).status());
    }
    auto r = AppendEvents(storage, rows, advance);
    ASSERT_OK(r.status());
    if (watermark_ms) {
      for (const auto& e : rows) {
        if (e.ms <= *watermark_ms) expected.Add((*watermark_ms - e.ms) * 1000);
      }
    }
    if (advance) watermark_ms = advance;
    ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
    const auto& got = table->current_snapshot()->lateness;
    ASSERT_EQ(got.count, expected.count) << "seed " << GetParam() << " commit " << c;
    ASSERT_EQ(got.max_us, expected.max_us);
    ASSERT_EQ(got.count == 0 ? std::vector<int64_t>{} : got.buckets,
              expected.count == 0 ? std::vector<int64_t>{} : expected.buckets);
  }
}

INSTANTIATE_TEST_SUITE_P(RandomCommits, LatenessOracleTest, ::testing::Range(1, 9));

// ---- horizon and forget ---------------------------------------------------

struct Workload {
  std::shared_ptr<io::Storage> storage = MemStorage();
  std::vector<OracleEvent> events;
  int64_t version = 0;
  std::mt19937_64 rng;
  int64_t t0 = Ms("2024-01-01");
  int64_t days = 40, keys = 8;

  explicit Workload(uint64_t seed) : rng(seed) { (void)CreateTable(storage, KvSchema()).ValueOrDie(); }
  int64_t Pick(int64_t n) { return static_cast<int64_t>(rng() % n); }
  // One append of random events (ties and tombstones frequent).
  void Append() {
    std::vector<Ev> rows;
    ++version;
    for (int64_t i = 0, n = 1 + Pick(25); i < n; ++i) {
      Ev e{"k" + std::to_string(Pick(keys)), t0 + Pick(days) * kDay, "v" + std::to_string(version) + "." + std::to_string(i),
           Pick(6) == 0};
      if (e.deleted) e.value.clear();
      rows.push_back(e);
      events.push_back({e, version, i});
    }
    auto r = AppendEvents(storage, rows);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->version.value(), version);
  }
  void Compact(std::optional<int64_t> horizon_ms = std::nullopt) {
    auto table = Table::Open(storage).ValueOrDie();
    CompactOptions o;
    if (Pick(2)) o.segment_duration_us = (1 + Pick(10)) * kDay * 1000;
    // A horizon never moves back (a test asking for an earlier one gets the current).
    if (horizon_ms && table->current_snapshot()->horizon) {
      horizon_ms = std::max(*horizon_ms, table->current_snapshot()->horizon->micros() / 1000);
    }
    if (horizon_ms) o.horizon = AtMs(*horizon_ms);
    auto r = bazof::Compact(table, o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_TRUE(r->committed);
    ++version;
  }
  int64_t RandomT() { return t0 + Pick(days + 2) * kDay - Pick(2) - kDay; }
};

class HorizonOracleTest : public ::testing::TestWithParam<int> {};

TEST_P(HorizonOracleTest, ScansFromTheHorizonOnAreUnchanged) {
  Workload w(8200 + GetParam());
  for (int i = 0; i < 4; ++i) w.Append();
  if (w.Pick(2)) w.Compact();
  w.Append();
  int64_t horizon = w.t0 + w.Pick(w.days) * kDay - (w.Pick(2) ? 0 : 1);
  const int64_t before = w.version;
  w.Compact(horizon);
  const int64_t hv = w.version;
  // Late events (also before the horizon), then more compactions.
  for (int i = 0; i < 3; ++i) {
    w.Append();
    if (w.Pick(3) == 0) w.Compact();
  }
  if (w.Pick(2)) {
    horizon += w.Pick(5) * kDay;  // a later horizon
    w.Compact(horizon);
  }
  ASSERT_OK_AND_ASSIGN(auto table, Table::Open(w.storage));
  for (int64_t v = 0; v <= w.version; ++v) {
    ASSERT_OK_AND_ASSIGN(auto snap, table->SnapshotAt(Version(v)));
    std::vector<int64_t> probes = {INT64_MAX / 1000};
    if (snap->horizon) probes.push_back(snap->horizon->micros() / 1000);
    for (int p = 0; p < 8; ++p) probes.push_back(w.RandomT());
    for (int64_t t : probes) {
      auto got = ScanKv(table, t == INT64_MAX / 1000 ? std::nullopt : std::optional<int64_t>(t), v);
      if (snap->horizon && AtMs(t) < *snap->horizon) {
        ASSERT_FALSE(got.ok()) << "version " << v << " T " << t;
        EXPECT_NE(got.status().message().find("before the history horizon " + FormatEventTime(*snap->horizon)),
                  std::string::npos)
            << got.status().message();
        continue;
      }
      ASSERT_OK(got.status());
      ASSERT_EQ(*got, Oracle(w.events, t, v)) << "seed " << GetParam() << " version " << v << " T " << t;
    }
    EXPECT_EQ(snap->horizon.has_value(), v >= hv) << v;
    EXPECT_EQ(snap->format_version, v >= hv ? 2 : 1);
  }
  EXPECT_LT(before, hv);
  ValidateOptions vo;
  vo.deep = true;
  ASSERT_OK_AND_ASSIGN(auto report, ValidateTable(w.storage, vo));
  for (const auto& p : report.problems) ADD_FAILURE() << "seed " << GetParam() << ": " << p.ToString();
}

INSTANTIATE_TEST_SUITE_P(RandomCommits, HorizonOracleTest, ::testing::Range(1, 13));

TEST(HorizonTest, RefusalsAndRetentionProperty) {
  Workload w(99);
  for (int i = 0; i < 3; ++i) w.Append();
  w.Compact(w.t0 + 20 * kDay);
  ASSERT_OK_AND_ASSIGN(auto table, Table::Open(w.storage));
  CompactOptions o;
  o.horizon = AtMs(w.t0 + 10 * kDay);
  auto back = Compact(table, o);
  ASSERT_FALSE(back.ok());
  EXPECT_NE(back.status().message().find("before the table's history horizon"), std::string::npos);
  // Without --horizon the horizon stays.
  ASSERT_OK(Compact(table).status());
  ASSERT_OK_AND_ASSIGN(table, Table::Open(w.storage));
  EXPECT_EQ(table->current_snapshot()->horizon, AtMs(w.t0 + 20 * kDay));

  // retention.event_time: anchored at the watermark, else the latest event time.
  Snapshot s = *table->current_snapshot();
  s.properties["retention.event_time"] = "5d";
  s.watermark.reset();
  int64_t max_end = 0;
  for (const auto* f : s.AllFiles()) {
    if (f->end) max_end = std::max(max_end, f->end->micros());
  }
  ASSERT_OK_AND_ASSIGN(auto h, RetentionHorizon(s));
  EXPECT_EQ(h, EventTime::FromMicros(max_end - 5 * kDay * 1000));
  s.watermark = AtMs(w.t0 + 30 * kDay);
  ASSERT_OK_AND_ASSIGN(h, RetentionHorizon(s));
  EXPECT_EQ(h, AtMs(w.t0 + 25 * kDay));
  s.properties["retention.event_time"] = "1y";
  ASSERT_OK_AND_ASSIGN(h, RetentionHorizon(s));
  EXPECT_EQ(h, AtMs(w.t0 + 30 * kDay - 365 * kDay));
}

// Keys present in any Parquet file under data/.
std::set<std::string> KeysInStorage(io::Storage& storage) {
  std::set<std::string> out;
  auto files = storage.ListFiles("data", true).ValueOrDie();
  for (const auto& f : files) {
    auto input = storage.OpenForRead(f.name, f.size).ValueOrDie();
    auto reader = parquet::arrow::OpenFile(input, arrow::default_memory_pool()).ValueOrDie();
    auto t = reader->ReadTable().ValueOrDie();
    auto keys = t->column(0);
    for (const auto& chunk : keys->chunks()) {
      const auto& a = static_cast<const arrow::StringArray&>(*chunk);
      for (int64_t i = 0; i < a.length(); ++i) out.insert(std::string(a.GetView(i)));
    }
  }
  return out;
}

class ForgetOracleTest : public ::testing::TestWithParam<int> {};

TEST_P(ForgetOracleTest, GoneFromEveryRetainedVersionAfterVacuum) {
  Workload w(9300 + GetParam());
  for (int i = 0; i < 5; ++i) {
    w.Append();
    if (w.Pick(3) == 0) w.Compact(w.Pick(3) == 0 ? std::optional<int64_t>(w.t0 + w.Pick(10) * kDay) : std::nullopt);
  }
  const std::string gone = "k" + std::to_string(w.Pick(w.keys));
  const std::string also = w.Pick(2) ? "k" + std::to_string(w.Pick(w.keys)) : gone;
  ASSERT_OK_AND_ASSIGN(auto table, Table::Open(w.storage));
  const int64_t before = w.version;
  ASSERT_OK_AND_ASSIGN(auto r, Forget(table, {gone, also}));
  ASSERT_TRUE(r.committed);
  const int64_t f = ++w.version;
  ASSERT_EQ(r.version.value(), f);
  std::vector<OracleEvent> kept;
  for (const auto& e : w.events) {
    if (e.ev.key != gone && e.ev.key != also) kept.push_back(e);
  }
  const auto all_events = w.events;
  // Later writes are unaffected (the key may come back).
  w.events = kept;
  w.Append();
  ASSERT_OK_AND_ASSIGN(table, Table::Open(w.storage));
  auto check = [&](int64_t v, const std::vector<OracleEvent>& oracle_events) {
    ASSERT_OK_AND_ASSIGN(auto snap, table->SnapshotAt(Version(v)));
    for (int p = 0; p < 6; ++p) {
      int64_t t = p == 0 ? INT64_MAX / 1000 : w.RandomT();
      if (snap->horizon && AtMs(t) < *snap->horizon) continue;
      ASSERT_OK_AND_ASSIGN(auto got, ScanKv(table, p == 0 ? std::nullopt : std::optional<int64_t>(t), v));
      ASSERT_EQ(got, Oracle(oracle_events, t, v)) << "seed " << GetParam() << " version " << v << " T " << t;
    }
  };
  // Before vacuum: older versions still answer with the keys.
  for (int64_t v = 0; v < f; ++v) check(v, all_events);
  for (int64_t v = f; v <= w.version; ++v) check(v, w.events);
  VacuumOptions vo;
  vo.grace_micros = 0;
  ASSERT_OK_AND_ASSIGN(auto vr, Vacuum(table, vo));
  EXPECT_EQ(vr.oldest_retained.value(), f);
  ASSERT_OK_AND_ASSIGN(table, Table::Open(w.storage));
  ASSERT_OK_AND_ASSIGN(auto oldest, table->OldestVersion());
  EXPECT_EQ(oldest.value(), f);
  EXPECT_FALSE(table->SnapshotAt(Version(before)).ok());
  for (int64_t v = f; v <= w.version; ++v) check(v, w.events);
  // Physically gone, unless appended again after the forget.
  std::set<std::string> later;
  for (const auto& e : w.events) {
    if (e.version > f) later.insert(e.ev.key);
  }
  auto present = KeysInStorage(*w.storage);
  for (const auto& k : {gone, also}) {
    if (!later.count(k)) {
      EXPECT_FALSE(present.count(k)) << k;
    }
  }
  ValidateOptions val;
  val.deep = true;
  ASSERT_OK_AND_ASSIGN(auto report, ValidateTable(w.storage, val));
  for (const auto& p : report.problems) ADD_FAILURE() << "seed " << GetParam() << ": " << p.ToString();
}

INSTANTIATE_TEST_SUITE_P(RandomCommits, ForgetOracleTest, ::testing::Range(1, 11));

TEST(ForgetTest, Refusals) {
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema()));
  ASSERT_OK_AND_ASSIGN(auto none, Forget(table, {"nobody"}));
  EXPECT_FALSE(none.committed);
  auto empty = Forget(table, {});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(ErrorKindOf(empty.status()), ErrorKind::kInvalidArgument);
}

}  // namespace
}  // namespace bazof::testing

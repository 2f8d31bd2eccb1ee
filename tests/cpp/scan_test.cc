// The read path end to end on hand-made tables (in-memory filesystem).
#include <arrow/api.h>
#include <gtest/gtest.h>

#include <set>

#include "bazof/error.h"
#include "parquet/arrow/writer.h"
#include "table_builder.h"

namespace bazof::testing {
namespace {

KvState State(std::initializer_list<std::tuple<const char*, const char*, const char*>> rows) {
  KvState s;
  for (auto& [k, t, v] : rows) s[k] = {Ms(t), v};
  return s;
}

TEST(ScanTest, LatestAndAsOfWithInclusiveT) {
  TableBuilder b;
  ASSERT_OK(b.AddDelta(1, {{"a", Ms("2024-01-01"), "a1"}, {"a", Ms("2024-03-01"), "a2"},
                           {"b", Ms("2024-02-01"), "b1"}}));
  ASSERT_OK(b.Commit(1));
  ASSERT_OK_AND_ASSIGN(auto t, b.Open());
  ASSERT_OK_AND_ASSIGN(auto latest, ScanKv(t, std::nullopt));
  EXPECT_EQ(latest, State({{"a", "2024-03-01", "a2"}, {"b", "2024-02-01", "b1"}}));
  ASSERT_OK_AND_ASSIGN(auto at_event, ScanKv(t, Ms("2024-02-01")));
  EXPECT_EQ(at_event, State({{"a", "2024-01-01", "a1"}, {"b", "2024-02-01", "b1"}}));
  ASSERT_OK_AND_ASSIGN(auto just_before, ScanKv(t, Ms("2024-02-01") - 1));
  EXPECT_EQ(just_before, State({{"a", "2024-01-01", "a1"}}));
  ASSERT_OK_AND_ASSIGN(auto before_all, ScanKv(t, Ms("2023-01-01")));
  EXPECT_TRUE(before_all.empty());
}

TEST(ScanTest, TiesGoToLaterVersionThenLaterRow) {
  TableBuilder b;
  ASSERT_OK(b.AddDelta(1, {{"k", Ms("2024-01-01"), "v1-first"}, {"k", Ms("2024-01-01"), "v1-second"}}));
  ASSERT_OK(b.Commit(1));
  ASSERT_OK_AND_ASSIGN(auto t1, b.Open());
  ASSERT_OK_AND_ASSIGN(auto s1, ScanKv(t1, std::nullopt));
  EXPECT_EQ(s1.at("k").second, "v1-second");
  ASSERT_OK(b.AddDelta(2, {{"k", Ms("2024-01-01"), "v2"}}));
  ASSERT_OK(b.Commit(2));
  ASSERT_OK_AND_ASSIGN(auto t2, b.Open());
  ASSERT_OK_AND_ASSIGN(auto s2, ScanKv(t2, std::nullopt));
  EXPECT_EQ(s2.at("k").second, "v2");
  // Bitemporal: version 1 still says what it said.
  ASSERT_OK_AND_ASSIGN(auto s2v1, ScanKv(t2, std::nullopt, 1));
  EXPECT_EQ(s2v1.at("k").second, "v1-second");
}

TEST(ScanTest, TombstonesHideKeysUntilReAdded) {
  TableBuilder b;
  ASSERT_OK(b.AddDelta(1, {{"k", Ms("2024-01-01"), "x"},
                           {"k", Ms("2024-02-01"), "", true},
                           {"k", Ms("2024-03-01"), "y"}}));
  ASSERT_OK(b.Commit(1));
  ASSERT_OK_AND_ASSIGN(auto t, b.Open());
  ASSERT_OK_AND_ASSIGN(auto jan, ScanKv(t, Ms("2024-01-15")));
  EXPECT_EQ(jan.count("k"), 1u);
  ASSERT_OK_AND_ASSIGN(auto feb, ScanKv(t, Ms("2024-02-15")));
  EXPECT_EQ(feb.count("k"), 0u);
  ASSERT_OK_AND_ASSIGN(auto mar, ScanKv(t, Ms("2024-03-15")));
  EXPECT_EQ(mar.at("k").second, "y");
}

TEST(ScanTest, BaseKeepsTombstonesSoLateEventsDoNotResurrect) {
  TableBuilder b;
  b.AddSegment(Ms("2023-01-01"));
  b.AddSegment(Ms("2024-01-01"));
  std::vector<Ev> history = {{"k", Ms("2023-03-01"), "old"}, {"k", Ms("2023-06-01"), "", true},
                             {"j", Ms("2023-02-01"), "j1"}};
  ASSERT_OK(b.AddDelta(1, history, 0));
  ASSERT_OK(b.SetBase(1, 1, {{"k", Ms("2023-06-01"), "", true}, {"j", Ms("2023-02-01"), "j1"}}));
  ASSERT_OK(b.Commit(1));
  // A late event for k older than its deletion, and one for j newer than j1.
  ASSERT_OK(b.AddDelta(2, {{"k", Ms("2023-04-01"), "late-k"}, {"j", Ms("2023-09-01"), "late-j"}}, 0));
  ASSERT_OK(b.Commit(2));
  ASSERT_OK_AND_ASSIGN(auto t, b.Open());
  ASSERT_OK_AND_ASSIGN(auto latest, ScanKv(t, std::nullopt));
  EXPECT_EQ(latest, State({{"j", "2023-09-01", "late-j"}}));
  ASSERT_OK_AND_ASSIGN(auto v1, ScanKv(t, std::nullopt, 1));
  EXPECT_EQ(v1, State({{"j", "2023-02-01", "j1"}}));
  ASSERT_OK_AND_ASSIGN(auto april, ScanKv(t, Ms("2023-04-15")));
  EXPECT_EQ(april, State({{"j", "2023-02-01", "j1"}, {"k", "2023-04-01", "late-k"}}));
}

TEST(ScanTest, KeysOnlyInDeltasAndEmptyFiles) {
  TableBuilder b;
  b.AddSegment(Ms("2023-01-01"));
  b.AddSegment(Ms("2024-01-01"));
  ASSERT_OK(b.AddDelta(1, {{"a", Ms("2023-05-01"), "a1"}}, 0));
  ASSERT_OK(b.SetBase(1, 1, {{"a", Ms("2023-05-01"), "a1"}}));
  ASSERT_OK(b.AddDelta(1, {}, 1));  // an empty delta file
  ASSERT_OK(b.AddDelta(1, {{"z", Ms("2024-02-01"), "z1"}}, 1));
  ASSERT_OK(b.Commit(1));
  ASSERT_OK_AND_ASSIGN(auto t, b.Open());
  ASSERT_OK_AND_ASSIGN(auto latest, ScanKv(t, std::nullopt));
  EXPECT_EQ(latest, State({{"a", "2023-05-01", "a1"}, {"z", "2024-02-01", "z1"}}));
}

TEST(ScanTest, ProjectionAndKeyFilter) {
  TableBuilder b;
  ASSERT_OK(b.AddDelta(1, {{"a", Ms("2024-01-01"), "a1"}, {"b", Ms("2024-01-01"), "b1"},
                           {"c", Ms("2024-01-01"), "c1"}}));
  ASSERT_OK(b.Commit(1));
  ASSERT_OK_AND_ASSIGN(auto t, b.Open());
  ASSERT_OK_AND_ASSIGN(auto scan, t->NewScan().Columns({}).KeyIn({"c", "a", "nope"}).Build());
  ASSERT_OK_AND_ASSIGN(auto result, scan->ToTable());
  EXPECT_EQ(result->num_columns(), 2);  // key, event_time
  EXPECT_EQ(result->num_rows(), 2);
  auto unknown = t->NewScan().Columns({"missing"}).Build();
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(ErrorKindOf(unknown.status()), ErrorKind::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("unknown column 'missing'"), std::string::npos);
}

TEST(ScanTest, KeyRangeIsInclusiveAndComposesWithPartitions) {
  TableBuilder b;
  std::vector<Ev> events;
  for (int k = 0; k < 2000; ++k) {
    char key[16];
    std::snprintf(key, sizeof(key), "k%05d", k);
    events.push_back({key, Ms("2024-01-01") + k, "v"});
  }
  ASSERT_OK(b.AddDelta(1, events, 0, /*row_group_rows=*/100));
  ASSERT_OK(b.Commit(1));
  ASSERT_OK_AND_ASSIGN(auto t, b.Open());
  for (int threads : {1, 2, 4}) {
    ASSERT_OK_AND_ASSIGN(auto scan, t->NewScan().KeyRange("k00150", "k01234").Threads(threads).BatchSize(50).Build());
    ASSERT_OK_AND_ASSIGN(auto result, scan->ToTable());
    ASSERT_OK_AND_ASSIGN(result, result->CombineChunks());
    ASSERT_EQ(result->num_rows(), 1234 - 150 + 1) << threads;
    EXPECT_EQ(result->column(0)->GetScalar(0).ValueOrDie()->ToString(), "k00150");
    EXPECT_EQ(result->column(0)->GetScalar(result->num_rows() - 1).ValueOrDie()->ToString(), "k01234");
  }
  ASSERT_OK_AND_ASSIGN(auto open_ended, t->NewScan().KeyRange(std::nullopt, "k00009").Build());
  ASSERT_OK_AND_ASSIGN(auto head, open_ended->ToTable());
  EXPECT_EQ(head->num_rows(), 10);
}

TEST(ScanTest, EventTimesInAnyUnitCompareAtMicroseconds) {
  // Files whose event-time column is in s, us or ns read against a ms table.
  auto storage = MemStorage();
  TableBuilder b(storage);
  b.AddSegment(Ms("2020-01-01"));
  ASSERT_OK(b.Commit(1));  // creates the table; data files added by hand below
  Snapshot& snap = b.snapshot();
  int n = 0;
  for (auto unit : {arrow::TimeUnit::SECOND, arrow::TimeUnit::MICRO, arrow::TimeUnit::NANO}) {
    const int64_t per_sec = unit == arrow::TimeUnit::SECOND ? 1 : unit == arrow::TimeUnit::MICRO ? 1000000 : 1000000000;
    arrow::StringBuilder kb, vb;
    arrow::TimestampBuilder tb(arrow::timestamp(unit, "UTC"), arrow::default_memory_pool());
    ASSERT_OK(kb.Append("k" + std::to_string(n)));
    ASSERT_OK(tb.Append(Ms("2024-01-01") / 1000 * per_sec));
    ASSERT_OK(vb.Append("unit" + std::to_string(n)));
    auto schema = arrow::schema({arrow::field("key", arrow::utf8()), arrow::field("event_time", arrow::timestamp(unit, "UTC")),
                                 arrow::field("value", arrow::utf8())});
    auto rows = arrow::Table::Make(schema, {kb.Finish().ValueOrDie(), tb.Finish().ValueOrDie(), vb.Finish().ValueOrDie()});
    auto name = "data/unit" + std::to_string(n) + ".parquet";
    ASSERT_OK_AND_ASSIGN(auto out, storage->OpenForWrite(name));
    ASSERT_OK(parquet::arrow::WriteTable(*rows, arrow::default_memory_pool(), out));
    ASSERT_OK(out->Close());
    DataFileRef ref;
    ref.path = name;
    ref.version = Version(2);
    ref.start = ref.end = EventTime::FromMicros(Ms("2024-01-01") * 1000);
    ref.sorted = true;
    snap.segments[0].deltas.push_back(ref);
    ++n;
  }
  ASSERT_OK(b.Commit(2));
  ASSERT_OK_AND_ASSIGN(auto t, b.Open());
  ASSERT_OK_AND_ASSIGN(auto at, ScanKv(t, Ms("2024-01-01")));
  EXPECT_EQ(at.size(), 3u);
  for (const auto& [k, v] : at) EXPECT_EQ(v.first, Ms("2024-01-01")) << k;  // output in the table's ms
  ASSERT_OK_AND_ASSIGN(auto before, ScanKv(t, Ms("2024-01-01") - 1));
  EXPECT_TRUE(before.empty());
}

TEST(ScanTest, PartitionedReadEqualsSingleThreaded) {
  TableBuilder b;
  std::vector<Ev> v1, v2;
  for (int k = 0; k < 3000; ++k) {
    char key[16];
    std::snprintf(key, sizeof(key), "k%05d", k);
    for (int e = 0; e < 3; ++e) v1.push_back({key, Ms("2024-01-01") + (k * 7 + e * 13) % 1000 * 60000, "v" + std::to_string(e)});
    if (k % 5 == 0) v2.push_back({key, Ms("2024-01-01") + 500 * 60000, "late"});
  }
  ASSERT_OK(b.AddDelta(1, v1, 0, /*row_group_rows=*/500));
  ASSERT_OK(b.AddDelta(2, v2, 0, /*row_group_rows=*/70));
  ASSERT_OK(b.Commit(2));
  ASSERT_OK_AND_ASSIGN(auto t, b.Open());
  for (auto as_of : {std::optional<int64_t>{}, std::optional<int64_t>{Ms("2024-01-01") + 400 * 60000}}) {
    ASSERT_OK_AND_ASSIGN(auto one, ScanKv(t, as_of, std::nullopt, 1, 64));
    ASSERT_OK_AND_ASSIGN(auto three, ScanKv(t, as_of, std::nullopt, 3, 64));
    // Every key with an event at or before T is present (no tombstones here).
    std::set<std::string> expected_keys;
    for (const auto& e : v1) {
      if (!as_of || e.ms <= *as_of) expected_keys.insert(e.key);
    }
    for (const auto& e : v2) {
      if (!as_of || e.ms <= *as_of) expected_keys.insert(e.key);
    }
    EXPECT_EQ(one.size(), expected_keys.size());
    EXPECT_EQ(one, three);
  }
}

TEST(ScanTest, MissingOrDamagedDataFilesNameTheFile) {
  TableBuilder b;
  ASSERT_OK(b.AddDelta(1, {{"a", Ms("2024-01-01"), "a1"}}));
  ASSERT_OK(b.Commit(1));
  const std::string name = b.snapshot().segments[0].deltas[0].path;
  ASSERT_OK(b.storage()->ReplaceFile(name, "this is not parquet"));
  ASSERT_OK_AND_ASSIGN(auto t, b.Open());
  auto r = ScanKv(t, std::nullopt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kCorruption);
  EXPECT_NE(r.status().message().find(name), std::string::npos) << r.status().message();
}

TEST(ScanTest, OpenFindsSnapshotsNewerThanThePointer) {
  TableBuilder b;
  ASSERT_OK(b.AddDelta(1, {{"a", Ms("2024-01-01"), "a1"}}));
  ASSERT_OK(b.Commit(1));
  ASSERT_OK(b.AddDelta(2, {{"a", Ms("2024-02-01"), "a2"}}));
  ASSERT_OK(b.Commit(2));
  // A crash after the snapshot but before the pointer moved.
  ASSERT_OK(b.storage()->ReplaceFile("version.txt", "1"));
  ASSERT_OK_AND_ASSIGN(auto t, b.Open());
  EXPECT_EQ(t->current_version().value(), 2);
  auto missing = t->SnapshotAt(Version(7));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(ErrorKindOf(missing.status()), ErrorKind::kNotFound);
}

TEST(ScanTest, GarbledPointerIsCorruption) {
  TableBuilder b;
  ASSERT_OK(b.Commit(1));
  ASSERT_OK(b.storage()->ReplaceFile("version.txt", "abc"));
  auto t = b.Open();
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(ErrorKindOf(t.status()), ErrorKind::kCorruption);
  EXPECT_NE(t.status().message().find("version.txt"), std::string::npos);
}

}  // namespace
}  // namespace bazof::testing

// Compaction: random workloads with compactions interleaved, checked against
// the oracle for every version and many T; plus its layout and its refusals.
#include "bazof/compact.h"

#include <gtest/gtest.h>

#include <random>

#include "bazof/error.h"
#include "bazof/inspect.h"
#include "bazof/validate.h"
#include "bazof/write.h"
#include "test_util.h"
#include "write/commit.h"

namespace bazof::testing {
namespace {

class CompactOracleTest : public ::testing::TestWithParam<int> {};

// (event time, version, deleted, value) of each history row, as text.
using HistoryRow = std::tuple<std::string, int64_t, bool, std::string>;

std::vector<HistoryRow> HistoryRows(const arrow::Table& history) {
  auto t = history.CombineChunksToBatch().ValueOrDie();
  std::vector<HistoryRow> rows;
  for (int64_t r = 0; r < t->num_rows(); ++r) {
    auto cell = [&](const char* name) { return t->GetColumnByName(name)->GetScalar(r).ValueOrDie(); };
    auto value = cell("value");
    rows.emplace_back(cell("event_time")->ToString(),
                      std::static_pointer_cast<arrow::Int64Scalar>(cell("version"))->value,
                      std::static_pointer_cast<arrow::BooleanScalar>(cell("deleted"))->value,
                      value->is_valid ? value->ToString() : "");
  }
  return rows;
}

// History rows are in (event time, version, order): the last of each event time wins.
std::vector<HistoryRow> TieWinners(const std::vector<HistoryRow>& rows) {
  std::vector<HistoryRow> out;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i + 1 < rows.size() && std::get<0>(rows[i + 1]) == std::get<0>(rows[i])) continue;
    out.push_back(rows[i]);
  }
  return out;
}

// Appends, puts, deletes and compactions (random segment durations, small
// target files); late events land before every base. After each commit every
// version is compared with the oracle.
TEST_P(CompactOracleTest, CompactionNeverChangesAScan) {
  std::mt19937_64 rng(5000 + GetParam());
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
  const int64_t day = 86400000, t0 = Ms("2024-01-01");
  const int64_t keys = 3 + pick(20), days = 5 + pick(60);
  auto storage = MemStorage();
  // Two seeds in three write row groups of 1 to 4 rows (write.row_group_rows):
  // compacted bases and deltas in many row groups, which keyed reads prune.
  std::map<std::string, std::string> props;
  if (GetParam() % 3 != 0) props["write.row_group_rows"] = std::to_string(1 + GetParam() % 4);
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema(), props));
  std::vector<OracleEvent> events;
  const int commits = 6 + static_cast<int>(pick(8));
  int compactions = 0;
  for (int64_t v = 1; v <= commits; ++v) {
    ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
    const int kind = static_cast<int>(pick(6));
    if (kind >= 4 && v > 1) {
      CompactOptions o;
      // 0: auto (segments cut by event counts).
      o.segment_duration_us = pick(3) == 0 ? 0 : (1 + pick(days / 2 + 1)) * day * 1000;
      o.target_file_bytes = pick(2) ? 1 : 1 << 30;  // 1: a new file after every row group
      o.threads = 1 + static_cast<int>(pick(2));
      // Small segments and a rewrite every time: the layouts under test.
      o.min_segment_rows = 1;
      o.force = true;
      ASSERT_OK_AND_ASSIGN(auto r, Compact(table, o));
      ASSERT_TRUE(r.committed);
      ASSERT_EQ(r.version.value(), v);
      ++compactions;
      // History keeps each event's own version; only tie losers go.
      ASSERT_OK_AND_ASSIGN(auto compacted, Table::Open(storage));
      for (int64_t k = 0; k < keys; ++k) {
        const std::vector<std::pair<std::string, std::string>> key = {{"", "k" + std::to_string(k)}};
        ASSERT_OK_AND_ASSIGN(auto old_history, KeyHistory(*compacted, key, Version(v - 1)));
        ASSERT_OK_AND_ASSIGN(auto new_history, KeyHistory(*compacted, key, Version(v)));
        EXPECT_EQ(HistoryRows(*new_history), TieWinners(HistoryRows(*old_history))) << "seed " << GetParam();
      }
    } else if (kind < 2) {
      std::vector<Ev> rows;
      for (int64_t i = 0, n = 1 + pick(40); i < n; ++i) {
        // Ties on (key, time) are frequent: few keys, day-granular times.
        Ev e{"k" + std::to_string(pick(keys)), t0 + pick(days) * day,
             "v" + std::to_string(v) + "." + std::to_string(i), pick(6) == 0};
        if (e.deleted) e.value.clear();
        rows.push_back(e);
        events.push_back({e, v, i});
      }
      AppendOptions o;
      o.chunk_rows = 1 + pick(30);
      ASSERT_OK_AND_ASSIGN(auto r, Append(table, *AppendInput(rows, 7), o));
      ASSERT_EQ(r.version.value(), v);
    } else {
      Ev e{"k" + std::to_string(pick(keys)), t0 + pick(days) * day, "put" + std::to_string(v), kind == 3};
      if (e.deleted) e.value.clear();
      PutRequest req{{{"", e.key}}, FormatEventTime(EventTime::FromMicros(e.ms * 1000)), {}, e.deleted};
      if (!e.deleted) req.values = {{"value", e.value}};
      ASSERT_OK_AND_ASSIGN(auto r, Put(table, req));
      ASSERT_EQ(r.version.value(), v);
      events.push_back({e, v, 0});
    }
    // Every commit, compactions included, leaves a table that validates.
    ValidateOptions vo;
    vo.version = Version(v);
    vo.deep = true;
    ASSERT_OK_AND_ASSIGN(auto report, ValidateTable(storage, vo));
    for (const auto& p : report.problems) ADD_FAILURE() << "seed " << GetParam() << ": " << p.ToString();
    ASSERT_OK_AND_ASSIGN(auto reopened, Table::Open(storage));
    for (int64_t version = 0; version <= v; ++version) {
      for (int probe = 0; probe < 5; ++probe) {
        const int64_t t = probe == 0 ? INT64_MAX / 1000 : t0 + pick(days + 2) * day - pick(2) - day;
        std::optional<int64_t> as_of = probe == 0 ? std::nullopt : std::optional<int64_t>(t);
        ASSERT_OK_AND_ASSIGN(auto got, ScanKv(reopened, as_of, version, 1 + static_cast<int>(pick(2))));
        ASSERT_EQ(got, Oracle(events, t, version)) << "seed " << GetParam() << " after commit " << v
                                                   << " version " << version << " T " << t;
      }
    }
  }
  RecordProperty("compactions", compactions);
}

INSTANTIATE_TEST_SUITE_P(RandomCommits, CompactOracleTest, ::testing::Range(1, 31));

std::shared_ptr<Table> TableWithPuts(std::shared_ptr<io::Storage> storage, int n) {
  auto table = CreateTable(storage, KvSchema()).ValueOrDie();
  for (int i = 0; i < n; ++i) {
    PutRequest req{{{"", "k" + std::to_string(i % 7)}},
                   FormatEventTime(EventTime::FromMicros((Ms("2024-01-01") + i * 3600000LL) * 1000)),
                   {{"value", "v" + std::to_string(i)}},
                   false};
    table = Table::Open(storage).ValueOrDie();
    EXPECT_TRUE(Put(table, req).ok());
  }
  return Table::Open(storage).ValueOrDie();
}

TEST(CompactTest, LayoutAfterCompaction) {
  auto storage = MemStorage();
  auto table = TableWithPuts(storage, 100);  // 100 hourly events over ~4 days
  ASSERT_OK_AND_ASSIGN(auto before, LatestReadCost(*table->current_snapshot()));
  EXPECT_EQ(before.deltas, 100);
  EXPECT_TRUE(before.compaction_advised);
  EXPECT_NE(before.reason.find("100 delta files"), std::string::npos) << before.reason;

  CompactOptions o;
  o.segment_duration_us = 86400LL * 1000000;
  ASSERT_OK_AND_ASSIGN(auto r, Compact(table, o));
  ASSERT_TRUE(r.committed);
  EXPECT_EQ(r.files_read, 100);
  EXPECT_EQ(r.events_written, 100);
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  const auto& snap = *table->current_snapshot();
  EXPECT_EQ(snap.commit->operation, "compact");
  EXPECT_EQ(snap.commit->files_removed.size(), 100u);
  // Segment 0 (from the table's creation) plus one per day with events.
  ASSERT_EQ(snap.segments.size(), 1u + 5u);
  for (size_t i = 0; i + 1 < snap.segments.size(); ++i) {
    ASSERT_TRUE(snap.segments[i].end.has_value());
    EXPECT_EQ(snap.segments[i].end->micros() + 1, snap.segments[i + 1].start.micros());
  }
  EXPECT_FALSE(snap.segments.back().end.has_value());
  for (size_t i = 0; i < snap.segments.size(); ++i) {
    const auto& s = snap.segments[i];
    for (const auto& d : s.deltas) {
      EXPECT_GE(d.start->micros(), s.start.micros());
      if (s.end) {
        EXPECT_LE(d.end->micros(), s.end->micros());
      }
      EXPECT_EQ(d.version->value(), 100);
    }
    // A base is the state at its start: one row per key with an event before.
    if (i >= 2) {
      ASSERT_TRUE(s.base.has_value()) << i;
      EXPECT_EQ(s.base->rows, 7);
      EXPECT_EQ(s.base->version->value(), 100);
      EXPECT_LE(s.base->end->micros(), s.start.micros());
    }
  }
  ASSERT_OK_AND_ASSIGN(auto after, LatestReadCost(snap));
  EXPECT_EQ(after.files, 2);  // the last base and the last segment's delta
  EXPECT_FALSE(after.compaction_advised);
}

TEST(CompactTest, AutoSegmentsHoldAboutAsManyEventsAsKeys) {
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema()));
  // 10 keys, one event per key per day for 50 days.
  std::vector<Ev> rows;
  for (int d = 0; d < 50; ++d) {
    for (int k = 0; k < 10; ++k) rows.push_back({"k" + std::to_string(k), Ms("2024-01-01") + d * 86400000LL, "x", false});
  }
  ASSERT_OK(Append(table, *AppendInput(rows)).status());
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  CompactOptions o;
  o.min_segment_rows = 1;  // auto, without the minimum segment size
  ASSERT_OK_AND_ASSIGN(auto r, Compact(table, o));
  ASSERT_TRUE(r.committed);
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  const auto& segs = table->current_snapshot()->segments;
  // About one segment per 10 events: 50 of them, plus the creation segment
  // that ends where the first cut falls.
  EXPECT_GE(segs.size(), 45u);
  EXPECT_LE(segs.size(), 52u);
  EXPECT_LE(r.base_rows, 500 + 10);
  ASSERT_OK_AND_ASSIGN(auto cost, LatestReadCost(*table->current_snapshot()));
  EXPECT_LE(cost.rows, 2 * 10 + 10);
}

// Appends `n` monthly events of each of `keys` keys (the shape of the
// issue's 564-row stocks table), one append per key.
std::shared_ptr<Table> MonthlyTable(std::shared_ptr<io::Storage> storage, int keys, int months) {
  auto table = CreateTable(storage, KvSchema()).ValueOrDie();
  for (int k = 0; k < keys; ++k) {
    std::vector<Ev> rows;
    for (int m = 0; m < months; ++m) {
      rows.push_back({"k" + std::to_string(k), Ms("2000-01-01") + m * 30LL * 86400000LL, "x" + std::to_string(m), false});
    }
    EXPECT_TRUE(Append(Table::Open(storage).ValueOrDie(), *AppendInput(rows)).ok());
  }
  return Table::Open(storage).ValueOrDie();
}

TEST(CompactTest, SmallTableCompactsToOneSegmentAndOnlyOnce) {
  auto storage = MemStorage();
  auto table = MonthlyTable(storage, 5, 113);  // 565 events, 5 appends
  ASSERT_OK_AND_ASSIGN(auto r, Compact(table));
  ASSERT_TRUE(r.committed);
  EXPECT_FALSE(r.nothing_to_compact);
  EXPECT_EQ(r.segments, 1);  // was 113: a segment per 5 events, each with a base
  EXPECT_EQ(r.bases, 0);
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  EXPECT_EQ(table->current_version().value(), 6);
  ASSERT_OK_AND_ASSIGN(auto cost, LatestReadCost(*table->current_snapshot()));
  EXPECT_EQ(cost.files, 1);
  // Again: nothing would improve, so nothing is committed.
  ASSERT_OK_AND_ASSIGN(auto again, Compact(table));
  EXPECT_FALSE(again.committed);
  EXPECT_TRUE(again.nothing_to_compact);
  EXPECT_NE(again.reason.find("already compacted"), std::string::npos) << again.reason;
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  EXPECT_EQ(table->current_version().value(), 6);
  // A table of one append is as compact as compaction would make it.
  auto single = MonthlyTable(MemStorage(), 1, 40);
  ASSERT_OK_AND_ASSIGN(auto one, Compact(single));
  EXPECT_TRUE(one.nothing_to_compact) << one.segments;
}

TEST(CompactTest, CompactedTablesAreNotRewrittenUntilWrittenTo) {
  const int64_t durations[] = {0, 60 * 86400000000LL};  // auto, then 60 days
  for (int64_t duration : durations) {
    auto storage = MemStorage();
    auto table = MonthlyTable(storage, 10, 60);
    CompactOptions o;
    o.min_segment_rows = 1;
    o.segment_duration_us = duration;
    ASSERT_OK_AND_ASSIGN(auto r, Compact(table, o));
    ASSERT_TRUE(r.committed);
    EXPECT_GT(r.segments, 10);
    EXPECT_GT(r.bases, 10);
    ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
    const int64_t v = table->current_version().value();
    ASSERT_OK_AND_ASSIGN(auto again, Compact(table, o));
    EXPECT_TRUE(again.nothing_to_compact) << duration;
    EXPECT_FALSE(again.committed);
    o.dry_run = true;
    ASSERT_OK_AND_ASSIGN(auto dry, Compact(table, o));
    EXPECT_TRUE(dry.nothing_to_compact);
    o.dry_run = false;
    o.force = true;
    ASSERT_OK_AND_ASSIGN(auto forced, Compact(table, o));
    EXPECT_TRUE(forced.committed);
    o.force = false;
    ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
    EXPECT_EQ(table->current_version().value(), v + 1);
    // A late event written since: compaction folds it in.
    ASSERT_OK(Append(table, *AppendInput({{"k3", Ms("2000-02-15"), "late", false}})).status());
    ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
    ASSERT_OK_AND_ASSIGN(auto late, Compact(table, o));
    EXPECT_TRUE(late.committed) << late.reason;
    ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
    ASSERT_OK_AND_ASSIGN(auto got, ScanKv(table, Ms("2000-02-20"), std::nullopt, 1));
    EXPECT_EQ(got["k3"].second, "late");
  }
}

TEST(CompactTest, DryRunWritesNothingAndEmptyTableHasNothingToDo) {
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto empty, CreateTable(storage, KvSchema()));
  ASSERT_OK_AND_ASSIGN(auto none, Compact(empty));
  EXPECT_FALSE(none.committed);
  EXPECT_TRUE(none.nothing_to_compact);
  EXPECT_EQ(none.files_read, 0);
  storage = MemStorage();
  auto table = TableWithPuts(storage, 10);
  CompactOptions o;
  o.dry_run = true;
  ASSERT_OK_AND_ASSIGN(auto r, Compact(table, o));
  EXPECT_FALSE(r.committed);
  EXPECT_EQ(r.files_read, 10);
  ASSERT_OK_AND_ASSIGN(auto reopened, Table::Open(storage));
  EXPECT_EQ(reopened->current_version().value(), 10);
}

TEST(CompactTest, RefusesLegacyTablesAndAbsurdSegmentCounts) {
  ASSERT_OK_AND_ASSIGN(auto legacy, Table::Open(std::string(BAZOF_FIXTURES_DIR) + "/azof-0.2", "table0"));
  auto r = Compact(legacy);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kInvalidArgument);
  EXPECT_NE(r.status().message().find("does not rewrite it"), std::string::npos);

  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema()));
  ASSERT_OK(Append(table, *AppendInput({{"a", Ms("2024-01-01"), "x", false}, {"b", Ms("2024-01-02"), "y", false}}))
                .status());
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  CompactOptions o;
  o.segment_duration_us = 1;  // 1 µs segments over a day of events
  auto tiny = Compact(table, o);
  ASSERT_FALSE(tiny.ok());
  EXPECT_EQ(ErrorKindOf(tiny.status()), ErrorKind::kInvalidArgument);
  EXPECT_NE(tiny.status().message().find("--segment-duration"), std::string::npos);
}

TEST(CompactTest, LosesTheRaceWithConflict) {
  auto storage = MemStorage();
  auto table = TableWithPuts(storage, 5);
  // Another writer commits after `table` was opened.
  ASSERT_OK_AND_ASSIGN(auto other, Table::Open(storage));
  PutRequest req{{{"", "late"}}, "2023-01-01", {{"value", "x"}}, false};
  ASSERT_OK(Put(other, req).status());
  auto r = Compact(table);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kConflict);
  ASSERT_OK_AND_ASSIGN(auto reopened, Table::Open(storage));
  EXPECT_EQ(reopened->current_snapshot()->commit->operation, "put");
}

TEST(CompactTest, AutoCompactionPolicyIsReadFromProperties) {
  Snapshot snap;
  snap.format_version = 1;
  snap.schema = KvSchema();
  Segment seg;
  seg.id = "seg-0";
  seg.start = EventTime::FromMicros(0);
  for (int i = 0; i < 3; ++i) {
    DataFileRef d;
    d.path = "data/" + std::to_string(i) + ".parquet";
    d.start = d.end = EventTime::FromMicros(i);
    d.version = Version(i + 1);
    d.rows = 10;
    seg.deltas.push_back(d);
  }
  snap.segments.push_back(seg);
  ASSERT_OK_AND_ASSIGN(auto cost, LatestReadCost(snap));
  EXPECT_EQ(cost.deltas, 3);
  EXPECT_DOUBLE_EQ(cost.read_amplification, 3.0);
  EXPECT_FALSE(cost.compaction_advised);
  snap.properties["compaction.max_deltas"] = "2";
  ASSERT_OK_AND_ASSIGN(cost, LatestReadCost(snap));
  EXPECT_TRUE(cost.compaction_advised);
  snap.properties = {{"compaction.max_read_amplification", "2.5"}};
  ASSERT_OK_AND_ASSIGN(cost, LatestReadCost(snap));
  EXPECT_TRUE(cost.compaction_advised);
  EXPECT_NE(cost.reason.find("3.0 rows per row"), std::string::npos) << cost.reason;
}

TEST(CompactTest, AutoCompactionAfterCommitsWhenThePolicySaysSo) {
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema()));
  // Version 1 only sets properties (as `bazof alter set-property` does).
  Snapshot props = *table->current_snapshot();
  props.version = Version(1);
  props.properties = {{"compaction.auto", "true"}, {"compaction.max_deltas", "3"}};
  ASSERT_OK(write::CommitSnapshot(*storage, props));
  std::vector<OracleEvent> events;
  std::vector<int64_t> compacted;
  for (int i = 0; i < 9; ++i) {
    ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
    Ev e{"k" + std::to_string(i % 4), Ms("2024-01-01") + i * 86400000LL, "v" + std::to_string(i), false};
    PutRequest req{{{"", e.key}}, FormatEventTime(EventTime::FromMicros(e.ms * 1000)), {{"value", e.value}}, false};
    ASSERT_OK_AND_ASSIGN(auto r, Put(table, req));
    EXPECT_TRUE(r.auto_compaction_error.empty()) << r.auto_compaction_error;
    events.push_back({e, r.version.value(), 0});
    if (r.compacted_version) compacted.push_back(r.compacted_version->value());
  }
  // Every fourth delta file read by a latest scan triggers a compaction.
  ASSERT_FALSE(compacted.empty());
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  ASSERT_OK_AND_ASSIGN(auto cost, LatestReadCost(*table->current_snapshot()));
  EXPECT_LE(cost.deltas, 3);
  for (int64_t v : compacted) {
    ASSERT_OK_AND_ASSIGN(auto snap, table->SnapshotAt(Version(v)));
    EXPECT_EQ(snap->commit->operation, "compact");
  }
  for (int day = 0; day < 10; ++day) {
    const int64_t t = Ms("2024-01-01") + day * 86400000LL;
    ASSERT_OK_AND_ASSIGN(auto got, ScanKv(table, t, std::nullopt, 1));
    // Events are numbered by their put's version; compactions add none.
    EXPECT_EQ(got, Oracle(events, t, table->current_version().value())) << day;
  }
}

}  // namespace
}  // namespace bazof::testing

// Validity intervals and changes (include/bazof/views.h) on hand-made tables.
#include <arrow/api.h>
#include <arrow/json/from_string.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "bazof/error.h"
#include "bazof/views.h"
#include "bazof/write.h"
#include "read/changes_keys.h"
#include "read/views_util.h"
#include "table_builder.h"
#include "test_util.h"

namespace bazof::testing {
namespace {

// Rows as "cell|cell|..."; timestamps (ms in KvSchema) as "2024-01-01", nulls "-".
std::vector<std::string> Rows(const std::shared_ptr<Scan>& scan) {
  auto table = scan->ToTable();
  EXPECT_TRUE(table.ok()) << table.status().ToString();
  std::vector<std::string> out;
  if (!table.ok()) return out;
  auto t = *(*table)->CombineChunks();
  for (int64_t r = 0; r < t->num_rows(); ++r) {
    std::string row;
    for (int c = 0; c < t->num_columns(); ++c) {
      auto s = *t->column(c)->GetScalar(r);
      std::string cell;
      if (!s->is_valid) {
        cell = "-";
      } else if (s->type->id() == arrow::Type::TIMESTAMP) {
        cell = FormatEventTime(EventTime::FromMicros(static_cast<const arrow::TimestampScalar&>(*s).value * 1000))
                   .substr(0, 10);
      } else {
        cell = s->ToString();
      }
      row += (c ? "|" : "") + cell;
    }
    out.push_back(row);
  }
  return out;
}

EventTime T(const char* iso) { return EventTime::FromMicros(Ms(iso) * 1000); }

// a: two events; b: a tombstone between two events; c: a tie won by v2;
// d: two equal consecutive values; e: inserted by version 2.
std::shared_ptr<Table> Sample() {
  TableBuilder b;
  EXPECT_TRUE(b.AddDelta(1, {{"a", Ms("2024-01-01"), "a1"}, {"a", Ms("2024-03-01"), "a2"},
                             {"b", Ms("2024-02-01"), "b1"}, {"b", Ms("2024-04-01"), "", true},
                             {"b", Ms("2024-05-01"), "b2"}, {"c", Ms("2024-01-01"), "c-v1"},
                             {"d", Ms("2024-01-01"), "x"}, {"d", Ms("2024-02-01"), "x"},
                             {"d", Ms("2024-03-01"), "y"}})
                  .ok());
  EXPECT_TRUE(b.Commit(1).ok());
  EXPECT_TRUE(b.AddDelta(2, {{"c", Ms("2024-01-01"), "c-v2"}, {"e", Ms("2024-03-15"), "e1"}}).ok());
  EXPECT_TRUE(b.Commit(2).ok());
  return *b.Open();
}

TEST(IntervalsTest, OneRowPerEventTombstonesCloseIntervals) {
  auto t = Sample();
  ASSERT_OK_AND_ASSIGN(auto scan, MakeIntervals(*t, {}));
  EXPECT_EQ(scan->schema()->ToString(),
            "key: string not null\nvalid_from: timestamp[ms, tz=UTC] not null\n"
            "valid_to: timestamp[ms, tz=UTC]\nvalue: string");
  EXPECT_EQ(Rows(scan), (std::vector<std::string>{
                            "a|2024-01-01|2024-03-01|a1", "a|2024-03-01|-|a2", "b|2024-02-01|2024-04-01|b1",
                            "b|2024-05-01|-|b2", "c|2024-01-01|-|c-v2", "d|2024-01-01|2024-02-01|x",
                            "d|2024-02-01|2024-03-01|x", "d|2024-03-01|-|y", "e|2024-03-15|-|e1"}));
}

TEST(IntervalsTest, VersionCoalesceAndOverlapWindow) {
  auto t = Sample();
  IntervalOptions o;
  o.version = Version(1);
  o.coalesce = true;
  ASSERT_OK_AND_ASSIGN(auto v1, MakeIntervals(*t, o));
  EXPECT_EQ(Rows(v1), (std::vector<std::string>{"a|2024-01-01|2024-03-01|a1", "a|2024-03-01|-|a2",
                                                "b|2024-02-01|2024-04-01|b1", "b|2024-05-01|-|b2",
                                                "c|2024-01-01|-|c-v1", "d|2024-01-01|2024-03-01|x",
                                                "d|2024-03-01|-|y"}));
  // [Mar 1, May 1): an interval ending exactly at start, or starting exactly
  // at end, does not overlap; times are not clipped.
  IntervalOptions w;
  w.start = T("2024-03-01");
  w.end = T("2024-05-01");
  ASSERT_OK_AND_ASSIGN(auto window, MakeIntervals(*t, w));
  EXPECT_EQ(Rows(window), (std::vector<std::string>{"a|2024-03-01|-|a2", "b|2024-02-01|2024-04-01|b1",
                                                    "c|2024-01-01|-|c-v2", "d|2024-03-01|-|y",
                                                    "e|2024-03-15|-|e1"}));
}

TEST(IntervalsTest, FilterOnValidToAndBadInput) {
  auto t = Sample();
  IntervalOptions o;
  o.filter = arrow::compute::is_null(arrow::compute::field_ref("valid_to"));
  o.columns = std::vector<std::string>{};
  ASSERT_OK_AND_ASSIGN(auto current, MakeIntervals(*t, o));
  EXPECT_EQ(Rows(current), (std::vector<std::string>{"a|2024-03-01|-", "b|2024-05-01|-", "c|2024-01-01|-",
                                                     "d|2024-03-01|-", "e|2024-03-15|-"}));
  IntervalOptions bad;
  bad.start = T("2024-02-01");
  bad.end = T("2024-02-01");
  EXPECT_EQ(ErrorKindOf(MakeIntervals(*t, bad).status()), ErrorKind::kInvalidArgument);
  IntervalOptions unknown;
  unknown.filter = arrow::compute::equal(arrow::compute::field_ref("nope"), arrow::compute::literal(1));
  EXPECT_EQ(ErrorKindOf(MakeIntervals(*t, unknown).status()), ErrorKind::kInvalidArgument);
}

TEST(ChangesTest, BetweenTwoEventTimes) {
  auto t = Sample();
  ChangeOptions o;
  o.from_time = T("2024-02-15");
  o.to_time = T("2024-04-15");
  ASSERT_OK_AND_ASSIGN(auto scan, MakeChanges(*t, o));
  EXPECT_EQ(scan->schema()->field_names(),
            (std::vector<std::string>{"key", "kind", "old_event_time", "new_event_time", "old_value", "new_value"}));
  EXPECT_EQ(Rows(scan), (std::vector<std::string>{"a|update|2024-01-01|2024-03-01|a1|a2",
                                                  "b|delete|2024-02-01|-|b1|-",
                                                  "d|update|2024-02-01|2024-03-01|x|y",
                                                  "e|insert|-|2024-03-15|-|e1"}));
  // Reversed points swap the roles; an event exactly at T counts (inclusive).
  std::swap(o.from_time, o.to_time);
  ASSERT_OK_AND_ASSIGN(auto back, MakeChanges(*t, o));
  EXPECT_EQ(Rows(back)[3], "e|delete|2024-03-15|-|e1|-");
  ChangeOptions same;
  same.from_time = T("2024-01-01");
  same.to_time = T("2024-02-01");  // d's new event repeats its value: no change
  ASSERT_OK_AND_ASSIGN(auto jan, MakeChanges(*t, same));
  EXPECT_EQ(Rows(jan), (std::vector<std::string>{"b|insert|-|2024-02-01|-|b1"}));
}

TEST(ChangesTest, BetweenTwoVersionsAtOneTime) {
  auto t = Sample();
  ChangeOptions o;
  o.from_time = o.to_time = T("2024-03-20");
  o.from_version = Version(1);
  o.to_version = Version(2);
  ASSERT_OK_AND_ASSIGN(auto scan, MakeChanges(*t, o));
  EXPECT_EQ(Rows(scan), (std::vector<std::string>{"c|update|2024-01-01|2024-01-01|c-v1|c-v2",
                                                  "e|insert|-|2024-03-15|-|e1"}));
  o.from_time = o.to_time = T("2024-03-01");  // before e's event
  o.batch_size = 1;                            // every row its own batch
  ASSERT_OK_AND_ASSIGN(auto small, MakeChanges(*t, o));
  EXPECT_EQ(Rows(small), (std::vector<std::string>{"c|update|2024-01-01|2024-01-01|c-v1|c-v2"}));
  o.from_version = Version(7);
  EXPECT_EQ(ErrorKindOf(MakeChanges(*t, o).status()), ErrorKind::kNotFound);
}

// The key side of changes holds its candidates, winners and values within
// three quarters of the memory budget; beyond that the same answer comes
// from the streaming merge-join.
TEST(ChangesTest, KeySideBeyondItsBudgetFallsBackToTheMergeJoin) {
  ::setenv("BAZOF_MEMORY_LIMIT_MINIMUM", "1KiB", 1);  // lets a budget of 64 KiB be set
  TableSchema schema = KvSchema();
  schema.event_time.type = arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");  // the key side's type
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, schema, {{"memory.limit", "64KiB"}}));
  const int64_t t0 = Ms("2024-01-01"), hour = 3600 * 1000;
  auto key = [](int i) {
    std::string k = std::to_string(i);
    return "k" + std::string(5 - k.size(), '0') + k;
  };
  for (int v = 1; v <= 3; ++v) {
    std::vector<Ev> rows;
    for (int i = 0; i < 3000; ++i) {
      if (v == 3 && i % 10 != 0) continue;  // version 3 changes every tenth key
      rows.push_back({key(i), t0 + v * hour, "v" + std::to_string(v)});
    }
    ASSERT_OK_AND_ASSIGN(auto r, Append(table, *AppendInput(rows)));
    ASSERT_EQ(r.version.value(), v);
  }
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  const EventTime at = EventTime::FromMicros((t0 + 5 * hour) * 1000);
  std::vector<std::string> want;
  for (int i = 0; i < 3000; i += 10) want.push_back(key(i) + "|update|v2|v3");

  // Versions 2 -> 3 share two of their three files: the key side applies.
  ASSERT_OK_AND_ASSIGN(auto v2, table->SnapshotAt(Version(2)));
  ASSERT_OK_AND_ASSIGN(auto v3, table->SnapshotAt(Version(3)));
  ASSERT_OK_AND_ASSIGN(auto shape2, read::MakeScanShape(*v2, {0}));
  ASSERT_OK_AND_ASSIGN(auto shape3, read::MakeScanShape(*v3, {0}));
  const read::ChangesPoint from{v2, at, shape2}, to{v3, at, shape3};
  ASSERT_TRUE(read::KeySideApplies(from, to));
  ASSERT_OK_AND_ASSIGN(auto winners, read::FindChangedWinners(*table->storage(), table->footer_cache().get(), from,
                                                              to, {}, true, 2, 512LL << 20));
  ASSERT_EQ(winners.keys[0]->length(), 300);
  // 3000 keys' candidates (8-byte keys, three 8-byte fields) exceed 48 KiB.
  auto over = read::FindChangedWinners(*table->storage(), table->footer_cache().get(), from, to, {}, true, 2,
                                        64 << 10);
  EXPECT_TRUE(over.status().IsCapacityError()) << over.status().ToString();

  // The table's memory.limit (64 KiB) is the budget of changes: it answers
  // through the merge-join, with the rows the workload changed.
  ChangeOptions o;
  o.from_time = o.to_time = at;
  o.from_version = Version(2);
  o.to_version = Version(3);
  // The option overrides the property: 1 GiB holds the key side, 64 KiB not.
  for (auto [batch, limit] : {std::pair{int64_t{7}, int64_t{0}}, std::pair{int64_t{64 * 1024}, int64_t{0}},
                              std::pair{int64_t{64 * 1024}, int64_t{1} << 30},
                              std::pair{int64_t{5}, int64_t{64} << 10}}) {
    o.batch_size = batch;
    o.memory_limit_bytes = limit;
    ASSERT_OK_AND_ASSIGN(auto scan, MakeChanges(*table, o));
    std::vector<std::string> got;  // key, kind and values (Rows() shows times as milliseconds)
    for (const auto& row : Rows(scan)) {
      std::vector<std::string> cells;
      for (size_t at = 0, bar; at != std::string::npos; at = bar == std::string::npos ? bar : bar + 1) {
        bar = row.find('|', at);
        cells.push_back(row.substr(at, bar == std::string::npos ? bar : bar - at));
      }
      got.push_back(cells[0] + "|" + cells[1] + "|" + cells[4] + "|" + cells[5]);
    }
    EXPECT_EQ(got, want) << batch << " " << limit;
  }
  // A split's key range, on both paths: keys k00100 .. k00199 only.
  std::vector<std::string> part(want.begin() + 10, want.begin() + 20);
  o.encoded_key_lower = "k00100";
  o.encoded_key_upper = "k00200";
  for (int64_t limit : {int64_t{0}, int64_t{1} << 30, int64_t{64} << 10}) {
    o.memory_limit_bytes = limit;
    ASSERT_OK_AND_ASSIGN(auto scan, MakeChanges(*table, o));
    std::vector<std::string> got;
    for (const auto& row : Rows(scan)) {
      const auto bar = row.find('|');
      got.push_back(row.substr(0, bar) + "|update|v2|v3");
    }
    EXPECT_EQ(got, part) << limit;
  }
  ::unsetenv("BAZOF_MEMORY_LIMIT_MINIMUM");
}

std::shared_ptr<arrow::Array> Json(const std::shared_ptr<arrow::DataType>& type, const std::string& json) {
  return arrow::json::ArrayFromJSONString(type, json).ValueOrDie();
}

TEST(ViewsUtilTest, CellsEqualNullsAndNaN) {
  auto d = Json(arrow::float64(), "[1.5, NaN, null, 1.5, NaN, null, 0]");
  EXPECT_TRUE(read::CellsEqual(*d, 0, *d, 3));
  EXPECT_TRUE(read::CellsEqual(*d, 1, *d, 4));   // NaN equals NaN
  EXPECT_TRUE(read::CellsEqual(*d, 2, *d, 5));   // null equals null
  EXPECT_FALSE(read::CellsEqual(*d, 2, *d, 6));  // null is not 0
  EXPECT_FALSE(read::CellsEqual(*d, 0, *d, 1));
  auto s = Json(arrow::utf8(), R"(["a", "a", "b"])")->Slice(1);  // offsets count
  EXPECT_TRUE(read::CellsEqual(*s, 0, *Json(arrow::utf8(), R"(["a"])"), 0));
  EXPECT_FALSE(read::CellsEqual(*s, 0, *s, 1));
  auto i = Json(arrow::int32(), "[7, 8, 7]")->Slice(1);
  EXPECT_TRUE(read::CellsEqual(*i, 1, *Json(arrow::int32(), "[7]"), 0));
  EXPECT_FALSE(read::CellsEqual(*i, 0, *i, 1));
}

}  // namespace
}  // namespace bazof::testing

// The as-of join against the oracle: random workloads (late events, ties,
// tombstones, compactions), every version, spines with duplicates, absent
// keys, early times and nulls; plus the errors it names.
#include <gtest/gtest.h>

#include <arrow/compute/api.h>
#include <arrow/io/memory.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>

#include <random>

#include "bazof/compact.h"
#include "bazof/error.h"
#include "bazof/join.h"
#include "bazof/write.h"
#include "counting_storage.h"
#include "metadata/table_files.h"
#include "paged_workload.h"
#include "read/run_reader.h"
#include "table_builder.h"
#include "test_util.h"

namespace bazof::testing {
namespace {

struct SpineRow {
  std::optional<std::string> key;
  std::optional<int64_t> ms;
};

std::shared_ptr<arrow::Table> SpineTable(const std::vector<SpineRow>& rows,
                                         std::shared_ptr<arrow::DataType> time_type =
                                             arrow::timestamp(arrow::TimeUnit::MILLI, "UTC")) {
  arrow::StringBuilder keys;
  arrow::TimestampBuilder times(arrow::timestamp(arrow::TimeUnit::MILLI, "UTC"), arrow::default_memory_pool());
  arrow::Int64Builder ids;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].key) (void)keys.Append(*rows[i].key);
    else (void)keys.AppendNull();
    if (rows[i].ms) (void)times.Append(*rows[i].ms);
    else (void)times.AppendNull();
    (void)ids.Append(static_cast<int64_t>(i));
  }
  std::shared_ptr<arrow::Array> k, t, id;
  (void)keys.Finish(&k);
  (void)times.Finish(&t);
  (void)ids.Finish(&id);
  if (!time_type->Equals(*t->type())) t = arrow::compute::Cast(*t, time_type).ValueOrDie();
  auto schema = arrow::schema({arrow::field("id", arrow::int64()), arrow::field("key", arrow::utf8()),
                               arrow::field("ts", time_type)});
  return arrow::Table::Make(schema, {id, k, t});
}

// Checks a join's output against Oracle(events, t, v) row by row.
void ExpectMatchesOracle(const arrow::Table& got, const std::vector<SpineRow>& spine,
                         const std::vector<OracleEvent>& events, int64_t version, const std::string& context) {
  ASSERT_EQ(got.num_rows(), static_cast<int64_t>(spine.size())) << context;
  ASSERT_EQ(got.num_columns(), 5) << context;
  ASSERT_EQ(got.schema()->field(3)->name(), "event_time");
  ASSERT_EQ(got.schema()->field(4)->name(), "value");
  if (spine.empty()) return;
  auto t = got.CombineChunks().ValueOrDie();
  const auto& ids = static_cast<const arrow::Int64Array&>(*t->column(0)->chunk(0));
  const auto& et = static_cast<const arrow::TimestampArray&>(*t->column(3)->chunk(0));
  const auto& val = static_cast<const arrow::StringArray&>(*t->column(4)->chunk(0));
  for (size_t i = 0; i < spine.size(); ++i) {
    ASSERT_EQ(ids.Value(i), static_cast<int64_t>(i)) << context << ": spine order";
    std::optional<std::pair<int64_t, std::string>> want;
    if (spine[i].key && spine[i].ms) {
      auto state = Oracle(events, *spine[i].ms, version);
      auto it = state.find(*spine[i].key);
      if (it != state.end()) want = it->second;
    }
    if (!want) {
      EXPECT_TRUE(et.IsNull(i) && val.IsNull(i)) << context << " row " << i;
    } else {
      ASSERT_FALSE(et.IsNull(i)) << context << " row " << i << " key " << *spine[i].key << " t " << *spine[i].ms;
      EXPECT_EQ(et.Value(i), want->first) << context << " row " << i;
      EXPECT_EQ(val.GetString(i), want->second) << context << " row " << i;
    }
  }
}

// Joins `spine` (on "ts") against `table` as of `version` on `threads` threads.
arrow::Result<std::shared_ptr<arrow::Table>> JoinSpine(const std::shared_ptr<const Table>& table,
                                                       const std::vector<SpineRow>& spine, int64_t version,
                                                       int threads) {
  JoinAsOfOptions jo;
  jo.on = "ts";
  jo.version = Version(version);
  jo.threads = threads;
  ARROW_ASSIGN_OR_RAISE(auto join, JoinAsOfBuilder(table, SpineTable(spine)).Options(jo).Build());
  return join->ToTable();
}

// Joins `spine` against `table` as of `version` on `threads` threads and
// checks the output against the oracle.
void JoinAndExpectOracle(const std::shared_ptr<const Table>& table, const std::vector<SpineRow>& spine,
                         const std::vector<OracleEvent>& events, int64_t version, int threads,
                         const std::string& context) {
  ASSERT_OK_AND_ASSIGN(auto got, JoinSpine(table, spine, version, threads));
  ExpectMatchesOracle(*got, spine, events, version, context);
}

// ExpectMatchesOracle for long spines whose times come from a small set:
// the oracle is asked once per time (`states` keeps its answers), and the
// matched event times are compared in ms whatever the table's unit. Adds the
// rows that found an event to `matched`.
void ExpectMatchesCachedOracle(const arrow::Table& joined, const std::vector<SpineRow>& spine,
                               const std::vector<OracleEvent>& events, int64_t version,
                               std::map<int64_t, KvState>* states, const std::string& context, int64_t* matched) {
  ASSERT_EQ(joined.num_rows(), static_cast<int64_t>(spine.size())) << context;
  ASSERT_OK_AND_ASSIGN(auto got, joined.CombineChunks());
  const auto& ids = static_cast<const arrow::Int64Array&>(*got->column(0)->chunk(0));
  ASSERT_OK_AND_ASSIGN(auto et_ms, arrow::compute::Cast(got->column(3)->chunk(0),
                                                          arrow::timestamp(arrow::TimeUnit::MILLI, "UTC")));
  const auto et_array = et_ms.make_array();
  const auto& et = static_cast<const arrow::TimestampArray&>(*et_array);
  const auto& val = static_cast<const arrow::StringArray&>(*got->column(4)->chunk(0));
  for (size_t i = 0; i < spine.size(); ++i) {
    ASSERT_EQ(ids.Value(i), static_cast<int64_t>(i)) << context << ": spine order";
    const KvState* state = nullptr;
    if (spine[i].ms) {
      auto [at, added] = states->try_emplace(*spine[i].ms);
      if (added) at->second = Oracle(events, *spine[i].ms, version);
      state = &at->second;
    }
    auto it = state && spine[i].key ? state->find(*spine[i].key) : KvState::const_iterator();
    if (!state || !spine[i].key || it == state->end()) {
      ASSERT_TRUE(et.IsNull(i) && val.IsNull(i)) << context << ", row " << i;
      continue;
    }
    ++*matched;
    ASSERT_FALSE(et.IsNull(i)) << context << ", row " << i;
    ASSERT_EQ(et.Value(i), it->second.first) << context << ", row " << i;
    ASSERT_EQ(val.GetString(i), it->second.second) << context << ", row " << i;
  }
}

// A spine of 200,000 rows is sorted in slices on 2 and 3 threads, merged
// (an odd slice count leaves one to the last round): the answers are the
// oracle's, row for row, and those of one thread.
TEST(JoinAsOfLargeSpineTest, SlicedSortMatchesTheOracle) {
  std::mt19937_64 rng(4242);
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
  const int64_t day = 86400000, t0 = Ms("2024-01-01"), keys = 40, days = 30;
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema()));
  std::vector<OracleEvent> events;
  for (int64_t v = 1; v <= 4; ++v) {
    std::vector<Ev> rows;
    for (int64_t i = 0; i < 300; ++i) {
      Ev e{"k" + std::to_string(pick(keys)), t0 + pick(days) * day, "v" + std::to_string(v) + "." + std::to_string(i),
           pick(6) == 0};
      if (e.deleted) e.value.clear();
      rows.push_back(e);
      events.push_back({e, v, i});
    }
    ASSERT_OK_AND_ASSIGN(auto r, Append(table, *AppendInput(rows, 7), AppendOptions{}));
    ASSERT_EQ(r.version.value(), v);
    ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  }
  // Keys (some absent, some null) and times (before, on and between events)
  // from small sets, so the oracle is asked once per time.
  std::vector<SpineRow> spine(200000);
  std::map<int64_t, KvState> state;
  for (auto& r : spine) {
    if (pick(50) != 0) r.key = "k" + std::to_string(pick(keys + 5));
    r.ms = t0 + (pick(days + 4) - 2) * day + (pick(3) - 1);
  }
  std::shared_ptr<arrow::Table> one;
  for (const int threads : {1, 2, 3}) {
    JoinAsOfOptions jo;
    jo.on = "ts";
    jo.threads = threads;
    ASSERT_OK_AND_ASSIGN(auto join, JoinAsOfBuilder(table, SpineTable(spine)).Options(jo).Build());
    ASSERT_OK_AND_ASSIGN(auto got, join->ToTable());
    int64_t matched = 0;
    ASSERT_NO_FATAL_FAILURE(ExpectMatchesCachedOracle(*got, spine, events, 4, &state,
                                                      std::to_string(threads) + " threads", &matched));
    EXPECT_GT(matched, 100000) << threads << " threads";  // most rows find an event
    if (one) {
      EXPECT_TRUE(got->Equals(*one)) << threads << " threads";
    } else {
      one = got;
    }
  }
}

class JoinAsOfOracleTest : public ::testing::TestWithParam<int> {};

TEST_P(JoinAsOfOracleTest, EveryVersionMatchesTheOracle) {
  std::mt19937_64 rng(7000 + GetParam());
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
  const int64_t day = 86400000, t0 = Ms("2024-01-01");
  const int64_t keys = 3 + pick(20), days = 3 + pick(30);
  auto storage = MemStorage();
  // Two seeds in three write row groups of 1 to 4 rows (appends and
  // compactions alike): many row groups per file for the pruning to skip.
  std::map<std::string, std::string> props;
  if (GetParam() % 3 != 0) props["write.row_group_rows"] = std::to_string(1 + GetParam() % 4);
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema(), props));
  std::vector<OracleEvent> events;
  const int commits = 3 + static_cast<int>(pick(8));
  for (int64_t v = 1; v <= commits; ++v) {
    ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
    if (v > 2 && pick(4) == 0) {
      CompactOptions co;
      co.segment_duration_us = (1 + pick(5)) * day * 1000;
      co.threads = 1 + static_cast<int>(pick(2));
      ASSERT_OK_AND_ASSIGN(auto r, Compact(table, co));
      if (r.committed) ASSERT_EQ(r.version.value(), v);
      else --v;
      continue;
    }
    std::vector<Ev> rows;
    for (int64_t i = 0, n = 1 + pick(40); i < n; ++i) {
      // Times on a coarse grid so that ties (same key and time) are common.
      Ev e{"k" + std::to_string(pick(keys)), t0 + pick(days) * day, "v" + std::to_string(v) + "." + std::to_string(i),
           pick(5) == 0};
      if (e.deleted) e.value.clear();
      rows.push_back(e);
      events.push_back({e, v, i});
    }
    AppendOptions o;
    o.chunk_rows = 1 + pick(30);
    ASSERT_OK_AND_ASSIGN(auto r, Append(table, *AppendInput(rows, 7), o));
    ASSERT_EQ(r.version.value(), v);
  }
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  const int64_t current = table->current_version().value();
  for (int64_t version = 0; version <= current; ++version) {
    std::vector<SpineRow> spine;
    for (int64_t i = 0, n = pick(60); i < n; ++i) {
      SpineRow r;
      if (pick(12) != 0) r.key = "k" + std::to_string(pick(keys + 3));  // some keys absent
      if (pick(12) != 0) r.ms = t0 + (pick(days + 4) - 2) * day + (pick(3) - 1);  // before, on, after events
      spine.push_back(r);
      if (pick(6) == 0) spine.push_back(r);  // duplicates
    }
    JoinAsOfOptions jo;
    jo.on = "ts";
    jo.version = Version(version);
    jo.threads = 1 + static_cast<int>(pick(2));
    jo.batch_size = 1 + pick(50);
    ASSERT_OK_AND_ASSIGN(auto join, JoinAsOfBuilder(table, SpineTable(spine)).Options(jo).Build());
    ASSERT_OK_AND_ASSIGN(auto got, join->ToTable());
    ExpectMatchesOracle(*got, spine, events, version,
                        "seed " + std::to_string(GetParam()) + " version " + std::to_string(version));
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, JoinAsOfOracleTest, ::testing::Range(0, 25));

// "key-00042": names that sort as their numbers.
std::string KeyName(int64_t k) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "key-%05d", static_cast<int>(k));
  return std::string(buf);
}

// One commit (`v`) of many keys: each of `keys` keys (one in `share` of
// them) 1 to `most` times, on a day of `days` plus 0 to `jitter` - 1
// seconds (ties within and across commits), one event in nine a tombstone;
// recorded in `events` for the oracle.
std::vector<Ev> ManyKeysCommit(std::mt19937_64& rng, int64_t v, int64_t keys, int64_t share, int64_t most,
                               int64_t days, int64_t jitter, std::vector<OracleEvent>* events) {
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
  const int64_t day = 86400000, t0 = Ms("2024-01-01");
  std::vector<Ev> rows;
  for (int64_t k = 0; k < keys; ++k) {
    if (share > 1 && pick(share) != 0) continue;
    for (int64_t i = 0, n = 1 + pick(most); i < n; ++i) {
      Ev e{KeyName(k), t0 + pick(days) * day + pick(jitter) * 1000, "v" + std::to_string(v) + "." + std::to_string(rows.size()),
           pick(9) == 0};
      if (e.deleted) e.value.clear();
      events->push_back({e, v, static_cast<int64_t>(rows.size())});
      rows.push_back(e);
    }
  }
  return rows;
}

// Many distinct keys, as W1's compacted files hold them (so the key columns
// are written plain, not as a dictionary) or few (a dictionary), files cut
// into time segments by compaction and then overlapped by late appends: the
// walk's key runs, its skipping of files older than a row's candidate, and
// both ways of reading keys, against the oracle over dense spines.
class JoinAsOfDenseOracleTest : public ::testing::TestWithParam<int> {};

TEST_P(JoinAsOfDenseOracleTest, SegmentedFilesAndDenseSpinesMatchTheOracle) {
  std::mt19937_64 rng(8300 + GetParam());
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
  const int64_t day = 86400000, t0 = Ms("2024-01-01");
  const bool many_keys = GetParam() % 2 == 0;
  const int64_t keys = many_keys ? 300 + pick(200) : 5 + pick(10), days = 20 + pick(20);
  auto key = KeyName;
  auto storage = MemStorage();
  std::map<std::string, std::string> props;
  props["write.row_group_rows"] = std::to_string(16 + pick(200));
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema(), props));
  std::vector<OracleEvent> events;
  const int commits = 3 + static_cast<int>(pick(4));
  for (int64_t v = 1; v <= commits; ++v) {
    ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
    if (v == commits - 1 || (v > 1 && pick(3) == 0)) {
      CompactOptions co;
      co.segment_duration_us = (2 + pick(6)) * day * 1000;
      co.threads = 1 + static_cast<int>(pick(2));
      ASSERT_OK_AND_ASSIGN(auto r, Compact(table, co));
      if (r.committed) continue;
    }
    // Every key once or twice per commit; times on a coarse grid (ties
    // within and across commits), a few of them late.
    const auto rows = ManyKeysCommit(rng, v, keys, 1, 2, days, 2, &events);
    ASSERT_OK_AND_ASSIGN(auto r, Append(table, *AppendInput(rows), AppendOptions()));
    v = r.version.value();
  }
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  const int64_t current = table->current_version().value();
  for (int64_t version : {current, 1 + pick(current)}) {
    std::vector<SpineRow> spine;
    for (int64_t i = 0, n = 2 * keys + pick(keys); i < n; ++i) {
      SpineRow r;
      r.key = key(pick(keys + 5));  // a few absent
      r.ms = t0 + (pick(days + 4) - 2) * day + (pick(3) - 1) * 1000;  // before, on, after events
      if (pick(50) == 0) r.ms.reset();
      spine.push_back(r);
    }
    JoinAndExpectOracle(table, spine, events, version, 1 + static_cast<int>(pick(2)),
                        "seed " + std::to_string(GetParam()) + " version " + std::to_string(version));
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, JoinAsOfDenseOracleTest, ::testing::Range(0, 12));

// Keys written plain (more distinct keys in a row group than a compacted
// page has rows), as W1's are: their key side is decoded by Parquet's column
// readers (RowGroupAccess::ReadPlainKeyRuns), a run per key and row group,
// the event time converted from the column's unit. Row groups of 700 rows,
// so keys straddle them; a late append overlaps the segments; event times in
// ms, us (the key side's times are then the column's: phase 2 does not
// decode them) and ns.
class JoinAsOfPlainKeyTest : public ::testing::TestWithParam<arrow::TimeUnit::type> {};

TEST_P(JoinAsOfPlainKeyTest, PlainKeysMatchTheOracle) {
  std::mt19937_64 rng(9900 + static_cast<int>(GetParam()));
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
  const int64_t day = 86400000, t0 = Ms("2024-01-01"), keys = 1500, days = 24;
  auto key = KeyName;
  auto storage = MemStorage();
  TableSchema schema = KvSchema();
  schema.event_time.type = arrow::timestamp(GetParam(), "UTC");
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, schema, {{"write.row_group_rows", "700"}}));
  std::vector<OracleEvent> events;
  auto append = [&](int64_t v, int64_t share) {
    const auto rows = ManyKeysCommit(rng, v, keys, share, 3, days, 3, &events);
    ASSERT_OK_AND_ASSIGN(auto r, Append(table, *AppendInput(rows), AppendOptions()));
    ASSERT_EQ(r.version.value(), v);
    ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  };
  append(1, 1);
  append(2, 1);
  CompactOptions co;
  co.segment_duration_us = 5 * day * 1000;
  ASSERT_OK_AND_ASSIGN(auto compacted, Compact(table, co));
  ASSERT_TRUE(compacted.committed);
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  append(4, 3);  // late events over the compacted segments

  // The compacted files' key chunks are plain: the path under test.
  ASSERT_OK_AND_ASSIGN(auto snap, metadata::ReadSnapshotFile(*storage, 3));
  int64_t plain = 0, groups = 0;
  for (const auto* f : snap->AllFiles()) {
    ASSERT_OK_AND_ASSIGN(auto bytes, storage->ReadFile(f->path));
    auto reader = parquet::ParquetFileReader::Open(
        std::make_shared<arrow::io::BufferReader>(arrow::Buffer::FromString(std::move(bytes))));
    auto md = reader->metadata();
    for (int rg = 0; rg < md->num_row_groups(); ++rg, ++groups) {
      if (!md->RowGroup(rg)->ColumnChunk(0)->has_dictionary_page()) ++plain;
    }
  }
  ASSERT_GT(plain, 4) << "of " << groups << " row groups";

  for (int64_t version : {int64_t{3}, int64_t{4}}) {
    for (int threads : {1, 2}) {
      std::vector<SpineRow> spine;
      for (int64_t i = 0; i < 3 * keys; ++i) {
        SpineRow r;
        r.key = key(pick(keys + 20));  // a few absent
        r.ms = t0 + (pick(days + 4) - 2) * day + (pick(5) - 2) * 1000;  // before, on, after events
        spine.push_back(r);
      }
      const std::string context = "unit " + std::to_string(static_cast<int>(GetParam())) + " version " +
                                  std::to_string(version) + " threads " + std::to_string(threads);
      ASSERT_OK_AND_ASSIGN(auto got, JoinSpine(table, spine, version, threads));
      std::map<int64_t, KvState> states;
      int64_t matched = 0;
      ASSERT_NO_FATAL_FAILURE(ExpectMatchesCachedOracle(*got, spine, events, version, &states, context, &matched));
      EXPECT_GT(matched, static_cast<int64_t>(spine.size()) / 2) << context;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Units, JoinAsOfPlainKeyTest,
                         ::testing::Values(arrow::TimeUnit::MILLI, arrow::TimeUnit::MICRO, arrow::TimeUnit::NANO));

// Files in many small row groups, so a key's events straddle row-group
// boundaries; keys that share their first 8 bytes or are prefixes of one
// another ("c", "customer", "customer-1", "customer-10"), so every branch of
// the key comparison runs; ties across and within files.
class JoinAsOfRowGroupOracleTest : public ::testing::TestWithParam<int> {};

TEST_P(JoinAsOfRowGroupOracleTest, SmallRowGroupsAndSharedPrefixesMatchTheOracle) {
  std::mt19937_64 rng(9100 + GetParam());
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
  const int64_t day = 86400000, t0 = Ms("2024-01-01");
  const int64_t days = 3 + pick(20);
  std::vector<std::string> names = {"c", "cu", "customer", "customer-1", "customer-10", "customer-2",
                                    "customerX", "customers-long-name-1", "customers-long-name-2", "d"};
  const int64_t keys = 3 + pick(static_cast<int64_t>(names.size()) - 2);
  TableBuilder b;
  b.AddSegment(t0);
  std::vector<OracleEvent> events;
  const int commits = 2 + static_cast<int>(pick(5));
  for (int64_t v = 1; v <= commits; ++v) {
    std::vector<Ev> batch;
    for (int64_t i = 0, n = 1 + pick(60); i < n; ++i) {
      Ev e{names[pick(keys)], t0 + pick(days) * day, "v" + std::to_string(v) + "." + std::to_string(i),
           pick(6) == 0};
      if (e.deleted) e.value.clear();
      events.push_back({e, v, i});
      batch.push_back(e);
    }
    ASSERT_OK(b.AddDelta(v, batch, 0, /*row_group_rows=*/1 + pick(5)));
    ASSERT_OK(b.Commit(v));
  }
  ASSERT_OK_AND_ASSIGN(auto table, b.Open());
  for (int64_t version = 1; version <= commits; ++version) {
    std::vector<SpineRow> spine;
    for (int64_t i = 0, n = 1 + pick(80); i < n; ++i) {
      SpineRow r;
      r.key = pick(8) == 0 ? std::string("customer-") : names[pick(static_cast<int64_t>(names.size()))];
      r.ms = t0 + (pick(days + 2) - 1) * day + (pick(3) - 1);
      spine.push_back(r);
    }
    JoinAndExpectOracle(table, spine, events, version, 1 + static_cast<int>(pick(3)),
                        "seed " + std::to_string(GetParam()) + " version " + std::to_string(version));
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, JoinAsOfRowGroupOracleTest, ::testing::Range(0, 30));

// Many small row groups over interleaved keys, so a join reads many row
// groups of every file: on high-latency storage (object stores) their
// ranges merge into a few requests per file, with the same answers as on
// local storage; spines hitting all keys, a few keys, or absent keys only.
class JoinAsOfCoalescingTest : public ::testing::TestWithParam<int> {};

TEST_P(JoinAsOfCoalescingTest, FewRequestsPerFileAndTheOraclesAnswers) {
  std::mt19937_64 rng(4400 + GetParam());
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
  const int64_t day = 86400000, t0 = Ms("2024-01-01");
  auto storage = std::make_shared<CountingStorage>(MemStorage());
  TableBuilder b(storage);
  b.AddSegment(t0);
  std::vector<OracleEvent> events;
  const int files = 3;
  for (int64_t v = 1; v <= files; ++v) {
    std::vector<Ev> batch;
    for (int64_t i = 0; i < 400; ++i) {
      // Values of ~1 KB of random letters: a row group's values are more
      // than the 8 KiB apart that local reads still merge.
      std::string value = "v" + std::to_string(v) + "." + std::to_string(i) + ":";
      for (int c = 0; c < 1000; ++c) value += static_cast<char>('a' + pick(26));
      Ev e{"k" + std::to_string(1000 + pick(200)), t0 + pick(30) * day, value, pick(7) == 0};
      if (e.deleted) e.value.clear();
      events.push_back({e, v, i});
      batch.push_back(e);
    }
    ASSERT_OK(b.AddDelta(v, batch, 0, /*row_group_rows=*/10 + pick(15)));  // 17 to 40 row groups
    ASSERT_OK(b.Commit(v));
  }
  ASSERT_OK_AND_ASSIGN(auto table, b.Open());
  for (int shape = 0; shape < 3; ++shape) {
    std::vector<SpineRow> spine;
    const int64_t pool = shape == 0 ? 200 : shape == 1 ? 3 : 0;
    for (int64_t i = 0; i < 300; ++i) {
      SpineRow r;
      r.key = pool > 0 ? "k" + std::to_string(1000 + pick(pool) * (200 / pool)) : "absent" + std::to_string(pick(5));
      r.ms = t0 + (pick(32) - 1) * day + (pick(3) - 1);
      spine.push_back(r);
    }
    std::vector<int64_t> reads;
    for (bool high_latency : {false, true}) {
      storage->set_high_latency(high_latency);
      JoinAsOfOptions jo;
      jo.on = "ts";
      jo.threads = 1 + static_cast<int>(pick(2));
      ASSERT_OK_AND_ASSIGN(auto join, JoinAsOfBuilder(table, SpineTable(spine)).Options(jo).Build());
      ASSERT_OK(join->ToTable().status());  // footers now in the table's cache
      storage->Reset();
      ASSERT_OK_AND_ASSIGN(auto got, join->ToTable());
      reads.push_back(storage->reads());
      ExpectMatchesOracle(*got, spine, events, files,
                          "seed " + std::to_string(GetParam()) + " shape " + std::to_string(shape) +
                              (high_latency ? " high latency" : " local"));
    }
    storage->set_high_latency(false);
    if (shape == 2) {
      EXPECT_EQ(reads[0], 0);  // no file holds an absent key: none is opened
      EXPECT_EQ(reads[1], 0);
    } else {
      // Key side, then values: at most one request each per file (every
      // file's row groups fit one call, kReadRows).
      EXPECT_LE(reads[1], 2 * files) << "shape " << shape;
      EXPECT_LT(reads[1], reads[0]) << "shape " << shape;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, JoinAsOfCoalescingTest, ::testing::Range(0, 4));

// A spine of no more rows than a file holds, over files of disjoint event
// times (as compaction lays them out) overlapped by a late one: each file is
// asked only for the keys of rows that may still find their candidate there,
// against the oracle. Then spines after every event, sparse and dense: each
// row's candidate is in one of the two latest files, so the older ones are
// never opened, which removing them from storage proves.
class JoinAsOfSparseOracleTest : public ::testing::TestWithParam<int> {};

TEST_P(JoinAsOfSparseOracleTest, FilesNoRowNeedsAreNotReadAndAnswersMatchTheOracle) {
  std::mt19937_64 rng(5100 + GetParam());
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
  const int64_t day = 86400000, t0 = Ms("2024-01-01");
  const int64_t keys = 20 + pick(60), windows = 4 + pick(3);
  auto key = [&](int64_t k) { return "k" + std::to_string(100 + k); };
  auto storage = std::make_shared<CountingStorage>(MemStorage());
  storage->set_high_latency(GetParam() % 2 == 1);  // object storage chooses pages for every key
  TableBuilder b(storage);
  b.AddSegment(t0);
  std::vector<OracleEvent> events;
  std::vector<std::string> paths;  // per version
  for (int64_t v = 1; v <= windows + 1; ++v) {
    std::vector<Ev> batch;
    const bool late = v == windows + 1;  // a few events back in every window
    for (int64_t k = 0; k < keys; ++k) {
      for (int64_t i = 0, n = late ? (k == 0) + pick(2) : 1 + pick(2); i < n; ++i) {
        // The late file reaches into the latest window (key 0's first event).
        const int64_t w = !late ? v - 1 : k == 0 && i == 0 ? windows - 1 : pick(windows);
        Ev e{key(k), t0 + (10 * w + pick(10)) * day + pick(2) * 1000, "v" + std::to_string(v), pick(7) == 0};
        if (e.deleted) e.value.clear();
        events.push_back({e, v, static_cast<int64_t>(batch.size())});
        batch.push_back(e);
      }
    }
    // Written sorted by (key, event time), as format-1 files are; the
    // oracle's ranks follow the written order.
    std::sort(batch.begin(), batch.end(),
              [](const Ev& a, const Ev& c) { return std::tie(a.key, a.ms) < std::tie(c.key, c.ms); });
    for (size_t i = 0; i < batch.size(); ++i) {
      events[events.size() - batch.size() + i] = {batch[i], v, static_cast<int64_t>(i)};
    }
    ASSERT_OK(b.AddDelta(v, batch, 0, /*row_group_rows=*/4 + pick(12), /*page_rows=*/2 + pick(6)));
    ASSERT_OK(b.Commit(v));
    paths.push_back(b.snapshot().segments[0].deltas.back().path);
  }
  ASSERT_OK_AND_ASSIGN(auto table, b.Open());
  const int64_t version = windows + 1;
  for (int round = 0; round < 4; ++round) {
    std::vector<SpineRow> spine;
    for (int64_t i = 0, n = 1 + pick(keys); i < n; ++i) {
      SpineRow r;
      r.key = key(pick(keys + 3));  // a few absent
      r.ms = t0 + (pick(10 * windows + 2) - 1) * day + (pick(3) - 1) * 1000;
      spine.push_back(r);
    }
    JoinAndExpectOracle(table, spine, events, version, 1 + static_cast<int>(pick(2)),
                        "seed " + std::to_string(GetParam()) + " round " + std::to_string(round));
  }
  // After every event: the two files with the latest events are the latest
  // window's (which holds an event of every key, later than every event of
  // the older windows' files) and the late one. One worker walks files
  // latest first, so after those two every row has a candidate later than
  // what any older file holds.
  // Both for a spine of fewer rows than a file and for one of more rows
  // than any file (whose times then fall in no older file's range); keys the
  // table holds only (a key with no event in the latest files must be looked
  // up in the older ones).
  std::vector<SpineRow> sparse, dense;
  for (int64_t i = 0, n = 1 + pick(keys); i < n; ++i) {
    sparse.push_back(SpineRow{key(pick(keys)), t0 + (10 * windows + pick(5)) * day});
  }
  for (int64_t i = 0, n = 5 * keys; i < n; ++i) {
    dense.push_back(SpineRow{key(pick(keys)), t0 + (10 * windows + pick(5)) * day + pick(1000)});
  }
  for (size_t v = 0; v + 1 < paths.size() - 1; ++v) {
    // Every file but the latest window's and the late one.
    ASSERT_OK(storage->DeleteFile(paths[v]));
  }
  JoinAndExpectOracle(table, sparse, events, version, 1, "seed " + std::to_string(GetParam()) + " older files removed");
  JoinAndExpectOracle(table, dense, events, version, 1,
                      "seed " + std::to_string(GetParam()) + " older files removed, dense spine");
}

INSTANTIATE_TEST_SUITE_P(Seeds, JoinAsOfSparseOracleTest, ::testing::Range(0, 16));

// RowGroupAccess: values taken across row groups in calls of any size equal
// the rows of a whole read; key sides of non-adjacent row groups read in one
// call equal those read one row group at a time.
TEST(RowGroupAccessTest, TakeValuesAndReadKeysAcrossRowGroups) {
  std::mt19937_64 rng(77);
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
  TableBuilder b;
  const int64_t t0 = Ms("2024-01-01");
  std::vector<Ev> batch;
  for (int64_t i = 0; i < 200; ++i) {
    batch.push_back(Ev{"k" + std::to_string(100 + i / 3), t0 + (i % 3) * 1000, "v" + std::to_string(i), pick(9) == 0});
    if (batch.back().deleted) batch.back().value.clear();
  }
  ASSERT_OK(b.AddDelta(1, batch, 0, /*row_group_rows=*/7));
  ASSERT_OK(b.Commit(1));
  ASSERT_OK_AND_ASSIGN(auto table, b.Open());
  auto snap = table->current_snapshot();
  ASSERT_OK_AND_ASSIGN(auto shape, read::MakeScanShape(*snap, {0}));
  planning::PlannedFile planned;
  planned.ref = snap->segments[0].deltas[0];
  ASSERT_OK_AND_ASSIGN(auto opened, read::OpenDataFile(*b.storage(), planned, *shape));
  ASSERT_OK_AND_ASSIGN(auto access, read::RowGroupAccess::Make(*b.storage(), opened, *shape));
  const int groups = opened->metadata->num_row_groups();
  ASSERT_EQ(groups, (200 + 6) / 7);
  EXPECT_EQ(access->RowGroupStart(groups), 200);
  for (int round = 0; round < 20; ++round) {
    std::vector<int64_t> rows;
    for (int64_t r = 0; r < 200; ++r) {
      if (pick(5) == 0) rows.push_back(r);
    }
    ASSERT_OK_AND_ASSIGN(auto got, access->TakeValues(rows, 1 + pick(40)));
    ASSERT_EQ(got.columns.size(), 2u);
    ASSERT_EQ(got.columns[1]->length(), static_cast<int64_t>(rows.size()));
    ASSERT_TRUE(got.deleted);
    const auto& value = static_cast<const arrow::StringArray&>(*got.columns[1]);
    const auto& et = static_cast<const arrow::TimestampArray&>(*got.columns[0]);
    const auto& deleted = static_cast<const arrow::BooleanArray&>(*got.deleted);
    for (size_t i = 0; i < rows.size(); ++i) {
      // The file holds the batch sorted by (key, time): row r is batch[r].
      const Ev& e = batch[rows[i]];
      EXPECT_EQ(deleted.Value(i), e.deleted) << "row " << rows[i];
      EXPECT_EQ(et.Value(i), e.ms) << "row " << rows[i];
      if (!e.deleted) {
        EXPECT_EQ(value.GetString(i), e.value) << "row " << rows[i];
      }
    }
    std::vector<int> some;
    for (int rg = 0; rg < groups; ++rg) {
      if (pick(3) != 0) some.push_back(rg);
    }
    for (const auto& call : access->Batches(some, 1 + pick(30))) {
      ASSERT_OK_AND_ASSIGN(auto together, access->ReadKeys(call));
      int64_t at = 0;
      for (int rg : call) {
        ASSERT_OK_AND_ASSIGN(auto alone, access->ReadKeys({rg}));
        for (int64_t i = 0; i < alone->end; ++i, ++at) {
          ASSERT_EQ(together->keys.views[at], alone->keys.views[i]);
          ASSERT_EQ(together->event_micros[at], alone->event_micros[i]);
        }
      }
      EXPECT_EQ(at, together->end);
    }
  }
  ASSERT_OK_AND_ASSIGN(auto none, access->TakeValues({}, 10));
  EXPECT_EQ(none.columns.size(), 2u);
  EXPECT_EQ(none.columns[0]->length(), 0);
}

// Files of many small data pages (write.page_rows 1 to 8, row groups of 8
// to 64 rows; appended and compacted files alike), so the join's values are
// read page by page through the page index: answers equal the oracle's for
// sparse spines (few rows per row group: page reads) and dense ones (whole
// chunks), with keys absent, ties, tombstones and rows at page edges.
class JoinAsOfPageOracleTest : public ::testing::TestWithParam<int> {};

TEST_P(JoinAsOfPageOracleTest, SmallPagesMatchTheOracle) {
  std::mt19937_64 rng(5300 + GetParam());
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
  const int64_t day = 86400000, t0 = Ms("2024-01-01");
  auto storage = std::make_shared<CountingStorage>(MemStorage());
  // Page bytes merged as on object storage (1 MiB apart) or locally (8 KiB).
  storage->set_high_latency((GetParam() / 8) % 2 == 1);
  ASSERT_OK_AND_ASSIGN(auto w, WritePagedWorkload(storage, 1 + GetParam() % 8, rng));
  auto table = w.table;
  const auto& events = w.events;
  const int64_t keys = w.keys, days = w.days;
  const int64_t current = table->current_version().value();
  for (int64_t version = 1; version <= current; ++version) {
    for (const int64_t spine_rows : {3, 12, 400}) {
      std::vector<SpineRow> spine;
      for (int64_t i = 0; i < spine_rows; ++i) {
        SpineRow r;
        r.key = "k" + std::to_string(pick(keys + 2));  // some keys absent
        r.ms = t0 + (pick(days + 4) - 2) * day + (pick(3) - 1);  // before, on, after events
        spine.push_back(r);
      }
      JoinAsOfOptions jo;
      jo.on = "ts";
      jo.version = Version(version);
      jo.threads = 1 + static_cast<int>(pick(2));
      ASSERT_OK_AND_ASSIGN(auto join, JoinAsOfBuilder(table, SpineTable(spine)).Options(jo).Build());
      ASSERT_OK_AND_ASSIGN(auto got, join->ToTable());
      ExpectMatchesOracle(*got, spine, events, version,
                          "seed " + std::to_string(GetParam()) + " version " + std::to_string(version) +
                              " spine " + std::to_string(spine_rows));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, JoinAsOfPageOracleTest, ::testing::Range(0, 32));

// RowGroupAccess over pages of 1 to 8 rows: rows taken page by page (few
// per row group, rows at the first and last row of pages) or whole (many)
// equal the file's rows, and the page route is taken when few pages hold
// the rows.
TEST(RowGroupAccessTest, TakeValuesPageByPage) {
  for (int page_rows = 1; page_rows <= 8; ++page_rows) {
    std::mt19937_64 rng(300 + page_rows);
    auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
    TableBuilder b;
    const int64_t t0 = Ms("2024-01-01");
    std::vector<Ev> batch;
    for (int64_t i = 0; i < 500; ++i) {
      batch.push_back(
          Ev{"k" + std::to_string(100 + i / 5), t0 + (i % 5) * 1000, "v" + std::to_string(i), pick(7) == 0});
      if (batch.back().deleted) batch.back().value.clear();
    }
    const int64_t rg_rows = 8 * page_rows + pick(3 * page_rows);
    ASSERT_OK(b.AddDelta(1, batch, 0, rg_rows, page_rows));
    ASSERT_OK(b.Commit(1));
    ASSERT_OK_AND_ASSIGN(auto table, b.Open());
    auto snap = table->current_snapshot();
    ASSERT_OK_AND_ASSIGN(auto shape, read::MakeScanShape(*snap, {0}));
    planning::PlannedFile planned;
    planned.ref = snap->segments[0].deltas[0];
    ASSERT_OK_AND_ASSIGN(auto opened, read::OpenDataFile(*b.storage(), planned, *shape));
    ASSERT_OK_AND_ASSIGN(auto access, read::RowGroupAccess::Make(*b.storage(), opened, *shape));
    for (int round = 0; round < 30; ++round) {
      std::vector<int64_t> rows;
      const int64_t every = round % 3 == 0 ? 2 : 40;  // dense: whole chunks; sparse: pages
      for (int64_t r = 0; r < 500; ++r) {
        const bool page_edge = r % page_rows == 0 || r % page_rows == page_rows - 1;
        if (pick(every) == 0 || (page_edge && pick(4 * every) == 0)) rows.push_back(r);
      }
      ASSERT_OK_AND_ASSIGN(auto got, access->TakeValues(rows, 1 + pick(200)));
      ASSERT_EQ(got.columns.size(), 2u);
      ASSERT_EQ(got.columns[1]->length(), static_cast<int64_t>(rows.size()));
      ASSERT_TRUE(got.deleted);
      const auto& value = static_cast<const arrow::StringArray&>(*got.columns[1]);
      const auto& et = static_cast<const arrow::TimestampArray&>(*got.columns[0]);
      const auto& deleted = static_cast<const arrow::BooleanArray&>(*got.deleted);
      for (size_t i = 0; i < rows.size(); ++i) {
        const Ev& e = batch[rows[i]];
        ASSERT_EQ(deleted.Value(i), e.deleted) << "page rows " << page_rows << " row " << rows[i];
        ASSERT_EQ(et.Value(i), e.ms) << "page rows " << page_rows << " row " << rows[i];
        if (!e.deleted) {
          ASSERT_EQ(value.GetString(i), e.value) << "page rows " << page_rows << " row " << rows[i];
        }
      }
    }
    EXPECT_GT(access->row_groups_read_by_pages(), 0) << "page rows " << page_rows;
  }
}

class JoinAsOfTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage_ = MemStorage();
    ASSERT_OK_AND_ASSIGN(table_, CreateTable(storage_, KvSchema()));
    std::vector<Ev> rows = {{"a", Ms("2024-01-02"), "a2"},
                            {"a", Ms("2024-01-05"), "a5"},
                            {"b", Ms("2024-01-03"), "b3"},
                            {"b", Ms("2024-01-04"), "", true}};
    ASSERT_OK_AND_ASSIGN(auto r, Append(table_, *AppendInput(rows)));
    ASSERT_OK_AND_ASSIGN(table_, Table::Open(storage_));
  }
  std::shared_ptr<io::Storage> storage_;
  std::shared_ptr<Table> table_;
};

TEST_F(JoinAsOfTest, TimeColumnOfAnyUnitOrDate) {
  std::vector<SpineRow> spine = {{"a", Ms("2024-01-04")}, {"b", Ms("2024-01-03")}, {"b", Ms("2024-01-04")}};
  for (auto type : {arrow::timestamp(arrow::TimeUnit::SECOND), arrow::timestamp(arrow::TimeUnit::NANO, "Europe/Paris"),
                    arrow::date32(), arrow::date64()}) {
    JoinAsOfOptions o;
    o.on = "ts";
    ASSERT_OK_AND_ASSIGN(auto join, JoinAsOfBuilder(table_, SpineTable(spine, type)).Options(o).Build());
    ASSERT_OK_AND_ASSIGN(auto got, join->ToTable());
    auto value = std::static_pointer_cast<arrow::StringArray>(got->column(4)->chunk(0));
    EXPECT_EQ(value->GetString(0), "a2") << type->ToString();
    EXPECT_EQ(value->GetString(1), "b3") << type->ToString();
    EXPECT_TRUE(value->IsNull(2)) << type->ToString();  // tombstone
  }
}

TEST_F(JoinAsOfTest, NanosecondsFloorToTheEventMicrosecond) {
  // 1 ns before 2024-01-02 sees nothing; exactly at it sees a2.
  auto ns = arrow::timestamp(arrow::TimeUnit::NANO, "UTC");
  arrow::TimestampBuilder b(ns, arrow::default_memory_pool());
  const int64_t at = Ms("2024-01-02") * 1000000;
  ASSERT_OK(b.AppendValues({at - 1, at}));
  arrow::StringBuilder k;
  ASSERT_OK(k.AppendValues({"a", "a"}));
  auto spine = arrow::Table::Make(arrow::schema({arrow::field("key", arrow::utf8()), arrow::field("ts", ns)}),
                                  {k.Finish().ValueOrDie(), b.Finish().ValueOrDie()});
  JoinAsOfOptions o;
  o.on = "ts";
  ASSERT_OK_AND_ASSIGN(auto join, JoinAsOfBuilder(table_, spine).Options(o).Build());
  ASSERT_OK_AND_ASSIGN(auto got, join->ToTable());
  auto matched = got->column(2)->chunk(0);  // event_time (the spine has no id column here)
  EXPECT_TRUE(matched->IsNull(0));
  EXPECT_FALSE(matched->IsNull(1));
}

// The matched event time is the table's column exactly, whatever its unit:
// for timestamp[us] it is taken from the key side (not decoded again), for
// other units (stored in another unit, or not as micros) read with the values.
// Events one microsecond or nanosecond apart, several row groups and pages.
TEST(JoinAsOfEventTimeUnitTest, MatchedEventTimesAreTheColumnsValues) {
  for (auto unit : {arrow::TimeUnit::MICRO, arrow::TimeUnit::NANO, arrow::TimeUnit::MILLI}) {
    const auto type = arrow::timestamp(unit, "UTC");
    const int64_t per_us = unit == arrow::TimeUnit::NANO ? 1000 : 1;
    const int64_t per_ms = unit == arrow::TimeUnit::MILLI ? 1 : 1000 * per_us;
    TableSchema schema = KvSchema();
    schema.event_time.type = type;
    auto storage = MemStorage();
    std::map<std::string, std::string> props;
    props["write.row_group_rows"] = "64";
    ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, schema, props));
    std::mt19937_64 rng(91 + static_cast<int>(unit));
    // Per key, events at base + i ms + a sub-millisecond part (whole
    // microseconds: data files hold event times to the microsecond).
    const int64_t base = Ms("2024-01-01") * per_ms;
    arrow::StringBuilder keys, values;
    arrow::TimestampBuilder times(type, arrow::default_memory_pool());
    std::map<std::string, std::vector<std::pair<int64_t, std::string>>> events;
    for (int k = 0; k < 40; ++k) {
      const std::string key = "k" + std::to_string(100 + k);
      for (int i = 0; i < 8; ++i) {
        int64_t t = base + i * per_ms;
        if (unit != arrow::TimeUnit::MILLI) t += static_cast<int64_t>(rng() % 999) * per_us;
        const std::string v = key + "." + std::to_string(i);
        ASSERT_OK(keys.Append(key));
        ASSERT_OK(times.Append(t));
        ASSERT_OK(values.Append(v));
        events[key].emplace_back(t, v);
      }
    }
    auto input = arrow::Table::Make(
        arrow::schema({arrow::field("key", arrow::utf8()), arrow::field("event_time", type),
                       arrow::field("value", arrow::utf8())}),
        {keys.Finish().ValueOrDie(), times.Finish().ValueOrDie(), values.Finish().ValueOrDie()});
    arrow::TableBatchReader reader(input);
    ASSERT_OK_AND_ASSIGN(auto r, Append(table, reader, AppendOptions()));
    ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
    // Spine times in the table's unit, some exactly on an event, some
    // between two; the oracle compares in that unit.
    arrow::StringBuilder sk;
    arrow::TimestampBuilder st(type, arrow::default_memory_pool());
    std::vector<std::optional<std::pair<int64_t, std::string>>> want;
    for (int i = 0; i < 300; ++i) {
      const std::string key = "k" + std::to_string(100 + static_cast<int>(rng() % 40));
      const auto& evs = events[key];
      const auto& e = evs[rng() % evs.size()];
      int64_t t = e.first + (rng() % 3 == 0 ? 0 : static_cast<int64_t>(rng() % per_ms)) - (rng() % 5 == 0 ? per_ms : 0);
      ASSERT_OK(sk.Append(key));
      ASSERT_OK(st.Append(t));
      // The spine's time floors to the microsecond (spec §18): an event in
      // the same microsecond but later nanosecond is still seen.
      const int64_t t_us = t >= 0 ? t / per_us : -((-t + per_us - 1) / per_us);
      std::optional<std::pair<int64_t, std::string>> w;
      for (const auto& ev : evs) {
        const int64_t ev_us = ev.first / per_us;
        if (ev_us <= t_us && (!w || ev.first > w->first)) w = ev;
      }
      want.push_back(w);
    }
    auto spine = arrow::Table::Make(arrow::schema({arrow::field("key", arrow::utf8()), arrow::field("ts", type)}),
                                    {sk.Finish().ValueOrDie(), st.Finish().ValueOrDie()});
    JoinAsOfOptions o;
    o.on = "ts";
    o.threads = 2;
    ASSERT_OK_AND_ASSIGN(auto join, JoinAsOfBuilder(table, spine).Options(o).Build());
    ASSERT_OK_AND_ASSIGN(auto got, join->ToTable());
    ASSERT_OK_AND_ASSIGN(got, got->CombineChunks());
    ASSERT_TRUE(got->schema()->field(2)->type()->Equals(*type)) << got->schema()->ToString();
    const auto& et = static_cast<const arrow::TimestampArray&>(*got->column(2)->chunk(0));
    const auto& val = static_cast<const arrow::StringArray&>(*got->column(3)->chunk(0));
    for (size_t i = 0; i < want.size(); ++i) {
      if (!want[i]) {
        EXPECT_TRUE(et.IsNull(i) && val.IsNull(i)) << type->ToString() << " row " << i;
        continue;
      }
      ASSERT_FALSE(et.IsNull(i)) << type->ToString() << " row " << i;
      EXPECT_EQ(et.Value(i), want[i]->first) << type->ToString() << " row " << i;
      EXPECT_EQ(val.GetString(i), want[i]->second) << type->ToString() << " row " << i;
    }
  }
}

TEST_F(JoinAsOfTest, CollidingNamesGetTheSuffix) {
  arrow::StringBuilder k, v, w;
  ASSERT_OK(k.Append("a"));
  ASSERT_OK(v.Append("mine"));
  ASSERT_OK(w.Append("mine too"));
  arrow::TimestampBuilder t(arrow::timestamp(arrow::TimeUnit::MILLI, "UTC"), arrow::default_memory_pool());
  ASSERT_OK(t.Append(Ms("2024-01-03")));
  auto spine = arrow::Table::Make(
      arrow::schema({arrow::field("key", arrow::utf8()), arrow::field("event_time", t.type()),
                     arrow::field("value", arrow::utf8()), arrow::field("value_right", arrow::utf8())}),
      {k.Finish().ValueOrDie(), t.Finish().ValueOrDie(), v.Finish().ValueOrDie(), w.Finish().ValueOrDie()});
  JoinAsOfOptions o;
  o.on = "event_time";
  ASSERT_OK_AND_ASSIGN(auto join, JoinAsOfBuilder(table_, spine).Options(o).Build());
  EXPECT_EQ(join->schema()->field_names(),
            (std::vector<std::string>{"key", "event_time", "value", "value_right", "event_time_right",
                                      "value_right_right"}));
  ASSERT_OK_AND_ASSIGN(auto got, join->ToTable());
  EXPECT_EQ(std::static_pointer_cast<arrow::StringArray>(got->column(5)->chunk(0))->GetString(0), "a2");
}

TEST_F(JoinAsOfTest, ClearErrors) {
  auto spine = SpineTable({{"a", Ms("2024-01-03")}});
  auto error_of = [&](JoinAsOfOptions o, std::shared_ptr<arrow::Table> s) {
    auto r = JoinAsOfBuilder(table_, s).Options(o).Build();
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kInvalidArgument);
    return r.status().message();
  };
  JoinAsOfOptions o;
  o.on = "nope";
  EXPECT_NE(error_of(o, spine).find("no time column 'nope'"), std::string::npos);
  o.on = "id";
  EXPECT_NE(error_of(o, spine).find("spine column 'id' is int64, not a timestamp or date"), std::string::npos);
  o.on = "ts";
  o.by = {"id"};
  EXPECT_NE(error_of(o, spine).find("spine key column 'id' is int64, but key column 'key'"), std::string::npos);
  o.by = {"missing"};
  EXPECT_NE(error_of(o, spine).find("no key column 'missing'"), std::string::npos);
  o.by = {};
  o.columns = std::vector<std::string>{"nope"};
  EXPECT_NE(error_of(o, spine).find("unknown column 'nope'"), std::string::npos);
}

TEST_F(JoinAsOfTest, EmptySpineAndReaderReruns) {
  JoinAsOfOptions o;
  o.on = "ts";
  ASSERT_OK_AND_ASSIGN(auto join, JoinAsOfBuilder(table_, SpineTable({})).Options(o).Build());
  ASSERT_OK_AND_ASSIGN(auto got, join->ToTable());
  EXPECT_EQ(got->num_rows(), 0);
  EXPECT_EQ(got->num_columns(), 5);
  ASSERT_OK_AND_ASSIGN(auto join2, JoinAsOfBuilder(table_, SpineTable({{"a", Ms("2024-01-09")}})).Options(o).Build());
  for (int i = 0; i < 2; ++i) {
    ASSERT_OK_AND_ASSIGN(auto t, join2->ToTable());
    EXPECT_EQ(std::static_pointer_cast<arrow::StringArray>(t->column(4)->chunk(0))->GetString(0), "a5");
  }
}

}  // namespace
}  // namespace bazof::testing

// Keyed reads (docs/spec.md §7b): key lists, key ranges and key histories
// equal the full scan filtered on random workloads, and they read only the
// files, row groups and footers that can hold the keys (counted bytes, never
// timings).
#include <cstdlib>
#include <gtest/gtest.h>

#include <random>

#include "bazof/compact.h"
#include "bazof/inspect.h"
#include "bazof/views.h"
#include "bazof/write.h"
#include "counting_storage.h"
#include "paged_workload.h"
#include "read/footer_cache.h"
#include "read/run_reader.h"
#include "table_builder.h"

namespace bazof::testing {
namespace {

KvState Only(const KvState& all, const std::set<std::string>& keys) {
  KvState out;
  for (const auto& [k, v] : all) {
    if (keys.count(k)) out[k] = v;
  }
  return out;
}

arrow::Result<KvState> ScanKeys(const std::shared_ptr<Table>& table, int64_t t_ms, int64_t version,
                                std::vector<std::string> keys, int threads) {
  auto b = table->NewScan();
  b.AsOf(EventTime::FromMicros(t_ms * 1000)).AtVersion(Version(version)).Threads(threads).BatchSize(7);
  b.KeyIn(std::move(keys));
  ARROW_ASSIGN_OR_RAISE(auto scan, b.Build());
  ARROW_ASSIGN_OR_RAISE(auto result, scan->ToTable());
  ARROW_ASSIGN_OR_RAISE(result, result->CombineChunks());
  KvState out;
  for (int64_t i = 0; i < result->num_rows(); ++i) {
    auto keys_a = std::static_pointer_cast<arrow::StringArray>(result->column(0)->chunk(0));
    auto times = std::static_pointer_cast<arrow::TimestampArray>(result->column(1)->chunk(0));
    auto values = std::static_pointer_cast<arrow::StringArray>(result->column(2)->chunk(0));
    out[std::string(keys_a->GetView(i))] = {times->Value(i),
                                            values->IsNull(i) ? "<null>" : std::string(values->GetView(i))};
  }
  return out;
}

// (event ms, version, deleted, value) per row of a key's history.
using HistoryRows = std::vector<std::tuple<int64_t, int64_t, bool, std::string>>;

arrow::Result<HistoryRows> History(const Table& table, const std::string& key, int64_t version) {
  ARROW_ASSIGN_OR_RAISE(auto h, KeyHistory(table, {{"", key}}, Version(version)));
  ARROW_ASSIGN_OR_RAISE(h, h->CombineChunks());
  HistoryRows out;
  if (h->num_rows() == 0) return out;
  auto times = std::static_pointer_cast<arrow::TimestampArray>(h->GetColumnByName("event_time")->chunk(0));
  auto versions = std::static_pointer_cast<arrow::Int64Array>(h->GetColumnByName("version")->chunk(0));
  auto deleted = std::static_pointer_cast<arrow::BooleanArray>(h->GetColumnByName("deleted")->chunk(0));
  auto values = std::static_pointer_cast<arrow::StringArray>(h->GetColumnByName("value")->chunk(0));
  for (int64_t i = 0; i < h->num_rows(); ++i) {
    out.emplace_back(times->Value(i), versions->Value(i), deleted->Value(i),
                     deleted->Value(i) || values->IsNull(i) ? "" : std::string(values->GetView(i)));
  }
  return out;
}

HistoryRows OracleHistory(const std::vector<OracleEvent>& events, const std::string& key, int64_t v) {
  std::vector<const OracleEvent*> mine;
  for (const auto& e : events) {
    if (e.ev.key == key && e.version <= v) mine.push_back(&e);
  }
  std::stable_sort(mine.begin(), mine.end(), [](const OracleEvent* a, const OracleEvent* b) {
    return std::tie(a->ev.ms, a->version, a->seq) < std::tie(b->ev.ms, b->version, b->seq);
  });
  HistoryRows out;
  for (const auto* e : mine) out.emplace_back(e->ev.ms, e->version, e->ev.deleted, e->ev.deleted ? "" : e->ev.value);
  return out;
}

class KeyedReadOracleTest : public ::testing::TestWithParam<int> {};

// Random workloads (late events, ties, tombstones, bases, many row groups per
// file): key lists of present and absent keys, at every version and several
// T, equal the oracle's state restricted to the list, on 1 to 3 threads; a
// key's history equals its events.
TEST_P(KeyedReadOracleTest, KeyListsAndHistoriesMatchTheOracle) {
  std::mt19937_64 rng(GetParam());
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
  const int64_t day = 86400000;
  const int64_t t0 = Ms("2024-01-01");
  const int64_t num_keys = 5 + pick(60);
  const int64_t span_days = 4 + pick(40);
  auto key_name = [](int64_t k) {
    std::string s = std::to_string(k);
    return "k" + std::string(3 - s.size(), '0') + s;
  };

  TableBuilder b;
  const int num_segments = 1 + static_cast<int>(pick(3));
  std::vector<int64_t> seg_start;
  for (int s = 0; s < num_segments; ++s) {
    seg_start.push_back(t0 + s * span_days * day / num_segments);
    b.AddSegment(seg_start.back());
  }
  std::vector<OracleEvent> events;
  const int commits = 2 + static_cast<int>(pick(6));
  for (int64_t v = 1; v <= commits; ++v) {
    if (v > 1 && pick(3) == 0 && num_segments > 1) {
      size_t seg = 1 + pick(num_segments - 1);
      ASSERT_OK(b.SetBase(seg, v - 1, BaseRows(events, seg_start[seg], v - 1)));
    } else {
      std::vector<Ev> batch;
      // Some commits touch a narrow key range, so file key ranges differ.
      const int64_t lo = pick(2) ? 0 : pick(num_keys);
      const int64_t width = std::max<int64_t>(1, num_keys - lo);
      const int64_t n = 1 + pick(80);
      for (int64_t i = 0; i < n; ++i) {
        Ev e{key_name(lo + pick(width)), t0 + pick(span_days) * day + (pick(4) == 0 ? 1 : 0),
             "v" + std::to_string(v) + "." + std::to_string(i), pick(8) == 0};
        if (e.deleted) e.value.clear();
        events.push_back({e, v, i});
        batch.push_back(e);
      }
      int64_t min_ms = batch[0].ms;
      for (const auto& e : batch) min_ms = std::min(min_ms, e.ms);
      size_t seg = 0;
      for (size_t s = 0; s < seg_start.size(); ++s) {
        if (seg_start[s] <= min_ms) seg = s;
      }
      ASSERT_OK(b.AddDelta(v, batch, seg, /*row_group_rows=*/1 + pick(12)));
    }
    ASSERT_OK(b.Commit(v));
  }

  ASSERT_OK_AND_ASSIGN(auto table, b.Open());
  for (int64_t v = 1; v <= commits; ++v) {
    for (int trial = 0; trial < 6; ++trial) {
      const int64_t t = t0 + pick(span_days + 2) * day + pick(2);
      std::vector<std::string> keys;
      std::set<std::string> wanted;
      const int64_t n = 1 + pick(trial < 3 ? 3 : num_keys + 2);
      for (int64_t i = 0; i < n; ++i) {
        // Absent keys too: below, inside and above the table's keys.
        std::string k = pick(6) == 0 ? (pick(2) ? "a" : "zz") + std::to_string(i) : key_name(pick(num_keys + 3));
        keys.push_back(k);
        wanted.insert(k);
      }
      const int threads = 1 + static_cast<int>(pick(3));
      ASSERT_OK_AND_ASSIGN(auto got, ScanKeys(table, t, v, keys, threads));
      ASSERT_EQ(got, Only(Oracle(events, t, v), wanted))
          << "seed " << GetParam() << " version " << v << " T " << t << " keys " << n;
    }
    for (int i = 0; i < 4; ++i) {
      const std::string k = key_name(pick(num_keys + 2));
      ASSERT_OK_AND_ASSIGN(auto got, History(*table, k, v));
      ASSERT_EQ(got, OracleHistory(events, k, v)) << "seed " << GetParam() << " version " << v << " key " << k;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(RandomWorkloads, KeyedReadOracleTest, ::testing::Range(1, 41));

// Histories of compacted files with small pages (write.page_rows 1 to 8,
// row groups of 8 to 64 rows; appends and compactions, ties, tombstones),
// read page by page (local storage), equal the same histories read by whole
// row groups (what object storage reads) at every version; and, on one larger
// compacted file, the history of a key reads fewer bytes by pages. (Not the
// event oracle: compaction keeps one of two events of a key at the same time
// in one version, which scans cannot tell apart.)
class HistoryPageOracleTest : public ::testing::TestWithParam<int> {};

TEST_P(HistoryPageOracleTest, PagesEqualRowGroupReads) {
  std::mt19937_64 rng(7100 + GetParam());
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
  auto storage = std::make_shared<CountingStorage>(MemStorage());
  ASSERT_OK_AND_ASSIGN(auto w, WritePagedWorkload(storage, 1 + GetParam() % 8, rng));
  const auto& table = w.table;
  const int64_t current = table->current_version().value();
  for (int64_t v = 1; v <= current; ++v) {
    for (int i = 0; i < 5; ++i) {
      const std::string k = "k" + std::to_string(pick(w.keys + 2));  // some absent
      storage->set_high_latency(false);
      ASSERT_OK_AND_ASSIGN(auto by_pages, History(*table, k, v));
      storage->set_high_latency(true);
      ASSERT_OK_AND_ASSIGN(auto whole, History(*table, k, v));
      ASSERT_EQ(by_pages, whole) << "seed " << GetParam() << " version " << v << " key " << k;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, HistoryPageOracleTest, ::testing::Range(0, 16));

// Whether the intervals of `table` at version `v` are the same on three
// threads (key-range partitions) as on one.
arrow::Result<bool> IntervalsOnThreeThreadsEqualOne(const Table& table, int64_t v, int64_t batch_size) {
  IntervalOptions o;
  o.version = Version(v);
  o.batch_size = batch_size;
  std::shared_ptr<arrow::Table> out[2];
  for (int i = 0; i < 2; ++i) {
    o.threads = i == 0 ? 1 : 3;
    ARROW_ASSIGN_OR_RAISE(auto view, MakeIntervals(table, o));
    ARROW_ASSIGN_OR_RAISE(out[i], view->ToTable());
    ARROW_ASSIGN_OR_RAISE(out[i], out[i]->CombineChunks());
  }
  return out[1]->Equals(*out[0]);
}

// Key-list scans read the row groups holding other keys too page by page on
// local storage, keeping the pages that may hold their keys (docs/spec.md
// §7b), and whole on object storage: on random workloads over small pages (1
// to 8 rows, row groups of 8 to 64, appends and compactions, ties,
// tombstones) whole scans and key-list scans on 1 to 4 threads equal the
// oracle either way, and intervals on 3 threads equal intervals on 1.
class PagedScanOracleTest : public ::testing::TestWithParam<int> {};

TEST_P(PagedScanOracleTest, PartitionsAndKeyListsMatchTheOracle) {
  std::mt19937_64 rng(9300 + GetParam());
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
  auto storage = std::make_shared<CountingStorage>(MemStorage());
  ASSERT_OK_AND_ASSIGN(auto w, WritePagedWorkload(storage, 1 + GetParam() % 8, rng));
  const auto& table = w.table;
  const int64_t day = 86400000, t0 = Ms("2024-01-01");
  const int64_t by_pages = read::RowGroupsReadByPages();
  const int64_t current = table->current_version().value();
  for (int64_t v = 1; v <= current; ++v) {
    for (int trial = 0; trial < 4; ++trial) {
      const int64_t t = t0 + pick(w.days + 2) * day - pick(2);
      const int threads = 1 + static_cast<int>(pick(4));
      storage->set_high_latency(pick(4) == 0);  // then whole row groups
      const auto want = Oracle(w.events, t, v);
      ASSERT_OK_AND_ASSIGN(auto all, ScanKv(table, t, v, threads, 1 + pick(16)));
      ASSERT_EQ(all, want) << "seed " << GetParam() << " version " << v << " T " << t << " threads " << threads;
      std::vector<std::string> keys;
      std::set<std::string> wanted;
      for (int64_t i = 0, n = 1 + pick(trial < 2 ? 3 : w.keys); i < n; ++i) {
        keys.push_back("k" + std::to_string(pick(w.keys + 2)));  // some absent
        wanted.insert(keys.back());
      }
      ASSERT_OK_AND_ASSIGN(auto listed, ScanKeys(table, t, v, keys, threads));
      ASSERT_EQ(listed, Only(want, wanted)) << "seed " << GetParam() << " version " << v << " T " << t;
    }
    storage->set_high_latency(false);
    ASSERT_OK_AND_ASSIGN(const bool same, IntervalsOnThreeThreadsEqualOne(*table, v, 1 + pick(16)));
    ASSERT_TRUE(same) << "seed " << GetParam() << " version " << v;
  }
  EXPECT_GT(read::RowGroupsReadByPages() - by_pages, 0) << "no row group was read page by page";
}

INSTANTIATE_TEST_SUITE_P(Seeds, PagedScanOracleTest, ::testing::Range(0, 16));

// Row groups of 16 Ki to 40 Ki rows (at least read::kMinPagedStraddleRows)
// in pages of 50 to 2000 rows, appends with late events, ties and tombstones,
// sometimes compacted: scans on 2 to 4 threads, cut between pages, equal the
// oracle, intervals on 3 threads equal intervals on 1, and the row groups the
// split points fall in are read page by page.
class LargeGroupPartitionTest : public ::testing::TestWithParam<int> {};

TEST_P(LargeGroupPartitionTest, SplitsBetweenPagesMatchTheOracle) {
  std::mt19937_64 rng(9700 + GetParam());
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
  auto storage = MemStorage();
  std::map<std::string, std::string> props = {
      {"write.row_group_rows", std::to_string(read::kMinPagedStraddleRows + pick(24000))},
      {"write.page_rows", std::to_string(50 + pick(1950))}};
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema(), props));
  const int64_t day = 86400000, t0 = Ms("2024-01-01");
  const int64_t keys = 500 + pick(4000), days = 5 + pick(60);
  std::vector<OracleEvent> events;
  const int commits = 2 + static_cast<int>(pick(3));
  for (int64_t v = 1; v <= commits; ++v) {
    std::vector<Ev> rows;
    for (int64_t i = 0, n = 20000 + pick(30000); i < n; ++i) {
      Ev e{"k" + std::to_string(pick(keys)), t0 + pick(days) * day + pick(3) * 1000,
           "v" + std::to_string(v) + "." + std::to_string(i), pick(20) == 0};
      if (e.deleted) e.value.clear();
      rows.push_back(e);
      events.push_back({e, v, i});
    }
    ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
    ASSERT_OK(Append(table, *AppendInput(rows)).status());
  }
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  if (pick(2) == 0) {
    CompactOptions co;
    co.segment_duration_us = (days / 2 + pick(days)) * day * 1000;  // segments of large groups
    ASSERT_OK(Compact(table, co).status());
    ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  }
  const int64_t current = table->current_version().value();
  const int64_t before = read::RowGroupsReadByPages();
  for (int trial = 0; trial < 4; ++trial) {
    const int64_t t = t0 + pick(days + 2) * day + pick(3) * 1000 - pick(2);
    const int threads = 2 + static_cast<int>(pick(3));
    ASSERT_OK_AND_ASSIGN(auto got, ScanKv(table, t, current, threads, 1 + pick(5000)));
    ASSERT_EQ(got, Oracle(events, t, commits)) << "seed " << GetParam() << " T " << t << " threads " << threads;
  }
  ASSERT_OK_AND_ASSIGN(const bool same, IntervalsOnThreeThreadsEqualOne(*table, current, 1 + pick(5000)));
  ASSERT_TRUE(same) << "seed " << GetParam();
  EXPECT_GT(read::RowGroupsReadByPages() - before, 0) << "no split point fell inside a row group read by pages";
  // Under a budget too small to pre-buffer, the merge reads large row groups
  // page by page (a streamed column chunk's buffer would grow to the whole
  // chunk): a compaction under 1 MiB changes no scan.
  ASSERT_EQ(setenv("BAZOF_MEMORY_LIMIT_MINIMUM", "1MiB", 1), 0);
  CompactOptions tight;
  tight.force = true;
  tight.threads = 1 + static_cast<int>(pick(2));
  tight.memory_limit_bytes = 1 << 20;
  const int64_t paged = read::RowGroupsReadByPages();
  auto compacted = Compact(table, tight);
  unsetenv("BAZOF_MEMORY_LIMIT_MINIMUM");
  ASSERT_OK(compacted.status());
  EXPECT_GT(read::RowGroupsReadByPages() - paged, 0) << "seed " << GetParam();
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  for (int trial = 0; trial < 2; ++trial) {
    const int64_t t = t0 + pick(days + 2) * day + pick(3) * 1000 - pick(2);
    ASSERT_OK_AND_ASSIGN(auto got, ScanKv(table, t, table->current_version().value(), 1 + static_cast<int>(pick(3)),
                                          1 + pick(5000)));
    ASSERT_EQ(got, Oracle(events, t, commits)) << "seed " << GetParam() << " T " << t << " after a 1 MiB compaction";
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, LargeGroupPartitionTest, ::testing::Range(0, 8));

// One row group of 16 Ki rows in pages of 64: a scan on two threads is cut
// inside it, and a scan of one key decodes a page of it, not the group; both
// equal the one-thread scan filtered, and read it page by page.
TEST(PagedScanTest, RowGroupsCutBetweenPages) {
  auto storage = MemStorage();
  const int64_t n = read::kMinPagedStraddleRows;
  std::map<std::string, std::string> props = {{"write.page_rows", "64"},
                                               {"write.row_group_rows", std::to_string(n)}};
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema(), props));
  const int64_t t0 = Ms("2024-01-01");
  std::vector<Ev> rows;
  for (int64_t i = 0; i < n; ++i) {
    rows.push_back(Ev{"k" + std::to_string(100000 + i / 2), t0 + (i % 2) * 1000, "v" + std::to_string(i), false});
  }
  ASSERT_OK(Append(table, *AppendInput(rows)).status());
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  ASSERT_OK(Compact(table, CompactOptions{}).status());
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  ASSERT_OK_AND_ASSIGN(auto whole, ScanKv(table, std::nullopt, std::nullopt, 1));
  ASSERT_EQ(static_cast<int64_t>(whole.size()), n / 2);
  const int64_t before = read::RowGroupsReadByPages();
  ASSERT_OK_AND_ASSIGN(auto split, ScanKv(table, std::nullopt, std::nullopt, 2));
  EXPECT_EQ(split, whole);
  EXPECT_GE(read::RowGroupsReadByPages() - before, 2);  // both partitions
  const int64_t middle = read::RowGroupsReadByPages();
  ASSERT_OK_AND_ASSIGN(auto one, ScanKeys(table, t0 + 5000, table->current_version().value(), {"k101000"}, 1));
  EXPECT_EQ(one, Only(whole, {"k101000"}));
  EXPECT_EQ(read::RowGroupsReadByPages() - middle, 1);
  // 300 adjacent keys: more than half as many as the group's 256 pages, yet
  // they fill about 10 of them. A large group's page index decides, not the
  // count (the footer's guess read the whole group).
  std::vector<std::string> clustered;
  for (int k = 101000; k < 101300; ++k) clustered.push_back("k" + std::to_string(k));
  const int64_t third = read::RowGroupsReadByPages();
  ASSERT_OK_AND_ASSIGN(auto many, ScanKeys(table, t0 + 5000, table->current_version().value(), clustered, 1));
  EXPECT_EQ(many, Only(whole, std::set<std::string>(clustered.begin(), clustered.end())));
  EXPECT_EQ(many.size(), clustered.size());
  EXPECT_EQ(read::RowGroupsReadByPages() - third, 1);
}

TEST(HistoryPageTest, ReadsOnlyThePagesOfTheKey) {
  auto run = [](const std::string& page_rows) -> arrow::Result<int64_t> {
    auto storage = std::make_shared<CountingStorage>(MemStorage());
    std::map<std::string, std::string> props = {{"write.page_rows", page_rows}, {"write.row_group_rows", "4096"}};
    ARROW_ASSIGN_OR_RAISE(auto table, CreateTable(storage, KvSchema(), props));
    const int64_t t0 = Ms("2024-01-01");
    std::vector<Ev> rows;
    for (int64_t i = 0; i < 4000; ++i) {
      rows.push_back(Ev{"k" + std::to_string(1000 + i % 400), t0 + (i / 400) * 1000,
                        "value-" + std::to_string(i * 7919 % 100003), false});
    }
    ARROW_RETURN_NOT_OK(Append(table, *AppendInput(rows)).status());
    ARROW_ASSIGN_OR_RAISE(table, Table::Open(storage));
    CompactOptions co;
    co.force = true;
    ARROW_RETURN_NOT_OK(Compact(table, co).status());
    ARROW_ASSIGN_OR_RAISE(table, Table::Open(storage));
    ARROW_RETURN_NOT_OK(History(*table, "k1234", table->current_version().value()).status());  // footers cached
    storage->Reset();
    ARROW_ASSIGN_OR_RAISE(auto got, History(*table, "k1234", table->current_version().value()));
    if (got.size() != 10) return arrow::Status::Invalid("history of ", got.size(), " rows, not 10");
    return storage->bytes_read();
  };
  ASSERT_OK_AND_ASSIGN(const int64_t by_pages, run("64"));
  ASSERT_OK_AND_ASSIGN(const int64_t whole, run("100000"));
  EXPECT_LT(by_pages, whole);
}

std::string K(int64_t k) {
  std::string s = std::to_string(k);
  return "k" + std::string(4 - s.size(), '0') + s;
}

// Ten deltas over disjoint key ranges, each in many small row groups.
struct PrunedTable {
  std::shared_ptr<CountingStorage> storage;
  std::shared_ptr<Table> table;
  std::vector<OracleEvent> events;
};

arrow::Result<PrunedTable> MakePrunedTable() {
  PrunedTable p;
  p.storage = std::make_shared<CountingStorage>(MemStorage());
  TableBuilder b(p.storage);
  const int64_t t0 = Ms("2024-01-01");
  for (int64_t v = 1; v <= 10; ++v) {
    std::vector<Ev> batch;
    for (int64_t k = 0; k < 100; ++k) {
      for (int64_t e = 0; e < 10; ++e) {
        Ev ev{K((v - 1) * 100 + k), t0 + e * 3600000, "v" + std::to_string(v * 1000 + k * 10 + e), false};
        p.events.push_back({ev, v, k * 10 + e});
        batch.push_back(ev);
      }
    }
    ARROW_RETURN_NOT_OK(b.AddDelta(v, batch, 0, /*row_group_rows=*/50));  // 20 row groups
    ARROW_RETURN_NOT_OK(b.Commit(v));
  }
  ARROW_ASSIGN_OR_RAISE(p.table, b.Open());
  return p;
}

int DataFilesOpened(const CountingStorage& s) {
  int n = 0;
  for (const auto& f : s.opened()) n += f.find(".parquet") != std::string::npos;
  return n;
}

TEST(KeyedReadPruningTest, FilesOutsideTheKeyAreNotOpened) {
  ASSERT_OK_AND_ASSIGN(auto p, MakePrunedTable());
  p.storage->Reset();
  ASSERT_OK_AND_ASSIGN(auto h, History(*p.table, K(345), 10));
  EXPECT_EQ(h.size(), 10u);
  EXPECT_EQ(DataFilesOpened(*p.storage), 1);

  p.storage->Reset();
  ASSERT_OK_AND_ASSIGN(auto got, ScanKeys(p.table, Ms("2030-01-01"), 10, {K(345), K(712)}, 2));
  EXPECT_EQ(got.size(), 2u);
  EXPECT_EQ(DataFilesOpened(*p.storage), 2);
}

TEST(KeyedReadPruningTest, OnlyTheKeysRowGroupsAreRead) {
  ASSERT_OK_AND_ASSIGN(auto p, MakePrunedTable());
  // Everything, once, to know what a whole-file read costs.
  ASSERT_OK_AND_ASSIGN(auto all, p.table->NewScan().Threads(1).Build());
  p.storage->Reset();
  ASSERT_OK(all->ToTable().status());
  const int64_t full = p.storage->bytes_read();

  p.storage->Reset();
  ASSERT_OK_AND_ASSIGN(auto h, History(*p.table, K(345), 10));
  ASSERT_EQ(h, OracleHistory(p.events, K(345), 10));
  // One file of ten (footers now cached), one or two row groups of its 20.
  EXPECT_LT(p.storage->bytes_read() * 50, full) << "history read " << p.storage->bytes_read() << " of " << full;

  p.storage->Reset();
  ASSERT_OK_AND_ASSIGN(auto got, ScanKeys(p.table, Ms("2030-01-01"), 10, {K(345)}, 1));
  ASSERT_EQ(got, Only(Oracle(p.events, Ms("2030-01-01"), 10), {K(345)}));
  EXPECT_LT(p.storage->bytes_read() * 50, full) << "key scan read " << p.storage->bytes_read() << " of " << full;
}

TEST(KeyedReadPruningTest, FootersAreReadOncePerTable) {
  ASSERT_OK_AND_ASSIGN(auto p, MakePrunedTable());
  p.storage->Reset();
  ASSERT_OK_AND_ASSIGN(auto first, History(*p.table, K(345), 10));
  const int64_t cold = p.storage->bytes_read();
  const int64_t cold_reads = p.storage->reads();
  p.storage->Reset();
  ASSERT_OK_AND_ASSIGN(auto second, History(*p.table, K(345), 10));
  EXPECT_EQ(first, second);
  EXPECT_LT(p.storage->bytes_read(), cold);
  EXPECT_LT(p.storage->reads(), cold_reads);
  EXPECT_GE(p.table->footer_cache()->hits(), 1);

  // Bounded: a cache smaller than a footer keeps nothing.
  read::FooterCache tiny(1);
  auto name = *p.storage->opened().begin();
  tiny.Put(name, p.table->footer_cache()->Get(name));
  EXPECT_EQ(tiny.entries(), 0);
}

TEST(FooterCacheTest, EvictsTheLeastRecentlyUsed) {
  ASSERT_OK_AND_ASSIGN(auto p, MakePrunedTable());
  ASSERT_OK(History(*p.table, K(5), 10).status());
  ASSERT_OK(History(*p.table, K(105), 10).status());
  ASSERT_OK(History(*p.table, K(205), 10).status());
  auto& cache = *p.table->footer_cache();
  ASSERT_EQ(cache.entries(), 3);
  const int64_t each = cache.bytes() / 3;
  read::FooterCache small(2 * each + each / 2);  // room for two
  std::vector<std::string> names;
  for (const auto& f : p.storage->opened()) {
    if (f.find(".parquet") != std::string::npos) names.push_back(f);
  }
  ASSERT_EQ(names.size(), 3u);
  for (const auto& n : names) small.Put(n, cache.Get(n));
  EXPECT_EQ(small.entries(), 2);
  EXPECT_EQ(small.Get(names[0]), nullptr);
  EXPECT_NE(small.Get(names[2]), nullptr);
}

// Composite keys: histories and key scans skip the files whose recorded
// (composite) key range misses the key, and equal the full scan filtered.
TEST(KeyedReadPruningTest, CompositeKeysArePruned) {
  auto storage = std::make_shared<CountingStorage>(MemStorage());
  ASSERT_OK_AND_ASSIGN(auto schema, ParseSchemaSpec("region:string,id:int64,ts:timestamp[ms],v:int64",
                                                    {"region", "id"}, "ts"));
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, schema));
  const int64_t t0 = Ms("2024-01-01");
  std::mt19937_64 rng(7);
  for (int r = 0; r < 6; ++r) {
    arrow::StringBuilder region;
    arrow::Int64Builder id, v;
    arrow::TimestampBuilder ts(arrow::timestamp(arrow::TimeUnit::MILLI), arrow::default_memory_pool());
    for (int i = 0; i < 60; ++i) {
      ASSERT_OK(region.Append("r" + std::to_string(r)));
      ASSERT_OK(id.Append(static_cast<int64_t>(rng() % 20)));
      ASSERT_OK(ts.Append(t0 + static_cast<int64_t>(rng() % 1000) * 1000));
      ASSERT_OK(v.Append(r * 1000 + i));
    }
    std::shared_ptr<arrow::Array> a, b, c, d;
    ASSERT_OK(region.Finish(&a));
    ASSERT_OK(id.Finish(&b));
    ASSERT_OK(ts.Finish(&c));
    ASSERT_OK(v.Finish(&d));
    auto batch = arrow::RecordBatch::Make(
        arrow::schema({arrow::field("region", arrow::utf8()), arrow::field("id", arrow::int64()),
                       arrow::field("ts", arrow::timestamp(arrow::TimeUnit::MILLI)), arrow::field("v", arrow::int64())}),
        60, {a, b, c, d});
    ASSERT_OK_AND_ASSIGN(auto reader, arrow::RecordBatchReader::Make({batch}));
    ASSERT_OK_AND_ASSIGN(auto t, Table::Open(storage));
    ASSERT_OK(Append(t, *reader).status());
  }
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  ASSERT_OK_AND_ASSIGN(auto all_scan, table->NewScan().Threads(1).Build());
  ASSERT_OK_AND_ASSIGN(auto all, all_scan->ToTable());
  ASSERT_OK_AND_ASSIGN(auto threaded_scan, table->NewScan().Threads(3).Build());
  ASSERT_OK_AND_ASSIGN(auto threaded, threaded_scan->ToTable());
  EXPECT_TRUE(all->Equals(*threaded));

  storage->Reset();
  ASSERT_OK_AND_ASSIGN(auto h, KeyHistory(*table, {{"region", "r3"}, {"id", "5"}}));
  EXPECT_EQ(DataFilesOpened(*storage), 1);
  // The history's last event is the latest state of (r3, 5).
  ASSERT_OK_AND_ASSIGN(auto flat, all->CombineChunks());
  auto regions = std::static_pointer_cast<arrow::StringArray>(flat->column(0)->chunk(0));
  auto ids = std::static_pointer_cast<arrow::Int64Array>(flat->column(1)->chunk(0));
  auto vs = std::static_pointer_cast<arrow::Int64Array>(flat->GetColumnByName("v")->chunk(0));
  int64_t want = -1;
  for (int64_t i = 0; i < flat->num_rows(); ++i) {
    if (regions->GetView(i) == "r3" && ids->Value(i) == 5) want = vs->Value(i);
  }
  ASSERT_GE(want, 0);
  ASSERT_GT(h->num_rows(), 0);
  ASSERT_OK_AND_ASSIGN(auto hv, h->GetColumnByName("v")->GetScalar(h->num_rows() - 1));
  EXPECT_EQ(std::static_pointer_cast<arrow::Int64Scalar>(hv)->value, want);

  // Filters on the whole key, or on its first column, prune files too.
  namespace cp = arrow::compute;
  storage->Reset();
  ASSERT_OK_AND_ASSIGN(auto one_scan, table->NewScan()
                                          .Filter(cp::and_(cp::equal(cp::field_ref("region"), cp::literal("r3")),
                                                           cp::equal(cp::field_ref("id"), cp::literal(5))))
                                          .Build());
  ASSERT_OK_AND_ASSIGN(auto one, one_scan->ToTable());
  ASSERT_EQ(one->num_rows(), 1);
  ASSERT_OK_AND_ASSIGN(auto ov, one->GetColumnByName("v")->GetScalar(0));
  EXPECT_EQ(std::static_pointer_cast<arrow::Int64Scalar>(ov)->value, want);
  EXPECT_EQ(DataFilesOpened(*storage), 1);

  storage->Reset();
  ASSERT_OK_AND_ASSIGN(auto region_scan,
                       table->NewScan().Filter(cp::equal(cp::field_ref("region"), cp::literal("r2"))).Build());
  ASSERT_OK_AND_ASSIGN(auto region, region_scan->ToTable());
  int64_t expected = 0;
  for (int64_t i = 0; i < flat->num_rows(); ++i) expected += regions->GetView(i) == "r2";
  EXPECT_EQ(region->num_rows(), expected);
  EXPECT_EQ(DataFilesOpened(*storage), 1);
}

}  // namespace
}  // namespace bazof::testing

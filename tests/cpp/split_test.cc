// Scan splits: on random tables (appends with late events, ties, deletes,
// compaction), the union of the splits' results is the unsplit scan for many
// (as-of, version, filter, target) combinations, no key is in two splits,
// splits survive JSON, and each split reads only its share of the files.
#include <arrow/compute/api.h>
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <set>
#include <tuple>

#include "bazof/compact.h"
#include "bazof/error.h"
#include "bazof/split.h"
#include "bazof/vacuum.h"
#include "bazof/views.h"
#include "bazof/write.h"
#include "table_builder.h"
#include "test_util.h"

namespace bazof::testing {
namespace {

namespace cp = arrow::compute;

// Rows of a result as text lines "key|time|value[|deleted|version]", in order.
arrow::Result<std::vector<std::string>> Rows(const std::shared_ptr<Scan>& scan) {
  ARROW_ASSIGN_OR_RAISE(auto t, scan->ToTable());
  ARROW_ASSIGN_OR_RAISE(t, t->CombineChunks());
  std::vector<std::string> out(t->num_rows());
  for (int c = 0; c < t->num_columns(); ++c) {
    for (int64_t r = 0; r < t->num_rows(); ++r) {
      ARROW_ASSIGN_OR_RAISE(auto s, t->column(c)->GetScalar(r));
      out[r] += (c ? "|" : "") + s->ToString();
    }
  }
  return out;
}

std::string KeyOf(const std::string& row) { return row.substr(0, row.find('|')); }

// Reads every split (through its JSON, as another process would) and checks
// the union against the unsplit scan.
void CheckSplits(const std::shared_ptr<Table>& table, const ScanBuilder& builder, const SplitOptions& options,
                 const std::string& what, bool tiles = true) {
  ASSERT_OK_AND_ASSIGN(auto splits, PlanSplits(builder, options));
  ASSERT_FALSE(splits.empty()) << what;
  if (options.max_splits) {
    ASSERT_LE(static_cast<int>(splits.size()), *options.max_splits) << what;
  }
  ScanBuilder whole = builder;
  whole.AtVersion(splits[0].version).AllEvents(options.kind == SplitKind::kEvents);
  ASSERT_OK_AND_ASSIGN(auto whole_scan, whole.Build());
  ASSERT_OK_AND_ASSIGN(auto expected, Rows(whole_scan));
  ASSERT_OK_AND_ASSIGN(auto reopened, Table::Open(table->storage()));
  std::vector<std::string> got;
  std::optional<std::string> prev_upper;
  for (size_t i = 0; i < splits.size(); ++i) {
    const Split& planned = splits[i];
    ASSERT_EQ(planned.index, static_cast<int>(i));
    ASSERT_EQ(planned.count, static_cast<int>(splits.size()));
    // Ranges are disjoint and in key order; with no key restriction they
    // tile the key space (splits outside a key filter's keys are dropped).
    if (tiles) {
      ASSERT_EQ(planned.lower, prev_upper) << what;
      if (i + 1 == splits.size()) {
        ASSERT_FALSE(planned.upper) << what;
      }
    } else if (i > 0) {
      ASSERT_TRUE(planned.lower && prev_upper && *planned.lower >= *prev_upper) << what;
    }
    prev_upper = planned.upper;
    ASSERT_OK_AND_ASSIGN(auto split, Split::FromJson(planned.ToJson()));
    ASSERT_EQ(split.ToJson(), planned.ToJson());
    ASSERT_OK_AND_ASSIGN(auto scan, ReadSplit(*reopened, split, 1 + static_cast<int>(i % 2), 7));
    ASSERT_TRUE(scan->schema()->Equals(*whole_scan->schema())) << what;
    ASSERT_OK_AND_ASSIGN(auto rows, Rows(scan));
    for (const auto& r : rows) {
      const std::string key = KeyOf(r);  // string keys: the encoded key is the key
      if (split.lower) {
        ASSERT_GE(key, *split.lower) << what << " split " << i;
      }
      if (split.upper) {
        ASSERT_LT(key, *split.upper) << what << " split " << i;
      }
    }
    // The files a split reads are among those its plan names.
    for (const auto& f : scan->files()) {
      ASSERT_NE(std::find(split.files.begin(), split.files.end(), f), split.files.end()) << what;
    }
    got.insert(got.end(), rows.begin(), rows.end());
  }
  ASSERT_EQ(got, expected) << what << ": " << splits.size() << " splits";
}

// A table of `bands` appends of `per_band` keys each (key(band, i)), one
// event per key.
arrow::Result<std::shared_ptr<Table>> BandedTable(int bands, int per_band,
                                                  const std::function<std::string(int, int)>& key) {
  auto storage = MemStorage();
  ARROW_ASSIGN_OR_RAISE(auto table, CreateTable(storage, KvSchema()));
  for (int band = 0; band < bands; ++band) {
    std::vector<Ev> rows;
    for (int i = 0; i < per_band; ++i) rows.push_back(Ev{key(band, i), 1000, "v", false});
    ARROW_ASSIGN_OR_RAISE(table, Table::Open(storage));
    ARROW_RETURN_NOT_OK(Append(table, *AppendInput(rows)).status());
  }
  return Table::Open(storage);
}

// Rows of every split read one after the other (-1 on an error).
int64_t RowsOfSplits(const Table& table, const std::vector<Split>& splits) {
  int64_t rows = 0;
  for (const auto& s : splits) {
    auto scan = ReadSplit(table, s);
    if (!scan.ok()) return -1;
    auto t = (*scan)->ToTable();
    if (!t.ok()) return -1;
    rows += (*t)->num_rows();
  }
  return rows;
}

// A random table: 3 to 8 commits of appends (late events, ties, deletes;
// some over a narrow key band, so files differ in key range) and
// compactions; keys k1000.. (`keys` of them), times over `days` days from t0.
arrow::Result<std::shared_ptr<Table>> RandomTable(std::mt19937_64& rng, int64_t keys, int64_t days, int64_t t0) {
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
  const int64_t day = 86400000;
  auto storage = MemStorage();
  ARROW_ASSIGN_OR_RAISE(auto table, CreateTable(storage, KvSchema()));
  const int commits = 3 + static_cast<int>(pick(6));
  for (int64_t v = 1; v <= commits; ++v) {
    ARROW_ASSIGN_OR_RAISE(table, Table::Open(storage));
    if (v > 2 && pick(4) == 0) {
      ARROW_ASSIGN_OR_RAISE(auto c, Compact(table));
      if (c.committed) continue;
    }
    std::vector<Ev> rows;
    const int64_t band = pick(2) ? keys : 1 + pick(keys / 3 + 1), from = pick(keys - band + 1);
    for (int64_t i = 0, n = 1 + pick(120); i < n; ++i) {
      Ev e{"k" + std::to_string(1000 + from + pick(band)), t0 + pick(days) * day,
           "v" + std::to_string(v) + "." + std::to_string(i), pick(7) == 0};
      if (e.deleted) e.value.clear();
      rows.push_back(e);
    }
    AppendOptions o;
    o.chunk_rows = 5 + pick(60);
    ARROW_RETURN_NOT_OK(Append(table, *AppendInput(rows, 13), o).status());
  }
  return Table::Open(storage);
}

// Split sizing at random: at most 1..9 splits, or a target of 200..3199 bytes.
template <typename Pick>
SplitOptions RandomSizing(Pick&& pick, std::string* what) {
  SplitOptions so;
  if (pick(2)) {
    so.max_splits = 1 + static_cast<int>(pick(9));
    *what += " max_splits " + std::to_string(*so.max_splits);
  } else {
    so.target_bytes = 200 + pick(3000);
    *what += " target " + std::to_string(*so.target_bytes);
  }
  return so;
}

class SplitOracleTest : public ::testing::TestWithParam<int> {};

TEST_P(SplitOracleTest, UnionOfSplitsIsTheScan) {
  std::mt19937_64 rng(7000 + GetParam());
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
  const int64_t day = 86400000, t0 = Ms("2024-01-01");
  const int64_t keys = 5 + pick(200), days = 3 + pick(30);
  ASSERT_OK_AND_ASSIGN(auto table, RandomTable(rng, keys, days, t0));
  const int64_t current = table->current_version().value();
  for (int probe = 0; probe < 12; ++probe) {
    auto b = table->NewScan();
    std::string what = "seed " + std::to_string(GetParam()) + " probe " + std::to_string(probe);
    if (pick(3)) {
      const int64_t t = t0 + pick(days + 1) * day - pick(2);
      b.AsOf(EventTime::FromMicros(t * 1000));
      what += " as_of " + std::to_string(t);
    }
    if (pick(2)) {
      const int64_t v = pick(current + 1);
      b.AtVersion(Version(v));
      what += " version " + std::to_string(v);
    }
    bool value_filter = false, tiles = true;
    // Key lists and key ranges (options, or filter terms on the key).
    auto some_key = [&] { return "k" + std::to_string(1000 + pick(keys + 3) - 1); };
    switch (pick(6)) {
      case 0: {
        std::vector<std::string> in;
        for (int64_t i = 0, n = pick(6); i < n; ++i) in.push_back(some_key());
        if (in.empty()) in.push_back("k0");  // no such key
        b.KeyIn(in);
        what += " key_in";
        for (const auto& k : in) what += " " + k;
        tiles = false;
        break;
      }
      case 1: {
        std::optional<std::string> lo, hi;
        if (pick(2)) lo = some_key();
        if (pick(3)) hi = some_key();
        b.KeyRange(lo, hi);
        what += " key_range [" + lo.value_or("") + ", " + hi.value_or("") + "]";
        tiles = false;
        break;
      }
      case 2: {
        arrow::StringBuilder sb;
        std::string list;
        for (int64_t i = 0, n = 1 + pick(4); i < n; ++i) {
          const std::string k = some_key();
          ASSERT_OK(sb.Append(k));
          list += " " + k;
        }
        ASSERT_OK_AND_ASSIGN(auto set, sb.Finish());
        b.Filter(cp::call("is_in", {cp::field_ref("key")}, cp::SetLookupOptions(set)));
        what += " filter key in" + list;
        tiles = false;
        break;
      }
      case 3: {
        std::string lo = some_key(), hi = some_key();
        if (hi < lo) std::swap(lo, hi);
        if (hi == lo) hi += "5";
        b.EncodedKeyRange(lo, hi);
        what += " encoded [" + lo + ", " + hi + ")";
        tiles = false;
        break;
      }
      default:
        break;
    }
    switch (pick(4)) {
      case 0: {
        const std::string bound = "k" + std::to_string(1000 + pick(keys));
        auto term = cp::greater_equal(cp::field_ref("key"), cp::literal(bound));
        b.Filter(b.options().filter ? cp::and_(*b.options().filter, term) : term);
        what += " key >= " + bound;
        break;
      }
      case 1: {
        auto term = cp::not_equal(cp::field_ref("value"), cp::literal("v1.0"));
        b.Filter(b.options().filter ? cp::and_(*b.options().filter, term) : term);
        what += " value != v1.0";
        value_filter = true;
        break;
      }
      default:
        break;
    }
    SplitOptions so = RandomSizing(pick, &what);
    if (pick(4) == 0) {
      so.kind = SplitKind::kEvents;
      what += " events";
    }
    if (so.kind == SplitKind::kEvents && !value_filter && pick(2)) b.Columns({});
    CheckSplits(table, b, so, what, tiles);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(RandomTables, SplitOracleTest, ::testing::Range(1, 21));

// A random encoded key range [k.., k..5) over the keys of RandomTable (the
// "5" makes it hold the upper key itself and never be empty).
template <typename Pick>
std::pair<std::string, std::string> RandomEncodedRange(Pick&& pick, int64_t keys, std::string* what) {
  std::string lo = "k" + std::to_string(1000 + pick(keys)), hi = "k" + std::to_string(1000 + pick(keys));
  if (hi < lo) std::swap(lo, hi);
  *what += " encoded [" + lo + ", " + hi + "5)";
  return {lo, hi + "5"};
}

// Reads a view's splits (through their JSON, on 1 or 2 threads, in small
// batches): each of `kind`, with the unsplit view's schema, its rows' keys in
// its range; together, in index order, the unsplit view's rows `expected`.
void CheckViewSplits(const Table& table, const std::vector<Split>& splits, SplitKind kind, const Scan& whole,
                     const std::vector<std::string>& expected, const std::string& what) {
  std::vector<std::string> got;
  for (size_t i = 0; i < splits.size(); ++i) {
    ASSERT_EQ(splits[i].kind, kind) << what;
    ASSERT_OK_AND_ASSIGN(auto split, Split::FromJson(splits[i].ToJson()));
    ASSERT_EQ(split.ToJson(), splits[i].ToJson()) << what;
    ASSERT_OK_AND_ASSIGN(auto view, ReadSplit(table, split, 1 + static_cast<int>(i % 2), 3 + static_cast<int>(i % 3)));
    ASSERT_TRUE(view->schema()->Equals(*whole.schema())) << what;
    ASSERT_OK_AND_ASSIGN(auto rows, Rows(view));
    for (const auto& r : rows) {
      if (split.lower) {
        ASSERT_GE(KeyOf(r), *split.lower) << what << " split " << i;
      }
      if (split.upper) {
        ASSERT_LT(KeyOf(r), *split.upper) << what << " split " << i;
      }
    }
    got.insert(got.end(), rows.begin(), rows.end());
  }
  ASSERT_EQ(got, expected) << what << ": " << splits.size() << " splits";
}

// Intervals splits: the concatenation of the splits' intervals (read through
// their JSON) is MakeIntervals' result, for windows, versions, columns,
// filters (on keys, values and the bounds), coalescing and split targets.
class SplitIntervalsTest : public ::testing::TestWithParam<int> {};

TEST_P(SplitIntervalsTest, UnionOfSplitsIsTheIntervals) {
  std::mt19937_64 rng(9100 + GetParam());
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
  const int64_t day = 86400000, t0 = Ms("2024-01-01");
  const int64_t keys = 5 + pick(200), days = 3 + pick(30);
  ASSERT_OK_AND_ASSIGN(auto table, RandomTable(rng, keys, days, t0));
  const int64_t current = table->current_version().value();
  auto at = [&](int64_t ms) { return EventTime::FromMicros(ms * 1000); };
  for (int probe = 0; probe < 10; ++probe) {
    IntervalOptions o;
    std::string what = "seed " + std::to_string(GetParam()) + " probe " + std::to_string(probe);
    if (pick(2)) {
      const int64_t a = t0 + pick(days) * day, b = a + (1 + pick(days)) * day / 2;
      if (pick(2)) o.start = at(a);
      if (pick(2)) o.end = at(b);
      what += " window";
    }
    if (pick(2)) {
      o.version = Version(pick(current + 1));
      what += " version " + std::to_string(o.version->value());
    }
    if (pick(3) == 0) {
      o.columns = std::vector<std::string>{};
      what += " no values";
    }
    o.coalesce = pick(3) == 0;
    const std::string bound = "k" + std::to_string(1000 + pick(keys));
    switch (pick(5)) {
      case 0:
        o.filter = cp::greater_equal(cp::field_ref("key"), cp::literal(bound));
        what += " key >= " + bound;
        break;
      case 1:
        o.filter = cp::and_(cp::less_equal(cp::field_ref("key"), cp::literal(bound)),
                            cp::is_null(cp::field_ref("valid_to")));
        what += " key <= " + bound + " and current";
        break;
      case 2:
        o.filter = cp::not_equal(cp::field_ref("value"), cp::literal("v1.0"));
        what += " value != v1.0";
        break;
      case 3:
        std::tie(o.encoded_key_lower, o.encoded_key_upper) = RandomEncodedRange(pick, keys, &what);
        break;
      default:
        break;
    }
    SplitOptions so = RandomSizing(pick, &what);
    ASSERT_OK_AND_ASSIGN(auto splits, PlanIntervalSplits(*table, o, so));
    ASSERT_FALSE(splits.empty()) << what;
    IntervalOptions whole = o;
    whole.version = splits[0].version;
    ASSERT_OK_AND_ASSIGN(auto whole_view, MakeIntervals(*table, whole));
    ASSERT_OK_AND_ASSIGN(auto expected, Rows(whole_view));
    for (const auto& split : splits) ASSERT_EQ(split.coalesce, o.coalesce) << what;
    CheckViewSplits(*table, splits, SplitKind::kIntervals, *whole_view, expected, what);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(RandomTables, SplitIntervalsTest, ::testing::Range(1, 13));

// Changes splits: the concatenation of the splits' changes (read through
// their JSON) is MakeChanges' result, for two times, two versions, both,
// columns, key ranges and split targets; keys only the old point holds
// (deletes) fall in the splits too.
class SplitChangesTest : public ::testing::TestWithParam<int> {};

TEST_P(SplitChangesTest, UnionOfSplitsIsTheChanges) {
  std::mt19937_64 rng(9300 + GetParam());
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
  const int64_t day = 86400000, t0 = Ms("2024-01-01");
  const int64_t keys = 5 + pick(200), days = 3 + pick(30);
  ASSERT_OK_AND_ASSIGN(auto table, RandomTable(rng, keys, days, t0));
  const int64_t current = table->current_version().value();
  auto at = [&](int64_t ms) { return EventTime::FromMicros(ms * 1000); };
  for (int probe = 0; probe < 10; ++probe) {
    ChangeOptions o;
    std::string what = "seed " + std::to_string(GetParam()) + " probe " + std::to_string(probe);
    if (pick(3)) o.from_time = at(t0 + pick(days + 1) * day - pick(2));
    if (pick(3)) o.to_time = at(t0 + pick(days + 1) * day - pick(2));
    if (pick(2)) o.from_version = Version(pick(current + 1));
    if (pick(2)) o.to_version = Version(pick(current + 1));
    what += " from " + std::to_string(o.from_time.micros()) + "@" +
            (o.from_version ? std::to_string(o.from_version->value()) : "current") + " to " +
            std::to_string(o.to_time.micros()) + "@" +
            (o.to_version ? std::to_string(o.to_version->value()) : "current");
    if (pick(3) == 0) {
      o.columns = std::vector<std::string>{};
      what += " no values";
    }
    if (pick(4) == 0) std::tie(o.encoded_key_lower, o.encoded_key_upper) = RandomEncodedRange(pick, keys, &what);
    SplitOptions so = RandomSizing(pick, &what);
    ASSERT_OK_AND_ASSIGN(auto splits, PlanChangeSplits(*table, o, so));
    ASSERT_FALSE(splits.empty()) << what;
    ChangeOptions whole = o;
    whole.from_version = splits[0].from_version;
    whole.to_version = splits[0].version;
    ASSERT_OK_AND_ASSIGN(auto whole_view, MakeChanges(*table, whole));
    ASSERT_OK_AND_ASSIGN(auto expected, Rows(whole_view));
    CheckViewSplits(*table, splits, SplitKind::kChanges, *whole_view, expected, what);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(RandomTables, SplitChangesTest, ::testing::Range(1, 13));

TEST(SplitTest, IntervalSplitsRefuseWhatIntervalsRefuse) {
  ASSERT_OK_AND_ASSIGN(auto table, BandedTable(2, 50, [](int band, int i) {
                         return "k" + std::to_string(band) + "_" + std::to_string(100 + i);
                       }));
  IntervalOptions o;
  o.start = o.end = EventTime::FromMicros(5);
  EXPECT_EQ(ErrorKindOf(PlanIntervalSplits(*table, o).status()), ErrorKind::kInvalidArgument);
  o = {};
  o.columns = std::vector<std::string>{"nope"};
  EXPECT_EQ(ErrorKindOf(PlanIntervalSplits(*table, o).status()), ErrorKind::kInvalidArgument);
  o = {};
  o.filter = cp::equal(cp::field_ref("event_time"), cp::literal(1));  // intervals have valid_from instead
  EXPECT_EQ(ErrorKindOf(PlanIntervalSplits(*table, o).status()), ErrorKind::kInvalidArgument);
  // A split of the intervals kind with its window reversed is malformed JSON.
  o = {};
  SplitOptions so;
  so.max_splits = 3;
  ASSERT_OK_AND_ASSIGN(auto splits, PlanIntervalSplits(*table, o, so));
  ASSERT_EQ(splits.size(), 3u);
  Split bad = splits[0];
  bad.start = EventTime::FromMicros(10);
  bad.end = EventTime::FromMicros(10);
  EXPECT_EQ(ErrorKindOf(Split::FromJson(bad.ToJson()).status()), ErrorKind::kInvalidArgument);
  // Keys no filter can return: one split, which returns nothing.
  o.filter = cp::and_(cp::greater(cp::field_ref("key"), cp::literal("k1")),
                      cp::less(cp::field_ref("key"), cp::literal("k0")));
  ASSERT_OK_AND_ASSIGN(auto none, PlanIntervalSplits(*table, o, so));
  ASSERT_FALSE(none.empty());
  EXPECT_EQ(RowsOfSplits(*table, none), 0);
  // The same within an encoded range: the range is kept (its splits lie in it).
  o.encoded_key_lower = "k0_";
  o.encoded_key_upper = "k0_2";
  ASSERT_OK_AND_ASSIGN(none, PlanIntervalSplits(*table, o, so));
  for (const auto& s : none) {
    ASSERT_TRUE(s.lower && s.upper && *s.lower >= "k0_" && *s.upper <= "k0_2");
  }
  EXPECT_EQ(RowsOfSplits(*table, none), 0);
  o.filter.reset();
  ASSERT_OK_AND_ASSIGN(auto some, PlanIntervalSplits(*table, o, so));
  EXPECT_EQ(RowsOfSplits(*table, some), 50);  // band 0: k0_100 .. k0_149
  // An empty encoded range is refused, as PlanSplits refuses it.
  o.encoded_key_upper = "k0_";
  EXPECT_EQ(ErrorKindOf(PlanIntervalSplits(*table, o).status()), ErrorKind::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(auto all, PlanIntervalSplits(*table, {}, so));
  EXPECT_EQ(RowsOfSplits(*table, all), 100);
}

TEST(SplitTest, RowGroupStatisticsCutOneFile) {
  TableBuilder tb;
  std::vector<Ev> rows;
  for (int i = 0; i < 1000; ++i) rows.push_back({"k" + std::to_string(10000 + i), 1000, "v" + std::to_string(i)});
  ASSERT_OK(tb.AddDelta(1, rows, 0, /*row_group_rows=*/50));
  ASSERT_OK(tb.Commit(1));
  ASSERT_OK_AND_ASSIGN(auto table, tb.Open());
  SplitOptions so;
  so.max_splits = 4;
  ASSERT_OK_AND_ASSIGN(auto splits, PlanSplits(table->NewScan(), so));
  ASSERT_EQ(splits.size(), 4u);
  int64_t total = 0;
  for (const auto& s : splits) {
    ASSERT_OK_AND_ASSIGN(auto scan, ReadSplit(*table, s));
    ASSERT_OK_AND_ASSIGN(auto t, scan->ToTable());
    // One file, cut at row-group bounds: each split gets about a quarter.
    EXPECT_GT(t->num_rows(), 150) << s.ToJson();
    EXPECT_LT(t->num_rows(), 350) << s.ToJson();
    EXPECT_GT(s.estimated_rows, 150);
    EXPECT_LT(s.estimated_rows, 350);
    total += t->num_rows();
  }
  EXPECT_EQ(total, 1000);
  CheckSplits(table, table->NewScan(), so, "row groups");
}

TEST(SplitTest, EachSplitReadsOnlyItsFiles) {
  // Eight appends, each a band of keys of its own.
  ASSERT_OK_AND_ASSIGN(auto table, BandedTable(8, 50, [](int band, int i) {
    return "k" + std::to_string(band) + std::to_string(100 + i);
  }));
  SplitOptions so;
  so.max_splits = 4;
  ASSERT_OK_AND_ASSIGN(auto splits, PlanSplits(table->NewScan(), so));
  ASSERT_EQ(splits.size(), 4u);
  size_t read = 0;
  for (const auto& s : splits) {
    ASSERT_OK_AND_ASSIGN(auto scan, ReadSplit(*table, s));
    EXPECT_LE(scan->files().size(), 3u) << s.ToJson();
    read += scan->files().size();
  }
  EXPECT_LE(read, 11u);
  CheckSplits(table, table->NewScan(), so, "bands");
}

TEST(SplitTest, PinnedVersionSurvivesNewCommitsAndVacuumIsReported) {
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema()));
  ASSERT_OK(Append(table, *AppendInput({{"a", 1000, "1"}, {"b", 1000, "1"}})).status());
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  ASSERT_OK_AND_ASSIGN(auto splits, PlanSplits(table->NewScan()));
  ASSERT_EQ(splits.size(), 1u);
  ASSERT_EQ(splits[0].version.value(), 1);
  ASSERT_OK(Append(table, *AppendInput({{"a", 2000, "2"}, {"c", 1000, "2"}})).status());
  ASSERT_OK_AND_ASSIGN(auto fresh, Table::Open(storage));
  ASSERT_EQ(fresh->current_version().value(), 2);
  ASSERT_OK_AND_ASSIGN(auto scan, ReadSplit(*fresh, splits[0]));
  ASSERT_OK_AND_ASSIGN(auto rows, Rows(scan));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_NE(rows[0].find("|1"), std::string::npos);

  VacuumOptions vo;
  vo.retain_versions = 1;
  vo.grace_micros = 0;
  vo.now = std::chrono::system_clock::now() + std::chrono::hours(24);
  ASSERT_OK(Vacuum(fresh, vo).status());
  ASSERT_OK_AND_ASSIGN(fresh, Table::Open(storage));
  auto gone = ReadSplit(*fresh, splits[0]);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(ErrorKindOf(gone.status()), ErrorKind::kNotFound);
  EXPECT_NE(gone.status().message().find("vacuumed"), std::string::npos) << gone.status().ToString();
}

TEST(SplitTest, MalformedSplitsAreInvalidArgument) {
  Split good;
  good.version = Version(3);
  good.lower = std::string("a\0b", 3);
  good.upper = "c";
  good.filter = "not-an-expression";
  const std::string bad_filter = good.ToJson();
  good.filter.reset();
  ASSERT_OK_AND_ASSIGN(auto back, Split::FromJson(good.ToJson()));
  EXPECT_EQ(back.lower, good.lower);
  EXPECT_EQ(back.upper, good.upper);
  // The views' fields round-trip.
  Split view = good;
  view.kind = SplitKind::kChanges;
  view.from_time = EventTime::FromMicros(-7);
  view.from_version = Version(1);
  ASSERT_OK_AND_ASSIGN(back, Split::FromJson(view.ToJson()));
  EXPECT_EQ(back.kind, SplitKind::kChanges);
  EXPECT_EQ(back.from_time, view.from_time);
  EXPECT_TRUE(back.to_time.is_max());
  EXPECT_EQ(back.from_version, Version(1));
  view.kind = SplitKind::kIntervals;
  view.end = EventTime::FromMicros(9);
  view.coalesce = true;
  ASSERT_OK_AND_ASSIGN(back, Split::FromJson(view.ToJson()));
  EXPECT_EQ(back.kind, SplitKind::kIntervals);
  EXPECT_EQ(back.end, view.end);
  EXPECT_FALSE(back.start);
  EXPECT_TRUE(back.coalesce);
  for (const std::string& text :
       {std::string(""), std::string("[]"), std::string("{"), std::string("{\"split_format\": 1}"),
        std::string("{\"split_format\": 99, \"version\": 1}"), std::string("{\"split_format\": \"1\", \"version\": 1}"),
        std::string("{\"split_format\": 1, \"version\": -1}"),
        std::string("{\"split_format\": 1, \"version\": 1, \"key_lower\": \"zz\"}"),
        std::string("{\"split_format\": 1, \"version\": 1, \"key_lower\": \"abc\"}"),
        std::string("{\"split_format\": 1, \"version\": 1, \"key_lower\": \"62\", \"key_upper\": \"61\"}"),
        std::string("{\"split_format\": 1, \"version\": 1, \"kind\": \"both\"}"),
        std::string("{\"split_format\": 1, \"version\": 1, \"columns\": [1]}"),
        std::string("{\"split_format\": 1, \"version\": 1, \"index\": 3, \"count\": 2}"),
        std::string("{\"split_format\": 1, \"version\": 1, \"as_of\": \"x\"}"),
        // The views' fields: a window that is not one, flags and points of the wrong type.
        std::string("{\"split_format\": 1, \"version\": 1, \"kind\": \"intervals\", \"start\": 5, \"end\": 5}"),
        std::string("{\"split_format\": 1, \"version\": 1, \"kind\": \"intervals\", \"start\": \"x\"}"),
        std::string("{\"split_format\": 1, \"version\": 1, \"kind\": \"intervals\", \"coalesce\": 1}"),
        std::string("{\"split_format\": 1, \"version\": 1, \"kind\": \"changes\"}"),  // no from_version
        std::string("{\"split_format\": 1, \"version\": 1, \"kind\": \"changes\", \"from_version\": -2}"),
        std::string("{\"split_format\": 1, \"version\": 1, \"kind\": \"changes\", \"from_version\": 0, "
                    "\"to_time\": 1.5}"),
        bad_filter}) {
    auto r = Split::FromJson(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kInvalidArgument) << r.status().ToString();
  }
}

TEST(SplitTest, EmptyTableIsOneSplit) {
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema()));
  SplitOptions so;
  so.max_splits = 8;
  ASSERT_OK_AND_ASSIGN(auto splits, PlanSplits(table->NewScan(), so));
  ASSERT_EQ(splits.size(), 1u);
  ASSERT_OK_AND_ASSIGN(auto scan, ReadSplit(*table, splits[0]));
  ASSERT_OK_AND_ASSIGN(auto t, scan->ToTable());
  EXPECT_EQ(t->num_rows(), 0);
  // A key list is planned like a filter; a key that does not parse is
  // refused as the unsplit scan refuses it.
  ASSERT_OK_AND_ASSIGN(splits, PlanSplits(table->NewScan().KeyIn({"a"}), so));
  ASSERT_EQ(splits.size(), 1u);
  ASSERT_OK_AND_ASSIGN(scan, ReadSplit(*table, splits[0]));
  ASSERT_OK_AND_ASSIGN(t, scan->ToTable());
  EXPECT_EQ(t->num_rows(), 0);
  auto bad = PlanSplits(table->NewScan().KeyIn({std::string("\xff")}), so);
  EXPECT_EQ(ErrorKindOf(bad.status()), ErrorKind::kInvalidArgument) << bad.status().ToString();
}

// A key list keeps only the splits holding one of its keys: no more splits
// than keys, each reading only files whose range meets its own, and
// together the unsplit scan's rows.
TEST(SplitTest, KeyListsKeepOnlySplitsWithTheirKeys) {
  // 8 files of 100 keys each: k1000..k1799.
  ASSERT_OK_AND_ASSIGN(auto table,
                       BandedTable(8, 100, [](int band, int i) { return "k" + std::to_string(1000 + band * 100 + i); }));
  SplitOptions so;
  so.max_splits = 8;
  ASSERT_OK_AND_ASSIGN(auto all, PlanSplits(table->NewScan(), so));
  ASSERT_EQ(all.size(), 8u);
  ASSERT_OK_AND_ASSIGN(auto splits, PlanSplits(table->NewScan().KeyIn({"k1050", "k1060", "k1750"}), so));
  EXPECT_LE(splits.size(), 2u);
  EXPECT_EQ(RowsOfSplits(*table, splits), 3);
  // A range is cut by bytes like the whole table: about 1/8 of the bytes per
  // split, here 181 of 800 keys in 2 or 3 files.
  int64_t total = 0;
  for (const auto& s : all) total += s.estimated_bytes;
  SplitOptions by_bytes;
  by_bytes.target_bytes = total / 8 + 1;
  ASSERT_OK_AND_ASSIGN(splits, PlanSplits(table->NewScan().KeyRange("k1210", "k1390"), by_bytes));
  EXPECT_LE(splits.size(), 3u);
  for (const auto& s : splits) EXPECT_LE(s.files.size(), 3u);
  EXPECT_EQ(RowsOfSplits(*table, splits), 181);
}

// Files that each span every key: a range of a tenth of the keys is planned
// as about a tenth of the bytes, not as every file's whole bytes.
TEST(SplitTest, KeyRangeCountsItsShareOfEachFile) {
  ASSERT_OK_AND_ASSIGN(auto table,
                       BandedTable(8, 100, [](int band, int i) { return "k" + std::to_string(1000 + i * 8 + band); }));
  ASSERT_OK_AND_ASSIGN(auto all, PlanSplits(table->NewScan()));
  ASSERT_EQ(all.size(), 1u);
  SplitOptions so;
  so.target_bytes = all[0].estimated_bytes / 8 + 1;
  ASSERT_OK_AND_ASSIGN(all, PlanSplits(table->NewScan(), so));
  EXPECT_GE(all.size(), 6u);
  ASSERT_OK_AND_ASSIGN(auto splits, PlanSplits(table->NewScan().KeyRange("k1000", "k1079"), so));
  EXPECT_LE(splits.size(), 2u);
  EXPECT_EQ(RowsOfSplits(*table, splits), 80);
}

}  // namespace
}  // namespace bazof::testing

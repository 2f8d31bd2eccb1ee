// The external sort of append (src/write/external_sort.h, docs/spec.md §10a):
// random unsorted inputs with ties, duplicate (key, event time) rows,
// tombstones and composite keys, appended under a tiny memory budget that
// forces many spilled runs (and merge passes), checked row for row against a
// stable sort done here, against the same append without a budget, and
// scan by scan against the oracle.
#include <gtest/gtest.h>
#include <arrow/util/compression.h>
#include <parquet/arrow/reader.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <random>
#include <tuple>

#include "bazof/error.h"
#include "bazof/write.h"
#include "test_util.h"
#include "write/external_sort.h"

namespace bazof::testing {
namespace {

// Lets tiny budgets through (the documented test hook) for this process.
class ExternalSortTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("BAZOF_MEMORY_LIMIT_MINIMUM", "1", 1);
    spill_ = std::filesystem::temp_directory_path() / ("bazof-spill-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(spill_);
  }
  void TearDown() override {
    ::unsetenv("BAZOF_MEMORY_LIMIT_MINIMUM");
    std::filesystem::remove_all(spill_);
  }
  bool SpillDirEmpty() const { return std::filesystem::is_empty(spill_); }
  std::filesystem::path spill_;
};

// Every row of the data files version `v` added, in snapshot order.
arrow::Result<std::shared_ptr<arrow::Table>> RowsOfVersion(const std::shared_ptr<Table>& table, int64_t v) {
  std::vector<std::shared_ptr<arrow::Table>> parts;
  for (const auto& seg : table->current_snapshot()->segments) {
    for (const auto& f : seg.deltas) {
      if (!f.version || f.version->value() != v) continue;
      ARROW_ASSIGN_OR_RAISE(auto file, table->storage()->OpenForRead(f.path));
      ARROW_ASSIGN_OR_RAISE(auto reader, parquet::arrow::OpenFile(file, arrow::default_memory_pool()));
      ARROW_ASSIGN_OR_RAISE(auto t, reader->ReadTable());
      parts.push_back(std::move(t));
    }
  }
  if (parts.empty()) return arrow::Status::Invalid("no files of version ", v);
  ARROW_ASSIGN_OR_RAISE(auto all, arrow::ConcatenateTables(parts));
  return all->CombineChunks();
}

TEST_F(ExternalSortTest, TinyBudgetEqualsUnbudgetedAppendAndTheOracle) {
  for (int seed = 1; seed <= 6; ++seed) {
    std::mt19937_64 rng(7000 + seed);
    auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
    const int64_t day = 86400000, t0 = Ms("2024-01-01");
    const int64_t keys = 2 + pick(40), days = 1 + pick(6);
    auto budgeted_storage = MemStorage(), plain_storage = MemStorage();
    ASSERT_OK_AND_ASSIGN(auto budgeted, CreateTable(budgeted_storage, KvSchema()));
    ASSERT_OK_AND_ASSIGN(auto plain, CreateTable(plain_storage, KvSchema()));
    std::vector<OracleEvent> events;
    const int commits = 2 + static_cast<int>(pick(3));
    for (int64_t v = 1; v <= commits; ++v) {
      std::vector<Ev> rows;
      for (int64_t i = 0, n = 200 + pick(1200); i < n; ++i) {
        Ev e{"k" + std::to_string(pick(keys)), t0 + pick(days) * day, "v" + std::to_string(v) + "." + std::to_string(i),
             pick(6) == 0};
        if (e.deleted) e.value.clear();
        rows.push_back(e);
        events.push_back({e, v, i});
      }
      AppendOptions tiny;
      tiny.memory_limit_bytes = 2048 + pick(8192);  // runs of a few hundred bytes: dozens of runs
      tiny.spill_dir = spill_.string();
      tiny.chunk_rows = 50 + pick(1000);
      const int64_t batch_rows = 1 + pick(50);
      ASSERT_OK_AND_ASSIGN(budgeted, Table::Open(budgeted_storage));
      ASSERT_OK_AND_ASSIGN(auto r, Append(budgeted, *AppendInput(rows, batch_rows), tiny));
      EXPECT_GT(r.spilled_runs, 1) << "seed " << seed;
      EXPECT_GT(r.spilled_bytes, 0);
      EXPECT_GE(r.merge_passes, 1);
      EXPECT_EQ(r.memory_limit_bytes, tiny.memory_limit_bytes);
      EXPECT_GT(r.peak_memory_bytes, 0);
      EXPECT_TRUE(SpillDirEmpty());
      AppendOptions unbudgeted;
      unbudgeted.chunk_rows = tiny.chunk_rows;
      ASSERT_OK_AND_ASSIGN(plain, Table::Open(plain_storage));
      ASSERT_OK_AND_ASSIGN(auto p, Append(plain, *AppendInput(rows, batch_rows), unbudgeted));
      EXPECT_EQ(p.spilled_runs, 0);
      EXPECT_EQ(p.merge_passes, 0);
      EXPECT_EQ(r.files, p.files);
      ASSERT_OK_AND_ASSIGN(budgeted, Table::Open(budgeted_storage));
      ASSERT_OK_AND_ASSIGN(plain, Table::Open(plain_storage));
      ASSERT_OK_AND_ASSIGN(auto got, RowsOfVersion(budgeted, v));
      ASSERT_OK_AND_ASSIGN(auto want, RowsOfVersion(plain, v));
      ASSERT_TRUE(got->Equals(*want)) << "seed " << seed << " version " << v;
      for (int64_t version = 1; version <= v; ++version) {
        for (int probe = 0; probe < 4; ++probe) {
          const int64_t t = probe == 0 ? INT64_MAX / 1000 : t0 + pick(days + 1) * day - pick(2);
          std::optional<int64_t> as_of = probe == 0 ? std::nullopt : std::optional<int64_t>(t);
          ASSERT_OK_AND_ASSIGN(auto scanned, ScanKv(budgeted, as_of, version));
          ASSERT_EQ(scanned, Oracle(events, t, version)) << "seed " << seed << " version " << version << " T " << t;
        }
      }
    }
  }
}

// Composite key (string, int64): the files of the commit, concatenated, are
// exactly the input stably sorted by (key, event time), tombstones' values
// null, every duplicate kept in input order.
TEST_F(ExternalSortTest, CompositeKeysEqualAStableSortOfTheInput) {
  ASSERT_OK_AND_ASSIGN(auto schema, ParseSchemaSpec("venue:int64,value:string", {"sym", "venue"}));
  for (int seed = 1; seed <= 4; ++seed) {
    std::mt19937_64 rng(8000 + seed);
    auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
    auto storage = MemStorage();
    ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, schema));
    struct Row {
      std::string sym;
      int64_t venue, ms;
      std::string value;
      bool deleted;
    };
    std::vector<Row> rows;
    const int64_t n = 500 + pick(1500);
    for (int64_t i = 0; i < n; ++i) {
      // Encoded keys shorter and longer than the sort's 16-byte prefix.
      rows.push_back({"s" + std::string(1, static_cast<char>('a' + pick(5))) + (pick(3) == 0 ? std::string("\0x", 2) : "") +
                          (pick(2) == 0 ? std::string("-a-long-symbol") + std::string(1, static_cast<char>('a' + pick(3))) : ""),
                      pick(7) - 3, 1700000000000 + pick(4) * 1000, "r" + std::to_string(i), pick(5) == 0});
    }
    arrow::StringBuilder sym, value;
    arrow::Int64Builder venue;
    arrow::TimestampBuilder ms(arrow::timestamp(arrow::TimeUnit::MILLI), arrow::default_memory_pool());
    arrow::BooleanBuilder deleted;
    for (const auto& r : rows) {
      ASSERT_OK(sym.Append(r.sym));
      ASSERT_OK(venue.Append(r.venue));
      ASSERT_OK(ms.Append(r.ms));
      ASSERT_OK(value.Append(r.value));
      ASSERT_OK(deleted.Append(r.deleted));
    }
    auto in_schema = arrow::schema({arrow::field("sym", arrow::utf8()), arrow::field("venue", arrow::int64()),
                                    arrow::field("event_time", arrow::timestamp(arrow::TimeUnit::MILLI)),
                                    arrow::field("value", arrow::utf8()), arrow::field("_deleted", arrow::boolean())});
    auto batch = arrow::RecordBatch::Make(in_schema, n,
                                          {sym.Finish().ValueOrDie(), venue.Finish().ValueOrDie(),
                                           ms.Finish().ValueOrDie(), value.Finish().ValueOrDie(),
                                           deleted.Finish().ValueOrDie()});
    arrow::RecordBatchVector batches;
    const int64_t step = 1 + pick(40);
    for (int64_t off = 0; off < n; off += step) batches.push_back(batch->Slice(off, step));
    ASSERT_OK_AND_ASSIGN(auto reader, arrow::RecordBatchReader::Make(batches, in_schema));
    AppendOptions o;
    o.memory_limit_bytes = 1024 + pick(4096);
    o.spill_dir = spill_.string();
    o.chunk_rows = 100 + pick(700);
    ASSERT_OK_AND_ASSIGN(auto r, Append(table, *reader, o));
    EXPECT_GT(r.spilled_runs, 1);
    EXPECT_TRUE(SpillDirEmpty());
    ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
    ASSERT_OK_AND_ASSIGN(auto got, RowsOfVersion(table, 1));
    ASSERT_EQ(got->num_rows(), n);
    std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
      return std::tie(a.sym, a.venue, a.ms) < std::tie(b.sym, b.venue, b.ms);
    });
    auto gsym = std::static_pointer_cast<arrow::StringArray>(got->column(0)->chunk(0));
    auto gvenue = std::static_pointer_cast<arrow::Int64Array>(got->column(1)->chunk(0));
    auto gms = std::static_pointer_cast<arrow::TimestampArray>(got->column(2)->chunk(0));
    auto gvalue = std::static_pointer_cast<arrow::StringArray>(got->column(3)->chunk(0));
    auto gdel = std::static_pointer_cast<arrow::BooleanArray>(got->column(4)->chunk(0));
    for (int64_t i = 0; i < n; ++i) {
      const Row& w = rows[i];
      ASSERT_EQ(std::string(gsym->GetView(i)), w.sym) << "seed " << seed << " row " << i;
      ASSERT_EQ(gvenue->Value(i), w.venue) << "row " << i;
      ASSERT_EQ(gms->Value(i), w.ms) << "row " << i;
      ASSERT_EQ(gdel->Value(i), w.deleted) << "row " << i;
      if (w.deleted) {
        ASSERT_TRUE(gvalue->IsNull(i)) << "row " << i;
      } else {
        ASSERT_EQ(std::string(gvalue->GetView(i)), w.value) << "seed " << seed << " row " << i;
      }
    }
  }
}

// Merge passes: with fan-in 2 and one-row runs, runs are merged pairwise over
// many passes; the result is still the stable sort, whatever the spilled
// runs' compression; compressed runs take fewer bytes.
TEST_F(ExternalSortTest, ManyMergePassesKeepTheStableOrder) {
  std::mt19937_64 rng(42);
  const int64_t n = 333;
  arrow::StringBuilder key;
  arrow::TimestampBuilder ms(arrow::timestamp(arrow::TimeUnit::MILLI), arrow::default_memory_pool());
  arrow::Int64Builder seq;
  arrow::StringBuilder note;
  std::vector<std::tuple<std::string, int64_t, int64_t>> want;
  for (int64_t i = 0; i < n; ++i) {
    std::string k = "k" + std::to_string(rng() % 9);
    int64_t t = static_cast<int64_t>(rng() % 3);
    ASSERT_OK(key.Append(k));
    ASSERT_OK(ms.Append(t));
    ASSERT_OK(seq.Append(i));
    ASSERT_OK(note.Append(std::string(200, static_cast<char>('a' + i % 3))));  // compressible
    want.emplace_back(k, t, i);
  }
  std::stable_sort(want.begin(), want.end(), [](const auto& a, const auto& b) {
    return std::tie(std::get<0>(a), std::get<1>(a)) < std::tie(std::get<0>(b), std::get<1>(b));
  });
  auto schema = arrow::schema({arrow::field("key", arrow::utf8()),
                               arrow::field("event_time", arrow::timestamp(arrow::TimeUnit::MILLI)),
                               arrow::field("seq", arrow::int64()), arrow::field("note", arrow::utf8())});
  auto batch = arrow::RecordBatch::Make(schema, n, {key.Finish().ValueOrDie(), ms.Finish().ValueOrDie(),
                                                    seq.Finish().ValueOrDie(), note.Finish().ValueOrDie()});
  // Passes of a fan-in 2 merge of n runs: halvings until 2 are left, then the final one.
  int64_t passes = 1;
  for (int64_t runs = n; runs > 2; runs = (runs + 1) / 2) ++passes;
  std::optional<int64_t> uncompressed_bytes;
  for (auto codec : {arrow::Compression::UNCOMPRESSED, arrow::Compression::LZ4_FRAME, arrow::Compression::ZSTD}) {
    SCOPED_TRACE(arrow::util::Codec::GetCodecAsString(codec));
    write::SortLimits limits;
    limits.run_bytes = 1;  // every row is a run
    limits.batch_bytes = 1;
    limits.fan_in = 2;
    limits.spill_dir = spill_.string();
    limits.codec = codec;
    limits.release_bytes = 4096;
    ASSERT_OK_AND_ASSIGN(auto sorter,
                         write::ExternalSorter::Make(schema, {ColumnSpec{"key", 1, arrow::utf8()}}, limits));
    for (int64_t off = 0; off < n; off += 5) ASSERT_OK(sorter->Add(batch->Slice(off, std::min<int64_t>(5, n - off))));
    std::vector<int64_t> got;
    ASSERT_OK(sorter->Finish([&](const std::shared_ptr<arrow::RecordBatch>& b) {
      const auto& s = static_cast<const arrow::Int64Array&>(*b->column(2));
      const auto& text = static_cast<const arrow::StringArray&>(*b->column(3));
      for (int64_t i = 0; i < s.length(); ++i) {
        got.push_back(s.Value(i));
        EXPECT_EQ(text.GetView(i), std::string(200, static_cast<char>('a' + s.Value(i) % 3)));
      }
      return arrow::Status::OK();
    }));
    EXPECT_EQ(sorter->spilled_runs(), n);  // batches larger than a run are cut into one-row runs
    EXPECT_EQ(sorter->merge_passes(), passes);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], std::get<2>(want[i])) << "row " << i;
    EXPECT_TRUE(SpillDirEmpty());
    if (codec == arrow::Compression::UNCOMPRESSED) {
      uncompressed_bytes = sorter->spilled_bytes();
    } else {
      ASSERT_TRUE(uncompressed_bytes);
      EXPECT_LT(sorter->spilled_bytes(), *uncompressed_bytes);
    }
  }
}

// The budget's division: a quarter for a run, batches of budget/1024 within
// [64 KiB, 1 MiB], and a fan-in that merges what a budget spills from a
// large input in one pass (129 runs for the 10 GB W3 input at 512 MiB).
TEST_F(ExternalSortTest, LimitsFollowTheBudget) {
  ::unsetenv("BAZOF_SPILL_CODEC");
  ASSERT_OK_AND_ASSIGN(auto l512, write::LimitsForBudget(512LL << 20, spill_.string()));
  EXPECT_EQ(l512.run_bytes, 128LL << 20);
  EXPECT_EQ(l512.batch_bytes, 512LL << 10);
  EXPECT_GE(l512.fan_in, 129);
  EXPECT_EQ(l512.codec, arrow::Compression::LZ4_FRAME);
  EXPECT_EQ(l512.spill_dir, spill_.string());
  // The merge's cursors (about three batches each) fit half the budget.
  for (int64_t budget : {32LL << 20, 512LL << 20, 4LL << 30, 64LL << 30}) {
    ASSERT_OK_AND_ASSIGN(auto l, write::LimitsForBudget(budget, ""));
    EXPECT_LE(3 * l.batch_bytes * l.fan_in, budget / 2) << budget;
    EXPECT_GE(l.fan_in, 64) << budget;
    EXPECT_LE(l.fan_in, 512) << budget;
    EXPECT_GT(l.release_bytes, 0);
  }
  ::setenv("BAZOF_SPILL_CODEC", "none", 1);
  ASSERT_OK_AND_ASSIGN(auto none, write::LimitsForBudget(512LL << 20, ""));
  EXPECT_EQ(none.codec, arrow::Compression::UNCOMPRESSED);
  ::setenv("BAZOF_SPILL_CODEC", "zstd", 1);
  ASSERT_OK_AND_ASSIGN(auto zstd, write::LimitsForBudget(512LL << 20, ""));
  EXPECT_EQ(zstd.codec, arrow::Compression::ZSTD);
  ::setenv("BAZOF_SPILL_CODEC", "brotli-ish", 1);
  auto bad = write::LimitsForBudget(512LL << 20, "");
  ::unsetenv("BAZOF_SPILL_CODEC");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(ErrorKindOf(bad.status()), ErrorKind::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("BAZOF_SPILL_CODEC 'brotli-ish'"), std::string::npos);
}

// A spill directory that cannot take the runs: one error naming it, nothing
// committed.
TEST_F(ExternalSortTest, UnusableSpillDirectoryIsAnErrorAndCommitsNothing) {
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema()));
  std::vector<Ev> rows;
  for (int i = 0; i < 500; ++i) rows.push_back({"k" + std::to_string(i % 37), 1000 * (i % 11), "v", false});
  AppendOptions o;
  o.memory_limit_bytes = 4096;
  o.spill_dir = (spill_ / "missing").string();
  auto r = Append(table, *AppendInput(rows, 10), o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("spill directory '" + o.spill_dir + "'"), std::string::npos)
      << r.status().message();
  ASSERT_OK_AND_ASSIGN(auto reopened, Table::Open(storage));
  EXPECT_EQ(reopened->current_snapshot()->version.value(), 0);
}

TEST_F(ExternalSortTest, BudgetBelowTheMinimumIsRefused) {
  ::unsetenv("BAZOF_MEMORY_LIMIT_MINIMUM");
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema()));
  AppendOptions o;
  o.memory_limit_bytes = 1 << 20;
  auto r = Append(table, *AppendInput({{"k", 0, "v", false}}), o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kInvalidArgument);
  EXPECT_NE(r.status().message().find("below the minimum"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace bazof::testing

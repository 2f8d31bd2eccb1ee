// The write.row_group_rows property (docs/spec.md §4a, §6): the row groups of
// the files appends and compaction write, its defaults, and its refusals.
// That reads are the same whatever the size is checked by the oracle tests
// (compact_test.cc, join_asof_test.cc), which run with small values.
#include <arrow/io/memory.h>
#include <cstdlib>
#include <gtest/gtest.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>

#include "bazof/alter.h"
#include "bazof/compact.h"
#include "bazof/error.h"
#include "bazof/write.h"
#include "metadata/properties.h"
#include "test_util.h"

namespace bazof::testing {
namespace {

// Rows of each row group of every data file of the current version, by file.
std::map<std::string, std::vector<int64_t>> RowGroups(const std::shared_ptr<io::Storage>& storage) {
  auto table = Table::Open(storage).ValueOrDie();
  std::map<std::string, std::vector<int64_t>> out;
  for (const auto* f : table->current_snapshot()->AllFiles()) {
    auto bytes = storage->ReadFile(f->path).ValueOrDie();
    auto reader = parquet::ParquetFileReader::Open(
        std::make_shared<arrow::io::BufferReader>(arrow::Buffer::FromString(std::move(bytes))));
    auto md = reader->metadata();
    for (int rg = 0; rg < md->num_row_groups(); ++rg) out[f->path].push_back(md->RowGroup(rg)->num_rows());
  }
  return out;
}

std::vector<Ev> Events(int n, int keys) {
  std::vector<Ev> rows;
  for (int i = 0; i < n; ++i) {
    rows.push_back(Ev{"k" + std::to_string(i % keys), Ms("2024-01-01") + (i / keys) * 60000LL,
                      "v" + std::to_string(i), false});
  }
  return rows;
}

arrow::Status ForceCompact(const std::shared_ptr<io::Storage>& storage) {
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(storage));
  CompactOptions o;
  o.force = true;
  ARROW_ASSIGN_OR_RAISE(auto r, Compact(table, o));
  if (!r.committed) return arrow::Status::Invalid("compaction committed nothing");
  return arrow::Status::OK();
}

TEST(RowGroupRowsTest, DefaultsAre64KiCompactedAnd128KiAppended) {
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema()));
  ASSERT_OK(Append(table, *AppendInput(Events(150000, 50))).status());
  EXPECT_EQ(RowGroups(storage).begin()->second, std::vector<int64_t>({131072, 150000 - 131072}));
  ASSERT_OK(ForceCompact(storage));
  // One segment (min_segment_rows): its delta (every event) in 65536-row
  // groups; a base would hold one row per key.
  int64_t rows = 0;
  for (const auto& [path, groups] : RowGroups(storage)) {
    for (size_t i = 0; i < groups.size(); ++i) {
      if (i + 1 < groups.size()) {
        EXPECT_EQ(groups[i], metadata::kCompactedRowGroupRows) << path;
      }
      EXPECT_LE(groups[i], metadata::kCompactedRowGroupRows) << path;
      rows += groups[i];
    }
  }
  EXPECT_GE(rows, 150000);
}

TEST(RowGroupRowsTest, PropertySizesAppendedAndCompactedFiles) {
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema(), {{"write.row_group_rows", "7"}}));
  EXPECT_EQ(table->current_snapshot()->properties.at("write.row_group_rows"), "7");
  ASSERT_OK(Append(table, *AppendInput(Events(100, 9))).status());
  EXPECT_EQ(RowGroups(storage).begin()->second, std::vector<int64_t>({7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 2}));
  ASSERT_OK(ForceCompact(storage));
  for (const auto& [path, groups] : RowGroups(storage)) {
    for (int64_t g : groups) EXPECT_LE(g, 7) << path;
  }

  // Changed by alter: files written from then on follow it.
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  ASSERT_OK(Alter(table, SetProperty{"write.row_group_rows", "40"}).status());
  ASSERT_OK(ForceCompact(storage));
  int64_t biggest = 0;
  for (const auto& [path, groups] : RowGroups(storage)) {
    for (int64_t g : groups) biggest = std::max(biggest, g);
  }
  EXPECT_EQ(biggest, 40);
}

TEST(RowGroupRowsTest, BadValuesAreRefusedAndNothingIsCreated) {
  for (const char* bad : {"0", "-3", "many", "4k", "1.5", "", "67108865"}) {
    auto storage = MemStorage();
    auto r = CreateTable(storage, KvSchema(), {{"write.row_group_rows", bad}});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find("write.row_group_rows"), std::string::npos) << r.status().message();
    EXPECT_FALSE(Table::Open(storage).ok()) << bad;
  }
  for (const char* good : {"1", "auto", "4096", "67108864"}) {
    EXPECT_TRUE(metadata::ValidateProperty("write.row_group_rows", good).ok()) << good;
  }
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema()));
  auto altered = Alter(table, SetProperty{"write.row_group_rows", "0"});
  ASSERT_FALSE(altered.ok());
  EXPECT_EQ(ErrorKindOf(altered.status()), ErrorKind::kInvalidArgument);
}

// Compaction keeps every segment's files open, and an open Parquet file keeps
// each row group's metadata: with auto, row groups grow so that the footers
// of twice the events read (about 1 KiB per column chunk) fit a quarter of
// the budget; a set value is kept. A 1 MiB budget (the test minimum) makes
// 200000 events a "large" table: 256 chunks allowed, 5 columns.
TEST(RowGroupRowsTest, AutoRowGroupsGrowToBoundTheOpenFilesFooters) {
  ASSERT_EQ(setenv("BAZOF_MEMORY_LIMIT_MINIMUM", "1MiB", 1), 0);
  for (const bool set : {false, true}) {
    auto storage = MemStorage();
    std::map<std::string, std::string> props;
    if (set) props["write.row_group_rows"] = "4096";
    ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema(), props));
    ASSERT_OK(Append(table, *AppendInput(Events(200000, 500))).status());
    ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
    const int64_t mid = Ms("2024-01-01") + 200 * 60000LL;
    ASSERT_OK_AND_ASSIGN(auto before, ScanKv(table, std::nullopt));
    ASSERT_OK_AND_ASSIGN(auto before_mid, ScanKv(table, mid));
    CompactOptions o;
    o.force = true;
    o.threads = 2;
    o.memory_limit_bytes = 1 << 20;
    ASSERT_OK_AND_ASSIGN(auto r, Compact(table, o));
    ASSERT_TRUE(r.committed);
    ASSERT_GE(r.segments, 1);
    // A quarter of the budget for the footers of the files encoded at once
    // (one per encoding thread): 256 KiB of ~1 KiB column chunks.
    const int64_t chunks = 256 / std::min<int64_t>(2, r.segments);
    int64_t groups = 0, biggest = 0;
    for (const auto& [path, sizes] : RowGroups(storage)) {
      groups += std::ssize(sizes);
      for (int64_t g : sizes) biggest = std::max(biggest, g);
      // 5 columns a group, and a partial group per file.
      if (!set) {
        EXPECT_LE(std::ssize(sizes) * 5, chunks + 5) << path;
      }
    }
    if (set) {
      EXPECT_LE(biggest, 4096);
      EXPECT_GE(groups, 200000 / 4096);
    }
    ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
    EXPECT_EQ(ScanKv(table, std::nullopt).ValueOrDie(), before);
    EXPECT_EQ(ScanKv(table, mid).ValueOrDie(), before_mid);
  }
  unsetenv("BAZOF_MEMORY_LIMIT_MINIMUM");
}

// Compaction spills every segment's rows and encodes a few files at a time
// (docs/spec.md §13 "Memory"), so many segments under a small budget still
// get full row groups: writing all of 60 segments' files at once, 32 MiB
// held 1024-row groups in each.
TEST(RowGroupRowsTest, ManySegmentsUnderASmallBudgetKeepLargeRowGroups) {
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema()));
  // 600 keys, an event a minute each, for 300 minutes.
  ASSERT_OK(Append(table, *AppendInput(Events(600 * 300, 600))).status());
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  ASSERT_OK_AND_ASSIGN(auto before, ScanKv(table, std::nullopt));
  const int64_t mid = Ms("2024-01-01") + 37 * 60000LL;
  ASSERT_OK_AND_ASSIGN(auto before_mid, ScanKv(table, mid));
  CompactOptions o;
  o.force = true;
  o.threads = 2;
  o.segment_duration_us = 5 * 60 * 1000000LL;  // 60 segments of 3000 events
  o.memory_limit_bytes = 32 << 20;
  ASSERT_OK_AND_ASSIGN(auto r, Compact(table, o));
  ASSERT_TRUE(r.committed);
  EXPECT_GE(r.segments, 60);
  EXPECT_GT(r.spilled_bytes, 0);
  int64_t files = 0;
  for (const auto& [path, sizes] : RowGroups(storage)) {
    ++files;
    EXPECT_EQ(std::ssize(sizes), 1) << path;  // 3000 delta rows, 600 base rows: one group each
  }
  EXPECT_EQ(files, std::ssize(r.files_added));
  EXPECT_GE(files, 2 * r.segments - 2);  // every segment a delta, all but the first a base
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  EXPECT_EQ(ScanKv(table, std::nullopt).ValueOrDie(), before);
  EXPECT_EQ(ScanKv(table, mid).ValueOrDie(), before_mid);
}

TEST(RowGroupRowsTest, StoredValuesAreReadOrCorruption) {
  EXPECT_EQ(metadata::RowGroupRows({}, 123).ValueOrDie(), 123);
  EXPECT_EQ(metadata::RowGroupRows({{"write.row_group_rows", "auto"}}, 123).ValueOrDie(), 123);
  EXPECT_EQ(metadata::RowGroupRows({{"write.row_group_rows", "9"}}, 123).ValueOrDie(), 9);
  auto bad = metadata::RowGroupRows({{"write.row_group_rows", "nine"}}, 123);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(ErrorKindOf(bad.status()), ErrorKind::kCorruption);
}

}  // namespace
}  // namespace bazof::testing

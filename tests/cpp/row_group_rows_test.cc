// The write.row_group_rows property (docs/spec.md §4a, §6): the row groups of
// the files appends and compaction write, its defaults, and its refusals.
// That reads are the same whatever the size is checked by the oracle tests
// (compact_test.cc, join_asof_test.cc), which run with small values.
#include <arrow/io/memory.h>
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

TEST(RowGroupRowsTest, DefaultsAre4096CompactedAnd128KiAppended) {
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema()));
  ASSERT_OK(Append(table, *AppendInput(Events(10000, 50))).status());
  EXPECT_EQ(RowGroups(storage).begin()->second, std::vector<int64_t>({10000}));
  ASSERT_OK(ForceCompact(storage));
  // One segment (the table is small): its delta (every event) in 4096-row
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
  EXPECT_GE(rows, 10000);
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

// The write.page_bytes property (docs/spec.md §4a, §6, §22): the data page
// size of the files appends and compaction write, its defaults, and its
// refusals. That reads are the same whatever the page size is checked by the
// oracle tests (compact_test.cc runs with small pages).
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

struct Pages {
  int64_t pages = 0;  // data pages of the event-time column, all files
  int64_t bytes = 0;  // its uncompressed bytes
  double average() const { return pages ? static_cast<double>(bytes) / static_cast<double>(pages) : 0; }
};

// The event-time column (8 bytes a value, plain or dictionary: sizes follow
// the rows) of every data file of the current version, from the footers'
// encoding stats.
Pages EventTimePages(const std::shared_ptr<io::Storage>& storage, bool deltas_only = true) {
  auto table = Table::Open(storage).ValueOrDie();
  Pages out;
  for (const auto& seg : table->current_snapshot()->segments) {
    std::vector<const DataFileRef*> files;
    for (const auto& d : seg.deltas) files.push_back(&d);
    if (!deltas_only && seg.base) files.push_back(&*seg.base);
    for (const auto* f : files) {
      auto bytes = storage->ReadFile(f->path).ValueOrDie();
      auto reader = parquet::ParquetFileReader::Open(
          std::make_shared<arrow::io::BufferReader>(arrow::Buffer::FromString(std::move(bytes))));
      auto md = reader->metadata();
      const int col = md->schema()->ColumnIndex("event_time");
      for (int rg = 0; rg < md->num_row_groups(); ++rg) {
        auto chunk = md->RowGroup(rg)->ColumnChunk(col);
        for (const auto& s : chunk->encoding_stats()) {
          if (s.page_type == parquet::PageType::DATA_PAGE || s.page_type == parquet::PageType::DATA_PAGE_V2) {
            out.pages += s.count;
          }
        }
        out.bytes += chunk->total_uncompressed_size();
      }
    }
  }
  return out;
}

// Distinct event times (no dictionary can shrink them): 8 bytes a row.
std::vector<Ev> Events(int n, int keys) {
  std::vector<Ev> rows;
  for (int i = 0; i < n; ++i) {
    rows.push_back(Ev{"k" + std::to_string(i % keys), Ms("2024-01-01") + i * 1000LL, "v", false});
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

// Arrow closes a page once it passes the target, checking after each batch
// of 1024 values (8 KiB here): no page is much above it. Pages cut short (the
// last of each row group, the dictionary-encoded one before the fallback to
// plain) lower the average: it stays above a third of the target.
void ExpectPagesNear(const Pages& p, int64_t target) {
  ASSERT_GT(p.pages, 1);
  EXPECT_LE(p.average(), static_cast<double>(target + 8 * 1024 + 1024)) << p.pages << " pages";
  EXPECT_GE(p.average(), static_cast<double>(target) / 3) << p.pages << " pages";
}

TEST(PageBytesTest, AppendedFilesDefaultToKAppendedPageBytes) {
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema()));
  ASSERT_OK(Append(table, *AppendInput(Events(200000, 50))).status());
  ExpectPagesNear(EventTimePages(storage), metadata::kAppendedPageBytes);
}

TEST(PageBytesTest, PropertySizesAppendedAndCompactedPages) {
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema(), {{"write.page_bytes", "16KiB"}}));
  ASSERT_OK(Append(table, *AppendInput(Events(100000, 50))).status());
  ExpectPagesNear(EventTimePages(storage), 16 * 1024);
  // Compaction: the budget's page size (up to 64 KiB), capped by the property.
  ASSERT_OK(ForceCompact(storage));
  const Pages compacted = EventTimePages(storage);
  ASSERT_GT(compacted.pages, 1);
  EXPECT_LE(compacted.average(), 16 * 1024 + 8 * 1024 + 1024);

  // Larger than the default too.
  auto other = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto t2, CreateTable(other, KvSchema(), {{"write.page_bytes", "256KiB"}}));
  ASSERT_OK(Append(t2, *AppendInput(Events(200000, 50))).status());
  ExpectPagesNear(EventTimePages(other), 256 * 1024);
}

TEST(PageBytesTest, BadValuesAreRefusedAndNothingIsCreated) {
  for (const char* bad : {"0", "-3", "many", "1.5", "", "4095", "3KiB", "65MiB", "1TiB"}) {
    auto storage = MemStorage();
    auto r = CreateTable(storage, KvSchema(), {{"write.page_bytes", bad}});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find("write.page_bytes"), std::string::npos) << r.status().message();
    EXPECT_FALSE(Table::Open(storage).ok()) << bad;
  }
  for (const char* good : {"auto", "4KiB", "4096", "128KiB", "1MB", "64MiB"}) {
    EXPECT_TRUE(metadata::ValidateProperty("write.page_bytes", good).ok()) << good;
  }
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema()));
  auto altered = Alter(table, SetProperty{"write.page_bytes", "2KiB"});
  ASSERT_FALSE(altered.ok());
  EXPECT_EQ(ErrorKindOf(altered.status()), ErrorKind::kInvalidArgument);
}

TEST(PageBytesTest, StoredValuesAreReadOrCorruption) {
  EXPECT_EQ(metadata::PageBytes({}, 123).ValueOrDie(), 123);
  EXPECT_EQ(metadata::PageBytes({{"write.page_bytes", "auto"}}, 123).ValueOrDie(), 123);
  EXPECT_EQ(metadata::PageBytes({{"write.page_bytes", "8KiB"}}, 123).ValueOrDie(), 8192);
  auto bad = metadata::PageBytes({{"write.page_bytes", "eight"}}, 123);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(ErrorKindOf(bad.status()), ErrorKind::kCorruption);
}

}  // namespace
}  // namespace bazof::testing

namespace bazof::testing {
namespace {

// write.page_rows (docs/spec.md §4a, §6): rows per data page. Compacted files
// default to 512-row pages (page-level reads, §7b), appended ones to Parquet's
// 20,000 (their pages are then cut by bytes first).
TEST(PageRowsTest, DefaultsAre512CompactedAndParquetsAppended) {
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema()));
  const int rows = 60000;
  ASSERT_OK(Append(table, *AppendInput(Events(rows, 50))).status());
  EXPECT_LT(EventTimePages(storage).pages, rows / metadata::kCompactedPageRows);
  ASSERT_OK(ForceCompact(storage));
  EXPECT_GE(EventTimePages(storage, /*deltas_only=*/false).pages, rows / metadata::kCompactedPageRows);
}

TEST(PageRowsTest, PropertySizesAppendedAndCompactedPages) {
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema(), {{"write.page_rows", "100"}}));
  const int rows = 20000;
  ASSERT_OK(Append(table, *AppendInput(Events(rows, 50))).status());
  EXPECT_GE(EventTimePages(storage).pages, rows / 100);
  ASSERT_OK(ForceCompact(storage));
  EXPECT_GE(EventTimePages(storage, /*deltas_only=*/false).pages, rows / 100);
}

// An open writer keeps its page index (an entry per data page and column)
// until it closes: under a small budget, auto pages grow with the row groups
// (compact.cc FitRowGroups); a set write.page_rows is kept.
TEST(PageRowsTest, AutoPagesGrowToBoundTheOpenFilesPageIndexes) {
  ASSERT_EQ(setenv("BAZOF_MEMORY_LIMIT_MINIMUM", "1MiB", 1), 0);
  for (const bool set : {false, true}) {
    auto storage = MemStorage();
    std::map<std::string, std::string> props;
    if (set) props["write.page_rows"] = "512";
    ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema(), props));
    ASSERT_OK(Append(table, *AppendInput(Events(200000, 500))).status());
    ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
    CompactOptions o;
    o.force = true;
    o.memory_limit_bytes = 1 << 20;
    ASSERT_OK_AND_ASSIGN(auto r, Compact(table, o));
    ASSERT_TRUE(r.committed);
    ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
    int64_t rows = 0;
    for (const auto* f : table->current_snapshot()->AllFiles()) rows += f->rows;
    const int64_t pages = EventTimePages(storage, /*deltas_only=*/false).pages;
    if (set) {
      EXPECT_GE(pages, rows / 512);
    } else {
      EXPECT_LT(pages, rows / 512) << rows << " rows";
    }
  }
  unsetenv("BAZOF_MEMORY_LIMIT_MINIMUM");
}

TEST(PageRowsTest, BadValuesAreRefusedAndStoredOnesRead) {
  for (const char* bad : {"0", "-3", "many", "1.5", "", "1048577", "1KiB"}) {
    auto storage = MemStorage();
    auto r = CreateTable(storage, KvSchema(), {{"write.page_rows", bad}});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find("write.page_rows"), std::string::npos) << r.status().message();
  }
  for (const char* good : {"auto", "1", "512", "1048576"}) {
    EXPECT_TRUE(metadata::ValidateProperty("write.page_rows", good).ok()) << good;
  }
  EXPECT_EQ(metadata::PageRows({}, 512).ValueOrDie(), 512);
  EXPECT_EQ(metadata::PageRows({{"write.page_rows", "auto"}}, 512).ValueOrDie(), 512);
  EXPECT_EQ(metadata::PageRows({{"write.page_rows", "64"}}, 512).ValueOrDie(), 64);
  auto stored = metadata::PageRows({{"write.page_rows", "none"}}, 512);
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(ErrorKindOf(stored.status()), ErrorKind::kCorruption);
}

}  // namespace
}  // namespace bazof::testing

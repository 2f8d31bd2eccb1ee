// Page checksums (docs/spec.md §6.1): every data file bazof writes carries a
// CRC per page; a damaged page is kCorruption naming the file, never
// different rows; validate --deep reports it; files without CRCs still read
// and are reported unverifiable.
#include <arrow/api.h>
#include <arrow/io/memory.h>
#include <gtest/gtest.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>

#include <random>

#include "bazof/error.h"
#include "bazof/validate.h"
#include "bazof/write.h"
#include "maintenance_util.h"
#include "metadata/page_checksums.h"
#include "test_util.h"

namespace bazof::testing {
namespace {

// A table of one append of `n` rows (several row groups' worth of pages).
std::shared_ptr<io::Storage> TableOf(int n) {
  auto storage = MemStorage();
  auto table = CreateTable(storage, KvSchema()).ValueOrDie();
  std::vector<Ev> rows;
  for (int i = 0; i < n; ++i) {
    rows.push_back(Ev{"key" + std::to_string(i % 997), Ms("2024-01-01") + i * 60000LL,
                      "value-" + std::to_string(i * 7919 % 10007), i % 13 == 0});
    if (rows.back().deleted) rows.back().value = "";
  }
  EXPECT_TRUE(Append(table, *AppendInput(rows)).ok());
  return storage;
}

std::string OnlyDataFile(io::Storage& storage) {
  auto snap = metadata::ReadSnapshotFile(storage, 1).ValueOrDie();
  auto files = snap->AllFiles();
  EXPECT_EQ(files.size(), 1u);
  return files.front()->path;
}

std::shared_ptr<parquet::FileMetaData> Footer(const std::string& bytes) {
  auto reader = parquet::ParquetFileReader::Open(std::make_shared<arrow::io::BufferReader>(arrow::Buffer::FromString(bytes)));
  return reader->metadata();
}

// [begin, end) of every column chunk: its pages (headers and data).
std::vector<std::pair<int64_t, int64_t>> PageRanges(const parquet::FileMetaData& md) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (int rg = 0; rg < md.num_row_groups(); ++rg) {
    for (int c = 0; c < md.num_columns(); ++c) {
      auto chunk = md.RowGroup(rg)->ColumnChunk(c);
      int64_t begin = chunk->has_dictionary_page() ? chunk->dictionary_page_offset() : chunk->data_page_offset();
      out.emplace_back(begin, begin + chunk->total_compressed_size());
    }
  }
  return out;
}

arrow::Result<KvState> ScanLatest(const std::shared_ptr<io::Storage>& storage) {
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(storage));
  return ScanKv(table, std::nullopt);
}

ValidationReport Deep(const std::shared_ptr<io::Storage>& storage) {
  ValidateOptions o;
  o.deep = true;
  auto r = ValidateTable(storage, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : ValidationReport{};
}

bool Reports(const ValidationReport& r, const std::string& file) {
  for (const auto& p : r.problems) {
    if (p.object == file) return true;
  }
  return false;
}

TEST(IntegrityTest, DataFilesCarryPageChecksums) {
  auto storage = TableOf(3000);
  const std::string name = OnlyDataFile(*storage);
  auto md = Footer(storage->ReadFile(name).ValueOrDie());
  EXPECT_TRUE(metadata::HasPageChecksums(*md));
  auto r = Deep(storage);
  EXPECT_TRUE(r.ok()) << ProblemsText(r);
  EXPECT_TRUE(r.unverifiable.empty());
  EXPECT_TRUE(r.verified());
}

TEST(IntegrityTest, FlippedByteInAPageIsCorruptionNamingTheFile) {
  auto storage = TableOf(3000);
  const std::string name = OnlyDataFile(*storage);
  const std::string good = storage->ReadFile(name).ValueOrDie();
  auto md = Footer(good);
  // The middle of the value column's chunk (key, event_time, value, ...).
  auto chunk = md->RowGroup(0)->ColumnChunk(2);
  const int64_t begin = chunk->has_dictionary_page() ? chunk->dictionary_page_offset() : chunk->data_page_offset();
  std::string bad = good;
  bad[begin + chunk->total_compressed_size() / 2] ^= 0x01;
  ASSERT_OK(storage->ReplaceFile(name, bad));

  auto got = ScanLatest(storage);
  ASSERT_FALSE(got.ok()) << "a damaged page was read as rows";
  EXPECT_EQ(ErrorKindOf(got.status()), ErrorKind::kCorruption) << got.status().ToString();
  EXPECT_NE(got.status().message().find(name), std::string::npos) << got.status().message();
  EXPECT_NE(got.status().message().find("page checksum mismatch"), std::string::npos) << got.status().message();
  EXPECT_NE(got.status().message().find("row group 0"), std::string::npos) << got.status().message();

  auto r = Deep(storage);
  ASSERT_TRUE(Reports(r, name)) << ProblemsText(r);
  EXPECT_NE(ProblemsText(r).find("column '"), std::string::npos) << ProblemsText(r);
  // The footer-only validation cannot see it; that is what --deep is for.
  ValidateOptions shallow;
  EXPECT_TRUE(ValidateTable(storage, shallow)->ok());
}

// Any byte of any page: an error naming the file, or exactly the same rows.
TEST(IntegrityTest, RandomFlipsNeverChangeRows) {
  auto storage = TableOf(3000);
  const std::string name = OnlyDataFile(*storage);
  const std::string good = storage->ReadFile(name).ValueOrDie();
  ASSERT_OK_AND_ASSIGN(auto expected, ScanLatest(storage));
  auto ranges = PageRanges(*Footer(good));
  int64_t total = 0;
  for (const auto& [b, e] : ranges) total += e - b;
  const uint64_t seed = std::random_device{}();
  std::mt19937_64 rng(seed);
  int errors = 0;
  for (int i = 0; i < 20; ++i) {
    int64_t pick = static_cast<int64_t>(rng() % static_cast<uint64_t>(total)), pos = -1;
    for (const auto& [b, e] : ranges) {
      if (pick < e - b) {
        pos = b + pick;
        break;
      }
      pick -= e - b;
    }
    const auto mask = static_cast<char>(1 + rng() % 255);
    SCOPED_TRACE("seed " + std::to_string(seed) + ", byte " + std::to_string(pos) + " ^ " +
                 std::to_string(static_cast<unsigned char>(mask)));
    std::string bad = good;
    bad[pos] ^= mask;
    ASSERT_OK(storage->ReplaceFile(name, bad));
    auto got = ScanLatest(storage);
    auto report = Deep(storage);
    if (got.ok()) {
      EXPECT_EQ(*got, expected) << "different rows without an error";
    } else {
      ++errors;
      EXPECT_NE(got.status().message().find(name), std::string::npos) << got.status().message();
      EXPECT_EQ(got.status().message().find('\n'), std::string::npos) << "not one line: " << got.status().message();
      EXPECT_TRUE(Reports(report, name)) << "scan failed (" << got.status().message()
                                         << ") but validate --deep passed";
    }
    if (report.ok()) {
      EXPECT_TRUE(got.ok()) << "validate --deep passed a file scan refuses";
    }
  }
  EXPECT_GT(errors, 10);  // almost every byte of a page is covered by its CRC
  ASSERT_OK(storage->ReplaceFile(name, good));
  EXPECT_TRUE(Deep(storage).verified());
}

// A file as another writer (or bazof before page checksums) wrote it: same
// rows and schema, no CRCs, no footer key.
std::string WithoutChecksums(const std::string& bytes) {
  auto input = std::make_shared<arrow::io::BufferReader>(arrow::Buffer::FromString(bytes));
  auto reader = parquet::arrow::OpenFile(input, arrow::default_memory_pool()).ValueOrDie();
  auto table = reader->ReadTable().ValueOrDie()->ReplaceSchemaMetadata(nullptr);
  auto sink = arrow::io::BufferOutputStream::Create().ValueOrDie();
  auto arrow_props = parquet::ArrowWriterProperties::Builder().store_schema()->build();
  EXPECT_TRUE(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), sink, 64 * 1024,
                                         parquet::default_writer_properties(), arrow_props)
                  .ok());
  return sink->Finish().ValueOrDie()->ToString();
}

TEST(IntegrityTest, FilesWithoutChecksumsReadAndAreUnverifiable) {
  auto storage = TableOf(500);
  const std::string name = OnlyDataFile(*storage);
  ASSERT_OK_AND_ASSIGN(auto expected, ScanLatest(storage));
  const std::string plain = WithoutChecksums(storage->ReadFile(name).ValueOrDie());
  ASSERT_FALSE(metadata::HasPageChecksums(*Footer(plain)));
  ASSERT_OK(storage->ReplaceFile(name, plain));
  Tamper(*storage, 1, [&](Snapshot& s) {
    for (auto& seg : s.segments) {
      for (auto& d : seg.deltas) d.size = static_cast<int64_t>(plain.size());
    }
  });
  ASSERT_OK_AND_ASSIGN(auto got, ScanLatest(storage));
  EXPECT_EQ(got, expected);
  auto r = Deep(storage);
  EXPECT_TRUE(r.ok()) << ProblemsText(r);
  ASSERT_EQ(r.unverifiable.size(), 1u);
  EXPECT_EQ(r.unverifiable[0].object, name);
  EXPECT_NE(r.unverifiable[0].problem.find("without page checksums"), std::string::npos);
  EXPECT_FALSE(r.verified());
  // Shallow validation reads no pages and says nothing about them.
  ValidateOptions shallow;
  EXPECT_TRUE(ValidateTable(storage, shallow)->unverifiable.empty());
}

TEST(IntegrityTest, LegacyFixtureFilesAreUnverifiable) {
  auto storage = io::OpenStorage(std::string(BAZOF_FIXTURES_DIR) + "/bazof-0.1", "table0").ValueOrDie();
  auto r = Deep(storage);
  EXPECT_TRUE(r.ok()) << ProblemsText(r);
  EXPECT_EQ(static_cast<int64_t>(r.unverifiable.size()), r.files_checked);
  EXPECT_FALSE(r.verified());
}

}  // namespace
}  // namespace bazof::testing

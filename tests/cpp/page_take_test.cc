// Page-level reads (read/page_take.h): rows taken through the offset index
// equal the same rows of the whole column, for every column type bazof
// tables hold, nullable or not, dictionary-encoded or plain, with pages of 1
// to 9 rows and rows at page edges.
#include "read/page_take.h"

#include <gtest/gtest.h>

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/io/memory.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/schema.h>
#include <parquet/arrow/writer.h>
#include <parquet/file_reader.h>
#include <parquet/page_index.h>

#include <cstring>
#include <random>

#include "bazof/error.h"
#include "test_util.h"

namespace bazof::testing {
namespace {

// A table of `n` rows: one column per type, random values, nulls in the
// nullable ones.
std::shared_ptr<arrow::Table> MixedTable(int64_t n, std::mt19937_64& rng) {
  arrow::Int64Builder ints, ints_with_nulls;
  arrow::StringBuilder strings, strings_with_nulls;
  arrow::BinaryBuilder binaries;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t v = static_cast<int64_t>(rng() % 2000) - 1000;
    (void)ints.Append(v);
    if (rng() % 4 == 0) (void)ints_with_nulls.AppendNull();
    else (void)ints_with_nulls.Append(v * 1000);
    (void)strings.Append("s" + std::to_string(rng() % 7));  // few distinct: dictionary pages
    if (rng() % 5 == 0) (void)strings_with_nulls.AppendNull();
    else (void)strings_with_nulls.Append("value-" + std::to_string(rng()));
    (void)binaries.Append(std::string(1 + rng() % 5, static_cast<char>(rng() % 256)));
  }
  std::shared_ptr<arrow::Array> i64 = ints.Finish().ValueOrDie();
  std::shared_ptr<arrow::Array> i64n = ints_with_nulls.Finish().ValueOrDie();
  auto cast = [](const std::shared_ptr<arrow::Array>& a, const std::shared_ptr<arrow::DataType>& t) {
    return arrow::compute::Cast(*a, t, arrow::compute::CastOptions::Unsafe(t)).ValueOrDie();
  };
  arrow::FieldVector fields;
  arrow::ArrayVector columns;
  auto add = [&](const std::string& name, std::shared_ptr<arrow::Array> a, bool nullable) {
    fields.push_back(arrow::field(name, a->type(), nullable));
    columns.push_back(std::move(a));
  };
  add("bool", cast(i64n, arrow::boolean()), true);
  add("int8", cast(i64, arrow::int8()), false);
  add("int16", cast(i64n, arrow::int16()), true);
  add("int32", cast(i64, arrow::int32()), false);
  add("int64", i64n, true);
  add("uint8", cast(i64, arrow::uint8()), false);
  add("uint16", cast(i64n, arrow::uint16()), true);
  add("uint32", cast(i64, arrow::uint32()), false);
  add("uint64", cast(i64n, arrow::uint64()), true);
  add("float32", cast(i64n, arrow::float32()), true);
  add("float64", cast(i64, arrow::float64()), false);
  add("date", cast(cast(i64n, arrow::int32()), arrow::date32()), true);
  add("ts_s", cast(i64n, arrow::timestamp(arrow::TimeUnit::SECOND, "UTC")), true);
  add("ts_ms", cast(i64, arrow::timestamp(arrow::TimeUnit::MILLI, "UTC")), false);
  add("ts_us", cast(i64n, arrow::timestamp(arrow::TimeUnit::MICRO)), true);
  add("ts_ns", cast(i64, arrow::timestamp(arrow::TimeUnit::NANO, "UTC")), false);
  add("str", strings.Finish().ValueOrDie(), false);
  add("str_nulls", strings_with_nulls.Finish().ValueOrDie(), true);
  add("bin", binaries.Finish().ValueOrDie(), false);
  return arrow::Table::Make(arrow::schema(fields), columns, n);
}

TEST(PageTakeTest, RowsThroughTheOffsetIndexEqualTheWholeColumn) {
  for (int page_rows = 1; page_rows <= 9; page_rows += 2) {
    for (const bool dictionary : {true, false}) {
      std::mt19937_64 rng(40 + page_rows);
      const int64_t n = 300 + static_cast<int64_t>(rng() % 100);
      auto table = MixedTable(n, rng);
      const int64_t rg_rows = 10 * page_rows + static_cast<int64_t>(rng() % 20);
      auto sink = arrow::io::BufferOutputStream::Create().ValueOrDie();
      parquet::WriterProperties::Builder wb;
      wb.max_rows_per_page(page_rows)->compression(parquet::Compression::SNAPPY)->enable_write_page_index();
      wb.enable_page_checksum();
      if (!dictionary) wb.disable_dictionary();
      ASSERT_OK(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), sink, rg_rows, wb.build()));
      auto buffer = sink->Finish().ValueOrDie();
      auto source = std::make_shared<arrow::io::BufferReader>(buffer);
      auto file = parquet::ParquetFileReader::Open(source);
      auto metadata = file->metadata();
      parquet::ReaderProperties props;
      props.set_page_checksum_verification(true);
      parquet::arrow::SchemaManifest manifest;
      ASSERT_OK(parquet::arrow::SchemaManifest::Make(metadata->schema(), nullptr, parquet::ArrowReaderProperties(),
                                                     &manifest));
      auto index = file->GetPageIndexReader();
      ASSERT_TRUE(index);
      int64_t first = 0;
      for (int rg = 0; rg < metadata->num_row_groups(); ++rg) {
        const int64_t rows_here = metadata->RowGroup(rg)->num_rows();
        auto rg_index = index->RowGroup(rg);
        ASSERT_TRUE(rg_index);
        for (int leaf = 0; leaf < table->num_columns(); ++leaf) {
          const parquet::arrow::SchemaField* field = nullptr;
          ASSERT_OK(manifest.GetColumnField(leaf, &field));
          ASSERT_TRUE(read::PageTakeSupports(*field)) << field->field->ToString();
          auto offsets = rg_index->GetOffsetIndex(leaf);
          ASSERT_TRUE(offsets);
          if (rows_here > page_rows) {
            ASSERT_GT(offsets->page_locations().size(), 1u) << field->field->ToString() << " row group " << rg;
          }
          // Rows: a few random ones, and the first and last row of pages.
          std::vector<int64_t> rows;
          for (int64_t r = 0; r < rows_here; ++r) {
            const bool edge = r % page_rows == 0 || r % page_rows == page_rows - 1 || r == rows_here - 1;
            if (rng() % 6 == 0 || (edge && rng() % 3 == 0)) rows.push_back(r);
          }
          // Only the chosen pages' bytes, read with and without merging
          // nearby ranges.
          auto chunk = metadata->RowGroup(rg)->ColumnChunk(leaf);
          ASSERT_OK_AND_ASSIGN(auto ranges, read::PageRanges(*chunk, *offsets, rows_here, rows));
          ASSERT_OK_AND_ASSIGN(auto bytes, read::PageBytes::Read(*source, ranges, (rg + leaf) % 2 ? 0 : 64));
          ASSERT_OK_AND_ASSIGN(auto got, read::TakeFromPages(*metadata->RowGroup(rg), *field, *offsets, rows, bytes,
                                                             props));
          EXPECT_LE(read::PagesHolding(*offsets, rows), static_cast<int64_t>(offsets->page_locations().size()));
          arrow::Int64Builder ib;
          for (int64_t r : rows) ASSERT_OK(ib.Append(first + r));
          auto indices = ib.Finish().ValueOrDie();
          auto whole = table->column(leaf);
          ASSERT_OK_AND_ASSIGN(auto want_datum, arrow::compute::Take(whole, indices));
          auto want = arrow::Concatenate(want_datum.chunked_array()->chunks()).ValueOrDie();
          if (want->length() == 0) want = arrow::MakeEmptyArray(want->type()).ValueOrDie();
          // The page's type (timestamp[s] is stored in ms) cast to the column's.
          ASSERT_OK_AND_ASSIGN(auto got_cast, arrow::compute::Cast(*got, want->type()));
          ASSERT_TRUE(got_cast->Equals(*want))
              << field->field->ToString() << " page rows " << page_rows << " row group " << rg << "\n got "
              << got_cast->ToString() << "\n want " << want->ToString();
        }
        first += rows_here;
      }
    }
  }
}

// A file of one row group of 40 rows in pages of 4: an int64 column and a
// dictionary-encoded string column, page CRCs written.
std::shared_ptr<arrow::Buffer> FourRowPages() {
  arrow::Int64Builder ints;
  arrow::StringBuilder strings;
  for (int i = 0; i < 40; ++i) {
    (void)ints.Append(i * 7);
    (void)strings.Append("s" + std::to_string(i % 5));
  }
  auto t = arrow::Table::Make(arrow::schema({arrow::field("i", arrow::int64(), false), arrow::field("s", arrow::utf8())}),
                              {ints.Finish().ValueOrDie(), strings.Finish().ValueOrDie()});
  parquet::WriterProperties::Builder wb;
  wb.max_rows_per_page(4)->enable_write_page_index()->enable_page_checksum()->compression(
      parquet::Compression::SNAPPY);
  auto sink = arrow::io::BufferOutputStream::Create().ValueOrDie();
  EXPECT_TRUE(parquet::arrow::WriteTable(*t, arrow::default_memory_pool(), sink, 40, wb.build()).ok());
  return sink->Finish().ValueOrDie();
}

// Rows 9 and 10 (page 2) of leaf `leaf` of `file`, reading only their pages.
arrow::Result<std::shared_ptr<arrow::Array>> TakeRows9And10(const std::shared_ptr<arrow::Buffer>& file, int leaf) {
  auto source = std::make_shared<arrow::io::BufferReader>(file);
  auto reader = parquet::ParquetFileReader::Open(source);
  parquet::arrow::SchemaManifest manifest;
  ARROW_RETURN_NOT_OK(parquet::arrow::SchemaManifest::Make(reader->metadata()->schema(), nullptr,
                                                           parquet::ArrowReaderProperties(), &manifest));
  const parquet::arrow::SchemaField* field = nullptr;
  ARROW_RETURN_NOT_OK(manifest.GetColumnField(leaf, &field));
  auto offsets = reader->GetPageIndexReader()->RowGroup(0)->GetOffsetIndex(leaf);
  auto chunk = reader->metadata()->RowGroup(0)->ColumnChunk(leaf);
  const std::vector<int64_t> rows = {9, 10};
  ARROW_ASSIGN_OR_RAISE(auto ranges, read::PageRanges(*chunk, *offsets, 40, rows));
  ARROW_ASSIGN_OR_RAISE(auto bytes, read::PageBytes::Read(*source, ranges, 0));
  parquet::ReaderProperties props;
  props.set_page_checksum_verification(true);
  return read::TakeFromPages(*reader->metadata()->RowGroup(0), *field, *offsets, rows, bytes, props);
}

TEST(PageTakeTest, OnlyTheChosenPagesAreReadAndChecked) {
  auto good = FourRowPages();
  auto reader = parquet::ParquetFileReader::Open(std::make_shared<arrow::io::BufferReader>(good));
  auto index = reader->GetPageIndexReader()->RowGroup(0);
  for (int leaf : {0, 1}) {
    SCOPED_TRACE("leaf " + std::to_string(leaf));
    auto chunk = reader->metadata()->RowGroup(0)->ColumnChunk(leaf);
    auto offsets = index->GetOffsetIndex(leaf);
    const auto& locs = offsets->page_locations();
    ASSERT_EQ(locs.size(), 10u);
    ASSERT_OK_AND_ASSIGN(auto ranges, read::PageRanges(*chunk, *offsets, 40, {9, 10}));
    // The dictionary page (the string column), then page 2 alone.
    ASSERT_EQ(ranges.size(), chunk->has_dictionary_page() ? 2u : 1u);
    EXPECT_EQ(ranges.back().offset, locs[2].offset);
    EXPECT_EQ(ranges.back().length, locs[2].compressed_page_size);
    if (chunk->has_dictionary_page()) {
      EXPECT_EQ(ranges[0].offset, chunk->dictionary_page_offset());
    }
    int64_t read = 0;
    for (const auto& r : ranges) read += r.length;
    EXPECT_LT(read, chunk->total_compressed_size());
    ASSERT_OK_AND_ASSIGN(auto want, TakeRows9And10(good, leaf));
    ASSERT_EQ(want->length(), 2);
    if (leaf == 0) {
      const auto& ints = static_cast<const arrow::Int64Array&>(*want);
      EXPECT_EQ(ints.Value(0), 63);
      EXPECT_EQ(ints.Value(1), 70);
    } else {
      const auto& strings = static_cast<const arrow::StringArray&>(*want);
      EXPECT_EQ(strings.GetView(0), "s4");
      EXPECT_EQ(strings.GetView(1), "s0");
    }
    // A byte flipped in the last byte of a page's body (what its CRC covers).
    auto flipped = [&](int64_t at) {
      auto copy = arrow::AllocateBuffer(good->size()).ValueOrDie();
      std::memcpy(copy->mutable_data(), good->data(), good->size());
      copy->mutable_data()[at] ^= 0x5a;
      return std::shared_ptr<arrow::Buffer>(std::move(copy));
    };
    // In a page not read: no effect.
    ASSERT_OK_AND_ASSIGN(auto same, TakeRows9And10(flipped(locs[5].offset + locs[5].compressed_page_size - 1), leaf));
    EXPECT_TRUE(same->Equals(*want));
    // In the page read: its CRC fails.
    auto bad = TakeRows9And10(flipped(locs[2].offset + locs[2].compressed_page_size - 1), leaf);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().message().find("CRC"), std::string::npos) << bad.status().ToString();
    if (chunk->has_dictionary_page()) {
      // In the dictionary page: the same.
      auto bad_dict = TakeRows9And10(flipped(locs[0].offset - 1), leaf);
      ASSERT_FALSE(bad_dict.ok());
      EXPECT_NE(bad_dict.status().message().find("CRC"), std::string::npos) << bad_dict.status().ToString();
    }
  }
}

TEST(PageTakeTest, PageBytesMergesRangesAndRefusesWhatItDidNotRead) {
  auto good = FourRowPages();
  arrow::io::BufferReader source(good);
  ASSERT_OK_AND_ASSIGN(auto apart, read::PageBytes::Read(source, {{100, 10}, {0, 10}, {20, 5}}, 0));
  EXPECT_EQ(apart.requests(), 3);
  ASSERT_OK_AND_ASSIGN(auto merged, read::PageBytes::Read(source, {{100, 10}, {0, 10}, {20, 5}, {5, 10}}, 10));
  EXPECT_EQ(merged.requests(), 2);  // [0, 25) and [100, 110)
  for (const auto* bytes : {&apart, &merged}) {
    ASSERT_OK_AND_ASSIGN(auto b, bytes->Slice({102, 8}));
    EXPECT_EQ(std::memcmp(b->data(), good->data() + 102, 8), 0);
    EXPECT_TRUE(bytes->Slice({105, 10}).status().IsIndexError());
    EXPECT_TRUE(bytes->Slice({50, 1}).status().IsIndexError());
  }
  ASSERT_OK_AND_ASSIGN(auto b, merged.Slice({12, 10}));
  EXPECT_EQ(std::memcmp(b->data(), good->data() + 12, 10), 0);
  // Past the end of the file: corruption, not a short buffer.
  auto past = read::PageBytes::Read(source, {{good->size() - 4, 8}}, 0);
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(ErrorKindOf(past.status()), ErrorKind::kCorruption) << past.status().ToString();
}

TEST(PageTakeTest, PagesHoldingCountsDistinctPages) {
  // Pages starting at rows 0, 4, 8 of a 12-row group.
  auto sink = arrow::io::BufferOutputStream::Create().ValueOrDie();
  arrow::Int64Builder b;
  for (int i = 0; i < 12; ++i) ASSERT_OK(b.Append(i));
  auto t = arrow::Table::Make(arrow::schema({arrow::field("x", arrow::int64(), false)}), {b.Finish().ValueOrDie()});
  parquet::WriterProperties::Builder wb;
  wb.max_rows_per_page(4)->enable_write_page_index();
  ASSERT_OK(parquet::arrow::WriteTable(*t, arrow::default_memory_pool(), sink, 12, wb.build()));
  auto file = parquet::ParquetFileReader::Open(std::make_shared<arrow::io::BufferReader>(sink->Finish().ValueOrDie()));
  auto offsets = file->GetPageIndexReader()->RowGroup(0)->GetOffsetIndex(0);
  ASSERT_EQ(offsets->page_locations().size(), 3u);
  EXPECT_EQ(read::PagesHolding(*offsets, {}), 0);
  EXPECT_EQ(read::PagesHolding(*offsets, {0, 3}), 1);
  EXPECT_EQ(read::PagesHolding(*offsets, {3, 4}), 2);
  EXPECT_EQ(read::PagesHolding(*offsets, {0, 8, 11}), 2);
  EXPECT_EQ(read::PagesHolding(*offsets, {1, 5, 9}), 3);
}

}  // namespace
}  // namespace bazof::testing

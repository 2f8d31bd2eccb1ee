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

#include <random>

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
      if (!dictionary) wb.disable_dictionary();
      ASSERT_OK(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), sink, rg_rows, wb.build()));
      auto buffer = sink->Finish().ValueOrDie();
      auto file = parquet::ParquetFileReader::Open(std::make_shared<arrow::io::BufferReader>(buffer));
      auto metadata = file->metadata();
      parquet::arrow::SchemaManifest manifest;
      ASSERT_OK(parquet::arrow::SchemaManifest::Make(metadata->schema(), nullptr, parquet::ArrowReaderProperties(),
                                                     &manifest));
      auto index = file->GetPageIndexReader();
      ASSERT_TRUE(index);
      int64_t first = 0;
      for (int rg = 0; rg < metadata->num_row_groups(); ++rg) {
        const int64_t rows_here = metadata->RowGroup(rg)->num_rows();
        auto row_group = file->RowGroup(rg);
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
          ASSERT_OK_AND_ASSIGN(auto got, read::TakeFromPages(*row_group, *field, *offsets, rows_here, rows,
                                                             arrow::default_memory_pool()));
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

// The merge's output gather (read/merge.cc, GatherColumn) for every value
// type of the format, with and without nulls, when an output batch
// interleaves rows of several runs: scans and intervals must return exactly
// the input rows (compared with Arrow's own sort and Take).
#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/json/from_string.h>
#include <gtest/gtest.h>

#include <random>

#include "bazof/views.h"
#include "bazof/write.h"
#include "test_util.h"

namespace bazof::testing {
namespace {

constexpr int kRuns = 3;
constexpr int kKeys = 700;

// A random value; null one time in five when `nulls`.
std::string Cell(const arrow::DataType& t, std::mt19937_64& rng, int row, bool nulls) {
  if (rng() % 5 == 0 && nulls) return "null";
  const int64_t v = static_cast<int64_t>(rng() % 200000) - 100000;
  switch (t.id()) {
    case arrow::Type::STRING:
    case arrow::Type::BINARY:
      return "\"s" + std::to_string(v) + std::string(row % 13, 'x') + "\"";
    case arrow::Type::BOOL: return v % 2 ? "true" : "false";
    case arrow::Type::INT8: return std::to_string(v % 100);
    case arrow::Type::INT16: return std::to_string(v % 30000);
    case arrow::Type::FLOAT:
    case arrow::Type::DOUBLE: return std::to_string(v) + ".25";
    case arrow::Type::DECIMAL128: return "\"" + std::to_string(v) + ".1234\"";
    default: return std::to_string(v);
  }
}

// kRuns appends; run r holds the keys k with (k / stretch) % kRuns == r (one
// event each): with stretch 1 a key-sorted output takes every row from
// another run than the last (gathered a row at a time); longer stretches take
// blocks of consecutive rows from one run (copied as one block), cut by
// output batches too. Stretch 0 mixes both: the first kMixedRows keys
// alternate runs row by row, the rest come in blocks of 150, so the gather's
// choice between rows and stretches flips within one scan (per output batch
// of 64 rows) and one batch may hold both shapes. Run 0 has no nulls (no
// validity bitmap), the others some.
constexpr int kMixedRows = 350;

int RunOf(int key, int stretch) {
  if (stretch == 0) return key < kMixedRows ? key % kRuns : (key / 150) % kRuns;
  return (key / stretch) % kRuns;
}

class MergeGatherTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(schema_, ParseSchemaSpec("s:string, b:binary, f:bool, i8:int8, i16:int16, i32:int32, "
                                                  "i64:int64, f32:float32, f64:float64, d:date, "
                                                  "tns:timestamp[ns], dec:decimal(18,4)"));
    auto storage = MemStorage();
    ASSERT_OK_AND_ASSIGN(table_, CreateTable(storage, schema_));
    std::mt19937_64 rng(7);
    arrow::FieldVector fields{arrow::field("key", schema_.key_columns[0].type, false),
                              arrow::field("event_time", schema_.event_time.type, false)};
    for (const auto& v : schema_.value_columns) fields.push_back(arrow::field(v.name, v.type));
    input_schema_ = arrow::schema(fields);
    const int stretch = GetParam();
    for (int r = 0; r < kRuns; ++r) {
      std::vector<std::string> json(fields.size(), "[");
      for (int k = 0; k < kKeys; ++k) {
        if (RunOf(k, stretch) != r) continue;
        const std::string sep = json[0].size() > 1 ? "," : "";
        char key[16];
        std::snprintf(key, sizeof key, "\"k%05d\"", k);
        json[0] += sep + key;
        json[1] += sep + std::to_string(1700000000000 + k);
        for (size_t c = 2; c < fields.size(); ++c) json[c] += sep + Cell(*fields[c]->type(), rng, k, /*nulls=*/r != 0);
      }
      arrow::ArrayVector cols;
      for (size_t c = 0; c < fields.size(); ++c) {
        ASSERT_OK_AND_ASSIGN(auto a, arrow::json::ArrayFromJSONString(fields[c]->type(), json[c] + "]"));
        cols.push_back(a);
      }
      auto batch = arrow::RecordBatch::Make(input_schema_, cols[0]->length(), cols);
      ASSERT_OK_AND_ASSIGN(auto reader, arrow::RecordBatchReader::Make({batch}, input_schema_));
      ASSERT_OK(Append(table_, *reader).status());
      batches_.push_back(batch);
    }
    ASSERT_OK_AND_ASSIGN(table_, Table::Open(storage));  // at the last version
    ASSERT_OK_AND_ASSIGN(auto all, arrow::Table::FromRecordBatches(input_schema_, batches_));
    ASSERT_OK_AND_ASSIGN(auto order, arrow::compute::SortIndices(arrow::Datum(all), arrow::compute::SortOptions(
                                                                                        {arrow::compute::SortKey("key")})));
    ASSERT_OK_AND_ASSIGN(auto sorted, arrow::compute::Take(arrow::Datum(all), arrow::Datum(order)));
    ASSERT_OK_AND_ASSIGN(expected_, sorted.table()->CombineChunks());
  }

  TableSchema schema_;
  std::shared_ptr<Table> table_;
  std::shared_ptr<arrow::Schema> input_schema_;
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches_;
  std::shared_ptr<arrow::Table> expected_;
};

TEST_P(MergeGatherTest, ScanInterleavesRunsExactly) {
  for (int64_t batch : {64, 5, 1 << 16}) {
    ASSERT_OK_AND_ASSIGN(auto scan, table_->NewScan().BatchSize(batch).Threads(1).Build());
    ASSERT_OK_AND_ASSIGN(auto got, scan->ToTable());
    ASSERT_OK_AND_ASSIGN(got, got->CombineChunks());
    ASSERT_EQ(got->num_rows(), kKeys);
    for (int c = 0; c < expected_->num_columns(); ++c) {
      EXPECT_TRUE(got->column(c)->Equals(*expected_->column(c)))
          << "column " << expected_->field(c)->name() << " (batch " << batch << ")";
    }
  }
}

TEST_P(MergeGatherTest, IntervalsInterleaveRunsExactly) {
  IntervalOptions o;
  o.threads = 2;
  o.batch_size = 100;
  ASSERT_OK_AND_ASSIGN(auto view, MakeIntervals(*table_, o));
  ASSERT_OK_AND_ASSIGN(auto got, view->ToTable());
  ASSERT_OK_AND_ASSIGN(got, got->CombineChunks());
  ASSERT_EQ(got->num_rows(), kKeys);
  // keys, valid_from (= event_time), valid_to (null: one event per key), values.
  EXPECT_TRUE(got->column(0)->Equals(*expected_->column(0)));
  EXPECT_TRUE(got->column(1)->Equals(*expected_->column(1)));
  EXPECT_EQ(got->column(2)->null_count(), kKeys);
  for (int c = 2; c < expected_->num_columns(); ++c) {
    EXPECT_TRUE(got->column(c + 1)->Equals(*expected_->column(c))) << "column " << expected_->field(c)->name();
  }
}

TEST_P(MergeGatherTest, IntervalsRejectUnknownColumns) {
  IntervalOptions o;
  o.columns = std::vector<std::string>{"nope"};
  auto view = MakeIntervals(*table_, o);
  ASSERT_FALSE(view.ok());
  EXPECT_TRUE(view.status().IsInvalid()) << view.status().ToString();
  EXPECT_NE(view.status().message().find("unknown column 'nope'"), std::string::npos) << view.status().ToString();
}

INSTANTIATE_TEST_SUITE_P(Stretches, MergeGatherTest, ::testing::Values(1, 37, 150, 0));

}  // namespace
}  // namespace bazof::testing

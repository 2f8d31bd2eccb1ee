// Scan filters: which key restrictions an expression yields, and that a
// filtered scan equals the unfiltered scan filtered afterwards.
#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/json/from_string.h>
#include <gtest/gtest.h>

#include "bazof/error.h"
#include "read/scan_filter.h"
#include "table_builder.h"

namespace bazof::testing {
namespace {

namespace cp = arrow::compute;

std::string Enc(const read::KeyCodec& codec, std::shared_ptr<arrow::Scalar> s) {
  return codec.EncodeScalars({std::move(s)}).ValueOrDie();
}

cp::Expression IsIn(const std::string& field, std::shared_ptr<arrow::Array> values) {
  return cp::call("is_in", {cp::field_ref(field)}, cp::SetLookupOptions(std::move(values)));
}

TEST(ScanFilterTest, StringKeyComparisons) {
  auto codec = read::KeyCodec::Make({arrow::utf8()}).ValueOrDie();
  auto s = [](const char* v) { return arrow::MakeScalar(std::string(v)); };
  auto key = cp::field_ref("key");

  auto eq = read::DeriveKeyConstraints(cp::equal(key, cp::literal(s("b"))), "key", codec);
  ASSERT_TRUE(eq.key_in);
  EXPECT_EQ(*eq.key_in, std::vector<std::string>{Enc(codec, s("b"))});

  auto values = arrow::json::ArrayFromJSONString(arrow::utf8(), R"(["c", "a", null])").ValueOrDie();
  auto in_and_eq = read::DeriveKeyConstraints(
      cp::and_(IsIn("key", values), cp::equal(cp::literal(s("a")), key)), "key", codec);
  ASSERT_TRUE(in_and_eq.key_in);
  EXPECT_EQ(*in_and_eq.key_in, std::vector<std::string>{Enc(codec, s("a"))});

  auto range = read::DeriveKeyConstraints(
      cp::and_({cp::greater_equal(key, cp::literal(s("b"))), cp::less(key, cp::literal(s("d"))),
                cp::less_equal(cp::literal(s("c")), key)}),
      "key", codec);
  EXPECT_FALSE(range.key_in);
  EXPECT_EQ(range.lower, Enc(codec, s("c")));  // the tighter of >= b and c <=
  EXPECT_EQ(range.upper, Enc(codec, s("d")));  // exclusive < becomes inclusive

  auto either = read::DeriveKeyConstraints(
      cp::or_(cp::equal(key, cp::literal(s("a"))), cp::equal(key, cp::literal(s("b")))), "key", codec);
  EXPECT_FALSE(either.key_in || either.lower || either.upper);
  auto other = read::DeriveKeyConstraints(cp::equal(cp::field_ref("value"), cp::literal(s("a"))), "key", codec);
  EXPECT_FALSE(other.key_in || other.lower || other.upper);
}

TEST(ScanFilterTest, LiteralsPushedOnlyWhenTheyConvertExactly) {
  auto codec = read::KeyCodec::Make({arrow::int32()}).ValueOrDie();
  auto key = cp::field_ref("id");
  auto five = read::DeriveKeyConstraints(cp::equal(key, cp::literal(int64_t{5})), "id", codec);
  ASSERT_TRUE(five.key_in);
  EXPECT_EQ(*five.key_in, std::vector<std::string>{Enc(codec, arrow::MakeScalar(int32_t{5}))});
  auto half = read::DeriveKeyConstraints(cp::greater(key, cp::literal(5.5)), "id", codec);
  EXPECT_FALSE(half.lower);
  auto huge = read::DeriveKeyConstraints(cp::equal(key, cp::literal(int64_t{1} << 40)), "id", codec);
  EXPECT_FALSE(huge.key_in);
}

std::vector<std::string> Keys(const arrow::Table& t) {
  std::vector<std::string> out;
  auto col = t.GetColumnByName("key");
  for (const auto& chunk : col->chunks()) {
    auto& a = static_cast<const arrow::StringArray&>(*chunk);
    for (int64_t i = 0; i < a.length(); ++i) out.push_back(a.GetString(i));
  }
  return out;
}

TEST(ScanFilterTest, FilteredScanEqualsScanThenFilter) {
  TableBuilder b;
  std::vector<Ev> events;
  for (int k = 0; k < 500; ++k) {
    char key[16];
    std::snprintf(key, sizeof(key), "k%04d", k);
    events.push_back({key, Ms("2024-01-01") + k, "v" + std::to_string(k % 7)});
    if (k % 3 == 0) events.push_back({key, Ms("2024-02-01"), "late" + std::to_string(k % 5)});
    if (k % 11 == 0) events.push_back({key, Ms("2024-03-01"), "", true});
  }
  ASSERT_OK(b.AddDelta(1, events, 0, /*row_group_rows=*/64));  // many row groups to skip
  ASSERT_OK(b.Commit(1));
  ASSERT_OK_AND_ASSIGN(auto t, b.Open());

  auto s = [](const char* v) { return cp::literal(arrow::MakeScalar(std::string(v))); };
  auto key = cp::field_ref("key");
  std::vector<cp::Expression> filters = {
      cp::equal(key, s("k0042")),
      cp::and_(cp::greater(key, s("k0100")), cp::less_equal(key, s("k0150"))),
      cp::and_(cp::greater_equal(key, s("k0300")), cp::equal(cp::field_ref("value"), s("late2"))),
      cp::equal(cp::field_ref("value"), s("v3")),
      cp::and_(cp::equal(key, s("k0001")), cp::equal(key, s("k0002"))),
      cp::and_(cp::greater_equal(key, s("k0400")), cp::less_equal(key, s("k0100"))),
  };
  for (const char* as_of : {"2024-01-15", "2024-12-31"}) {
    ASSERT_OK_AND_ASSIGN(auto when, ParseEventTime(as_of));
    ASSERT_OK_AND_ASSIGN(auto all_scan, t->NewScan().AsOf(when).Threads(2).Build());
    ASSERT_OK_AND_ASSIGN(auto all, all_scan->ToTable());
    for (const auto& f : filters) {
      SCOPED_TRACE(f.ToString() + " as of " + as_of);
      ASSERT_OK_AND_ASSIGN(auto bound, f.Bind(*all->schema()));
      ASSERT_OK_AND_ASSIGN(auto batch, all->CombineChunksToBatch());
      ASSERT_OK_AND_ASSIGN(auto mask, cp::ExecuteScalarExpression(bound, cp::ExecBatch(*batch)));
      ASSERT_OK_AND_ASSIGN(auto filtered, cp::Filter(batch, mask));
      ASSERT_OK_AND_ASSIGN(auto want, arrow::Table::FromRecordBatches({filtered.record_batch()}));
      ASSERT_OK_AND_ASSIGN(auto scan, t->NewScan().AsOf(when).Filter(f).Threads(2).Build());
      ASSERT_OK_AND_ASSIGN(auto got, scan->ToTable());
      EXPECT_EQ(Keys(*got), Keys(*want));
      // projecting no value column: the filter's column is read, not returned
      ASSERT_OK_AND_ASSIGN(auto narrow, t->NewScan().AsOf(when).Filter(f).Columns({}).Build());
      ASSERT_OK_AND_ASSIGN(auto keys_only, narrow->ToTable());
      EXPECT_EQ(keys_only->num_columns(), 2);
      EXPECT_EQ(Keys(*keys_only), Keys(*want));
    }
  }
}

TEST(ScanFilterTest, BadFiltersAreInvalidArguments) {
  TableBuilder b;
  ASSERT_OK(b.AddDelta(1, {{"a", Ms("2024-01-01"), "x"}}));
  ASSERT_OK(b.Commit(1));
  ASSERT_OK_AND_ASSIGN(auto t, b.Open());
  auto unknown = t->NewScan().Filter(cp::equal(cp::field_ref("nope"), cp::literal(1))).Build();
  EXPECT_EQ(ErrorKindOf(unknown.status()), ErrorKind::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("'nope'"), std::string::npos);
  auto not_bool = t->NewScan().Filter(cp::field_ref("value")).Build();
  EXPECT_EQ(ErrorKindOf(not_bool.status()), ErrorKind::kInvalidArgument);
}

}  // namespace
}  // namespace bazof::testing

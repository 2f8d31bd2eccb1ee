// The tables written by the original bazof/azof must read as documented in
// ../shared/fixtures/README.md.
#include <arrow/api.h>
#include <gtest/gtest.h>

#include "test_util.h"

namespace bazof::testing {
namespace {

std::map<std::string, std::string> Values(const std::string& dir, const std::string& table,
                                          std::optional<const char*> as_of) {
  auto t = Table::Open(std::string(BAZOF_FIXTURES_DIR) + "/" + dir, table).ValueOrDie();
  auto state = ScanKv(t, as_of ? std::optional<int64_t>(Ms(*as_of)) : std::nullopt).ValueOrDie();
  std::map<std::string, std::string> out;
  for (auto& [k, v] : state) out[k] = v.second;
  return out;
}

using M = std::map<std::string, std::string>;

TEST(FixturesTest, Table0BothEras) {
  for (const char* era : {"bazof-0.1", "azof-0.2"}) {
    EXPECT_EQ(Values(era, "table0", std::nullopt), (M{{"1", "abc2"}, {"2", "xyz2"}, {"3", "www2"}})) << era;
    EXPECT_EQ(Values(era, "table0", "2024-02-17"), (M{{"1", "abc2"}, {"2", "xyz"}})) << era;
  }
}

TEST(FixturesTest, Table1DeltasWithoutBase) {
  EXPECT_EQ(Values("azof-0.2", "table1", std::nullopt), (M{{"1", "abc4"}, {"2", "xyz3"}}));
  EXPECT_EQ(Values("azof-0.2", "table1", "2024-06-01"), (M{{"1", "abc3"}, {"2", "xyz2"}}));
  EXPECT_EQ(Values("azof-0.2", "table1", "2024-02-01"), (M{{"1", "abc2"}}));
}

TEST(FixturesTest, Table2TypedColumns) {
  auto t = Table::Open(std::string(BAZOF_FIXTURES_DIR) + "/azof-0.2", "table2").ValueOrDie();
  auto result = t->NewScan().Build().ValueOrDie()->ToTable().ValueOrDie()->CombineChunks().ValueOrDie();
  ASSERT_EQ(result->num_rows(), 3);
  EXPECT_EQ(result->schema()->field(3)->type()->id(), arrow::Type::INT64);
  EXPECT_EQ(result->schema()->field(4)->type()->id(), arrow::Type::BOOL);
  EXPECT_EQ(result->schema()->field(5)->type()->id(), arrow::Type::TIMESTAMP);
  auto row = [&](int r, int c) { return result->column(c)->GetScalar(r).ValueOrDie()->ToString(); };
  // Rows are sorted by key: "1", "2", "3".
  EXPECT_EQ(row(2, 2), "www2");
  EXPECT_EQ(row(2, 3), "300");
  EXPECT_EQ(row(2, 4), "false");
  EXPECT_EQ(ParseEventTime(row(2, 5)).ValueOrDie(), ParseEventTime("2024-03-01").ValueOrDie());
  EXPECT_EQ(row(1, 2), "xyz2");
  EXPECT_EQ(row(1, 3), "222");
  EXPECT_EQ(ParseEventTime(row(1, 5)).ValueOrDie(), ParseEventTime("2024-01-01").ValueOrDie());
}

TEST(FixturesTest, LegacySchemaInferredFromData) {
  auto t = Table::Open(std::string(BAZOF_FIXTURES_DIR) + "/bazof-0.1", "ltm_revenue").ValueOrDie();
  const auto& s = t->current_snapshot()->schema;
  ASSERT_EQ(s.value_columns.size(), 1u);
  EXPECT_EQ(s.value_columns[0].name, "value");
  EXPECT_EQ(t->current_version().value(), 1);
}

}  // namespace
}  // namespace bazof::testing

// create / append / put: schemas, validation, and concurrent writers.
#include <arrow/api.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "bazof/error.h"
#include "bazof/inspect.h"
#include "bazof/write.h"
#include "test_util.h"

namespace bazof::testing {
namespace {

std::shared_ptr<arrow::RecordBatchReader> Rows(std::shared_ptr<arrow::Schema> schema,
                                               arrow::ArrayVector columns) {
  auto n = columns.empty() ? 0 : columns[0]->length();
  return arrow::RecordBatchReader::Make({arrow::RecordBatch::Make(schema, n, columns)}).ValueOrDie();
}

std::shared_ptr<arrow::Array> Strings(std::vector<std::optional<std::string>> v) {
  arrow::StringBuilder b;
  for (auto& s : v) (void)(s ? b.Append(*s) : b.AppendNull());
  return b.Finish().ValueOrDie();
}

std::shared_ptr<arrow::Array> Times(std::vector<int64_t> ms) {
  arrow::TimestampBuilder b(arrow::timestamp(arrow::TimeUnit::MILLI, "UTC"), arrow::default_memory_pool());
  (void)b.AppendValues(ms);
  return b.Finish().ValueOrDie();
}

TEST(SchemaSpecTest, DefaultsAndIds) {
  ASSERT_OK_AND_ASSIGN(auto s, ParseSchemaSpec("price:decimal(18,4), qty:int32"));
  ASSERT_EQ(s.key_columns.size(), 1u);
  EXPECT_EQ(s.key_columns[0].name, "key");
  EXPECT_TRUE(s.key_columns[0].type->Equals(arrow::utf8()));
  EXPECT_TRUE(s.event_time.type->Equals(arrow::timestamp(arrow::TimeUnit::MILLI, "UTC")));
  ASSERT_EQ(s.value_columns.size(), 2u);
  EXPECT_TRUE(s.value_columns[0].type->Equals(arrow::decimal128(18, 4)));
  EXPECT_EQ(s.key_columns[0].id, 1);
  EXPECT_EQ(s.event_time.id, 2);
  EXPECT_EQ(s.value_columns[1].id, 4);
  EXPECT_EQ(s.next_column_id, 5);
}

TEST(SchemaSpecTest, CompositeKeyAndCustomEventTime) {
  ASSERT_OK_AND_ASSIGN(auto s, ParseSchemaSpec("region:string,id:int64,ts:timestamp[us],v:float64",
                                               {"region", "id"}, "ts"));
  ASSERT_EQ(s.key_columns.size(), 2u);
  EXPECT_TRUE(s.key_columns[1].type->Equals(arrow::int64()));
  EXPECT_EQ(s.event_time.name, "ts");
  ASSERT_EQ(s.value_columns.size(), 1u);
}

TEST(SchemaSpecTest, RefusesBadSchemas) {
  for (auto [spec, key, et] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"v:blob", "key", "event_time"},
           {"v:string,v:int64", "key", "event_time"},
           {"_bazof_x:string", "key", "event_time"},
           {"_deleted:bool", "key", "event_time"},
           {"novalue", "key", "event_time"},
           {"key:float64", "key", "event_time"},
           {"event_time:string", "key", "event_time"},
           {"v:string", "key,key", "event_time"}}) {
    std::vector<std::string> keys;
    if (key == "key,key") keys = {"key", "key"}; else keys = {key};
    auto r = ParseSchemaSpec(spec, keys, et);
    EXPECT_FALSE(r.ok()) << spec;
    if (!r.ok()) {
      EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kInvalidArgument) << spec;
    }
  }
}

class AppendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage_ = MemStorage();
    ASSERT_OK_AND_ASSIGN(table_, CreateTable(storage_, KvSchema()));
  }
  // An append that must fail, naming `needle`, and leave version 0.
  void ExpectRefused(std::shared_ptr<arrow::RecordBatchReader> input, const std::string& needle) {
    AppendOptions o;
    o.source = "input 'x.csv'";
    auto r = Append(table_, *input, o);
    ASSERT_FALSE(r.ok()) << needle;
    EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kInvalidArgument) << r.status().ToString();
    EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("x.csv"), std::string::npos) << r.status().message();
    ASSERT_OK_AND_ASSIGN(auto t, Table::Open(storage_));
    EXPECT_EQ(t->current_version().value(), 0);
  }
  std::shared_ptr<io::Storage> storage_;
  std::shared_ptr<Table> table_;
};

TEST_F(AppendTest, RefusesBadInputAndCommitsNothing) {
  auto kv = arrow::schema({arrow::field("key", arrow::utf8()),
                           arrow::field("event_time", arrow::timestamp(arrow::TimeUnit::MILLI, "UTC")),
                           arrow::field("value", arrow::utf8())});
  ExpectRefused(Rows(arrow::schema({arrow::field("event_time", arrow::timestamp(arrow::TimeUnit::MILLI, "UTC"))}),
                     {Times({1})}),
                "missing key column 'key'");
  ExpectRefused(Rows(arrow::schema({arrow::field("key", arrow::utf8())}), {Strings({"a"})}),
                "missing event-time column 'event_time'");
  ExpectRefused(Rows(kv, {Strings({"a", std::nullopt}), Times({1, 2}), Strings({"x", "y"})}),
                "row 2: key column 'key' is empty");
  ExpectRefused(Rows(kv, {Strings({"a", ""}), Times({1, 2}), Strings({"x", "y"})}),
                "row 2: key column 'key' is empty");
  ExpectRefused(Rows(arrow::schema({kv->field(0), kv->field(1), arrow::field("colour", arrow::utf8())}),
                     {Strings({"a"}), Times({1}), Strings({"red"})}),
                "unknown column 'colour'");
  arrow::Int64Builder ib;
  ASSERT_OK(ib.Append(5));
  ExpectRefused(Rows(arrow::schema({kv->field(0), kv->field(1), arrow::field("value", arrow::int64())}),
                     {Strings({"a"}), Times({1}), ib.Finish().ValueOrDie()}),
                "column 'value' is int64, the table has string");
}

TEST_F(AppendTest, DuplicateRowsAreKeptAndTheLaterWins) {
  auto kv = arrow::schema({arrow::field("key", arrow::utf8()),
                           arrow::field("event_time", arrow::timestamp(arrow::TimeUnit::MILLI, "UTC")),
                           arrow::field("value", arrow::utf8())});
  ASSERT_OK_AND_ASSIGN(auto r, Append(table_, *Rows(kv, {Strings({"a", "a", "b"}), Times({5, 5, 1}),
                                                        Strings({"first", "second", "b"})})));
  EXPECT_EQ(r.rows, 3);
  ASSERT_OK_AND_ASSIGN(auto t, Table::Open(storage_));
  ASSERT_OK_AND_ASSIGN(auto state, ScanKv(t, std::nullopt));
  EXPECT_EQ(state.at("a").second, "second");
  ASSERT_OK_AND_ASSIGN(auto history, KeyHistory(*t, {{"", "a"}}));
  EXPECT_EQ(history->num_rows(), 2);
}

TEST_F(AppendTest, EmptyInputCommitsNothing) {
  auto kv = arrow::schema({arrow::field("key", arrow::utf8()),
                           arrow::field("event_time", arrow::timestamp(arrow::TimeUnit::MILLI, "UTC"))});
  ASSERT_OK_AND_ASSIGN(auto r, Append(table_, *Rows(kv, {Strings({}), Times({})})));
  EXPECT_FALSE(r.committed);
  ASSERT_OK_AND_ASSIGN(auto t, Table::Open(storage_));
  EXPECT_EQ(t->current_version().value(), 0);
}

TEST_F(AppendTest, CreateTwiceIsAConflict) {
  auto again = CreateTable(storage_, KvSchema());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(ErrorKindOf(again.status()), ErrorKind::kConflict);
}

TEST(PutTest, ParsesValuesLikeAppendDoes) {
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto schema, ParseSchemaSpec("price:decimal(12,2),seen:timestamp[ms]"));
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, schema));
  // Decimals rescale ("185.7" into scale 2); a timestamp without zone is UTC.
  ASSERT_OK(Put(table, PutRequest{{{"", "AAPL"}}, "2024-01-02", {{"price", "185.7"}, {"seen", "2024-01-02T10:00:00"}}})
                .status());
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  ASSERT_OK_AND_ASSIGN(auto scan, table->NewScan().Build());
  ASSERT_OK_AND_ASSIGN(auto result, scan->ToTable());
  ASSERT_EQ(result->num_rows(), 1);
  EXPECT_EQ(result->GetColumnByName("price")->GetScalar(0).ValueOrDie()->ToString(), "185.70");
  auto seen = std::static_pointer_cast<arrow::TimestampScalar>(result->GetColumnByName("seen")->GetScalar(0).ValueOrDie());
  EXPECT_EQ(seen->value, Ms("2024-01-02T10:00:00Z"));
  auto bad = Put(table, PutRequest{{{"", "AAPL"}}, "2024-01-03", {{"price", "lots"}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("price"), std::string::npos);
}

TEST(ConcurrentWritersTest, RacingAppendsAllLandWithoutGaps) {
  auto dir = std::filesystem::temp_directory_path() /
             ("bazof-race-" + std::to_string(::getpid()) + "-" +
              std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::filesystem::create_directories(dir);
  ASSERT_OK(CreateTable(dir.string(), "t", KvSchema()).status());
  constexpr int kWriters = 4, kAppends = 8;
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kAppends; ++i) {
        auto t = Table::Open(dir.string(), "t");  // each append from its own view of the table
        auto st = t.status();
        if (st.ok()) {
          st = Put(*t, PutRequest{{{"", "w" + std::to_string(w) + "-" + std::to_string(i)}},
                                   "2024-01-01", {{"value", "x"}}, false})
                   .status();
        }
        if (!st.ok()) {
          ++failures;
          ADD_FAILURE() << st.ToString();
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_OK_AND_ASSIGN(auto t, Table::Open(dir.string(), "t"));
  EXPECT_EQ(t->current_version().value(), kWriters * kAppends);
  ASSERT_OK_AND_ASSIGN(auto state, ScanKv(t, std::nullopt));
  EXPECT_EQ(state.size(), static_cast<size_t>(kWriters * kAppends));
  ASSERT_OK_AND_ASSIGN(auto log, ReadLog(*t));
  ASSERT_EQ(log.size(), static_cast<size_t>(kWriters * kAppends + 1));
  for (size_t i = 0; i < log.size(); ++i) EXPECT_EQ(log[i].version.value(), static_cast<int64_t>(i));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace bazof::testing

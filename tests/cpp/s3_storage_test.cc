// S3Storage against a real S3-compatible server. It needs one: BAZOF_TEST_S3 names a
// location (s3://bucket/prefix) and the AWS_* variables say where and how. ctest
// alone has no server and skips; tests/python/test_s3.py::test_cpp_s3_storage_tests
// starts moto's and runs these (in the release and in the ASan build).
#include <gtest/gtest.h>

#include <arrow/api.h>
#include <arrow/json/from_string.h>

#include <atomic>
#include <cstdlib>
#include <random>
#include <thread>

#include "bazof/error.h"
#include "bazof/table.h"
#include "bazof/write.h"
#include "io/s3_config.h"
#include "io/storage.h"

namespace bazof {
namespace {

// The AWS SDK must be shut down before static destruction.
class S3Environment : public ::testing::Environment {
 public:
  void TearDown() override { io::FinalizeS3IfInitialized(); }
};
[[maybe_unused]] auto* const kS3Environment = ::testing::AddGlobalTestEnvironment(new S3Environment);

std::string Location() {
  const char* v = std::getenv("BAZOF_TEST_S3");
  return v ? v : "";
}

std::string UniqueTable() {
  static std::mt19937_64 rng{std::random_device{}()};
  return "t" + std::to_string(rng());
}

class S3StorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Location().empty()) GTEST_SKIP() << "BAZOF_TEST_S3 not set (no S3 server)";
    auto s = io::OpenStorage(Location(), UniqueTable());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    storage_ = *s;
  }
  std::shared_ptr<io::Storage> storage_;
};

TEST_F(S3StorageTest, CreateExclusiveNeverReplaces) {
  ASSERT_TRUE(storage_->CreateExclusive("s1.json", "first").ok());
  auto second = storage_->CreateExclusive("s1.json", "second");
  EXPECT_EQ(ErrorKindOf(second), ErrorKind::kConflict) << second.ToString();
  auto got = storage_->ReadFile("s1.json");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "first");
}

TEST_F(S3StorageTest, RacingWritersExactlyOneWins) {
  constexpr int kWriters = 8;
  std::atomic<int> wins{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      auto st = storage_->CreateExclusive("s2.json", "writer " + std::to_string(i));
      if (st.ok()) ++wins;
      else if (ErrorKindOf(st) == ErrorKind::kConflict) ++conflicts;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(conflicts.load(), kWriters - 1);
  auto got = storage_->ReadFile("s2.json");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->starts_with("writer "));
}

TEST_F(S3StorageTest, MissingObjectsAreNotFound) {
  auto exists = storage_->Exists("nope.json");
  ASSERT_TRUE(exists.ok());
  EXPECT_FALSE(*exists);
  EXPECT_EQ(ErrorKindOf(storage_->ReadFile("nope.json").status()), ErrorKind::kNotFound);
  EXPECT_EQ(ErrorKindOf(storage_->OpenForRead("data/nope.parquet").status()), ErrorKind::kNotFound);
}

TEST_F(S3StorageTest, ReplaceFileOverwritesAndDataRoundTrips) {
  ASSERT_TRUE(storage_->ReplaceFile("version.txt", "1").ok());
  ASSERT_TRUE(storage_->ReplaceFile("version.txt", "2").ok());
  EXPECT_EQ(*storage_->ReadFile("version.txt"), "2");
  auto out = storage_->OpenForWrite("data/x.bin");
  ASSERT_TRUE(out.ok());
  ASSERT_TRUE((*out)->Write("0123456789", 10).ok());
  ASSERT_TRUE((*out)->Close().ok());
  auto in = storage_->OpenForRead("data/x.bin");
  ASSERT_TRUE(in.ok());
  auto buf = (*in)->ReadAt(3, 4);
  ASSERT_TRUE(buf.ok());
  EXPECT_EQ((*buf)->ToString(), "3456");
}

TEST_F(S3StorageTest, AbortedUploadPublishesNothing) {
  auto out = storage_->OpenForWrite("data/aborted.bin");
  ASSERT_TRUE(out.ok());
  ASSERT_TRUE((*out)->Write("partial", 7).ok());
  ASSERT_TRUE((*out)->Abort().ok());
  EXPECT_FALSE(*storage_->Exists("data/aborted.bin"));
}

TEST(S3TableTest, CreateAppendScanThroughThePublicApi) {
  if (Location().empty()) GTEST_SKIP() << "BAZOF_TEST_S3 not set (no S3 server)";
  const std::string name = UniqueTable();
  auto schema = ParseSchemaSpec("value:int64");
  ASSERT_TRUE(schema.ok());
  auto table = CreateTable(Location(), name, *schema, {{"max_attempts", "2"}});
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  auto json = [](std::shared_ptr<arrow::DataType> t, const std::string& text) {
    return *arrow::json::ArrayFromJSONString(std::move(t), text);
  };
  auto rows = arrow::RecordBatch::Make(
      arrow::schema({arrow::field("key", arrow::utf8()),
                     arrow::field("event_time", arrow::timestamp(arrow::TimeUnit::MILLI)),
                     arrow::field("value", arrow::int64())}),
      2,
      {json(arrow::utf8(), R"(["b", "a"])"), json(arrow::timestamp(arrow::TimeUnit::MILLI), "[1, 2]"),
       json(arrow::int64(), "[10, 20]")});
  auto reader = arrow::RecordBatchReader::Make({rows});
  auto commit = Append(*table, **reader);
  ASSERT_TRUE(commit.ok()) << commit.status().ToString();
  EXPECT_EQ(commit->version.value(), 1);
  auto reopened = Table::Open(Location(), name, {{"max_attempts", "2"}});
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  auto scan = (*reopened)->NewScan().Build();
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  auto batches = (*scan)->ToReader();
  ASSERT_TRUE(batches.ok());
  auto result = (*batches)->ToTable();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ((*result)->num_rows(), 2);
  EXPECT_EQ((*result)->GetColumnByName("key")->ToString(),
            arrow::ChunkedArray(json(arrow::utf8(), R"(["a", "b"])")).ToString());
}

}  // namespace
}  // namespace bazof

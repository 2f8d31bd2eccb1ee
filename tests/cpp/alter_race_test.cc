// alter racing other writers: a change that lands between another writer's
// read and its commit point (docs/spec.md §10 and §12.1).
#include <gtest/gtest.h>

#include <functional>

#include "bazof/alter.h"
#include "bazof/error.h"
#include "bazof/write.h"
#include "test_util.h"

namespace bazof::testing {
namespace {

// Runs `before_commit` right before the first `times` snapshot creations
// (the commit point), as if another writer committed just then. Everything
// else goes straight to the inner storage.
class RacingStorage : public io::Storage {
 public:
  RacingStorage(std::shared_ptr<io::Storage> inner, std::function<void()> before_commit, int times = 1)
      : inner_(std::move(inner)), before_commit_(std::move(before_commit)), times_(times) {}

  int raced() const { return raced_; }

  std::string Describe(std::string_view name) const override { return inner_->Describe(name); }
  const std::string& display_root() const override { return inner_->display_root(); }
  arrow::Result<bool> RootExists() override { return inner_->RootExists(); }
  arrow::Result<bool> Exists(std::string_view name) override { return inner_->Exists(name); }
  arrow::Result<std::string> ReadFile(std::string_view name) override { return inner_->ReadFile(name); }
  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenForRead(std::string_view name,
                                                                     int64_t size = -1) override {
    return inner_->OpenForRead(name, size);
  }
  arrow::Result<std::shared_ptr<arrow::io::OutputStream>> OpenForWrite(std::string_view name) override {
    return inner_->OpenForWrite(name);
  }
  arrow::Status Sync(std::string_view name) override { return inner_->Sync(name); }
  arrow::Status CreateExclusive(std::string_view name, std::string_view bytes) override {
    if (raced_ < times_) {
      ++raced_;
      before_commit_();
    }
    return inner_->CreateExclusive(name, bytes);
  }
  arrow::Status ReplaceFile(std::string_view name, std::string_view bytes) override {
    return inner_->ReplaceFile(name, bytes);
  }
  arrow::Status CreateRoot() override { return inner_->CreateRoot(); }
  arrow::Result<std::vector<io::ListedFile>> ListFiles(std::string_view dir, bool recursive) override {
    return inner_->ListFiles(dir, recursive);
  }
  arrow::Status DeleteFile(std::string_view name) override { return inner_->DeleteFile(name); }

 private:
  std::shared_ptr<io::Storage> inner_;
  std::function<void()> before_commit_;
  int times_;
  int raced_ = 0;
};

class AlterRaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage_ = MemStorage();
    auto t = CreateTable(storage_, KvSchema());
    ASSERT_OK(t.status());
    ASSERT_OK(Append(*t, *AppendInput({{"a", Ms("2024-01-01"), "a1"}})).status());
  }

  // Another writer's alter, committed directly on the table.
  std::function<void()> Concurrent(AlterOp op) {
    return [this, op] {
      auto r = Alter(Table::Open(storage_).ValueOrDie(), op);
      ASSERT_TRUE(r.ok() && r->committed) << r.status().ToString();
    };
  }

  std::shared_ptr<Table> Open() { return Table::Open(storage_).ValueOrDie(); }

  std::shared_ptr<io::Storage> storage_;
};

// The append wrote its files for the schema of version 1; an alter of the
// schema lands before its commit point. Rebasing would publish files that do
// not match the new schema, so the append is a Conflict and commits nothing.
TEST_F(AlterRaceTest, AnAppendRacingASchemaChangeIsAConflict) {
  for (const AlterOp& op : std::vector<AlterOp>{AddColumn{"extra", arrow::int32()}, RenameColumn{"value", "v"},
                                                DropColumn{"value"}}) {
    SetUp();
    auto racing = std::make_shared<RacingStorage>(storage_, Concurrent(op));
    ASSERT_OK_AND_ASSIGN(auto table, Table::Open(racing));
    auto r = Append(table, *AppendInput({{"b", Ms("2024-01-02"), "b1"}}));
    ASSERT_EQ(racing->raced(), 1);
    ASSERT_FALSE(r.ok()) << DescribeAlterOp(op);
    EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kConflict) << r.status().ToString();
    EXPECT_NE(r.status().message().find("schema changed"), std::string::npos) << r.status().message();
    auto t = Open();
    EXPECT_EQ(t->current_version().value(), 2) << DescribeAlterOp(op);
    EXPECT_EQ(t->current_snapshot()->commit->operation, "alter");
  }
}

TEST_F(AlterRaceTest, AnAppendRacingAWideningIsAConflict) {
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto schema, ParseSchemaSpec("n:int32"));
  ASSERT_OK(CreateTable(storage, schema).status());
  auto racing = std::make_shared<RacingStorage>(storage, [&] {
    ASSERT_OK(Alter(Table::Open(storage).ValueOrDie(), WidenColumn{"n", arrow::int64()}).status());
  });
  ASSERT_OK_AND_ASSIGN(auto table, Table::Open(racing));
  auto r = Put(table, PutRequest{{{"", "a"}}, "2024-01-01", {{"n", "5"}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kConflict) << r.status().ToString();
  ASSERT_OK_AND_ASSIGN(auto t, Table::Open(storage));
  EXPECT_EQ(t->current_version().value(), 1);
}

// A property change leaves the schema alone: the append rebases over it and
// keeps the new property.
TEST_F(AlterRaceTest, AnAppendRebasesOverAPropertyChange) {
  auto racing = std::make_shared<RacingStorage>(storage_, Concurrent(SetProperty{"team.owner", "x"}));
  ASSERT_OK_AND_ASSIGN(auto table, Table::Open(racing));
  ASSERT_OK_AND_ASSIGN(auto r, Append(table, *AppendInput({{"b", Ms("2024-01-02"), "b1"}})));
  EXPECT_EQ(racing->raced(), 1);
  EXPECT_EQ(r.version.value(), 3);
  auto t = Open();
  EXPECT_EQ(t->current_snapshot()->properties.at("team.owner"), "x");
  ASSERT_OK_AND_ASSIGN(auto state, ScanKv(t, std::nullopt));
  EXPECT_EQ(state.size(), 2u);
}

// An alter that loses the race is validated again against the winner's
// schema: still valid, it commits on top of it.
TEST_F(AlterRaceTest, AnAlterStillValidAfterTheRaceCommitsOnTop) {
  auto racing = std::make_shared<RacingStorage>(storage_, Concurrent(AddColumn{"x", arrow::int32()}));
  ASSERT_OK_AND_ASSIGN(auto table, Table::Open(racing));
  ASSERT_OK_AND_ASSIGN(auto r, Alter(table, AddColumn{"y", arrow::utf8()}));
  EXPECT_EQ(r.version.value(), 3);
  const auto t = Open();
  const auto& s = t->current_snapshot()->schema;
  ASSERT_EQ(s.value_columns.size(), 3u);
  EXPECT_EQ(s.value_columns[1].name, "x");
  EXPECT_EQ(s.value_columns[2].name, "y");
  EXPECT_NE(s.value_columns[1].id, s.value_columns[2].id);  // the id is taken again from the winner's schema
  EXPECT_EQ(s.next_column_id, s.value_columns[2].id + 1);
}

// No longer valid against the winner's schema: Conflict naming the column,
// nothing committed.
TEST_F(AlterRaceTest, AnAlterInvalidatedByTheRaceIsAConflict) {
  struct Case {
    AlterOp winner, loser;
    std::string needle;
  };
  for (const auto& c : std::vector<Case>{
           {DropColumn{"value"}, RenameColumn{"value", "v"}, "'value'"},
           {AddColumn{"y", arrow::int8()}, AddColumn{"y", arrow::utf8()}, "'y'"},
           {RenameColumn{"value", "v"}, DropColumn{"value"}, "'value'"}}) {
    SetUp();
    auto racing = std::make_shared<RacingStorage>(storage_, Concurrent(c.winner));
    ASSERT_OK_AND_ASSIGN(auto table, Table::Open(racing));
    auto r = Alter(table, c.loser);
    ASSERT_FALSE(r.ok()) << DescribeAlterOp(c.loser);
    EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kConflict) << r.status().ToString();
    EXPECT_NE(r.status().message().find(c.needle), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("concurrently"), std::string::npos) << r.status().message();
    EXPECT_EQ(Open()->current_version().value(), 2);
  }
}

TEST_F(AlterRaceTest, RunningOutOfAttemptsIsAConflict) {
  int n = 0;
  auto racing = std::make_shared<RacingStorage>(
      storage_, [&] { Concurrent(SetProperty{"p.n", std::to_string(++n)})(); }, /*times=*/100);
  ASSERT_OK_AND_ASSIGN(auto table, Table::Open(racing));
  AlterOptions o;
  o.max_attempts = 3;
  auto r = Alter(table, AddColumn{"y", arrow::utf8()}, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kConflict) << r.status().ToString();
  EXPECT_EQ(racing->raced(), 3);
  auto t = Open();
  EXPECT_EQ(t->current_version().value(), 4);
  EXPECT_EQ(t->current_snapshot()->schema.FindValueColumn("y"), -1);
}

}  // namespace
}  // namespace bazof::testing

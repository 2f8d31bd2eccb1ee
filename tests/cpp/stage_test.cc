// Staged commits: several stages committed as exactly one version, ties
// resolved by task order, rebase over a concurrent writer, schema changes
// refused, abort and vacuum's grace rule removing staged files, malformed
// descriptors refused; checked against the oracle.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "bazof/alter.h"
#include "bazof/error.h"
#include "bazof/stage.h"
#include "bazof/vacuum.h"
#include "bazof/write.h"
#include "test_util.h"

namespace bazof::testing {
namespace {

arrow::Result<StagedFiles> StageEvents(const std::shared_ptr<Table>& table, std::vector<Ev> rows, int64_t task,
                                       int64_t chunk_rows = 1 << 20) {
  StageOptions o;
  o.task = task;
  o.chunk_rows = chunk_rows;
  // Through JSON, as a worker ships it to the driver.
  ARROW_ASSIGN_OR_RAISE(auto staged, Stage(*table, *AppendInput(std::move(rows), 5), o));
  ARROW_ASSIGN_OR_RAISE(auto json, staged.ToJson());
  return StagedFiles::FromJson(json);
}

class StageOracleTest : public ::testing::TestWithParam<int> {};

TEST_P(StageOracleTest, StagesCommitAsOneVersion) {
  std::mt19937_64 rng(9000 + GetParam());
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
  const int64_t day = 86400000, t0 = Ms("2024-01-01");
  const int64_t keys = 3 + pick(20), days = 2 + pick(10);
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema()));
  std::vector<OracleEvent> events;
  int64_t v = 0;
  for (int round = 0; round < 4; ++round) {
    ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
    const int tasks = 1 + static_cast<int>(pick(5));
    std::vector<StagedFiles> staged;
    std::vector<std::vector<Ev>> by_task(tasks);
    for (int task = 0; task < tasks; ++task) {
      for (int64_t i = 0, n = pick(30); i < n; ++i) {
        // Few keys and days: many equal (key, event time) across tasks.
        Ev e{"k" + std::to_string(pick(keys)), t0 + pick(days) * day, "r" + std::to_string(round) + "t" +
             std::to_string(task) + "." + std::to_string(i), pick(6) == 0};
        if (e.deleted) e.value.clear();
        by_task[task].push_back(e);
      }
      ASSERT_OK_AND_ASSIGN(auto s, StageEvents(table, by_task[task], task, 1 + pick(20)));
      EXPECT_EQ(s.rows, static_cast<int64_t>(by_task[task].size()));
      staged.push_back(std::move(s));
    }
    // Any order in the list: the task ordinal decides ties.
    std::shuffle(staged.begin(), staged.end(), rng);
    // Sometimes another writer commits between stage and commit.
    if (pick(2)) {
      Ev e{"k" + std::to_string(pick(keys)), t0 + pick(days) * day, "other" + std::to_string(round)};
      ASSERT_OK(Append(table, *AppendInput({e})).status());
      events.push_back({e, ++v, 0});
    }
    ASSERT_OK_AND_ASSIGN(auto r, CommitStaged(table, staged));
    int64_t total = 0;
    for (const auto& t : by_task) total += static_cast<int64_t>(t.size());
    ASSERT_EQ(r.committed, total > 0);
    if (!r.committed) continue;
    ASSERT_EQ(r.version.value(), ++v);  // exactly one new version
    ASSERT_EQ(r.rows, total);
    int64_t seq = 0;
    for (const auto& t : by_task) {
      for (const auto& e : t) events.push_back({e, v, seq++});
    }
  }
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  ASSERT_EQ(table->current_version().value(), v);
  for (int64_t version = 0; version <= v; ++version) {
    for (int probe = 0; probe < 4; ++probe) {
      const int64_t t = probe == 0 ? INT64_MAX / 1000 : t0 + pick(days + 1) * day - pick(2);
      std::optional<int64_t> as_of = probe == 0 ? std::nullopt : std::optional<int64_t>(t);
      ASSERT_OK_AND_ASSIGN(auto got, ScanKv(table, as_of, version));
      ASSERT_EQ(got, Oracle(events, t, version)) << "seed " << GetParam() << " version " << version;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(RandomStages, StageOracleTest, ::testing::Range(1, 16));

TEST(StageTest, LaterTaskWinsTies) {
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema()));
  ASSERT_OK_AND_ASSIGN(auto s2, StageEvents(table, {{"a", 1000, "task2"}}, 2));
  ASSERT_OK_AND_ASSIGN(auto s1, StageEvents(table, {{"a", 1000, "task1"}, {"b", 1000, "b1"}}, 1));
  ASSERT_OK_AND_ASSIGN(auto s3, StageEvents(table, {{"b", 1000, "b3"}}, 3));
  ASSERT_OK_AND_ASSIGN(auto r, CommitStaged(table, {s3, s2, s1}));
  ASSERT_EQ(r.version.value(), 1);
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  ASSERT_OK_AND_ASSIGN(auto got, ScanKv(table, std::nullopt));
  EXPECT_EQ(got["a"].second, "task2");
  EXPECT_EQ(got["b"].second, "b3");
}

TEST(StageTest, NothingVisibleBeforeCommitAndEmptyStages) {
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema()));
  ASSERT_OK_AND_ASSIGN(auto s, StageEvents(table, {{"a", 1000, "x"}}, 0));
  ASSERT_EQ(s.files.size(), 1u);
  ASSERT_OK_AND_ASSIGN(auto fresh, Table::Open(storage));
  EXPECT_EQ(fresh->current_version().value(), 0);
  ASSERT_OK_AND_ASSIGN(auto got, ScanKv(fresh, std::nullopt));
  EXPECT_TRUE(got.empty());
  ASSERT_OK_AND_ASSIGN(auto empty, StageEvents(table, {}, 1));
  EXPECT_TRUE(empty.files.empty());
  EXPECT_EQ(empty.rows, 0);
  ASSERT_OK_AND_ASSIGN(auto r, CommitStaged(table, {empty}));
  EXPECT_FALSE(r.committed);
  ASSERT_OK_AND_ASSIGN(auto none, CommitStaged(table, {}));
  EXPECT_FALSE(none.committed);
  ASSERT_OK_AND_ASSIGN(r, CommitStaged(table, {empty, s}));
  EXPECT_TRUE(r.committed);
  EXPECT_EQ(r.version.value(), 1);
  // Committing the same files again, or aborting them, is refused.
  auto again = CommitStaged(table, {s});
  EXPECT_EQ(ErrorKindOf(again.status()), ErrorKind::kInvalidArgument) << again.status().ToString();
  auto abort = AbortStaged(*table, {s});
  EXPECT_EQ(ErrorKindOf(abort), ErrorKind::kInvalidArgument) << abort.ToString();
  ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
  ASSERT_OK_AND_ASSIGN(got, ScanKv(table, std::nullopt));
  EXPECT_EQ(got.size(), 1u);
}

TEST(StageTest, SchemaChangeSinceStagingIsRefused) {
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema()));
  ASSERT_OK_AND_ASSIGN(auto s, StageEvents(table, {{"a", 1000, "x"}}, 0));
  ASSERT_OK(Alter(table, AddColumn{"extra", arrow::int32(), true}).status());
  auto r = CommitStaged(table, {s});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kConflict);
  EXPECT_NE(r.status().message().find("stage them again"), std::string::npos) << r.status().ToString();
  ASSERT_OK_AND_ASSIGN(auto fresh, Table::Open(storage));
  EXPECT_EQ(fresh->current_version().value(), 1);
  ASSERT_OK(AbortStaged(*fresh, {s}));
}

TEST(StageTest, AbortRemovesFilesIdempotently) {
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema()));
  ASSERT_OK_AND_ASSIGN(auto s, StageEvents(table, {{"a", 1000, "x"}, {"b", 1000, "y"}}, 0, 1));
  ASSERT_FALSE(s.files.empty());
  for (const auto& f : s.files) {
    ASSERT_OK_AND_ASSIGN(bool exists, storage->Exists(f.path));
    EXPECT_TRUE(exists);
  }
  ASSERT_OK(AbortStaged(*table, {s}));
  ASSERT_OK(AbortStaged(*table, {s}));
  for (const auto& f : s.files) {
    ASSERT_OK_AND_ASSIGN(bool exists, storage->Exists(f.path));
    EXPECT_FALSE(exists);
  }
  auto r = CommitStaged(table, {s});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kInvalidArgument);
  EXPECT_NE(r.status().message().find("does not exist"), std::string::npos) << r.status().ToString();
}

TEST(StageTest, VacuumGraceRemovesUncommittedStagedFiles) {
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema()));
  ASSERT_OK_AND_ASSIGN(auto s, StageEvents(table, {{"a", 1000, "x"}}, 0));
  VacuumOptions vo;  // default grace: 1 hour
  ASSERT_OK_AND_ASSIGN(auto kept, Vacuum(table, vo));
  ASSERT_OK_AND_ASSIGN(bool exists, storage->Exists(s.files[0].path));
  EXPECT_TRUE(exists) << "a staged file younger than the grace period must survive vacuum";
  // Still committable after that vacuum.
  ASSERT_OK_AND_ASSIGN(auto committed_ok, StageEvents(table, {{"b", 1000, "y"}}, 1));
  vo.now = std::chrono::system_clock::now() + std::chrono::hours(2);
  ASSERT_OK_AND_ASSIGN(auto later, Vacuum(table, vo));
  ASSERT_OK_AND_ASSIGN(exists, storage->Exists(s.files[0].path));
  EXPECT_FALSE(exists) << "an abandoned staged file older than the grace period is an orphan";
  auto r = CommitStaged(table, {committed_ok});
  EXPECT_FALSE(r.ok());
}

TEST(StageTest, MalformedDescriptorsAreRefused) {
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema()));
  ASSERT_OK_AND_ASSIGN(auto s, StageEvents(table, {{"a", 1000, "x"}}, 0));
  ASSERT_OK_AND_ASSIGN(auto json, s.ToJson());
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string out = json;
    auto at = out.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) out.replace(at, from.size(), to);
    return out;
  };
  const std::string path = s.files[0].path;
  for (const std::string& text :
       {std::string(""), std::string("{}"), std::string("[1]"), json.substr(0, json.size() / 2),
        replaced("\"staged_format\":1", "\"staged_format\":7"), replaced("\"rows\":1", "\"rows\":2"),
        replaced(path, "version.txt"), replaced(path, "../data/x.parquet"), replaced(path, "/tmp/x.parquet"),
        replaced(path, "s3://b/x.parquet"), replaced("\"task\":0", "\"task\":\"0\"")}) {
    auto r = StagedFiles::FromJson(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kInvalidArgument) << r.status().ToString();
  }
  // A descriptor built in code (not parsed) with a bad name is refused too.
  StagedFiles forged = s;
  forged.files[0].path = "s0.json";
  auto r = CommitStaged(table, {forged});
  EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kInvalidArgument);
  forged.files[0].path = "data/missing.parquet";
  r = CommitStaged(table, {forged});
  EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kInvalidArgument);
  forged = s;
  forged.files[0].size += 1;
  r = CommitStaged(table, {forged});
  EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(auto fresh, Table::Open(storage));
  EXPECT_EQ(fresh->current_version().value(), 0);
}

}  // namespace
}  // namespace bazof::testing

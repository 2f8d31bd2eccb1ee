// bazof::Vacuum: retained versions scan exactly as before; expired versions
// fail clearly; orphans go only once older than the grace period; a dry run
// deletes nothing.
#include <arrow/filesystem/mockfs.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "bazof/compact.h"
#include "bazof/error.h"
#include "bazof/inspect.h"
#include "bazof/vacuum.h"
#include "maintenance_util.h"
#include "table_builder.h"

namespace bazof::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::system_clock;

// Later than every file of an in-memory table: all of them are "old".
VacuumOptions Later(std::optional<int64_t> retain_versions = std::nullopt) {
  VacuumOptions o;
  o.retain_versions = retain_versions;
  o.now = Clock::now() + std::chrono::hours(2);
  return o;
}

void ExpectValid(const std::shared_ptr<io::Storage>& storage, const std::string& where) {
  ValidateOptions o;
  o.deep = true;
  auto r = ValidateTable(storage, o);
  ASSERT_TRUE(r.ok()) << where << ": " << r.status().ToString();
  EXPECT_TRUE(r->ok()) << where << ":\n" << ProblemsText(*r);
}

std::set<std::string> Referenced(io::Storage& storage, int64_t from, int64_t to) {
  std::set<std::string> out;
  for (int64_t v = from; v <= to; ++v) {
    auto snap = metadata::ReadSnapshotFile(storage, v).ValueOrDie();
    for (const auto* f : snap->AllFiles()) out.insert(f->path);
  }
  return out;
}

TEST(VacuumTest, RetainedVersionsScanAsBefore) {
  for (uint64_t seed : {1, 2, 3}) {
    for (int64_t retain : {1, 3, 7}) {
      const std::string where = "seed " + std::to_string(seed) + " retain " + std::to_string(retain);
      auto t = MakeRandomTable(seed, 10, MemStorage(), /*rewrite_at=*/4);
      auto before = ScanVersions(t.storage, 0);
      ASSERT_OK_AND_ASSIGN(auto table, Table::Open(t.storage));
      ASSERT_OK_AND_ASSIGN(auto r, Vacuum(table, Later(retain)));
      const int64_t oldest = 10 - retain + 1;
      EXPECT_EQ(r.oldest_retained.value(), oldest) << where;
      ASSERT_EQ(r.expired_versions.size(), static_cast<size_t>(oldest)) << where;
      EXPECT_EQ(r.expired_versions.front().value(), 0) << where;
      // Version 1's files were rewritten at version 4: gone once 3 expires.
      const bool originals_gone = oldest >= 4;
      EXPECT_EQ(std::any_of(r.deleted.begin(), r.deleted.end(),
                            [](const VacuumedFile& f) { return f.reason == "unreferenced data file"; }),
                originals_gone)
          << where;
      // Every retained (V, T) scans as before, and as the oracle says.
      auto after = ScanVersions(t.storage, oldest);
      for (const auto& [vt, state] : after) {
        EXPECT_EQ(state, before.at(vt)) << where << " version " << vt.first << " as of " << vt.second;
        EXPECT_EQ(state, Oracle(t.events, vt.second < 0 ? INT64_MAX : vt.second, vt.first)) << where;
      }
      EXPECT_EQ(after.size(), static_cast<size_t>(retain) * ScanTimes().size()) << where;
      // Nothing left that no retained version needs; nothing missing that one does.
      auto files = ListAll(*t.storage);
      auto needed = Referenced(*t.storage, oldest, 10);
      for (const auto& f : files) {
        if (f.starts_with("data/")) {
          EXPECT_TRUE(needed.count(f)) << where << ": left " << f;
        }
      }
      for (const auto& f : needed) EXPECT_TRUE(files.count(f)) << where << ": deleted " << f;
      for (int64_t v = 0; v < oldest; ++v) EXPECT_FALSE(files.count(metadata::SnapshotFileName(v))) << where;
      ExpectValid(t.storage, where);
      // A second vacuum has nothing left to do.
      ASSERT_OK_AND_ASSIGN(table, Table::Open(t.storage));
      ASSERT_OK_AND_ASSIGN(auto again, Vacuum(table, Later(retain)));
      EXPECT_TRUE(again.deleted.empty()) << where;
      EXPECT_EQ(again.oldest_retained.value(), oldest) << where;
    }
  }
}

TEST(VacuumTest, AfterCompactionTheOldLayoutGoes) {
  auto t = MakeRandomTable(12, 8);
  ASSERT_OK_AND_ASSIGN(auto table, Table::Open(t.storage));
  CompactOptions co;
  co.segment_duration_us = 7 * 86400000000LL;
  ASSERT_OK_AND_ASSIGN(auto c, Compact(table, co));
  ASSERT_EQ(c.version.value(), 9);
  for (int i = 0; i < 2; ++i) {
    ASSERT_OK_AND_ASSIGN(table, Table::Open(t.storage));
    ASSERT_OK(Put(table, PutRequest{{{"", "k2"}}, "2024-01-1" + std::to_string(i), {{"value", "p"}}, false}).status());
  }
  auto before = ScanVersions(t.storage, 0);
  ASSERT_OK_AND_ASSIGN(table, Table::Open(t.storage));
  ASSERT_OK_AND_ASSIGN(auto r, Vacuum(table, Later(3)));
  EXPECT_EQ(r.oldest_retained.value(), 9);
  std::set<std::string> unreferenced;
  for (const auto& d : r.deleted) {
    if (d.reason == "unreferenced data file") unreferenced.insert(d.name);
  }
  EXPECT_EQ(unreferenced, std::set<std::string>(c.files_removed.begin(), c.files_removed.end()));
  for (const auto& [vt, state] : ScanVersions(t.storage, 9)) EXPECT_EQ(state, before.at(vt)) << vt.first;
  ExpectValid(t.storage, "after compaction");
}

TEST(VacuumTest, WithoutRulesEveryVersionIsKeptAndOnlyOrphansGo) {
  auto t = MakeRandomTable(4, 5);
  auto before = ScanVersions(t.storage, 0);
  auto out = t.storage->OpenForWrite("data/crashed-append.parquet").ValueOrDie();
  ASSERT_OK(out->Write("PAR1", 4));
  ASSERT_OK(out->Close());
  ASSERT_OK_AND_ASSIGN(auto table, Table::Open(t.storage));
  ASSERT_OK_AND_ASSIGN(auto r, Vacuum(table, Later()));
  EXPECT_TRUE(r.expired_versions.empty());
  EXPECT_EQ(r.oldest_retained.value(), 0);
  ASSERT_EQ(r.deleted.size(), 1u);
  EXPECT_EQ(r.deleted[0].name, "data/crashed-append.parquet");
  EXPECT_EQ(r.deleted[0].reason, "orphan");
  EXPECT_EQ(r.deleted[0].bytes, 4);
  EXPECT_EQ(ScanVersions(t.storage, 0), before);
  EXPECT_FALSE(t.storage->Exists("retention.json").ValueOrDie()) << "nothing expired, no hint needed";
}

class LocalTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("bazof-vacuum-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Touch(const std::string& rel, std::chrono::hours age) {
    auto p = dir_ / "t" / rel;
    fs::create_directories(p.parent_path());
    { std::ofstream(p) << "orphan"; }
    fs::last_write_time(p, fs::file_time_type::clock::now() - age);
  }

  fs::path dir_;
};

TEST_F(LocalTableTest, OrphansOlderThanTheGracePeriodGo) {
  auto storage = io::OpenStorage(dir_.string(), "t").ValueOrDie();
  auto t = MakeRandomTable(5, 3, storage);
  auto before = ScanVersions(storage, 0);
  Touch("data/old-orphan.parquet", std::chrono::hours(2));
  Touch("data/young-orphan.parquet", std::chrono::hours(0));
  Touch("s4.json.tmp-0123456789abcdef", std::chrono::hours(2));
  Touch("version.txt.tmp-0123456789abcdef", std::chrono::hours(2));
  Touch("notes.csv", std::chrono::hours(2));  // not bazof's: never touched
  ASSERT_OK_AND_ASSIGN(auto table, Table::Open(storage));
  ASSERT_OK_AND_ASSIGN(auto r, Vacuum(table));  // wall clock, default grace 1h
  std::set<std::string> deleted;
  for (const auto& d : r.deleted) {
    deleted.insert(d.name);
    EXPECT_EQ(d.reason, "orphan") << d.name;
  }
  EXPECT_EQ(deleted, (std::set<std::string>{"data/old-orphan.parquet", "s4.json.tmp-0123456789abcdef",
                                            "version.txt.tmp-0123456789abcdef"}));
  EXPECT_EQ(r.orphans_kept_by_grace, 1);
  EXPECT_TRUE(fs::exists(dir_ / "t" / "data" / "young-orphan.parquet"));
  EXPECT_TRUE(fs::exists(dir_ / "t" / "notes.csv"));
  EXPECT_FALSE(fs::exists(dir_ / "t" / "data" / "old-orphan.parquet"));
  EXPECT_EQ(ScanVersions(storage, 0), before);
  // Fresh commits are younger than the grace period: --retain-versions alone
  // expires nothing yet.
  VacuumOptions keep1;
  keep1.retain_versions = 1;
  ASSERT_OK_AND_ASSIGN(auto young, Vacuum(table, keep1));
  EXPECT_TRUE(young.expired_versions.empty());
  EXPECT_EQ(young.versions_kept_by_grace, 3);
  ExpectValid(storage, "local");
}

TEST_F(LocalTableTest, LegacyTablesLoseNothing) {
  for (const char* name : {"azof-0.2/table0", "bazof-0.1/ltm_revenue"}) {
    const fs::path root = dir_ / "t";
    fs::remove_all(root);
    fs::copy(fs::path(BAZOF_FIXTURES_DIR) / name, root, fs::copy_options::recursive);
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      fs::last_write_time(e.path(), fs::file_time_type::clock::now() - std::chrono::hours(48));
    }
    auto storage = io::OpenStorage(dir_.string(), "t").ValueOrDie();
    auto files = ListAll(*storage);
    ASSERT_OK_AND_ASSIGN(auto table, Table::Open(storage));
    ASSERT_OK_AND_ASSIGN(auto r, Vacuum(table, Later(1)));
    EXPECT_TRUE(r.deleted.empty()) << name;
    EXPECT_EQ(ListAll(*storage), files) << name;
    ExpectValid(storage, name);
  }
}

TEST(VacuumTest, DryRunDeletesNothingAndListsWhatARunDeletes) {
  auto t = MakeRandomTable(6, 6);
  auto out = t.storage->OpenForWrite("data/orphan.parquet").ValueOrDie();
  ASSERT_OK(out->Close());
  auto files = ListAll(*t.storage);
  ASSERT_OK_AND_ASSIGN(auto table, Table::Open(t.storage));
  auto o = Later(2);
  o.dry_run = true;
  ASSERT_OK_AND_ASSIGN(auto dry, Vacuum(table, o));
  EXPECT_TRUE(dry.dry_run);
  EXPECT_EQ(ListAll(*t.storage), files);
  EXPECT_EQ(dry.expired_versions.size(), 5u);
  ASSERT_FALSE(dry.deleted.empty());
  o.dry_run = false;
  ASSERT_OK_AND_ASSIGN(auto real, Vacuum(table, o));
  std::set<std::string> planned, done, gone;
  for (const auto& d : dry.deleted) planned.insert(d.name);
  for (const auto& d : real.deleted) done.insert(d.name);
  EXPECT_EQ(planned, done);
  EXPECT_EQ(dry.deleted_bytes, real.deleted_bytes);
  auto now = ListAll(*t.storage);
  for (const auto& f : files) {
    if (!now.count(f)) gone.insert(f);
  }
  EXPECT_EQ(gone, done);
}

TEST(VacuumTest, VacuumedVersionsFailClearly) {
  auto t = MakeRandomTable(7, 6);
  ASSERT_OK_AND_ASSIGN(auto table, Table::Open(t.storage));
  ASSERT_OK(Vacuum(table, Later(2)).status());
  ASSERT_OK_AND_ASSIGN(table, Table::Open(t.storage));
  for (int64_t v : {0, 2, 4}) {
    auto s = table->SnapshotAt(Version(v));
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(ErrorKindOf(s.status()), ErrorKind::kNotFound);
    EXPECT_EQ(s.status().message(), "version " + std::to_string(v) +
                                        " of table 'mem://t' was vacuumed (oldest retained version: 5)");
    auto scan = ScanKv(table, std::nullopt, v);
    ASSERT_FALSE(scan.ok());
    EXPECT_EQ(scan.status().message(), s.status().message());
    auto history = KeyHistory(*table, {{"", "k1"}}, Version(v));
    ASSERT_FALSE(history.ok());
    EXPECT_EQ(history.status().message(), s.status().message());
  }
  auto future = table->SnapshotAt(Version(9));
  ASSERT_FALSE(future.ok());
  EXPECT_EQ(future.status().message(), "version 9 of table 'mem://t' does not exist (current version is 6)");
  ASSERT_OK_AND_ASSIGN(auto log, ReadLog(*table));
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].version.value(), 5);
  EXPECT_EQ(log[1].version.value(), 6);
  ASSERT_OK_AND_ASSIGN(auto oldest, table->OldestVersion());
  EXPECT_EQ(oldest.value(), 5);
  ValidateOptions vo;
  vo.version = Version(3);
  auto validate = ValidateTable(t.storage, vo);
  ASSERT_FALSE(validate.ok());
  EXPECT_NE(validate.status().message().find("was vacuumed (oldest retained version: 5)"), std::string::npos);
}

TEST(VacuumTest, AVersionThatNeverExistedKeepsItsError) {
  // Tables made by gen (and legacy ones) start at version 1.
  TableBuilder b;
  for (int64_t v = 1; v <= 4; ++v) {
    ASSERT_OK(b.AddDelta(v, {{"k", Ms("2024-01-01") + v, "v" + std::to_string(v)}}));
    ASSERT_OK(b.Commit(v));
  }
  ASSERT_OK_AND_ASSIGN(auto table, b.Open());
  ASSERT_OK(Vacuum(table, Later(1)).status());
  ASSERT_OK_AND_ASSIGN(table, b.Open());
  auto zero = table->SnapshotAt(Version(0));
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.status().message(), "version 0 of table 'mem://t' does not exist (no s0.json)");
  auto two = table->SnapshotAt(Version(2));
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.status().message().find("was vacuumed (oldest retained version: 4)"), std::string::npos);
}

TEST(VacuumTest, TheTableOpensWhateverThePointerSays) {
  auto t = MakeRandomTable(8, 6);
  ASSERT_OK(t.storage->ReplaceFile("version.txt", "1"));  // a pointer lagging behind
  ASSERT_OK_AND_ASSIGN(auto table, Table::Open(t.storage));
  ASSERT_OK(Vacuum(table, Later(2)).status());
  EXPECT_EQ(t.storage->ReadFile("version.txt").ValueOrDie(), "6") << "vacuum moves a pointer to an expired version";
  // A slow writer may still move it back; readers follow the retention hint.
  ASSERT_OK(t.storage->ReplaceFile("version.txt", "2"));
  ASSERT_OK_AND_ASSIGN(table, Table::Open(t.storage));
  EXPECT_EQ(table->current_version().value(), 6);
  ASSERT_OK(t.storage->DeleteFile("version.txt"));
  ASSERT_OK_AND_ASSIGN(table, Table::Open(t.storage));
  EXPECT_EQ(table->current_version().value(), 6);
  ExpectValid(t.storage, "pointer");
}

TEST(VacuumTest, AStaleWriterDoesNotRecreateAVacuumedVersion) {
  auto t = MakeRandomTable(9, 2);
  ASSERT_OK_AND_ASSIGN(auto stale, Table::Open(t.storage));  // will try to commit version 3
  for (int i = 0; i < 4; ++i) {
    ASSERT_OK_AND_ASSIGN(auto fresh, Table::Open(t.storage));
    ASSERT_OK(Put(fresh, PutRequest{{{"", "k1"}}, "2024-03-0" + std::to_string(i + 1), {{"value", "p"}}, false})
                  .status());
  }
  ASSERT_OK_AND_ASSIGN(auto now, Table::Open(t.storage));
  ASSERT_OK(Vacuum(now, Later(2)).status());  // keeps 5 and 6; s3.json is gone
  ASSERT_OK_AND_ASSIGN(auto r, Put(stale, PutRequest{{{"", "late"}}, "2024-01-01", {{"value", "x"}}, false}));
  EXPECT_EQ(r.version.value(), 7) << "the stale writer rebased instead of recreating version 3";
  EXPECT_FALSE(t.storage->Exists("s3.json").ValueOrDie());
  ASSERT_OK_AND_ASSIGN(auto table, Table::Open(t.storage));
  ASSERT_OK_AND_ASSIGN(auto state, ScanKv(table, std::nullopt));
  EXPECT_EQ(state.at("late").second, "x");
  ExpectValid(t.storage, "stale writer");
}

TEST(VacuumTest, OlderThanKeepsRecentCommitsAndRulesCombine) {
  // Commits on Jan 1..5, files written on Jan 1, vacuum "now" on Jan 5 noon.
  auto t0 = Clock::time_point(std::chrono::milliseconds(Ms("2024-01-01")));
  auto fs = std::make_shared<arrow::fs::internal::MockFileSystem>(t0);
  auto make = [&] {
    TableBuilder b(io::Storage::Make(fs, "t" + std::to_string(rand()), "mem://t"));
    for (int64_t v = 1; v <= 5; ++v) {
      EXPECT_TRUE(b.AddDelta(v, {{"k", Ms("2024-01-01") + v, "v" + std::to_string(v)}}).ok());
      b.snapshot().commit = CommitInfo{"append", "2024-01-0" + std::to_string(v) + "T00:00:00.000Z", 1, {}, {}};
      EXPECT_TRUE(b.Commit(v).ok());
    }
    return b;
  };
  VacuumOptions o;
  o.now = Clock::time_point(std::chrono::milliseconds(Ms("2024-01-05T12:00:00Z")));
  o.retain_micros = 2 * 86400000000LL;  // keeps commits after Jan 3 noon: 4 and 5
  auto b = make();
  ASSERT_OK_AND_ASSIGN(auto r, Vacuum(b.Open().ValueOrDie(), o));
  EXPECT_EQ(r.oldest_retained.value(), 4);
  o.retain_versions = 3;  // keeps 3, 4, 5: a version either rule keeps is kept
  b = make();
  ASSERT_OK_AND_ASSIGN(r, Vacuum(b.Open().ValueOrDie(), o));
  EXPECT_EQ(r.oldest_retained.value(), 3);
  o.retain_versions = 1;
  b = make();
  ASSERT_OK_AND_ASSIGN(r, Vacuum(b.Open().ValueOrDie(), o));
  EXPECT_EQ(r.oldest_retained.value(), 4);
}

TEST(VacuumTest, SnapshotsYoungerThanTheGracePeriodStay) {
  auto t = MakeRandomTable(10, 4);
  ASSERT_OK_AND_ASSIGN(auto table, Table::Open(t.storage));
  VacuumOptions o;
  o.retain_versions = 1;  // the wall clock: every snapshot was just written
  ASSERT_OK_AND_ASSIGN(auto r, Vacuum(table, o));
  EXPECT_TRUE(r.expired_versions.empty());
  EXPECT_EQ(r.versions_kept_by_grace, 4);
  o.grace_micros = 0;
  o.now = Clock::now() + std::chrono::seconds(1);
  ASSERT_OK_AND_ASSIGN(r, Vacuum(table, o));
  EXPECT_EQ(r.expired_versions.size(), 4u);
}

TEST(VacuumTest, BadOptionsAndUnreadableSnapshots) {
  auto t = MakeRandomTable(11, 3);
  ASSERT_OK_AND_ASSIGN(auto table, Table::Open(t.storage));
  auto r = Vacuum(table, Later(0));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kInvalidArgument);
  auto files = ListAll(*t.storage);
  ASSERT_OK(t.storage->ReplaceFile("s2.json", "{not json"));
  r = Vacuum(table, Later(2));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kCorruption);
  EXPECT_NE(r.status().message().find("retained version 2 cannot be read"), std::string::npos)
      << r.status().ToString();
  EXPECT_EQ(ListAll(*t.storage), files);
}

}  // namespace
}  // namespace bazof::testing

// A vacuum that fails or crashes at any storage call leaves a table that
// validates and reads every snapshot still present exactly as before; running
// vacuum again finishes the work.
#include <gtest/gtest.h>

#include "bazof/vacuum.h"
#include "faulty_storage.h"
#include "maintenance_util.h"

namespace bazof::testing {
namespace {

// Version 8 after create + 8 commits (the third rewrites version 1's files,
// which then only versions 1 and 2 reference), an orphan, and a lagging
// pointer.
std::shared_ptr<io::Storage> Damaged() {
  auto t = MakeRandomTable(21, 8, MemStorage(), /*rewrite_at=*/3);
  auto out = t.storage->OpenForWrite("data/orphan.parquet").ValueOrDie();
  EXPECT_TRUE(out->Close().ok());
  EXPECT_TRUE(t.storage->ReplaceFile("version.txt", "2").ok());
  return t.storage;
}

// A few event times (scans of every version at each, after every fault).
std::vector<std::optional<int64_t>> Times() {
  return {std::nullopt, Ms("2024-01-10"), Ms("2024-01-25"), Ms("2024-02-09")};
}

VacuumOptions Options() {
  VacuumOptions o;
  o.retain_versions = 3;
  o.now = std::chrono::system_clock::now() + std::chrono::hours(2);
  return o;
}

void CheckAfter(const std::shared_ptr<io::Storage>& storage,
                const std::map<std::pair<int64_t, int64_t>, KvState>& before, const std::string& where) {
  auto table = Table::Open(storage);
  ASSERT_TRUE(table.ok()) << where << ": " << table.status().ToString();
  ASSERT_EQ((*table)->current_version().value(), 8) << where;
  ValidateOptions vo;
  vo.deep = true;
  auto report = ValidateTable(storage, vo);
  ASSERT_TRUE(report.ok()) << where << ": " << report.status().ToString();
  EXPECT_TRUE(report->ok()) << where << ":\n" << ProblemsText(*report);
  // Every snapshot still there (expired or not) reads as before.
  for (int64_t v = 0; v <= 8; ++v) {
    if (!storage->Exists(metadata::SnapshotFileName(v)).ValueOrDie()) continue;
    for (auto t : Times()) {
      auto got = ScanKv(*table, t, v);
      ASSERT_TRUE(got.ok()) << where << " version " << v << ": " << got.status().ToString();
      EXPECT_EQ(*got, before.at({v, t.value_or(-1)})) << where << " version " << v;
    }
  }
  ASSERT_OK_AND_ASSIGN(auto oldest, (*table)->OldestVersion());
  for (int64_t v = oldest.value(); v <= 8; ++v) {
    EXPECT_TRUE(storage->Exists(metadata::SnapshotFileName(v)).ValueOrDie()) << where << " version " << v;
  }
}

TEST(VacuumFaultTest, EveryFailurePointLeavesAReadableTable) {
  auto before = ScanVersions(Damaged(), 0, Times());
  auto dry = std::make_shared<FaultyStorage>(Damaged(), 0, FaultyStorage::kFail);
  {
    auto table = Table::Open(dry);
    ASSERT_TRUE(table.ok());
    ASSERT_OK_AND_ASSIGN(auto r, Vacuum(*table, Options()));
    ASSERT_EQ(r.oldest_retained.value(), 6);
    ASSERT_EQ(r.expired_versions.size(), 6u);
    ASSERT_TRUE(std::any_of(r.deleted.begin(), r.deleted.end(),
                            [](const VacuumedFile& f) { return f.reason == "unreferenced data file"; }));
  }
  const int64_t calls = dry->calls();
  ASSERT_GT(calls, 20);
  for (auto mode : {FaultyStorage::kFail, FaultyStorage::kCrash}) {
    for (int64_t k = 1; k <= calls; ++k) {
      const std::string where =
          std::string(mode == FaultyStorage::kFail ? "fail" : "crash") + " at call " + std::to_string(k) + "/" +
          std::to_string(calls);
      auto base = Damaged();
      auto faulty = std::make_shared<FaultyStorage>(base, k, mode);
      if (auto t = Table::Open(faulty); t.ok()) (void)Vacuum(*t, Options());
      CheckAfter(base, before, where);
      // Running it again finishes the job.
      ASSERT_OK_AND_ASSIGN(auto table, Table::Open(base));
      ASSERT_OK_AND_ASSIGN(auto r, Vacuum(table, Options()));
      EXPECT_EQ(r.oldest_retained.value(), 6) << where;
      CheckAfter(base, before, where + ", then again");
      EXPECT_FALSE(base->Exists("s5.json").ValueOrDie()) << where;
      EXPECT_FALSE(base->Exists("data/orphan.parquet").ValueOrDie()) << where;
    }
  }
}

}  // namespace
}  // namespace bazof::testing

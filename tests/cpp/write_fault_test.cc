// A write that fails or crashes at any storage call leaves the table readable
// at the last version that reported success (or at the new version, if the
// crash came after the commit point), with no committed row lost.
#include <gtest/gtest.h>

#include "bazof/write.h"
#include "faulty_storage.h"
#include "test_util.h"

namespace bazof::testing {
namespace {

using Write = std::function<arrow::Result<CommitResult>(const std::shared_ptr<Table>&)>;

struct Scenario {
  std::string name;
  Write write;
  std::vector<OracleEvent> events;  // what the write adds, as version 2
};

std::vector<Scenario> Scenarios() {
  std::vector<Ev> rows = {{"a", Ms("2024-03-01"), "a-late"}, {"z", Ms("2024-01-05"), "z1"},
                          {"b", Ms("2024-02-01"), "", true}};
  Scenario append{"append", [rows](const std::shared_ptr<Table>& t) -> arrow::Result<CommitResult> {
                    AppendOptions o;
                    o.chunk_rows = 2;  // two data files in one commit
                    return Append(t, *AppendInput(rows), o);
                  }, {}};
  for (size_t i = 0; i < rows.size(); ++i) append.events.push_back({rows[i], 2, static_cast<int64_t>(i)});
  Scenario put{"put", [](const std::shared_ptr<Table>& t) {
                 return Put(t, PutRequest{{{"", "c"}}, "2024-01-20", {{"value", "c1"}}, false});
               }, {{Ev{"c", Ms("2024-01-20"), "c1"}, 2, 0}}};
  Scenario del{"delete", [](const std::shared_ptr<Table>& t) {
                 return Put(t, PutRequest{{{"key", "a"}}, "2024-01-20", {}, true});
               }, {{Ev{"a", Ms("2024-01-20"), "", true}, 2, 0}}};
  return {append, put, del};
}

// Version 1 of every test table.
std::vector<OracleEvent> Initial() {
  return {{Ev{"a", Ms("2024-01-01"), "a1"}, 1, 0}, {Ev{"b", Ms("2024-01-10"), "b1"}, 1, 1},
          {Ev{"a", Ms("2024-02-15"), "a2"}, 1, 2}};
}

std::shared_ptr<io::Storage> TableAtVersion1() {
  auto storage = MemStorage();
  auto t = CreateTable(storage, KvSchema()).ValueOrDie();
  std::vector<Ev> rows;
  for (const auto& e : Initial()) rows.push_back(e.ev);
  EXPECT_TRUE(Append(t, *AppendInput(rows)).ok());
  return storage;
}

void CheckTable(const std::shared_ptr<io::Storage>& storage, const std::vector<OracleEvent>& all,
                int64_t expect_min, int64_t expect_max, const std::string& where) {
  auto t = Table::Open(storage);
  ASSERT_TRUE(t.ok()) << where << ": " << t.status().ToString();
  const int64_t v = (*t)->current_version().value();
  ASSERT_GE(v, expect_min) << where;
  ASSERT_LE(v, expect_max) << where;
  for (int64_t version = 1; version <= v; ++version) {
    for (const char* as_of : {"2024-01-05", "2024-01-25", "2024-02-20", "2030-01-01"}) {
      auto got = ScanKv(*t, Ms(as_of), version);
      ASSERT_TRUE(got.ok()) << where << ": " << got.status().ToString();
      EXPECT_EQ(*got, Oracle(all, Ms(as_of), version)) << where << " version " << version << " as of " << as_of;
    }
  }
}

TEST(WriteFaultTest, EveryFailurePointLeavesAConsistentTable) {
  for (const auto& scenario : Scenarios()) {
    auto all = Initial();
    all.insert(all.end(), scenario.events.begin(), scenario.events.end());
    // How many storage calls the write makes when nothing fails.
    auto dry = std::make_shared<FaultyStorage>(TableAtVersion1(), 0, FaultyStorage::kFail);
    {
      auto t = Table::Open(dry);
      ASSERT_TRUE(t.ok());
      ASSERT_TRUE(scenario.write(*t).ok()) << scenario.name;
    }
    const int64_t calls = dry->calls();
    ASSERT_GT(calls, 5) << scenario.name;
    for (auto mode : {FaultyStorage::kFail, FaultyStorage::kCrash}) {
      for (int64_t k = 1; k <= calls; ++k) {
        auto base = TableAtVersion1();
        auto faulty = std::make_shared<FaultyStorage>(base, k, mode);
        bool reported_success = false;
        if (auto t = Table::Open(faulty); t.ok()) {
          auto r = scenario.write(*t);
          reported_success = r.ok();
        }
        const std::string where = scenario.name + (mode == FaultyStorage::kFail ? " fail" : " crash") +
                                  " at call " + std::to_string(k) + "/" + std::to_string(calls);
        CheckTable(base, all, reported_success ? 2 : 1, 2, where);
      }
    }
  }
}

}  // namespace
}  // namespace bazof::testing

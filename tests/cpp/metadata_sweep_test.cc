// A deterministic sweep over a real format-1 snapshot: every JSON node
// (recursively) is deleted or replaced by a value of another type, and every
// read path runs on each mutant. None may throw or crash; each either
// succeeds or fails with one clean one-line error (issue #16, item 1).
#include <gtest/gtest.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "bazof/alter.h"
#include "bazof/compact.h"
#include "bazof/error.h"
#include "bazof/inspect.h"
#include "bazof/validate.h"
#include "bazof/write.h"
#include "metadata/table_files.h"
#include "test_util.h"

namespace bazof::testing {
namespace {

using nlohmann::json;

// Each node's JSON pointer, pre-order (the root is "").
void CollectPointers(const json& j, const json::json_pointer& at, std::vector<json::json_pointer>* out) {
  out->push_back(at);
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) CollectPointers(it.value(), at / it.key(), out);
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) CollectPointers(j[i], at / i, out);
  }
}

struct Mutation {
  const char* name;
  std::optional<json> value;  // nullopt: delete the node
};

std::vector<Mutation> Mutations() {
  return {{"deleted", std::nullopt},
          {"null", json(nullptr)},
          {"list", json::array({1, "a"})},
          {"object", json::object({{"x", 1}})},
          {"string", json("x")},
          {"bool", json(true)},
          {"1e300", json::parse("1e300")},
          {"2^70", json::parse("1180591620717411303424")},
          {"2^64-1", json::parse("18446744073709551615")},
          {"negative", json(-1)}};
}

bool IsOneCleanLine(const std::string& message) {
  if (message.empty()) return false;
  for (unsigned char c : message) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

// A table with several versions, a compaction (segments with a base and
// deltas), later deltas, a property and an alter's commit description.
std::shared_ptr<io::Storage> BuildTable(int64_t* latest) {
  auto storage = MemStorage();
  auto table = CreateTable(storage, KvSchema()).ValueOrDie();
  auto append = [&](std::vector<Ev> events) {
    auto input = AppendInput(std::move(events));
    auto t = Table::Open(storage).ValueOrDie();
    EXPECT_TRUE(Append(t, *input).ok());
  };
  append({{"a", Ms("2024-01-01"), "a1"}, {"b", Ms("2024-01-02"), "b1"}, {"c", Ms("2024-01-05"), "c1"}});
  append({{"a", Ms("2024-01-10"), "a2"}, {"d", Ms("2024-01-11"), "d1"}, {"b", Ms("2024-01-12"), "", true}});
  CompactOptions co;
  co.segment_duration_us = int64_t{4} * 86400 * 1000000;
  co.threads = 1;
  EXPECT_TRUE(Compact(Table::Open(storage).ValueOrDie(), co).ok());
  append({{"a", Ms("2024-01-03"), "late"}, {"e", Ms("2024-01-20"), "e1"}});
  EXPECT_TRUE(Alter(Table::Open(storage).ValueOrDie(), SetProperty{"compaction.max_deltas", "10"}).ok());
  EXPECT_TRUE(Alter(Table::Open(storage).ValueOrDie(), SetProperty{"team.owner", "pricing"}).ok());
  append({{"c", Ms("2024-01-21"), "c2"}});
  *latest = Table::Open(storage).ValueOrDie()->current_version().value();
  return storage;
}

// Runs every read path; returns the first error (or OK). Throws nothing
// itself: an exception escaping here is what the sweep looks for.
arrow::Status ReadEverything(const std::shared_ptr<io::Storage>& storage, int64_t latest,
                             std::vector<std::string>* messages) {
  auto note = [&](const arrow::Status& st) {
    if (!st.ok()) messages->push_back(st.message());
  };
  auto validated = ValidateTable(storage);
  if (validated.ok()) {
    for (const auto& p : validated->problems) messages->push_back(p.object + ": " + p.problem);
  } else {
    note(validated.status());
  }
  auto table = Table::Open(storage);
  if (!table.ok()) {
    note(table.status());
    return table.status();
  }
  for (std::optional<int64_t> v : {std::optional<int64_t>(), std::optional<int64_t>(latest - 1)}) {
    auto b = (*table)->NewScan();
    if (v) b.AtVersion(Version(*v));
    auto scan = b.Build();
    if (scan.ok()) {
      auto rows = (*scan)->ToTable();
      note(rows.status());
    } else {
      note(scan.status());
    }
  }
  auto as_of = (*table)->NewScan();
  as_of.AsOf(EventTime::FromMicros(Ms("2024-01-11") * 1000));
  if (auto scan = as_of.Build(); scan.ok()) note((*scan)->ToTable().status());
  else note(scan.status());
  if (auto snap = (*table)->SnapshotAt(Version(latest)); snap.ok()) {
    note(LatestReadCost(**snap).status());
  } else {
    note(snap.status());
  }
  if (auto log = ReadLog(**table); log.ok()) note(LogTable(*log).status());
  else note(log.status());
  note(KeyHistory(**table, {{"", "a"}}).status());
  CompactOptions dry;
  dry.dry_run = true;
  dry.threads = 1;
  note(Compact(*table, dry).status());
  return arrow::Status::OK();
}

TEST(MetadataSweepTest, EveryMutantOfTheLatestSnapshotFailsCleanly) {
  int64_t latest = 0;
  auto storage = BuildTable(&latest);
  const std::string name = metadata::SnapshotFileName(latest);
  const std::string original = storage->ReadFile(name).ValueOrDie();
  const json doc = json::parse(original);
  // The snapshot has what the sweep is meant to cover.
  ASSERT_TRUE(doc.contains("commit") && doc.contains("properties"));
  bool base_and_deltas = false;
  for (const auto& s : doc["segments"]) base_and_deltas |= s.contains("base") && s.contains("delta");
  ASSERT_TRUE(base_and_deltas) << original;

  std::vector<json::json_pointer> pointers;
  CollectPointers(doc, json::json_pointer(), &pointers);
  int mutants = 0, refused = 0;
  for (const auto& ptr : pointers) {
    for (const auto& m : Mutations()) {
      if (ptr.empty() && !m.value) continue;  // cannot delete the root
      json mutant = doc;
      if (m.value) {
        mutant[ptr] = *m.value;
      } else {
        auto& parent = mutant[ptr.parent_pointer()];
        if (parent.is_object()) parent.erase(ptr.back());
        else parent.erase(static_cast<size_t>(std::stoul(ptr.back())));
      }
      const std::string label = ptr.to_string() + " -> " + m.name;
      ASSERT_TRUE(storage->ReplaceFile(name, mutant.dump(2)).ok());
      std::vector<std::string> messages;
      try {
        auto st = ReadEverything(storage, latest, &messages);
        (void)st;
      } catch (const std::exception& e) {
        ADD_FAILURE() << label << ": exception escaped: " << e.what();
      } catch (...) {
        ADD_FAILURE() << label << ": unknown exception escaped";
      }
      for (const auto& msg : messages) {
        EXPECT_TRUE(IsOneCleanLine(msg)) << label << ": " << msg;
      }
      ++mutants;
      refused += messages.empty() ? 0 : 1;
    }
  }
  ASSERT_TRUE(storage->ReplaceFile(name, original).ok());
  std::cout << "[sweep] " << pointers.size() << " nodes, " << mutants << " mutants, " << refused
            << " reported a problem\n";
  EXPECT_GT(refused, mutants / 2);
}

// A wrong type in a data-bearing field is a Corruption error naming the file
// and the field path, wherever it is read from (open here).
TEST(MetadataSweepTest, WrongTypeNamesFileAndPath) {
  int64_t latest = 0;
  auto storage = BuildTable(&latest);
  const std::string name = metadata::SnapshotFileName(latest);
  json doc = json::parse(storage->ReadFile(name).ValueOrDie());
  for (auto& s : doc["segments"]) {
    if (s.contains("delta")) {
      s["delta"][0]["rows"] = json::array();
      break;
    }
  }
  doc["commit"]["rows_added"] = json::array();
  ASSERT_TRUE(storage->ReplaceFile(name, doc.dump(2)).ok());
  auto table = Table::Open(storage);
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(ErrorKindOf(table.status()), ErrorKind::kCorruption);
  EXPECT_NE(table.status().message().find(storage->Describe(name)), std::string::npos) << table.status().message();
  EXPECT_NE(table.status().message().find("field 'commit.rows_added': expected an integer, found an array"),
            std::string::npos)
      << table.status().message();
  doc["commit"]["rows_added"] = 3;
  ASSERT_TRUE(storage->ReplaceFile(name, doc.dump(2)).ok());
  table = Table::Open(storage);
  ASSERT_FALSE(table.ok());
  EXPECT_NE(table.status().message().find(".rows': expected an integer, found an array"), std::string::npos)
      << table.status().message();
}

}  // namespace
}  // namespace bazof::testing

// Helpers shared by the validate and vacuum tests: random tables with an
// oracle, snapshot tampering, scans of every version.
#pragma once

#include <functional>
#include <map>
#include <random>
#include <set>

#include "bazof/validate.h"
#include "bazof/write.h"
#include "metadata/snapshot_json.h"
#include "metadata/table_files.h"
#include "test_util.h"
#include "write/commit.h"

namespace bazof::testing {

/// A table made by create and then `commits` random appends, puts and
/// deletes (late events, ties, tombstones), with every event it committed.
struct RandomTable {
  std::shared_ptr<io::Storage> storage;
  std::vector<OracleEvent> events;
  int64_t current = 0;
};

/// Copies every delta of version 1 to a new name and commits a snapshot that
/// references the copies instead (operation "rewrite", files_added and
/// files_removed recorded): a re-layout that changes no scan, after which
/// the originals are referenced only by older versions.
inline void RewriteCommit(io::Storage& storage, int64_t version) {
  auto snap = *metadata::ReadSnapshotFile(storage, version - 1).ValueOrDie();
  CommitInfo commit{"rewrite", "2024-06-01T00:00:00.000Z", 0, {}, {}};
  int n = 0;
  for (auto& seg : snap.segments) {
    for (auto& d : seg.deltas) {
      if (d.version != Version(1)) continue;
      const std::string copy = "data/rewritten-" + std::to_string(version) + "-" + std::to_string(n++) + ".parquet";
      auto bytes = storage.ReadFile(d.path).ValueOrDie();
      auto out = storage.OpenForWrite(copy).ValueOrDie();
      EXPECT_TRUE(out->Write(bytes.data(), static_cast<int64_t>(bytes.size())).ok());
      EXPECT_TRUE(out->Close().ok());
      commit.files_removed.push_back(d.path);
      commit.files_added.push_back(copy);
      d.path = copy;
    }
  }
  snap.version = Version(version);
  snap.commit = commit;
  EXPECT_TRUE(write::CommitSnapshot(storage, snap).ok());
}

/// Create, then `commits` versions: random appends (late events, ties,
/// tombstones, several files per commit), except that version `rewrite_at`
/// (if any) is a RewriteCommit.
inline RandomTable MakeRandomTable(uint64_t seed, int commits, std::shared_ptr<io::Storage> storage = MemStorage(),
                                   int rewrite_at = -1) {
  RandomTable out{storage, {}, 0};
  auto table = CreateTable(storage, KvSchema()).ValueOrDie();
  std::mt19937_64 rng(seed);
  const int64_t day = 86400000;
  const int64_t base = Ms("2024-01-01");
  for (int c = 1; c <= commits; ++c) {
    if (c == rewrite_at) {
      RewriteCommit(*storage, c);
      continue;
    }
    std::vector<Ev> rows;
    const int n = rng() % 3 == 0 ? 1 : 1 + static_cast<int>(rng() % 6);
    for (int i = 0; i < n; ++i) {
      Ev e{"k" + std::to_string(rng() % 6), base + static_cast<int64_t>(rng() % 40) * day,
           "v" + std::to_string(c) + "." + std::to_string(i), rng() % 6 == 0};
      if (e.deleted) e.value = "";
      rows.push_back(e);
    }
    AppendOptions o;
    o.chunk_rows = 1 + static_cast<int64_t>(rng() % 4);  // several files per commit, sometimes
    table = Table::Open(storage).ValueOrDie();
    auto r = Append(table, *AppendInput(rows), o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->version.value(), c);
    for (size_t i = 0; i < rows.size(); ++i) out.events.push_back({rows[i], c, static_cast<int64_t>(i)});
  }
  out.current = commits;
  return out;
}

/// Event times worth scanning at: before, between and after the events.
inline std::vector<std::optional<int64_t>> ScanTimes() {
  std::vector<std::optional<int64_t>> out = {std::nullopt};
  for (int d = -1; d <= 41; d += 3) out.push_back(Ms("2024-01-01") + d * 86400000LL);
  return out;
}

/// scan(T, V) for every version from `from` to the current one and every T.
inline std::map<std::pair<int64_t, int64_t>, KvState> ScanVersions(
    const std::shared_ptr<io::Storage>& storage, int64_t from,
    const std::vector<std::optional<int64_t>>& times = ScanTimes()) {
  std::map<std::pair<int64_t, int64_t>, KvState> out;
  auto table = Table::Open(storage).ValueOrDie();
  for (int64_t v = from; v <= table->current_version().value(); ++v) {
    for (auto t : times) {
      auto got = ScanKv(table, t, v);
      EXPECT_TRUE(got.ok()) << "version " << v << ": " << got.status().ToString();
      if (got.ok()) out[{v, t.value_or(-1)}] = *got;
    }
  }
  return out;
}

/// Rewrites s<v>.json after `edit` changed its model (bypasses the commit
/// protocol on purpose: tests damage tables this way).
inline void Tamper(io::Storage& storage, int64_t v, const std::function<void(Snapshot&)>& edit) {
  auto snap = metadata::ReadSnapshotFile(storage, v).ValueOrDie();
  edit(*snap);
  auto json = metadata::SerializeSnapshot(*snap).ValueOrDie();
  ASSERT_TRUE(storage.ReplaceFile(metadata::SnapshotFileName(v), json).ok());
}

/// Every file under the table root (names relative to it), sorted.
inline std::set<std::string> ListAll(io::Storage& storage) {
  std::set<std::string> out;
  for (const auto& f : storage.ListFiles("", true).ValueOrDie()) out.insert(f.name);
  return out;
}

/// The problems of a report, one string each, for failure messages.
inline std::string ProblemsText(const ValidationReport& r) {
  std::string out;
  for (const auto& p : r.problems) out += "  " + p.ToString() + "\n";
  return out;
}

/// True if some problem is about `object` and its text contains `needle`.
inline bool HasProblem(const ValidationReport& r, const std::string& object, const std::string& needle) {
  for (const auto& p : r.problems) {
    if (p.object == object && p.problem.find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace bazof::testing

// Differential test of the write path: random appends (several files per
// commit, late events, ties, tombstones), puts and deletes, checked after
// every commit against the oracle for every version and many T.
#include <gtest/gtest.h>

#include <random>

#include "bazof/write.h"
#include "test_util.h"

namespace bazof::testing {
namespace {

class WriteOracleTest : public ::testing::TestWithParam<int> {};

TEST_P(WriteOracleTest, EveryCommitMatchesTheOracle) {
  std::mt19937_64 rng(1000 + GetParam());
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
  const int64_t day = 86400000, t0 = Ms("2024-01-01");
  const int64_t keys = 3 + pick(25), days = 3 + pick(40);
  auto storage = MemStorage();
  ASSERT_OK_AND_ASSIGN(auto table, CreateTable(storage, KvSchema()));
  std::vector<OracleEvent> events;
  const int commits = 3 + static_cast<int>(pick(10));
  for (int64_t v = 1; v <= commits; ++v) {
    ASSERT_OK_AND_ASSIGN(table, Table::Open(storage));
    const int kind = static_cast<int>(pick(4));
    if (kind < 2) {
      std::vector<Ev> rows;
      for (int64_t i = 0, n = 1 + pick(40); i < n; ++i) {
        Ev e{"k" + std::to_string(pick(keys)), t0 + pick(days) * day, "v" + std::to_string(v) + "." + std::to_string(i),
             pick(6) == 0};
        if (e.deleted) e.value.clear();
        rows.push_back(e);
        events.push_back({e, v, i});
      }
      AppendOptions o;
      o.chunk_rows = 1 + pick(30);
      ASSERT_OK_AND_ASSIGN(auto r, Append(table, *AppendInput(rows, /*batch_rows=*/7), o));
      ASSERT_EQ(r.version.value(), v);
    } else {
      Ev e{"k" + std::to_string(pick(keys)), t0 + pick(days) * day, "put" + std::to_string(v), kind == 3};
      if (e.deleted) e.value.clear();
      PutRequest req{{{"", e.key}}, FormatEventTime(EventTime::FromMicros(e.ms * 1000)), {}, e.deleted};
      if (!e.deleted) req.values = {{"value", e.value}};
      ASSERT_OK_AND_ASSIGN(auto r, Put(table, req));
      ASSERT_EQ(r.version.value(), v);
      events.push_back({e, v, 0});
    }
    ASSERT_OK_AND_ASSIGN(auto reopened, Table::Open(storage));
    for (int64_t version = 0; version <= v; ++version) {
      for (int probe = 0; probe < 4; ++probe) {
        const int64_t t = probe == 0 ? INT64_MAX / 1000 : t0 + pick(days + 1) * day - pick(2);
        std::optional<int64_t> as_of = probe == 0 ? std::nullopt : std::optional<int64_t>(t);
        ASSERT_OK_AND_ASSIGN(auto got, ScanKv(reopened, as_of, version, 1 + static_cast<int>(pick(2))));
        ASSERT_EQ(got, Oracle(events, t, version)) << "seed " << GetParam() << " after commit " << v
                                                   << " version " << version << " T " << t;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(RandomCommits, WriteOracleTest, ::testing::Range(1, 26));

}  // namespace
}  // namespace bazof::testing

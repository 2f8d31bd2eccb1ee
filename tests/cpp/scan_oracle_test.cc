// Differential test: random workloads checked against a direct evaluation of
// the contract (docs/spec.md, "Read semantics") for every version and many T.
#include <gtest/gtest.h>

#include <random>

#include "table_builder.h"

namespace bazof::testing {
namespace {

class ScanOracleTest : public ::testing::TestWithParam<int> {};

TEST_P(ScanOracleTest, EveryVersionMatchesTheOracle) {
  std::mt19937_64 rng(GetParam());
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
  const int64_t day = 86400000;
  const int64_t t0 = Ms("2024-01-01");
  const int64_t num_keys = 5 + pick(40);
  const int64_t span_days = 4 + pick(60);  // small: ties on event time are common

  TableBuilder b;
  const int num_segments = 1 + static_cast<int>(pick(4));
  std::vector<int64_t> seg_start;
  for (int s = 0; s < num_segments; ++s) {
    seg_start.push_back(t0 + s * span_days * day / num_segments);
    b.AddSegment(seg_start.back());
  }
  std::vector<OracleEvent> events;
  const int commits = 2 + static_cast<int>(pick(8));
  for (int64_t v = 1; v <= commits; ++v) {
    if (v > 1 && pick(3) == 0 && num_segments > 1) {
      // A compaction-like commit: a fresh base for a segment, built from
      // every version so far.
      size_t seg = 1 + pick(num_segments - 1);
      ASSERT_OK(b.SetBase(seg, v - 1, BaseRows(events, seg_start[seg], v - 1)));
    } else {
      std::vector<Ev> batch;
      const int64_t n = 1 + pick(60);
      for (int64_t i = 0; i < n; ++i) {
        Ev e{"k" + std::to_string(pick(num_keys)), t0 + pick(span_days) * day + (pick(4) == 0 ? 1 : 0),
             "v" + std::to_string(v) + "." + std::to_string(i), pick(8) == 0};
        if (e.deleted) e.value.clear();
        events.push_back({e, v, i});
        batch.push_back(e);
      }
      int64_t min_ms = batch[0].ms;
      for (const auto& e : batch) min_ms = std::min(min_ms, e.ms);
      size_t seg = 0;
      for (size_t s = 0; s < seg_start.size(); ++s) {
        if (seg_start[s] <= min_ms) seg = s;
      }
      ASSERT_OK(b.AddDelta(v, batch, seg, /*row_group_rows=*/1 + pick(16)));
    }
    ASSERT_OK(b.Commit(v));
  }

  ASSERT_OK_AND_ASSIGN(auto table, b.Open());
  for (int64_t v = 1; v <= commits; ++v) {
    std::vector<int64_t> times = {t0 - day, INT64_MAX / 1000};
    for (int i = 0; i < 6; ++i) times.push_back(t0 + pick(span_days + 2) * day + pick(2));
    for (const auto& e : events) {
      if (pick(10) == 0) times.push_back(e.ev.ms);  // exactly at an event
    }
    for (int64_t t : times) {
      const int threads = 1 + static_cast<int>(pick(3));
      std::optional<int64_t> as_of = t == INT64_MAX / 1000 ? std::nullopt : std::optional<int64_t>(t);
      ASSERT_OK_AND_ASSIGN(auto got, ScanKv(table, as_of, v, threads, 1 + pick(20)));
      ASSERT_EQ(got, Oracle(events, t, v)) << "seed " << GetParam() << " version " << v << " T " << t;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(RandomWorkloads, ScanOracleTest, ::testing::Range(1, 61));

// An append cuts its sorted run into files (about 1M rows each), often in the
// middle of a key's events; the scan reads such files of consecutive ranks as
// one run (read/scan_reader.cc, ChainFiles). Each commit here is cut into 1-4
// files at random rows, added in key order or (1 in 4) in reverse key order,
// where the later file must still win ties and no chain may form across the
// shared key.
class CutCommitOracleTest : public ::testing::TestWithParam<int> {};

TEST_P(CutCommitOracleTest, FilesOfACommitCutMidKeyMatchTheOracle) {
  std::mt19937_64 rng(GetParam());
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % n); };
  const int64_t day = 86400000;
  const int64_t t0 = Ms("2024-01-01");
  const int64_t num_keys = 3 + pick(30);
  const int64_t span_days = 2 + pick(20);  // ties on (key, event time) are common

  TableBuilder b;
  std::vector<OracleEvent> events;
  const int commits = 2 + static_cast<int>(pick(6));
  for (int64_t v = 1; v <= commits; ++v) {
    std::vector<Ev> batch;
    const int64_t n = 2 + pick(80);
    for (int64_t i = 0; i < n; ++i) {
      Ev e{"k" + std::to_string(pick(num_keys)), t0 + pick(span_days) * day, "v" + std::to_string(v) + "." +
           std::to_string(i), pick(8) == 0};
      if (e.deleted) e.value.clear();
      batch.push_back(e);
    }
    std::stable_sort(batch.begin(), batch.end(), [](const Ev& a, const Ev& c) {
      return a.key != c.key ? a.key < c.key : a.ms < c.ms;
    });
    std::vector<int64_t> cuts = {0, n};
    for (int c = static_cast<int>(pick(4)); c > 0; --c) cuts.push_back(1 + pick(n - 1));
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    std::vector<std::vector<Ev>> files;
    for (size_t c = 0; c + 1 < cuts.size(); ++c) files.emplace_back(batch.begin() + cuts[c], batch.begin() + cuts[c + 1]);
    if (pick(4) == 0) std::reverse(files.begin(), files.end());
    int64_t seq = 0;  // a later file of the commit holds later rows
    for (auto& f : files) {
      for (const auto& e : f) events.push_back({e, v, seq++});
      ASSERT_OK(b.AddDelta(v, std::move(f), 0, /*row_group_rows=*/1 + pick(8)));
    }
    ASSERT_OK(b.Commit(v));
  }
  ASSERT_OK_AND_ASSIGN(auto table, b.Open());
  for (int64_t v = 1; v <= commits; ++v) {
    std::vector<int64_t> times = {t0 - day, INT64_MAX / 1000};
    for (int i = 0; i < 4; ++i) times.push_back(t0 + pick(span_days + 1) * day);
    for (int64_t t : times) {
      const int threads = 1 + static_cast<int>(pick(3));
      std::optional<int64_t> as_of = t == INT64_MAX / 1000 ? std::nullopt : std::optional<int64_t>(t);
      ASSERT_OK_AND_ASSIGN(auto got, ScanKv(table, as_of, v, threads, 1 + pick(20)));
      ASSERT_EQ(got, Oracle(events, t, v)) << "seed " << GetParam() << " version " << v << " T " << t;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(RandomWorkloads, CutCommitOracleTest, ::testing::Range(1, 81));

}  // namespace
}  // namespace bazof::testing

// Progress callbacks (include/bazof/progress.h) of append, compact, vacuum,
// gen and append input: every phase starts at 0, never goes back, never
// passes its total, and ends with done == total; the totals are what the
// operation then reports having done.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "bazof/compact.h"
#include "bazof/progress.h"
#include "bazof/vacuum.h"
#include "bazof/write.h"
#include "maintenance_util.h"
#include "progress_reporter.h"
#include "write/gen.h"
#include "write/input_reader.h"

namespace bazof::testing {
namespace {

// Records every call and checks that calls never overlap.
struct Recorder {
  std::vector<Progress> calls;
  std::atomic<bool> inside{false};
  bool overlapped = false;
  ProgressCallback Callback() {
    return [this](const Progress& p) {
      if (inside.exchange(true)) overlapped = true;
      calls.push_back(p);
      inside.store(false);
    };
  }
  // The phases in order, each checked against the contract; name -> total.
  std::vector<std::pair<std::string, int64_t>> Phases() const {
    std::vector<std::pair<std::string, int64_t>> out;
    EXPECT_FALSE(overlapped);
    size_t i = 0;
    while (i < calls.size()) {
      const auto& first = calls[i];
      EXPECT_EQ(first.done, 0) << first.phase;
      int64_t last = 0;
      size_t j = i;
      for (; j < calls.size() && calls[j].phase == first.phase; ++j) {
        const auto& c = calls[j];
        EXPECT_EQ(c.unit, first.unit) << c.phase;
        EXPECT_GE(c.done, last) << c.phase << ": done went back";
        if (c.total >= 0) {
          EXPECT_LE(c.done, c.total) << c.phase;
        }
        // A known total stays; an unknown one is fixed only by the end.
        if (first.total >= 0) {
          EXPECT_EQ(c.total, first.total) << c.phase;
        }
        last = c.done;
      }
      const auto& end = calls[j - 1];
      EXPECT_GE(end.total, 0) << end.phase << ": ended without a total";
      EXPECT_EQ(end.done, end.total) << end.phase << ": did not reach its total";
      out.emplace_back(first.phase, end.total);
      i = j;
    }
    return out;
  }
};

using Phases = std::vector<std::pair<std::string, int64_t>>;

TEST(ProgressTest, ReporterIsMonotonicThrottledAndSerialAcrossThreads) {
  Recorder rec;
  auto cb = rec.Callback();
  {
    internal::ProgressReporter r(cb, "work", "items", 4 * 5000);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&r] {
        for (int i = 0; i < 5000; ++i) r.Add(1);
      });
    }
    for (auto& t : threads) t.join();
    r.Finish();
    r.Add(5);  // after the end: ignored
  }
  EXPECT_EQ(rec.Phases(), (Phases{{"work", 20000}}));
  // Throttled: far fewer calls than the 20000 increments.
  EXPECT_LT(rec.calls.size(), 100u);

  // Reports between start and end once the interval has passed.
  Recorder slow;
  auto scb = slow.Callback();
  internal::ProgressReporter r(scb, "slow", "items", -1);
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(120));
    r.Add(10);
  }
  r.Set(5);  // never backwards
  r.Finish();
  EXPECT_EQ(slow.Phases(), (Phases{{"slow", 30}}));
  EXPECT_GE(slow.calls.size(), 4u);  // start, >= 2 while running, end
  EXPECT_EQ(slow.calls.front().total, -1);

  // An empty callback: nothing happens.
  ProgressCallback none;
  internal::ProgressReporter off(none, "off", "items", 10);
  off.Add(3);
  off.Finish();
  EXPECT_FALSE(off.enabled());
}

TEST(ProgressTest, AppendReportsEveryRowItTook) {
  auto storage = MemStorage();
  auto table = CreateTable(storage, KvSchema()).ValueOrDie();
  std::vector<Ev> rows;
  for (int i = 0; i < 5000; ++i) rows.push_back({"k" + std::to_string(i % 97), Ms("2024-01-01") + i * 1000, "v"});
  Recorder rec;
  AppendOptions o;
  o.chunk_rows = 700;
  o.progress = rec.Callback();
  ASSERT_OK_AND_ASSIGN(auto r, Append(table, *AppendInput(rows, 300), o));
  EXPECT_EQ(r.rows, 5000);
  EXPECT_EQ(rec.Phases(), (Phases{{"append", 5000}}));
}

TEST(ProgressTest, CompactReportsPlanningMergingAndWritingUpToTheirTotals) {
  for (bool dry_run : {false, true}) {
    auto t = MakeRandomTable(7, 30);
    ASSERT_OK_AND_ASSIGN(auto table, Table::Open(t.storage));
    Recorder rec;
    CompactOptions o;
    o.segment_duration_us = 0;  // auto: planned from the events
    o.min_segment_rows = 10;
    o.dry_run = dry_run;
    o.progress = rec.Callback();
    ASSERT_OK_AND_ASSIGN(auto r, Compact(table, o));
    ASSERT_FALSE(r.nothing_to_compact);
    EXPECT_EQ(r.events_read, static_cast<int64_t>(t.events.size()));
    if (dry_run) {
      EXPECT_EQ(rec.Phases(), (Phases{{"plan", r.events_read}}));
    } else {
      EXPECT_TRUE(r.committed);
      EXPECT_EQ(rec.Phases(), (Phases{{"plan", r.events_read},
                                      {"merge", r.events_read},
                                      {"write", r.events_written + r.base_rows}}));
    }
  }
}

TEST(ProgressTest, VacuumReportsSnapshotsReadAndFilesDeleted) {
  for (bool dry_run : {true, false}) {
    auto t = MakeRandomTable(3, 12);
    ASSERT_OK_AND_ASSIGN(auto table, Table::Open(t.storage));
    Recorder rec;
    VacuumOptions o;
    o.retain_versions = 2;
    o.now = std::chrono::system_clock::now() + std::chrono::hours(2);
    o.dry_run = dry_run;
    o.progress = rec.Callback();
    ASSERT_OK_AND_ASSIGN(auto r, Vacuum(table, o));
    ASSERT_FALSE(r.deleted.empty());
    if (dry_run) {
      EXPECT_EQ(rec.Phases(), (Phases{{"read snapshots", 13}}));
    } else {
      EXPECT_EQ(rec.Phases(),
                (Phases{{"read snapshots", 13}, {"delete", static_cast<int64_t>(r.deleted.size())}}));
    }
  }
}

TEST(ProgressTest, GenReportsEveryEventWritten) {
  auto storage = MemStorage();
  write::GenOptions o;
  o.keys = 200;
  o.events_per_key = 7;
  Recorder rec;
  o.progress = rec.Callback();
  ASSERT_OK_AND_ASSIGN(auto s, write::GenerateSampleTable(*storage, o));
  EXPECT_EQ(s.events, 1400);
  EXPECT_EQ(rec.Phases(), (Phases{{"write", 1400}}));
}

TEST(ProgressTest, InputReportsTheBytesOfATextFile) {
  const auto dir = std::filesystem::temp_directory_path() / ("bazof_progress_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto csv = (dir / "in.csv").string();
  {
    std::ofstream out(csv);
    out << "key,event_time,value\n";
    for (int i = 0; i < 3000; ++i) {
      out << "k" << i % 50 << ",2024-01-01T00:00:" << (i % 60 < 10 ? "0" : "") << i % 60 << "Z,v" << i << "\n";
    }
  }
  const int64_t size = static_cast<int64_t>(std::filesystem::file_size(csv));
  Recorder rec;
  write::InputOptions o;
  o.progress = rec.Callback();
  ASSERT_OK_AND_ASSIGN(auto reader, write::OpenInput(csv, write::InputFormat::kCsv, KvSchema(), o));
  auto storage = MemStorage();
  auto table = CreateTable(storage, KvSchema()).ValueOrDie();
  ASSERT_OK_AND_ASSIGN(auto r, Append(table, *reader));
  EXPECT_EQ(r.rows, 3000);
  EXPECT_EQ(rec.Phases(), (Phases{{"read input", size}}));
  EXPECT_EQ(rec.calls.front().unit, "bytes");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace bazof::testing

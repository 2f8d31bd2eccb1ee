#include "planning/planner.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace bazof::planning {
namespace {

EventTime T(const char* s) { return ParseEventTime(s).ValueOrDie(); }

DataFileRef File(std::string path, const char* start = nullptr, const char* end = nullptr,
                 int64_t version = 0) {
  DataFileRef f;
  f.path = std::move(path);
  if (start) f.start = T(start);
  if (end) f.end = T(end);
  if (version) f.version = Version(version);
  return f;
}

std::vector<std::string> Names(const ScanPlan& plan) {
  std::vector<std::string> out;
  for (const auto& f : plan.files) out.push_back(f.ref.path);
  return out;
}

const PlannedFile& Find(const ScanPlan& plan, const std::string& name) {
  return *std::find_if(plan.files.begin(), plan.files.end(),
                       [&](const PlannedFile& f) { return f.ref.path == name; });
}

// Mirrors the nested layout of bazof-0.1/ltm_revenue: a yearly segment with
// a base and quarterly sub-segments with their own bases and deltas.
Snapshot LegacyNested() {
  Snapshot s;
  Segment year;
  year.id = "y";
  year.start = T("2019-01-01");
  year.end = T("2019-12-31T23:59:59.999Z");
  year.base = File("year_base");
  Segment q1;
  q1.start = T("2019-01-01");
  q1.end = T("2019-03-31T23:59:59.999Z");
  q1.deltas = {File("q1_delta", "2019-01-01", "2019-03-31T23:59:59.999Z")};
  Segment q2;
  q2.start = T("2019-04-01");
  q2.end = T("2019-06-30T23:59:59.999Z");
  q2.base = File("q2_base");
  q2.deltas = {File("q2_delta", "2019-04-01", "2019-06-30T23:59:59.999Z")};
  year.segments = {q1, q2};
  Segment open;
  open.start = T("2020-01-01");
  open.base = File("open_base");
  s.segments = {year, open};
  return s;
}

TEST(PlannerTest, LegacyPicksCoveringSubsegmentThenParent) {
  auto plan = PlanScan(LegacyNested(), T("2019-01-17"));
  EXPECT_EQ(Names(plan), (std::vector<std::string>{"q1_delta", "year_base"}));
  // Files read first by the original reader win ties.
  EXPECT_GT(Find(plan, "q1_delta").rank, Find(plan, "year_base").rank);
}

TEST(PlannerTest, LegacyBoundariesAreInclusive) {
  EXPECT_EQ(Names(PlanScan(LegacyNested(), T("2019-03-31T23:59:59.999Z"))),
            (std::vector<std::string>{"q1_delta", "year_base"}));
  EXPECT_EQ(Names(PlanScan(LegacyNested(), T("2019-04-01"))),
            (std::vector<std::string>{"q2_delta", "q2_base", "year_base"}));
}

TEST(PlannerTest, LegacyLatestReadsOpenSegmentOnly) {
  EXPECT_EQ(Names(PlanScan(LegacyNested(), EventTime::Max())), (std::vector<std::string>{"open_base"}));
}

TEST(PlannerTest, LegacyBeforeAllSegmentsReadsNothing) {
  EXPECT_TRUE(PlanScan(LegacyNested(), T("1999-01-01")).files.empty());
}

// Format 1: base at 2024-01-01 built from version 2; deltas of various
// versions and ranges.
Snapshot Format1() {
  Snapshot s;
  s.format_version = 1;
  Segment a;
  a.start = T("2023-01-01");
  a.deltas = {File("old_v1", "2023-01-05", "2023-12-30", 1),
              File("late_v3", "2023-02-01", "2023-03-01", 3)};
  Segment b;
  b.start = T("2024-01-01");
  b.base = File("base_2024", "2023-01-05", "2023-12-30", 2);
  b.deltas = {File("cur_v2", "2024-01-01", "2024-06-01", 2),
              File("span_v1", "2023-06-01", "2024-02-01", 1)};
  s.segments = {a, b};
  return s;
}

TEST(PlannerTest, Format1UsesLatestBaseAndOnlyDeltasItDoesNotHold) {
  auto plan = PlanScan(Format1(), EventTime::Max());
  // old_v1 is inside the base (end <= S, version <= B); late_v3 came after it.
  EXPECT_EQ(Names(plan),
            (std::vector<std::string>{"late_v3", "base_2024", "cur_v2", "span_v1"}));
  EXPECT_TRUE(Find(plan, "base_2024").is_base);
  // Base rows outrank rows of the versions it was built from, not later ones.
  EXPECT_GT(Find(plan, "base_2024").rank, Find(plan, "cur_v2").rank);
  EXPECT_GT(Find(plan, "base_2024").rank, Find(plan, "span_v1").rank);
  EXPECT_GT(Find(plan, "late_v3").rank, Find(plan, "base_2024").rank);
}

TEST(PlannerTest, Format1BeforeTheBaseReadsDeltasOnly) {
  auto plan = PlanScan(Format1(), T("2023-06-15"));
  EXPECT_EQ(Names(plan), (std::vector<std::string>{"old_v1", "late_v3", "span_v1"}));
}

TEST(PlannerTest, Format1SkipsDeltasStartingAfterT) {
  auto plan = PlanScan(Format1(), T("2024-01-01"));
  EXPECT_EQ(Names(plan), (std::vector<std::string>{"late_v3", "base_2024", "cur_v2", "span_v1"}));
  plan = PlanScan(Format1(), T("2023-01-04"));
  EXPECT_TRUE(plan.files.empty());
}

}  // namespace
}  // namespace bazof::planning

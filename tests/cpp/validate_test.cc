// bazof::ValidateTable: clean tables validate clean; each kind of damage is
// reported, naming the object; several at once are all reported.
#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <gtest/gtest.h>
#include <parquet/arrow/writer.h>

#include "bazof/compact.h"
#include "bazof/error.h"
#include "maintenance_util.h"
#include "table_builder.h"

namespace bazof::testing {
namespace {

ValidationReport Validate(const std::shared_ptr<io::Storage>& storage, bool deep,
                          std::optional<int64_t> version = std::nullopt) {
  ValidateOptions o;
  o.deep = deep;
  if (version) o.version = Version(*version);
  auto r = ValidateTable(storage, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : ValidationReport{};
}

// The first delta file of version `v`'s snapshot.
std::string FirstDelta(io::Storage& storage, int64_t v) {
  auto snap = metadata::ReadSnapshotFile(storage, v).ValueOrDie();
  for (const auto* f : snap->AllFiles()) return f->path;
  return "";
}

// A table with two segments, a base in the second, deltas in both.
TableBuilder Segmented() {
  TableBuilder b;
  b.AddSegment(Ms("2024-01-01"));
  b.AddSegment(Ms("2024-02-01"));
  EXPECT_TRUE(b.AddDelta(1, {{"a", Ms("2024-01-05"), "a1"}, {"b", Ms("2024-01-10"), "b1"}}, 0).ok());
  EXPECT_TRUE(b.AddDelta(1, {{"a", Ms("2024-02-05"), "a2"}}, 1).ok());
  EXPECT_TRUE(b.SetBase(1, 1, {{"a", Ms("2024-01-05"), "a1"}, {"b", Ms("2024-01-10"), "b1"}}).ok());
  EXPECT_TRUE(b.Commit(1).ok());
  return b;
}

TEST(ValidateTest, WrittenTablesAreClean) {
  for (uint64_t seed : {1, 2, 3}) {
    auto t = MakeRandomTable(seed, 8);
    for (bool deep : {false, true}) {
      auto r = Validate(t.storage, deep);
      EXPECT_TRUE(r.ok()) << "seed " << seed << ":\n" << ProblemsText(r);
      EXPECT_EQ(r.versions_checked.size(), 9u);
      EXPECT_GT(r.files_checked, 7);
    }
  }
  auto b = Segmented();
  auto r = Validate(b.storage(), true);
  EXPECT_TRUE(r.ok()) << ProblemsText(r);
  EXPECT_EQ(r.files_checked, 3);
}

TEST(ValidateTest, MissingFile) {
  auto t = MakeRandomTable(4, 3);
  const std::string victim = FirstDelta(*t.storage, 1);
  ASSERT_OK(t.storage->DeleteFile(victim));
  auto r = Validate(t.storage, false);
  ASSERT_TRUE(HasProblem(r, victim, "missing")) << ProblemsText(r);
  // Every version referencing it is named, in one problem.
  for (const auto& p : r.problems) {
    if (p.object == victim) {
      EXPECT_EQ(p.versions.size(), 3u) << p.ToString();
    }
  }
}

TEST(ValidateTest, WrongRowCountAndSize) {
  auto t = MakeRandomTable(5, 2);
  const std::string victim = FirstDelta(*t.storage, 2);
  Tamper(*t.storage, 2, [&](Snapshot& s) {
    for (auto& seg : s.segments) {
      for (auto& d : seg.deltas) {
        if (d.path == victim) {
          d.rows += 5;
          d.size += 1;
        }
      }
    }
  });
  auto r = Validate(t.storage, false);
  EXPECT_TRUE(HasProblem(r, victim, "rows, the file has")) << ProblemsText(r);
  EXPECT_TRUE(HasProblem(r, victim, "bytes, the file has")) << ProblemsText(r);
  // Version 1 records the same file correctly: the problem is version 2's.
  for (const auto& p : r.problems) EXPECT_EQ(p.versions, std::vector<Version>{Version(2)}) << p.ToString();
}

TEST(ValidateTest, OverlappingSegments) {
  auto b = Segmented();
  Tamper(*b.storage(), 1, [](Snapshot& s) { s.segments[0].end = EventTime::FromMicros(Ms("2024-02-10") * 1000); });
  auto r = Validate(b.storage(), false);
  EXPECT_TRUE(HasProblem(r, "segment 'seg1'", "overlaps the preceding segment 'seg0'")) << ProblemsText(r);
  Tamper(*b.storage(), 1, [](Snapshot& s) { std::swap(s.segments[0], s.segments[1]); });
  r = Validate(b.storage(), false);
  EXPECT_TRUE(HasProblem(r, "segment 'seg0'", "ascending start order")) << ProblemsText(r);
  // An open-ended segment that is not the last overlaps everything after it.
  Tamper(*b.storage(), 1, [](Snapshot& s) {
    std::swap(s.segments[0], s.segments[1]);
    s.segments[0].end.reset();
  });
  r = Validate(b.storage(), false);
  EXPECT_TRUE(HasProblem(r, "segment 'seg1'", "overlaps")) << ProblemsText(r);
}

TEST(ValidateTest, DeltaOutsideItsSegment) {
  TableBuilder b;
  b.AddSegment(Ms("2024-01-01"));
  b.AddSegment(Ms("2024-02-01"));
  // Events of February filed under January's segment, and the reverse. A
  // format-1 delta may start or end past its segment's end (an append's
  // deltas are filed together, spec §10a), never before its start.
  ASSERT_OK(b.AddDelta(1, {{"a", Ms("2024-02-05"), "a2"}}, 0));
  ASSERT_OK(b.AddDelta(1, {{"b", Ms("2024-01-20"), "b1"}}, 1));
  ASSERT_OK(b.AddDelta(1, {{"c", Ms("2024-01-05"), "c1"}, {"c", Ms("2024-02-05"), "c2"}}, 0));
  ASSERT_OK(b.AddDelta(1, {{"d", Ms("1960-01-05"), "d1"}}, 0));  // the first segment takes earlier events
  ASSERT_OK(b.Commit(1));
  const auto& segs = b.snapshot().segments;
  auto r = Validate(b.storage(), false);
  EXPECT_FALSE(HasProblem(r, segs[0].deltas[0].path, "")) << ProblemsText(r);
  EXPECT_TRUE(HasProblem(r, segs[1].deltas[0].path, "before its segment 'seg1' starts")) << ProblemsText(r);
  EXPECT_EQ(r.problems.size(), 1u) << ProblemsText(r);
}

TEST(ValidateTest, TruncatedParquet) {
  auto t = MakeRandomTable(6, 2);
  const std::string victim = FirstDelta(*t.storage, 2);
  auto bytes = t.storage->ReadFile(victim).ValueOrDie();
  ASSERT_OK(t.storage->ReplaceFile(victim, bytes.substr(0, bytes.size() / 2)));
  for (bool deep : {false, true}) {
    auto r = Validate(t.storage, deep);
    EXPECT_TRUE(HasProblem(r, victim, "not a Parquet file")) << ProblemsText(r);
  }
}

TEST(ValidateTest, FileWithoutKeyColumn) {
  auto t = MakeRandomTable(7, 1);
  // A Parquet file with event_time and value but no key, put in place of a delta.
  auto events = EventsTable(KvSchema(), {{"a", Ms("2024-01-02"), "x"}});
  auto no_key = events->RemoveColumn(0).ValueOrDie();
  auto out = t.storage->OpenForWrite("data/nokey.parquet").ValueOrDie();
  ASSERT_OK(parquet::arrow::WriteTable(*no_key, arrow::default_memory_pool(), out, 1024));
  ASSERT_OK(out->Close());
  Tamper(*t.storage, 1, [](Snapshot& s) {
    auto& d = s.segments[0].deltas[0];
    d.path = "data/nokey.parquet";
    d.rows = d.size = d.tombstones = -1;
  });
  auto r = Validate(t.storage, true);
  EXPECT_TRUE(HasProblem(r, "data/nokey.parquet", "no key column 'key'")) << ProblemsText(r);
}

TEST(ValidateTest, IncompatibleValueColumnType) {
  auto t = MakeRandomTable(8, 1);
  // The file's value column (matched by field id 3) holds int64, the table says string.
  arrow::Int64Builder vb;
  ASSERT_OK(vb.Append(1));
  arrow::StringBuilder kb;
  ASSERT_OK(kb.Append("a"));
  arrow::TimestampBuilder tb(arrow::timestamp(arrow::TimeUnit::MILLI, "UTC"), arrow::default_memory_pool());
  ASSERT_OK(tb.Append(Ms("2024-01-02")));
  auto schema = arrow::schema({arrow::field("key", arrow::utf8()),
                               arrow::field("event_time", arrow::timestamp(arrow::TimeUnit::MILLI, "UTC")),
                               arrow::field("renamed", arrow::int64(), true,
                                            arrow::key_value_metadata({"PARQUET:field_id"}, {"3"}))});
  auto table = arrow::Table::Make(
      schema, {kb.Finish().ValueOrDie(), tb.Finish().ValueOrDie(), vb.Finish().ValueOrDie()});
  auto out = t.storage->OpenForWrite("data/int.parquet").ValueOrDie();
  ASSERT_OK(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), out, 1024,
                                       parquet::default_writer_properties(),
                                       parquet::ArrowWriterProperties::Builder().store_schema()->build()));
  ASSERT_OK(out->Close());
  Tamper(*t.storage, 1, [](Snapshot& s) {
    auto& d = s.segments[0].deltas[0];
    d = DataFileRef{"data/int.parquet", d.start, d.end, d.version};
  });
  auto r = Validate(t.storage, false);
  EXPECT_TRUE(HasProblem(r, "data/int.parquet", "value column 'renamed' is int64, the table's type is string"))
      << ProblemsText(r);
}

TEST(ValidateTest, WrongRecordedRanges) {
  auto t = MakeRandomTable(9, 2);
  const std::string victim = FirstDelta(*t.storage, 1);
  Tamper(*t.storage, 2, [&](Snapshot& s) {
    for (auto& seg : s.segments) {
      for (auto& d : seg.deltas) {
        if (d.path != victim) continue;
        d.end = EventTime::FromMicros(d.end->micros() + 86400000000LL);  // not the rows' maximum
        d.min_key = {arrow::MakeScalar("k9")};                  // after every key
      }
    }
  });
  for (bool deep : {false, true}) {
    auto r = Validate(t.storage, deep);
    const std::string source = deep ? "the rows have" : "its statistics say";
    EXPECT_TRUE(HasProblem(r, victim, "recorded event times")) << ProblemsText(r);
    EXPECT_TRUE(HasProblem(r, victim, "recorded keys [k9")) << ProblemsText(r);
    for (const auto& p : r.problems) {
      EXPECT_NE(p.problem.find(source), std::string::npos) << p.ToString();
      EXPECT_EQ(p.versions, std::vector<Version>{Version(2)}) << p.ToString();
    }
  }
}

TEST(ValidateTest, UnsortedFileMarkedSorted) {
  TableBuilder b;
  b.AddSegment(Ms("2024-01-01"));
  // Rows in reverse key order, written as if sorted.
  auto sorted = EventsTable(KvSchema(), {{"a", Ms("2024-01-02"), "a"}, {"b", Ms("2024-01-03"), "b"},
                                         {"c", Ms("2024-01-04"), "c"}});
  arrow::Int64Builder ib;
  ASSERT_OK(ib.AppendValues({2, 1, 0}));
  auto reversed = arrow::compute::Take(sorted, ib.Finish().ValueOrDie())
                      .ValueOrDie()
                      .table();
  ASSERT_OK_AND_ASSIGN(auto ref, write::WriteDataFile(*b.storage(), KvSchema(), "data/unsorted.parquet",
                                                      reversed, Version(1)));
  ASSERT_TRUE(ref.sorted);
  ref.min_key = {arrow::MakeScalar("a")};  // keep the key range honest: only the order is wrong
  ref.max_key = {arrow::MakeScalar("c")};
  b.snapshot().segments[0].deltas.push_back(ref);
  ASSERT_OK(b.Commit(1));
  auto shallow = Validate(b.storage(), false);
  EXPECT_TRUE(shallow.ok()) << "the footer cannot tell the order:\n" << ProblemsText(shallow);
  auto r = Validate(b.storage(), true);
  EXPECT_TRUE(HasProblem(r, "data/unsorted.parquet", "marked sorted, but row 1")) << ProblemsText(r);
  EXPECT_EQ(r.problems.size(), 1u) << ProblemsText(r);
}

TEST(ValidateTest, BaseWithTwoRowsForAKeyOrALaterEvent) {
  TableBuilder b;
  b.AddSegment(Ms("2024-01-01"));
  b.AddSegment(Ms("2024-02-01"));
  ASSERT_OK(b.AddDelta(1, {{"a", Ms("2024-01-05"), "a1"}, {"a", Ms("2024-01-06"), "a2"}}, 0));
  ASSERT_OK(b.SetBase(1, 1, {{"a", Ms("2024-01-05"), "a1"}, {"a", Ms("2024-01-06"), "a2"}}));
  ASSERT_OK(b.Commit(1));
  const std::string base = b.snapshot().segments[1].base->path;
  auto r = Validate(b.storage(), true);
  EXPECT_TRUE(HasProblem(r, base, "more than one row for a key (row 1")) << ProblemsText(r);
  // A base may only hold events at or before its segment start.
  Tamper(*b.storage(), 1, [](Snapshot& s) { s.segments[1].start = EventTime::FromMicros(Ms("2024-01-05") * 1000); });
  r = Validate(b.storage(), false);
  EXPECT_TRUE(HasProblem(r, base, "after its segment 'seg1' starts")) << ProblemsText(r);
}

TEST(ValidateTest, UnsafeFileName) {
  auto t = MakeRandomTable(10, 2);
  Tamper(*t.storage, 2, [](Snapshot& s) {
    s.segments[0].deltas[0].path = "../escape.parquet";
    s.segments[0].deltas[1].path = "/abs.parquet";
  });
  auto r = Validate(t.storage, false);
  EXPECT_TRUE(HasProblem(r, "../escape.parquet", "")) << ProblemsText(r);
  EXPECT_TRUE(HasProblem(r, "/abs.parquet", "")) << ProblemsText(r);
  EXPECT_TRUE(HasProblem(r, "s2.json", "escapes the table root")) << ProblemsText(r);
  // Version 1 is still checked.
  EXPECT_EQ(r.versions_checked.size(), 2u);
}

TEST(ValidateTest, CommitRecordsAndVersionPointer) {
  auto t = MakeRandomTable(11, 3);
  std::string dropped;
  Tamper(*t.storage, 3, [&](Snapshot& s) {
    dropped = s.segments[0].deltas[0].path;  // a version-1 file vanishes without files_removed
    s.segments[0].deltas.erase(s.segments[0].deltas.begin());
    s.commit->files_added.push_back("data/never.parquet");
  });
  ASSERT_OK(t.storage->ReplaceFile("version.txt", "three"));
  auto r = Validate(t.storage, false);
  EXPECT_TRUE(HasProblem(r, dropped, "not listed in commit.files_removed")) << ProblemsText(r);
  EXPECT_TRUE(HasProblem(r, "data/never.parquet", "does not reference it")) << ProblemsText(r);
  EXPECT_TRUE(HasProblem(r, "version.txt", "not a version number")) << ProblemsText(r);
  EXPECT_EQ(r.versions_checked.size(), 4u) << "a bad pointer does not stop the checks";
}

TEST(ValidateTest, MissingSnapshotInTheRetainedRange) {
  auto t = MakeRandomTable(12, 4);
  ASSERT_OK(t.storage->DeleteFile("s2.json"));
  auto r = Validate(t.storage, false);
  EXPECT_TRUE(HasProblem(r, "s2.json", "missing")) << ProblemsText(r);
}

TEST(ValidateTest, EveryProblemAtOnce) {
  auto b = Segmented();
  ASSERT_OK(b.AddDelta(2, {{"c", Ms("2024-03-01"), "c1"}}, 0));  // March under January's segment
  ASSERT_OK(b.Commit(2));
  const auto segs = b.snapshot().segments;
  const std::string missing = segs[1].deltas[0].path;
  const std::string miscounted = segs[0].deltas[0].path;
  const std::string outside = segs[0].deltas[1].path;
  ASSERT_OK(b.storage()->DeleteFile(missing));
  Tamper(*b.storage(), 2, [&](Snapshot& s) {
    s.segments[0].deltas[0].rows = 99;
    s.segments[0].end = EventTime::FromMicros(Ms("2024-02-02") * 1000);
  });
  Tamper(*b.storage(), 1, [&](Snapshot& s) { s.segments[1].deltas[0].path = "a/../../up.parquet"; });
  auto r = Validate(b.storage(), true);
  EXPECT_TRUE(HasProblem(r, missing, "missing")) << ProblemsText(r);
  EXPECT_TRUE(HasProblem(r, miscounted, "recorded 99 rows")) << ProblemsText(r);
  EXPECT_TRUE(HasProblem(r, "segment 'seg1'", "overlaps")) << ProblemsText(r);
  EXPECT_FALSE(HasProblem(r, outside, "")) << ProblemsText(r);  // allowed in format 1 (spec §10a)
  EXPECT_TRUE(HasProblem(r, "a/../../up.parquet", "")) << ProblemsText(r);
  EXPECT_GE(r.problems.size(), 4u);
}

TEST(ValidateTest, OneVersionAndErrors) {
  auto t = MakeRandomTable(13, 3);
  auto r = Validate(t.storage, true, 2);
  EXPECT_TRUE(r.ok()) << ProblemsText(r);
  EXPECT_EQ(r.versions_checked, std::vector<Version>{Version(2)});
  ValidateOptions o;
  o.version = Version(9);
  auto missing = ValidateTable(t.storage, o);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(ErrorKindOf(missing.status()), ErrorKind::kNotFound);
  EXPECT_NE(missing.status().message().find("does not exist (current version is 3)"), std::string::npos)
      << missing.status().ToString();
  auto none = ValidateTable(MemStorage());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(ErrorKindOf(none.status()), ErrorKind::kNotFound);
}

TEST(ValidateTest, LegacyFixturesAreClean) {
  const std::string dir = BAZOF_FIXTURES_DIR;
  for (const char* t : {"azof-0.2/table0", "azof-0.2/table1", "azof-0.2/table2", "bazof-0.1/table0",
                        "bazof-0.1/ltm_revenue"}) {
    std::string rel(t);
    auto slash = rel.find('/');
    ValidateOptions o;
    o.deep = true;
    ASSERT_OK_AND_ASSIGN(auto r, ValidateTable(dir + "/" + rel.substr(0, slash), rel.substr(slash + 1), o));
    EXPECT_TRUE(r.ok()) << t << ":\n" << ProblemsText(r);
    EXPECT_EQ(r.versions_checked, std::vector<Version>{Version(1)});
  }
}

}  // namespace
}  // namespace bazof::testing

namespace bazof::testing {
namespace {

TEST(ValidateTest, CompactedTablesAreClean) {
  for (std::optional<int64_t> duration : {std::optional<int64_t>(5 * 86400000000LL), std::optional<int64_t>(0)}) {
    auto t = MakeRandomTable(14, 10);
    ASSERT_OK_AND_ASSIGN(auto table, Table::Open(t.storage));
    CompactOptions o;
    o.segment_duration_us = duration;
    o.target_file_bytes = 600;  // several files per segment
    ASSERT_OK_AND_ASSIGN(auto c, Compact(table, o));
    ASSERT_TRUE(c.committed);
    auto r = Validate(t.storage, true);
    EXPECT_TRUE(r.ok()) << ProblemsText(r);
    // Appends after compaction: deltas that may end past their segment.
    ASSERT_OK_AND_ASSIGN(table, Table::Open(t.storage));
    ASSERT_OK(Append(table, *AppendInput({{"k1", Ms("2024-01-03"), "late"}, {"k9", Ms("2024-02-08"), "new"}}))
                  .status());
    r = Validate(t.storage, true);
    EXPECT_TRUE(r.ok()) << ProblemsText(r);
    EXPECT_EQ(r.versions_checked.size(), 13u);
  }
}

}  // namespace
}  // namespace bazof::testing

#include "metadata/snapshot_json.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include "bazof/error.h"
#include "test_util.h"

namespace bazof::metadata {
namespace {

constexpr const char* kLegacy = R"({
  "segments": [{
    "id": "10", "start": "2024-01-01T00:00:00.000Z", "file": "base.parquet",
    "segments": [{"id": "11", "start": "2024-01-01T00:00:00.000Z", "end": "2024-06-30T23:59:59.999Z",
                  "delta": [{"file": "d.parquet", "start": "2024-01-01T00:00:00.000Z",
                             "end": "2024-03-31T23:59:59.999Z"}]}]
  }]
})";

TEST(SnapshotJsonTest, ParsesLegacyWithoutSchema) {
  auto snap = ParseSnapshot(kLegacy, "s1.json").ValueOrDie();
  EXPECT_EQ(snap.format_version, 0);
  EXPECT_FALSE(snap.schema_recorded);
  ASSERT_EQ(snap.segments.size(), 1u);
  EXPECT_EQ(snap.segments[0].base->path, "base.parquet");
  EXPECT_FALSE(snap.segments[0].end.has_value());
  ASSERT_EQ(snap.segments[0].segments.size(), 1u);
  EXPECT_EQ(snap.segments[0].segments[0].deltas[0].path, "d.parquet");
  EXPECT_EQ(snap.schema.key_columns[0].name, "key");
}

TEST(SnapshotJsonTest, ParsesAzofSchemaTypes) {
  auto snap = ParseSnapshot(R"({"schema": {"columns": [
      {"name": "a", "data_type": "String", "nullable": false},
      {"name": "b", "data_type": "Int", "nullable": false},
      {"name": "c", "data_type": "Boolean", "nullable": true},
      {"name": "d", "data_type": "DateTime", "nullable": false}]}, "segments": []})", "s1.json").ValueOrDie();
  ASSERT_EQ(snap.schema.value_columns.size(), 4u);
  EXPECT_TRUE(snap.schema.value_columns[1].type->Equals(arrow::int64()));
  EXPECT_TRUE(snap.schema.value_columns[3].type->Equals(arrow::timestamp(arrow::TimeUnit::MILLI, "UTC")));
}

TEST(SnapshotJsonTest, Format1RoundTrips) {
  Snapshot s;
  s.format_version = 1;
  s.version = Version(3);
  s.schema = testing::KvSchema();
  s.commit = CommitInfo{"append", "2026-01-01T00:00:00.000Z", 5, {"data/a.parquet"}, {}};
  s.properties = {{"compaction.auto", "true"}, {"x.unknown", "kept"}};
  Segment seg;
  seg.id = "s0";
  seg.start = ParseEventTime("2024-01-01").ValueOrDie();
  DataFileRef base;
  base.path = "data/b.parquet";
  base.version = Version(2);
  base.rows = 10;
  base.min_key = {std::make_shared<arrow::StringScalar>("a")};
  base.max_key = {std::make_shared<arrow::StringScalar>("z")};
  base.sorted = true;
  seg.base = base;
  DataFileRef d;
  d.path = "data/a.parquet";
  d.version = Version(3);
  d.start = ParseEventTime("2023-05-01").ValueOrDie();
  d.end = ParseEventTime("2024-05-01T10:00:00.123Z").ValueOrDie();
  d.rows = 5;
  d.tombstones = 1;
  seg.deltas.push_back(d);
  s.segments.push_back(seg);

  auto text = SerializeSnapshot(s).ValueOrDie();
  auto back = ParseSnapshot(text, "s3.json").ValueOrDie();
  EXPECT_EQ(back.format_version, 1);
  EXPECT_EQ(back.version.value(), 3);
  EXPECT_EQ(back.schema.value_columns[0].id, 3);
  EXPECT_EQ(back.schema.key_columns[0].name, "key");
  EXPECT_EQ(back.commit->operation, "append");
  EXPECT_EQ(back.properties, s.properties);
  const auto& bs = back.segments[0];
  EXPECT_EQ(bs.base->version->value(), 2);
  EXPECT_EQ(bs.base->max_key[0]->ToString(), "z");
  EXPECT_EQ(bs.deltas[0].version->value(), 3);
  EXPECT_EQ(*bs.deltas[0].end, *d.end);
  EXPECT_EQ(bs.deltas[0].tombstones, 1);
  // The legacy fields stay readable by the original reader.
  EXPECT_NE(text.find("\"data_type\": \"String\""), std::string::npos);
  EXPECT_NE(text.find("\"file\": \"data/b.parquet\""), std::string::npos);
}

void ExpectCorrupt(const std::string& json, const std::string& needle) {
  auto r = ParseSnapshot(json, "/t/s1.json");
  ASSERT_FALSE(r.ok()) << json;
  EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kCorruption);
  EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("/t/s1.json"), std::string::npos);
}

TEST(SnapshotJsonTest, BrokenSnapshotsNameTheProblem) {
  ExpectCorrupt("{not json", "not valid JSON");
  ExpectCorrupt("[]", "expected an object, found an array");
  ExpectCorrupt("{}", "field 'segments': missing");
  ExpectCorrupt(R"({"segments": [{"id": "x"}]})", "field 'segments[0].start': missing");
  ExpectCorrupt(R"({"segments": [{"id": "x", "start": "nope"}]})", "field 'segments[0].start': 'nope' is not an RFC 3339 timestamp");
  ExpectCorrupt(R"({"segments": [{"id": "x", "start": "2024-01-01T00:00:00Z", "file": "../x.parquet"}]})",
                "escapes the table root");
  ExpectCorrupt(R"({"segments": [{"id": "x", "start": "2024-01-01T00:00:00Z",
                   "delta": [{"file": "/etc/passwd", "start": "2024-01-01T00:00:00Z", "end": "2024-01-01T00:00:00Z"}]}]})",
                "escapes the table root");
  ExpectCorrupt(R"({"format_version": 99, "segments": []})", "unsupported format_version 99");
  ExpectCorrupt(R"({"format_version": 1, "segments": []})", "field 'version': missing");
  ExpectCorrupt(R"({"format_version": 1, "version": 1, "segments": []})", "field 'schema': missing");
  ExpectCorrupt(R"({"schema": {"columns": [{"name": "v", "data_type": "Blob"}]}, "segments": []})",
                "unknown legacy data_type 'Blob'");
  ExpectCorrupt(R"({"format_version": 1, "version": 1, "schema": {"columns": [],
                   "key_columns": [{"name": "key", "id": 1, "type": "string"}],
                   "event_time_column": {"name": "event_time", "id": 2, "type": "timestamp[ms]"},
                   "next_column_id": 3}, "properties": {"a": 1}, "segments": []})",
                "field 'properties.a': expected a string, found an integer");
  ExpectCorrupt(R"({"segments": [{"id": "x", "start": "2024-02-01T00:00:00Z", "end": "2024-01-01T00:00:00Z"}]})",
                "before 'start'");
}

}  // namespace
}  // namespace bazof::metadata

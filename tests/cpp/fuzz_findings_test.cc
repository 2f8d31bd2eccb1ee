// One test per finding of the fuzz targets (fuzz/), beside the replay of the
// crashing inputs themselves (fuzz_corpus_test.cc, fuzz/corpus/*/finding_*).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "bazof/error.h"
#include "bazof/write.h"
#include "metadata/snapshot_json.h"
#include "test_util.h"
#include "write/input_reader.h"

namespace bazof {
namespace {

// Reads a JSON-lines input to the end; the first error, if any.
arrow::Status ReadJsonLines(const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("bazof_fuzz_findings_" + std::to_string(::getpid()) + ".jsonl");
  std::ofstream(path, std::ios::binary) << text;
  auto schema = ParseSchemaSpec("key:string,event_time:timestamp,v:int64").ValueOrDie();
  auto reader = write::OpenInput(path.string(), write::InputFormat::kJsonl, schema);
  arrow::Status st = reader.status();
  while (st.ok()) {
    std::shared_ptr<arrow::RecordBatch> batch;
    st = (*reader)->ReadNext(&batch);
    if (!batch) break;
  }
  std::filesystem::remove(path);
  return st;
}

// Arrow's JSON reader crashed the process on a line holding a bare null
// (apache/arrow#47409); it is refused with its line number.
TEST(FuzzFindingsTest, JsonLineOfNullIsAnErrorNotACrash) {
  for (const std::string text : {"null\n", "null", "  \tnull\n{\"key\": \"a\", \"event_time\": \"2024-01-01\"}\n",
                                 "nullx\n"}) {
    auto st = ReadJsonLines(text);
    ASSERT_FALSE(st.ok()) << text;
    EXPECT_EQ(ErrorKindOf(st), ErrorKind::kInvalidArgument) << st.ToString();
    EXPECT_NE(st.message().find("line 1: a JSON line must be an object, not null"), std::string::npos) << st.ToString();
  }
  auto st = ReadJsonLines("{\"key\": \"a\", \"event_time\": \"2024-01-01\"}\n\r\n null\n");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("line 3: a JSON line must be an object, not null"), std::string::npos) << st.ToString();
  // null as a value, and lines that only begin like it, are not refused.
  EXPECT_TRUE(ReadJsonLines("{\"key\": \"a\", \"event_time\": \"2024-01-01\", \"v\": null}\n").ok());
  EXPECT_FALSE(ReadJsonLines("nul\n").message().find("not null") != std::string::npos);
}

// A format-1 column without an id was read as id 0, which the next commit
// wrote as "id": 0, which no reader accepts: the table was lost to that
// commit. A format-1 column must have its id (docs/spec.md §4).
TEST(FuzzFindingsTest, Format1ColumnWithoutIdIsCorruption) {
  const std::string with_ids = R"({"format_version": 1, "version": 1, "schema": {
      "columns": [{"name": "v", "id": 3, "type": "string"}],
      "key_columns": [{"name": "key", "id": 1, "type": "string"}],
      "event_time_column": {"name": "event_time", "id": 2, "type": "timestamp[ms]"},
      "next_column_id": 4}, "segments": []})";
  ASSERT_OK_AND_ASSIGN(auto snap, metadata::ParseSnapshot(with_ids, "/t/s1.json"));
  ASSERT_OK_AND_ASSIGN(auto text, metadata::SerializeSnapshot(snap));
  ASSERT_TRUE(metadata::ParseSnapshot(text, "/t/s2.json").ok());
  for (auto [id, field] : {std::pair{R"("id": 3, )", "schema.columns[0].id"},
                            std::pair{R"("id": 1, )", "schema.key_columns[0].id"},
                            std::pair{R"("id": 2, )", "schema.event_time_column.id"}}) {
    std::string without = with_ids;
    without.erase(without.find(id), std::string(id).size());
    auto r = metadata::ParseSnapshot(without, "/t/s1.json");
    ASSERT_FALSE(r.ok()) << without;
    EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kCorruption);
    EXPECT_NE(r.status().message().find("field '" + std::string(field) + "': missing"), std::string::npos)
        << r.status().ToString();
  }
  // Legacy snapshots have no ids.
  EXPECT_TRUE(metadata::ParseSnapshot(R"({"schema": {"columns": [{"name": "v", "data_type": "String"}]},
                                         "segments": []})", "/t/s1.json").ok());
}

}  // namespace
}  // namespace bazof

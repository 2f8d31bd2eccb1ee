// One test per finding of the fuzz targets (fuzz/), beside the replay of the
// crashing inputs themselves (fuzz_corpus_test.cc, fuzz/corpus/*/finding_*).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "bazof/error.h"
#include "bazof/write.h"
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

}  // namespace
}  // namespace bazof

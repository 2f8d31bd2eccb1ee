// Body of the fuzz_input target (harness.h): bytes as an append input, once
// as CSV and once as JSON lines, through the append input path
// (write::OpenInput, then Append's normalize / sort / data-file write /
// commit) into a fresh table on an in-memory filesystem, then read back. The
// table's schema is fixed:
//   key string, event_time timestamp, price decimal(18,4), note string, qty int64
// A status is the expected answer to bad bytes; an exception, a crash, a
// sanitizer report, or a committed version that does not read back is a
// finding.
#include "fuzz/harness.h"

#include <arrow/filesystem/mockfs.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "bazof/write.h"
#include "io/storage.h"
#include "text_escape.h"
#include "write/input_reader.h"

namespace bazof::fuzz {
namespace {

[[noreturn]] void Finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_input finding: %s: %s\n", what, detail.c_str());
  std::abort();
}

const TableSchema& Schema() {
  static const TableSchema schema = [] {
    auto s = ParseSchemaSpec("key:string,event_time:timestamp,price:decimal(18,4),note:string,qty:int64");
    if (!s.ok()) Finding("schema", s.status().ToString());
    return *s;
  }();
  return schema;
}

// The input file: OpenInput reads paths, so the bytes go to a scratch file
// (on tmpfs when there is one).
const std::string& InputPath() {
  static const std::string path = [] {
    const char* base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    return std::string(base) + "/bazof_fuzz_input_" + std::to_string(getpid());
  }();
  return path;
}

// Every malformed input gets one clear one-line error: what every surface
// shows of a status (ErrorLine) is one line of valid UTF-8.
void CheckErrorLine(const arrow::Status& st) {
  const std::string line = ErrorLine(st);
  if (line.find_first_of("\r\n") != std::string::npos || !IsValidUtf8(line)) {
    Finding("error is not one line of valid UTF-8", line);
  }
}

void AppendAs(write::InputFormat format) {
  auto reader = write::OpenInput(InputPath(), format, Schema());
  if (!reader.ok()) return CheckErrorLine(reader.status());
  auto fs = std::make_shared<arrow::fs::internal::MockFileSystem>(std::chrono::system_clock::time_point{});
  auto storage = io::Storage::Make(fs, "t", "mem://t");
  auto table = CreateTable(storage, Schema());
  if (!table.ok()) Finding("create", table.status().ToString());
  AppendOptions options;
  options.source = "fuzz input";
  options.chunk_rows = 16;  // several chunks, so several files per commit
  auto result = Append(*table, **reader, options);
  if (!result.ok()) return CheckErrorLine(result.status());
  if (!result->committed) return;
  // What was committed must read back.
  auto reopened = Table::Open(storage);
  if (!reopened.ok()) Finding("committed table does not open", reopened.status().ToString());
  auto scan = (*reopened)->NewScan().Threads(1).Build();
  if (!scan.ok()) Finding("scan of committed table", scan.status().ToString());
  auto rows = (*scan)->ToTable();
  if (!rows.ok()) Finding("committed rows do not read back", rows.status().ToString());
}

}  // namespace

void RunAppendInput(std::string_view bytes) {
  {
    std::ofstream out(InputPath(), std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) Finding("scratch file", InputPath());
  }
  AppendAs(write::InputFormat::kCsv);
  AppendAs(write::InputFormat::kJsonl);
}

void InitFuzzProcess() { setenv("ARROW_DEFAULT_MEMORY_POOL", "system", 0); }

}  // namespace bazof::fuzz


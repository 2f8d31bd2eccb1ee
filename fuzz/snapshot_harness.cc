// Body of the fuzz_snapshot target (harness.h): bytes as a snapshot file
// (s<N>.json), also as version.txt and retention.json, read through the entry
// points readers use; then what a reader does with a parsed snapshot: plan
// scans, judge the read cost, read the log, and (format 1) serialize it again
// as the next commit would. A status is the expected answer to bad bytes; an
// exception, a crash, a sanitizer report or a broken round trip is a finding.
#include "fuzz/harness.h"

#include <arrow/filesystem/mockfs.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "bazof/compact.h"
#include "bazof/inspect.h"
#include "bazof/table.h"
#include "io/storage.h"
#include "text_escape.h"
#include "metadata/properties.h"
#include "metadata/snapshot_json.h"
#include "metadata/table_files.h"
#include "planning/planner.h"

namespace bazof::fuzz {
namespace {

[[noreturn]] void Finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_snapshot finding: %s: %s\n", what, detail.c_str());
  std::abort();
}

// Every malformed input gets one clear one-line error: what every surface
// shows of a status (ErrorLine) is one line of valid UTF-8.
void CheckErrorLine(const arrow::Status& st) {
  const std::string line = ErrorLine(st);
  if (line.find_first_of("\r\n") != std::string::npos || !IsValidUtf8(line)) {
    Finding("error is not one line of valid UTF-8", line);
  }
}

// What readers do with a parsed snapshot, without touching data files.
void Exercise(const Snapshot& snap) {
  std::vector<EventTime> times = {EventTime::Min(), EventTime::Max(), EventTime::FromMicros(0)};
  for (const auto& s : snap.segments) {
    times.push_back(s.start);
    if (s.end) times.push_back(*s.end);
  }
  for (const DataFileRef* f : snap.AllFiles()) {
    if (f->start) times.push_back(*f->start);
    if (f->end) times.push_back(*f->end);
  }
  if (times.size() > 64) times.resize(64);
  for (EventTime t : times) (void)planning::PlanScan(snap, t);
  (void)metadata::PolicyFromProperties(snap.properties);
  (void)LatestReadCost(snap);

  if (snap.format_version < 1) return;
  // The next commit re-serializes what it read: that must read back the same.
  auto text = metadata::SerializeSnapshot(snap);
  if (!text.ok()) return;
  auto again = metadata::ParseSnapshot(*text, "fuzz/reserialized.json");
  if (!again.ok()) Finding("serialized snapshot does not parse", again.status().ToString() + "\n" + *text);
  auto text2 = metadata::SerializeSnapshot(*again);
  if (!text2.ok()) Finding("reparsed snapshot does not serialize", text2.status().ToString());
  if (*text2 != *text) Finding("serialization is not stable", *text + "\n---\n" + *text2);
}

// The same bytes as table files on an in-memory filesystem, opened the way
// every reader opens a table.
void OpenAsTable(std::string_view bytes, int64_t version) {
  auto fs = std::make_shared<arrow::fs::internal::MockFileSystem>(std::chrono::system_clock::time_point{});
  if (!fs->CreateDir("t").ok()) return;
  auto storage = io::Storage::Make(fs, "t", "mem://t");
  auto put = [&](const std::string& name, std::string_view content) {
    auto out = fs->OpenOutputStream("t/" + name);
    if (!out.ok() || !(*out)->Write(content.data(), static_cast<int64_t>(content.size())).ok()) return false;
    return (*out)->Close().ok();
  };
  if (!put(metadata::SnapshotFileName(version), bytes) || !put(metadata::kVersionFile, std::to_string(version)) ||
      !put(metadata::kRetentionFile, bytes)) {
    return;
  }
  auto hint = metadata::ReadRetentionHint(*storage);
  if (!hint.ok()) CheckErrorLine(hint.status());
  auto table = Table::Open(storage);
  if (!table.ok()) return CheckErrorLine(table.status());
  for (EventTime t : {EventTime::Min(), EventTime::Max(), EventTime::FromMicros(0)}) {
    (void)(*table)->NewScan().AsOf(t).Threads(1).Build();
  }
  (void)(*table)->NewScan().AtVersion(Version(version)).Threads(1).Build();
  (void)(*table)->NewScan().KeyIn({"a"}).KeyRange("a", "z").Threads(1).Build();
  (void)ReadLog(**table);
}

}  // namespace

void RunSnapshotInput(std::string_view bytes) {
  auto pointer = metadata::ParseVersionPointer(std::string(bytes), "fuzz/version.txt");
  if (!pointer.ok()) CheckErrorLine(pointer.status());
  auto snap = metadata::ParseSnapshot(bytes, "fuzz/s1.json");
  if (!snap.ok()) CheckErrorLine(snap.status());
  int64_t version = 1;
  if (snap.ok()) {
    Exercise(*snap);
    // A format-1 snapshot must sit under its own version's name.
    const int64_t v = snap->version.value();
    if (snap->format_version >= 1 && v >= 0 && v < 1000000) version = v;
  }
  OpenAsTable(bytes, version);
}

}  // namespace bazof::fuzz


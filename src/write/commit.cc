#include "write/commit.h"

#include <chrono>

#include "bazof/error.h"
#include "metadata/snapshot_json.h"

namespace bazof::write {

arrow::Status CommitSnapshot(io::Storage& storage, const Snapshot& snapshot) {
  ARROW_ASSIGN_OR_RAISE(auto json, metadata::SerializeSnapshot(snapshot));
  const std::string name = "s" + std::to_string(snapshot.version.value()) + ".json";
  ARROW_RETURN_NOT_OK(storage.CreateExclusive(name, json));
  // The version is committed. The pointer is only a hint (readers probe for
  // newer snapshots), so failing to move it must not report the commit as
  // failed: a caller would retry and commit the same rows twice.
  // Written without a newline: the original reader uses the text as is.
  (void)storage.ReplaceFile("version.txt", std::to_string(snapshot.version.value()));
  return arrow::Status::OK();
}

std::string WallClockNow() {
  auto now = std::chrono::system_clock::now();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  return FormatEventTime(EventTime::FromMicros(us - us % 1000));
}

}  // namespace bazof::write

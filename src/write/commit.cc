#include "write/commit.h"

#include <chrono>

#include "bazof/error.h"
#include "metadata/snapshot_json.h"
#include "metadata/table_files.h"

namespace bazof::write {

arrow::Status CommitSnapshot(io::Storage& storage, const Snapshot& snapshot) {
  ARROW_ASSIGN_OR_RAISE(auto json, metadata::SerializeSnapshot(snapshot));
  const std::string name = metadata::SnapshotFileName(snapshot.version.value());
  if (snapshot.version.value() > 0) {
    // A writer that read its base long ago may target a version vacuum has
    // since deleted: creating it again would publish a version below the
    // current one, and the rows would be lost. Vacuum records the oldest
    // retained version before deleting anything (docs/spec.md, "Vacuum and
    // retention"); a hint that does not parse is ignored like any hint.
    auto hint = metadata::ReadRetentionHint(storage);
    if (!hint.ok() && ErrorKindOf(hint.status()) != ErrorKind::kCorruption) return hint.status();
    if (hint.ok() && *hint && snapshot.version.value() < (*hint)->oldest_retained) {
      return Conflict("version ", snapshot.version.value(), " of table '", storage.display_root(),
                      "' was vacuumed (oldest retained version: ", (*hint)->oldest_retained,
                      "): the table has moved on; re-read it");
    }
  }
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

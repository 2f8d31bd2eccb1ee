// bazof watermark set: a commit that only advances the completeness
// watermark (docs/spec.md, "Completeness watermark").
#include "bazof/error.h"
#include "bazof/timeline.h"
#include "write/append_internal.h"

namespace bazof {

arrow::Result<CommitResult> SetWatermark(const std::shared_ptr<Table>& table, EventTime t) {
  auto snapshot = table->current_snapshot();
  if (snapshot->format_version < 1) {
    return InvalidArgument("table '", table->location(),
                           "' is a bazof 0.1 / azof 0.2 table: bazof reads it but does not write it");
  }
  if (t.is_max() || t == EventTime::Min()) {
    return InvalidArgument("table '", table->location(), "': the watermark must be a finite time");
  }
  return write::CommitFiles(table, snapshot, snapshot->schema, {}, 0, "watermark", 20, t);
}

bool IsComplete(const Snapshot& snapshot, EventTime as_of) {
  return snapshot.watermark && as_of <= *snapshot.watermark;
}

}  // namespace bazof

// bazof restore: version N's snapshot again, as a new version.
//
//   s<N>.json ──segments, schema, properties, horizon──▶ s<cur+1>.json
//   s<cur>.json ──watermark, lateness, forget marker──▶    (CreateExclusive)
#include "bazof/restore.h"

#include <set>

#include "bazof/error.h"
#include "io/storage.h"
#include "write/commit.h"

namespace bazof {

arrow::Result<RestoreResult> Restore(const std::shared_ptr<Table>& table, Version version) {
  auto current = table->current_snapshot();
  const std::string& where = table->location();
  if (version.value() < 0) return InvalidArgument("restore of '", where, "': version must be >= 0");
  if (version > current->version) {
    return InvalidArgument("restore of '", where, "': version ", version.value(), " is beyond the current version ",
                           current->version.value());
  }
  if (current->format_version < 1) {
    return InvalidArgument("table '", where, "' is a bazof 0.1 / azof 0.2 table: bazof reads it but does not rewrite it");
  }
  if (current->erase_below && version < *current->erase_below) {
    return InvalidArgument("restore of '", where, "': version ", version.value(),
                           " is before the forget of version ", current->erase_below->value(),
                           " and would bring forgotten keys back");
  }
  ARROW_ASSIGN_OR_RAISE(auto old, table->SnapshotAt(version));
  if (old->format_version < 1) {
    return InvalidArgument("restore of '", where, "': version ", version.value(), " has a legacy snapshot");
  }
  Snapshot next = *old;
  next.version = Version(current->version.value() + 1);
  next.schema.next_column_id = std::max(old->schema.next_column_id, current->schema.next_column_id);
  next.watermark = current->watermark;
  next.lateness = current->lateness;
  next.erase_below = current->erase_below;
  next.format_version = next.horizon ? 2 : 1;

  RestoreResult result;
  result.restored = version;
  std::set<std::string> now, then;
  for (const auto* f : current->AllFiles()) now.insert(f->path);
  for (const auto* f : old->AllFiles()) then.insert(f->path);
  result.files = static_cast<int64_t>(then.size());
  for (const auto& p : then) {
    if (!now.count(p)) result.files_added.push_back(p);
  }
  for (const auto& p : now) {
    if (!then.count(p)) result.files_removed.push_back(p);
  }
  CommitInfo commit;
  commit.operation = "restore";
  commit.description = "restored version " + std::to_string(version.value());
  commit.timestamp = write::WallClockNow();
  commit.files_added = result.files_added;
  commit.files_removed = result.files_removed;
  next.commit = commit;
  auto st = write::CommitSnapshot(*table->storage(), next);
  if (!st.ok()) {
    if (ErrorKindOf(st) == ErrorKind::kConflict) {
      return Conflict("restore of '", where, "': version ", next.version.value(),
                      " was committed by another writer meanwhile; nothing changed, run restore again");
    }
    return WithContext(st, "commit of '" + where + "': ");
  }
  result.version = next.version;
  return result;
}

}  // namespace bazof

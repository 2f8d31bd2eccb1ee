// Restore: a new version whose data is that of an older one, as Delta's
// RESTORE (docs/spec.md, "Restore").
#pragma once

#include <arrow/result.h>

#include <memory>
#include <string>
#include <vector>

#include "bazof/snapshot.h"
#include "bazof/table.h"

namespace bazof {

struct RestoreResult {
  Version version;        ///< the new version
  Version restored;       ///< the version whose snapshot it copies
  int64_t files = 0;      ///< data files of the new version (all of `restored`'s)
  std::vector<std::string> files_added;    ///< files of `restored` the current version lacked
  std::vector<std::string> files_removed;  ///< files of the current version `restored` lacks
};

/// Commits version current+1 with version `version`'s segments, schema,
/// properties and history horizon, so every scan(T) of the new version equals
/// scan(T, version); the watermark, lateness profile and forget marker stay
/// as they are (they are promises about what was written, not data), and
/// column ids are never reused. commit.operation is "restore". Writes no
/// data file. kInvalidArgument if `version` is beyond the current one, below
/// a forget's marker, or the table is legacy; kNotFound if it was vacuumed;
/// kConflict if another writer committed meanwhile (nothing changes).
arrow::Result<RestoreResult> Restore(const std::shared_ptr<Table>& table, Version version);

}  // namespace bazof

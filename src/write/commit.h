// Publishing a new version (docs/spec.md, "Commit protocol"):
//
//   data files (unique names, complete)        already written by the caller
//        │
//   s<N>.json  ── Storage::CreateExclusive ──  the commit point; exists → kConflict
//        │
//   version.txt ── Storage::ReplaceFile ──      a hint; a crash here is harmless,
//                                               readers probe s<N+1>.json
#pragma once

#include <arrow/status.h>

#include "bazof/snapshot.h"
#include "io/storage.h"

namespace bazof::write {

/// Publishes `snapshot` as version snapshot.version. kConflict if that version
/// already exists (another writer won); nothing is changed then. OK once the
/// snapshot exists, even if the version.txt hint could not be moved.
arrow::Status CommitSnapshot(io::Storage& storage, const Snapshot& snapshot);

/// Current wall-clock time as RFC 3339 UTC (for CommitInfo::timestamp).
std::string WallClockNow();

}  // namespace bazof::write

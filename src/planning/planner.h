// Which files a scan reads, from snapshot metadata alone (docs/spec.md,
// "Planning"). No listing, no data-file access.
#pragma once

#include <arrow/result.h>

#include <vector>

#include "bazof/snapshot.h"

namespace bazof::planning {

/// One file of a plan. On equal (key, event_time), the row from the file
/// with the higher `rank` wins; within a file, the later row wins.
struct PlannedFile {
  DataFileRef ref;
  bool is_base = false;
  int64_t rank = 0;
};

struct ScanPlan {
  std::vector<PlannedFile> files;  ///< in snapshot order
};

/// Plans scan(t) over `snapshot` (the version is chosen by picking the snapshot).
ScanPlan PlanScan(const Snapshot& snapshot, EventTime t);

/// `snapshot` with every base removed (nested segments too): deltas hold
/// every event, so the all-events stream (compaction, all-events scans, the
/// as-of join) plans from them alone.
Snapshot WithoutBases(const Snapshot& snapshot);

}  // namespace bazof::planning

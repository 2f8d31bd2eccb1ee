// Compaction: rewriting a table's deltas into per-segment files and building
// a base per segment, as one commit that changes no scan result
// (docs/spec.md, "Compaction").
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bazof/progress.h"
#include "bazof/snapshot.h"
#include "bazof/table.h"

namespace bazof {

struct CompactOptions {
  /// Event-time length of the segments; 0 = auto (segments of about as many
  /// events as the table has keys, so bases add about as many rows as the
  /// events); nullopt = the table's compaction.segment_duration (default auto).
  std::optional<int64_t> segment_duration_us;
  /// Fewest events of an auto-layout segment (unless the table holds fewer,
  /// then it is one segment); nullopt = the table's
  /// compaction.min_segment_rows property (default 100000). Not applied to a
  /// fixed segment duration.
  std::optional<int64_t> min_segment_rows;
  /// Rewrite even when the layout is already what compaction would make
  /// (by default such a compaction reports nothing_to_compact and commits
  /// nothing).
  bool force = false;
  /// Size at which a segment's delta output starts a new file; nullopt = the
  /// table's compaction.target_file_size property (default 128 MiB).
  std::optional<int64_t> target_file_bytes;
  /// Plan only: report what would be read and laid out, write nothing.
  bool dry_run = false;
  /// Threads merging key ranges and, when more than 1, as many threads
  /// writing the segments' files (each segment's files by one of them, in
  /// merge order; docs/spec.md §13 "Memory"); 0 = number of cores.
  int threads = 0;
  /// History horizon (docs/spec.md, "History horizon"): events at or before
  /// it are collapsed into each key's state at it (its last event there,
  /// tombstones kept), so scans as of T >= horizon are unchanged and scans
  /// before it are refused from the new version on. nullopt = the table's
  /// retention.event_time property (none by default). kInvalidArgument if
  /// before the table's current horizon.
  std::optional<EventTime> horizon;
  /// Progress (include/bazof/progress.h): phase "plan" (events read to lay
  /// out auto segments; also in a dry run), phase "merge" (events of the
  /// deltas merged and spilled per segment), both in unit "events", then
  /// phase "write" (rows of the new deltas and bases encoded), unit "rows".
  ProgressCallback progress;
  /// Memory budget in bytes (docs/spec.md, "Memory budget"); 0 = the table's
  /// memory.limit property (default 512 MiB). Below the minimum (32 MiB):
  /// kInvalidArgument.
  int64_t memory_limit_bytes = 0;
  /// Local directory of the merge's spill (every segment's rows, as
  /// LZ4-compressed Arrow IPC, until its files are encoded; unnamed files
  /// that vanish however the process ends); empty = $TMPDIR, else /tmp.
  std::string spill_dir;
};

struct CompactResult {
  bool committed = false;      ///< false: dry run, or nothing to compact
  /// True when compaction would not improve the layout (no deltas, or the
  /// layout is already compacted and nothing was appended since); then
  /// nothing is written or committed, and `reason` says why.
  bool nothing_to_compact = false;
  std::string reason;
  Version version;             ///< the new version (when committed)
  Version built_from;          ///< the version compacted (B of the new bases)
  int64_t files_read = 0;      ///< deltas merged
  int64_t bytes_read = 0;
  int64_t events_read = 0;     ///< rows of the merged deltas
  int64_t events_written = 0;  ///< rows of the new deltas (tie losers dropped)
  int64_t events_collapsed = 0;  ///< events dropped behind the horizon
  std::optional<EventTime> horizon;  ///< the new version's history horizon
  int64_t segments = 0;        ///< segments of the new layout
  int64_t bases = 0;           ///< bases written
  int64_t base_rows = 0;
  int64_t spilled_bytes = 0;   ///< bytes of the merge's spill files
  std::vector<std::string> files_added;
  std::vector<std::string> files_removed;
  int64_t memory_limit_bytes = 0;  ///< the budget it ran under
  /// Peak bytes of Arrow's default memory pool in this process when the
  /// compaction ended (the budget's accounting; includes earlier work of
  /// the same process).
  int64_t peak_memory_bytes = 0;
};

/// Compacts the current version of `table` (format 1 only; legacy tables are
/// kInvalidArgument). Memory is bounded by the budget (merge batches,
/// read-ahead and the row group of each open output file shrink to fit it),
/// not by the table's size. If another writer commits
/// meanwhile, kConflict and nothing changes (run it again).
arrow::Result<CompactResult> Compact(const std::shared_ptr<Table>& table, const CompactOptions& options = {});

/// What a scan of the latest state reads, from metadata alone, and whether
/// the table's compaction policy advises compacting.
struct ReadCost {
  int64_t files = 0;
  int64_t deltas = 0;
  int64_t bytes = 0;
  int64_t rows = 0;
  /// rows / rows of the largest file read (1 = as good as one file).
  double read_amplification = 1;
  bool compaction_advised = false;
  std::string reason;  ///< why compaction is advised (empty if not)
};

/// ReadCost of scan(latest) at `snapshot`, judged by its properties.
arrow::Result<ReadCost> LatestReadCost(const Snapshot& snapshot);

}  // namespace bazof

// `bazof gen`: a sample key-value table with late events and tombstones.
#pragma once

#include <arrow/result.h>

#include <cstdint>

#include "bazof/progress.h"
#include "io/storage.h"

namespace bazof::write {

struct GenOptions {
  int64_t keys = 1000;
  int64_t events_per_key = 10;
  uint64_t seed = 42;
  int segments = 5;                 ///< segments over 2020..2024, on month boundaries (1..60)
  double late_fraction = 0.05;      ///< events committed in version 2
  double tombstone_fraction = 0.01; ///< events that delete their key
  /// Progress (include/bazof/progress.h): phase "write", unit "events"
  /// (events written to delta files, of keys * events_per_key).
  ProgressCallback progress;
};

struct GenSummary {
  int64_t events = 0;
  int64_t files = 0;
  int64_t version = 0;
};

/// Writes a new table: version 1 holds most events (one delta per segment,
/// and a base at each segment start after the first); version 2 holds the
/// late events. kConflict if the table already exists.
arrow::Result<GenSummary> GenerateSampleTable(io::Storage& storage, const GenOptions& options);

}  // namespace bazof::write

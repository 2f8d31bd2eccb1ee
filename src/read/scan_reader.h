// The RecordBatchReader behind Scan::ToReader(): the key space split into
// ranges, each merged on its own thread, results handed out in key order.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>

#include <memory>
#include <vector>

#include "io/storage.h"
#include "read/merge.h"
#include "read/footer_cache.h"
#include "read/run_reader.h"

namespace bazof::read {

struct ScanReaderOptions {
  EventTime as_of = EventTime::Max();
  std::vector<std::string> key_in;  ///< sorted encoded keys; empty = all
  std::optional<std::string> key_lower;  ///< encoded, inclusive
  std::optional<std::string> key_upper;  ///< encoded, exclusive
  int64_t batch_size = 64 * 1024;
  int threads = 1;
  /// Key ranges per thread. More ranges balance skew better, but a row group
  /// that straddles a split is decoded once per range touching it. 0 (auto):
  /// 1 for as-of scans; for intervals and all events (output about as large
  /// as input) enough that a range decodes at most twice what its queue
  /// holds, at most 4. Lowered while the duplicated rows exceed an eighth.
  int partitions_per_thread = 1;
  /// Batches a partition may produce ahead of the consumer.
  int max_queued_batches = 16;
  /// kAllEvents: every event (tie winners, tombstones too) instead of the
  /// as-of state; the schema gains trailing `_bazof_deleted` and
  /// `_bazof_version` columns.
  MergeMode mode = MergeMode::kAsOf;
  /// kIntervals: the window and coalescing (its num_keys is filled in).
  IntervalSpec intervals;
  /// Memory budget of the whole reader in bytes (0: none). Batches, queues and
  /// Parquet read-ahead shrink to fit it (docs/spec.md, "Memory budget").
  int64_t memory_limit_bytes = 0;
  /// Footers of files already opened by this Table (null: read every footer).
  std::shared_ptr<FooterCache> footer_cache;
};

/// How a key-list scan reads (docs/spec.md §7b): `partitions` == 1 seeks
/// the listed keys' row groups on one thread; more merge key ranges in
/// parallel, as a full scan does. Chosen from the rows of the row groups that
/// can hold a listed key (`rows_touched`), not from the list's length.
struct KeyListPlan {
  int64_t rows_touched = 0;
  int64_t row_groups_touched = 0;
  int partitions = 1;
};

/// The plan for reading `key_in` (sorted, encoded) from `files` with up to
/// `max_partitions` partitions.
KeyListPlan PlanKeyList(const std::vector<std::shared_ptr<OpenedFile>>& files,
                        const std::vector<std::string>& key_in, int max_partitions);

/// Opens the planned files and returns a reader of the merged result.
/// Memory: threads x (runs x batch + queued batches), where a run is a file or
/// a chain of key-disjoint files of consecutive ranks read one after another.
arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> MakeScanReader(
    std::shared_ptr<io::Storage> storage, std::shared_ptr<const ScanShape> shape,
    std::vector<planning::PlannedFile> files, ScanReaderOptions options);

}  // namespace bazof::read

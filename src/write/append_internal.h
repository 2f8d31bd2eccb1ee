// The two halves of an append, shared with staged commits (stage.cc):
// writing sorted data files, and committing files as one version.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>

#include <memory>
#include <string>
#include <vector>

#include "bazof/snapshot.h"
#include "bazof/table.h"
#include "bazof/write.h"

namespace bazof::write {

/// Data files written from an input, in write order.
struct WrittenFiles {
  std::vector<DataFileRef> files;
  int64_t rows = 0;
  int64_t spilled_runs = 0;
  int64_t spilled_bytes = 0;
  int64_t merge_passes = 0;
  int64_t memory_limit_bytes = 0;  ///< the budget resolved
};

/// How WriteInputFiles sorts and cuts its input.
struct WriteInputOptions {
  std::string source = "input";  ///< names the input in errors
  int64_t chunk_rows = 1 << 20;  ///< most rows per data file
  int64_t memory_limit_bytes = 0;  ///< AppendOptions::memory_limit_bytes
  std::string spill_dir;           ///< AppendOptions::spill_dir
};

/// Normalizes, validates, sorts (stably, by key then event time, the whole
/// input, externally beyond the memory budget) and writes every row of
/// `rows` as data files of `schema` under data/ (names for version
/// `planned`) of at most chunk_rows rows each, in sorted order. Errors name
/// `source`.
arrow::Result<WrittenFiles> WriteInputFiles(const Table& table, const TableSchema& schema,
                                            arrow::RecordBatchReader& rows, const WriteInputOptions& options,
                                            Version planned);

/// True if both schemas have the same columns (names, ids, types) in order.
bool SameSchema(const TableSchema& a, const TableSchema& b);

/// Commits `files` (written for `schema`, in tie order) as one new version
/// over `base`, rebasing onto newer versions up to max_attempts times;
/// kConflict if the table's schema is no longer `schema`. The commit adds
/// the files' lateness behind the base's watermark to the profile, and
/// advances the watermark to `watermark` if given (kInvalidArgument if that is
/// before the watermark of the version it lands on).
arrow::Result<CommitResult> CommitFiles(const std::shared_ptr<Table>& table,
                                        std::shared_ptr<const Snapshot> base, const TableSchema& schema,
                                        const std::vector<DataFileRef>& files, int64_t rows,
                                        const std::string& operation, int max_attempts,
                                        std::optional<EventTime> watermark = std::nullopt);

}  // namespace bazof::write

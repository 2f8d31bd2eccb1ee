// Staged commits: many processes write data files, one commits them all as
// one version (docs/spec.md, "Staged commits"). Engines such as Spark and Ray
// stage on workers and commit on the driver.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bazof/snapshot.h"
#include "bazof/table.h"
#include "bazof/write.h"

namespace bazof {

/// Version of the staged-files JSON this build writes and reads.
inline constexpr int kStagedFormat = 1;

/// What Stage() wrote: data files under the table's data/ directory, not yet
/// part of any version. Plain data; serialize it to ship it to the committer.
struct StagedFiles {
  std::string table;        ///< informational: where the table was
  Version staged_against;   ///< the version whose schema the files were written with
  int64_t task = 0;         ///< StageOptions::task
  int64_t sequence = 0;     ///< StageOptions::sequence
  TableSchema schema;       ///< the schema the files were written with
  /// The files with the statistics a snapshot records (rows, size, tombstones,
  /// event-time and key ranges), in write order.
  std::vector<DataFileRef> files;
  int64_t rows = 0;

  /// JSON text with a "staged_format" field.
  arrow::Result<std::string> ToJson() const;
  /// Parses ToJson()'s output. kInvalidArgument naming the problem for
  /// anything malformed, including file names outside data/.
  static arrow::Result<StagedFiles> FromJson(std::string_view json);
};

struct StageOptions {
  /// Orders descriptors at commit: on equal (key, event time), a row of a
  /// higher (task, sequence) wins; within one Stage() call the later row wins.
  int64_t task = 0;
  int64_t sequence = 0;
  /// Names the input in error messages.
  std::string source = "input";
  /// Rows sorted in memory at a time (AppendOptions::chunk_rows).
  int64_t chunk_rows = 1 << 20;
};

/// Validates, sorts and writes every row of `rows` as Append() would (the
/// same columns, `_deleted` tombstones, type conversions) under unique names
/// in data/, without committing: no reader sees them until CommitStaged().
/// Zero rows: a descriptor with no files. Thread-safe; any process may stage.
arrow::Result<StagedFiles> Stage(const Table& table, arrow::RecordBatchReader& rows,
                                 const StageOptions& options = {});

struct CommitStagedOptions {
  /// Recorded in the snapshot's commit.operation.
  std::string operation = "append";
  /// Commit attempts when another writer wins the race (staged appends rebase).
  int max_attempts = 20;
};

/// Publishes the files of every descriptor as ONE new version, ordered by
/// (task, sequence) then list order, so later tasks win ties. Another
/// writer's commit in between is rebased over (as Append does). Refuses
/// (nothing committed) descriptors written for another schema than the
/// table's (kConflict: stage again), file names outside data/ and files that
/// are missing or not of their recorded size (kInvalidArgument). Only empty
/// descriptors: nothing is committed (result.committed == false).
arrow::Result<CommitResult> CommitStaged(const std::shared_ptr<Table>& table,
                                         const std::vector<StagedFiles>& staged,
                                         const CommitStagedOptions& options = {});

/// Deletes the staged files (those already gone are skipped: idempotent).
/// Never call it for descriptors that were committed. Files of a process that
/// died before committing or aborting are removed by Vacuum() once older
/// than its grace period.
arrow::Status AbortStaged(const Table& table, const std::vector<StagedFiles>& staged);

}  // namespace bazof

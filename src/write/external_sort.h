// Sorting an append's rows by (key, event time), stably, within a memory
// budget: rows that fit are sorted in memory; beyond that, sorted runs are
// spilled to temporary Arrow IPC files and k-way merged (docs/spec.md §10a,
// "Appends larger than memory").
//
//   batches ──▶ pending (<= run_bytes) ──sort──▶ run 0, run 1, ... (IPC, spill dir)
//   end of input: no run spilled ──▶ sort pending, emit
//                 else spill the rest, merge runs fan_in at a time (in order)
//                 until one pass remains ──▶ emit the merge
//
// Stability across runs: runs hold consecutive stretches of the input, in
// order, and a merge takes equal (key, event time) rows from the earlier run
// first, so the emitted order is exactly that of one stable in-memory sort.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/io/type_fwd.h>
#include <arrow/ipc/type_fwd.h>
#include <arrow/util/type_fwd.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bazof/snapshot.h"

namespace bazof::write {

/// How an external sort divides its budget.
struct SortLimits {
  int64_t run_bytes = 0;    ///< input held before a run is sorted and spilled
  int64_t batch_bytes = 0;  ///< target size of a spilled run's batches
  int fan_in = 2;           ///< runs merged at once (more: several passes)
  std::string spill_dir;    ///< local directory of the spilled runs
  /// Compression of the spilled runs' buffers (Arrow IPC body compression).
  arrow::Compression::type codec = arrow::Compression::LZ4_FRAME;
  /// After a run is spilled, and after each `release_bytes` of merged
  /// output, the pool gives the memory it holds free back to the system
  /// (MemoryPool::ReleaseUnused). 0: never.
  int64_t release_bytes = 0;
};

/// `dir`, or when empty $TMPDIR, else /tmp.
std::string SpillDirOrDefault(std::string dir);

/// A read-write file in local directory `dir` that has no name (O_TMPFILE,
/// else created and unlinked at once): it vanishes when its last descriptor
/// closes, however the process ends. kIOError naming the directory.
arrow::Result<int> OpenSpillFile(const std::string& dir);

/// Batches spilled to an unnamed local file (OpenSpillFile) as Arrow IPC,
/// then read back by position. Errors name the directory. Not thread-safe.
struct SpilledRun {
  std::shared_ptr<arrow::ipc::RecordBatchFileReader> reader;
  int64_t bytes = 0;  ///< the file's size
};

class SpillWriter {
 public:
  static arrow::Result<std::unique_ptr<SpillWriter>> Open(const std::string& dir,
                                                          const std::shared_ptr<arrow::Schema>& schema,
                                                          arrow::Compression::type codec);
  ~SpillWriter();
  arrow::Status Write(const arrow::RecordBatch& batch);
  /// Batches written so far (the next one's position).
  int batches() const { return batches_; }
  /// Ends writing; the reader holds the file (it vanishes when the reader goes).
  arrow::Result<SpilledRun> Finish();

 private:
  SpillWriter() = default;
  std::string dir_;
  int batches_ = 0;
  std::shared_ptr<arrow::io::FileOutputStream> out_;
  std::shared_ptr<arrow::ipc::RecordBatchWriter> writer_;
};

/// How a budget is divided (docs/spec.md §10a): a quarter for a run's input
/// (sorting copies it); runs spilled in LZ4-compressed batches of
/// budget/1024 (64 KiB to 1 MiB); half the budget for the merge, which
/// holds about three batches per run (its current one, one the output still
/// references, their keys), so fan_in = budget/2 / (3 x batch), 2 to 512.
/// `spill_dir` empty: $TMPDIR, else /tmp. The environment variable
/// BAZOF_SPILL_CODEC (lz4, zstd or none) overrides the codec, for
/// benchmarks; another value is kInvalidArgument.
arrow::Result<SortLimits> LimitsForBudget(int64_t memory_limit, std::string spill_dir);

/// Sorts rows (of one schema: key column(s), event time, ...) stably by
/// (encoded key, event time). Not thread-safe. Spill files are created
/// already unlinked (O_TMPFILE, else removed right after creation), so the
/// system reclaims them however the process ends.
class ExternalSorter {
 public:
  using Sink = std::function<arrow::Status(const std::shared_ptr<arrow::RecordBatch>&)>;

  /// `num_keys`: the leading key columns; the event-time column follows them.
  static arrow::Result<std::unique_ptr<ExternalSorter>> Make(std::shared_ptr<arrow::Schema> schema,
                                                             const std::vector<ColumnSpec>& key_columns,
                                                             SortLimits limits);
  ~ExternalSorter();

  /// Adds rows (in `schema`); may sort and spill a run.
  arrow::Status Add(std::shared_ptr<arrow::RecordBatch> batch);
  /// Emits every row added, sorted, to `sink` in batches (none when no row
  /// was added). Call once.
  arrow::Status Finish(const Sink& sink);

  /// Runs sorted and spilled from the input (merge passes not counted).
  int64_t spilled_runs() const;
  /// Bytes written to spill files, merge passes included.
  int64_t spilled_bytes() const;
  /// Merge passes over the spilled runs, the final one included (0: none spilled).
  int64_t merge_passes() const;

 private:
  ExternalSorter();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bazof::write

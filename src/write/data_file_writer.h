// Writing one format-1 data file (docs/spec.md, "Data files").
#pragma once

#include <arrow/result.h>
#include <arrow/table.h>

#include <string>

#include "bazof/snapshot.h"
#include "io/storage.h"
#include "metadata/properties.h"

namespace bazof::write {

/// Default rows per Parquet row group.
inline constexpr int64_t kRowGroupRows = 128 * 1024;

/// A fresh, unique data-file name for a commit of version `v`.
std::string NewDataFileName(Version v);

/// The Arrow schema of a data file: key(s), event time, value columns (with
/// PARQUET:field_id), `_bazof_deleted` when `with_deleted`, `_bazof_version`
/// when `with_versions`.
std::shared_ptr<arrow::Schema> DataFileSchema(const TableSchema& schema, bool with_deleted,
                                              bool with_versions = false);

/// Writes one data file batch by batch, keeping the statistics a DataFileRef
/// records. Batches are in DataFileSchema order and, all together, sorted by
/// (key, event_time). Memory: the row group being filled. Not thread-safe.
class DataFileStream {
 public:
  /// Starts `name`. `version` is recorded as the committing/built-from version.
  /// `page_bytes` bounds pages and dictionaries: what each open file buffers
  /// per column (compaction keeps many files open at once).
  /// `parallel_columns`: encode the columns of a row group on Arrow's CPU
  /// thread pool (append; not from code already running on that pool).
  /// `page_rows`: most rows per data page (write.page_rows).
  /// Encodings are chosen by the first Write: a column whose first rows are
  /// (nearly) all distinct is written plain, the others dictionary-encoded
  /// while the dictionary stays small (docs/spec.md §6).
  static arrow::Result<std::unique_ptr<DataFileStream>> Open(io::Storage& storage,
                                                             const TableSchema& schema,
                                                             std::string name, Version version,
                                                             bool with_deleted, bool with_versions,
                                                             int64_t row_group_rows = kRowGroupRows,
                                                             int64_t page_bytes = metadata::kAppendedPageBytes,
                                                             bool parallel_columns = false,
                                                             int64_t page_rows = metadata::kDefaultPageRows);
  ~DataFileStream();

  arrow::Status Write(const arrow::RecordBatch& rows);
  /// Rows written so far.
  int64_t rows() const { return ref_.rows; }
  /// Bytes flushed to storage so far (completed row groups).
  int64_t bytes_flushed() const;
  /// Finishes the file and returns its metadata. On error the object is
  /// aborted (never published truncated).
  arrow::Result<DataFileRef> Close();
  /// Drops the file being written (a no-op after Close).
  void Abort();

 private:
  DataFileStream() = default;
  // Opens the Parquet writer; `first` (the first rows, or null) chooses
  // which columns skip the dictionary attempt.
  arrow::Status StartWriter(const arrow::RecordBatch* first);
  arrow::Status WriteImpl(const arrow::RecordBatch& rows);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  DataFileRef ref_;
};

/// Writes `rows` (in DataFileSchema order, already sorted by (key, event_time))
/// to `name` and returns its metadata: rows, size, tombstones, key and
/// event-time ranges. `version` is recorded as the committing/built-from version.
/// `page_rows`: most rows per data page.
arrow::Result<DataFileRef> WriteDataFile(io::Storage& storage, const TableSchema& schema,
                                         const std::string& name,
                                         const std::shared_ptr<arrow::Table>& rows,
                                         Version version, int64_t row_group_rows = kRowGroupRows,
                                         int64_t page_rows = metadata::kDefaultPageRows);

}  // namespace bazof::write

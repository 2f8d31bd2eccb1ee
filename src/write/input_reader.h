// Reading append input files (csv, jsonl, parquet) as Arrow batches typed by
// the table's schema, streaming (memory does not grow with the file).
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>

#include <optional>
#include <string>
#include <vector>

#include "bazof/progress.h"
#include "bazof/snapshot.h"

namespace bazof::write {

enum class InputFormat { kCsv, kJsonl, kParquet };

/// "csv", "jsonl" (or "json", "ndjson"), "parquet"; or from the file's
/// extension when `name` is empty.
arrow::Result<InputFormat> ResolveInputFormat(const std::string& name, const std::string& path);

/// How text inputs are read (docs/spec.md §10a, CSV options).
struct InputOptions {
  /// The CSV field delimiter.
  char csv_delimiter = ',';
  /// strptime formats (e.g. "%d/%m/%Y %H:%M") tried after ISO-8601 for
  /// timestamp columns of CSV and JSON Lines; no zone = UTC.
  std::vector<std::string> timestamp_formats;
  /// The CSV fields that are null (quoted or not). nullopt = the empty field
  /// only; an empty list = none (an empty field is then an empty string, and
  /// an error in a number column).
  std::optional<std::vector<std::string>> null_values;
  /// Progress of reading the input (include/bazof/progress.h): phase
  /// "read standard input" (unit "bytes", total unknown) for `-`, then phase
  /// "read input": unit "bytes" of the file (csv, jsonl) or "rows" (parquet,
  /// from its footer), ending when the reader returns its last batch.
  ProgressCallback progress;
  /// Where standard input is copied before it is read (an unnamed file,
  /// gone when the append ends); empty = $TMPDIR, else /tmp.
  std::string spill_dir;
};

/// Opens `path` (local path or URI). CSV and JSON values are parsed into the
/// table's types; errors while reading name the row and column (the caller,
/// Append, names the input).
arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenInput(const std::string& path,
                                                                   InputFormat format,
                                                                   const TableSchema& schema,
                                                                   const InputOptions& options = {});

}  // namespace bazof::write

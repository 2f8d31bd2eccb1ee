// Reading append input files (csv, jsonl, parquet) as Arrow batches typed by
// the table's schema, streaming (memory does not grow with the file).
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>

#include <string>

#include "bazof/snapshot.h"

namespace bazof::write {

enum class InputFormat { kCsv, kJsonl, kParquet };

/// "csv", "jsonl" (or "json", "ndjson"), "parquet"; or from the file's
/// extension when `name` is empty.
arrow::Result<InputFormat> ResolveInputFormat(const std::string& name, const std::string& path);

/// Opens `path` (local path or URI). CSV and JSON values are parsed into the
/// table's types; errors while reading name the row and column (the caller,
/// Append, names the input).
arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenInput(const std::string& path,
                                                                   InputFormat format,
                                                                   const TableSchema& schema);

}  // namespace bazof::write

// Rendering a scan result for the CLI: table (people), csv, json lines, parquet.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>

#include <string>

namespace bazof::cli {

enum class OutputFormat { kTable, kCsv, kJson, kParquet };

/// "table", "csv", "json" or "parquet"; kInvalidArgument otherwise.
arrow::Result<OutputFormat> ParseOutputFormat(const std::string& name);

/// Writes every batch of `reader` (up to `limit` rows; < 0 = all) to
/// `output_path`, or to stdout when it is empty (not allowed for parquet).
/// Timestamps render as ISO-8601 UTC ending in Z; nulls are empty in csv,
/// null in json and "null" in table.
arrow::Status WriteResult(arrow::RecordBatchReader& reader, OutputFormat format,
                          const std::string& output_path, int64_t limit);

}  // namespace bazof::cli

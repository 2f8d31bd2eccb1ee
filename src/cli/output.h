// Rendering a scan result for the CLI: table (people), csv, json lines, parquet.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>

#include <CLI/CLI.hpp>

#include <string>

namespace bazof::cli {

enum class OutputFormat { kTable, kCsv, kJson, kParquet };

/// "table", "csv", "json" or "parquet"; kInvalidArgument otherwise.
arrow::Result<OutputFormat> ParseOutputFormat(const std::string& name);

/// Writes every batch of `reader` (up to `limit` rows; < 0 = all) to
/// `output_path`, or to stdout when it is "-" or empty (empty is refused for
/// parquet, so binary never reaches a terminal by default). An existing
/// regular file is refused unless `overwrite`, before anything is read.
/// Timestamps render as ISO-8601 UTC ending in Z; nulls are empty in csv,
/// null in json and "null" in table.
arrow::Status WriteResult(arrow::RecordBatchReader& reader, OutputFormat format,
                          const std::string& output_path, int64_t limit, bool overwrite = false);

/// The checks WriteResult makes before writing, for commands that want to
/// fail before opening the table: parquet needs an output, and an existing
/// file needs `overwrite`.
arrow::Status CheckOutput(OutputFormat format, const std::string& output_path, bool overwrite);

/// The flags of every command that returns rows: --format, --output,
/// --overwrite and --limit.
struct ResultFlags {
  std::string format = "table";
  std::string output;
  bool overwrite = false;
  int64_t limit = -1;
  void Add(CLI::App* cmd);
  /// The format, once the flags are checked (before the table is opened).
  arrow::Result<OutputFormat> Check() const;
  /// WriteResult with these flags.
  arrow::Status Write(arrow::RecordBatchReader& reader) const;
};

}  // namespace bazof::cli

// Checking that a table obeys docs/spec.md: metadata, the files it names, and
// (deep) the rows in them. See docs/spec.md, "Validation".
#pragma once

#include <arrow/result.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bazof/storage_options.h"
#include "bazof/event_time.h"

namespace bazof {

namespace io {
class Storage;
}

struct ValidateOptions {
  /// Check only this version (and its link to the previous one); nullopt =
  /// every retained version.
  std::optional<Version> version;
  /// Also read every row of every data file: actual row and tombstone
  /// counts, event-time and key ranges, sort order, one row per key in
  /// bases, no null keys or event times; and decode every page of every
  /// column, verifying its CRC. Files written without page CRCs are listed
  /// in ValidationReport::unverifiable. Otherwise files are checked from
  /// their Parquet footers (size, rows, schema, column statistics).
  bool deep = false;
};

/// One thing that is wrong, with the object it is wrong about.
struct ValidationProblem {
  /// What is wrong: "version.txt", "s3.json", "s3.json: segment 'seg-1'",
  /// "data/v2-….parquet" (a name relative to the table root).
  std::string object;
  std::string problem;
  /// Versions whose snapshot shows the problem (ascending); empty when it is
  /// not about particular versions (the version pointer, a stray file).
  std::vector<Version> versions;

  /// "<object>: <problem> (versions 2-5)".
  std::string ToString() const;
};

/// The outcome of a validation: every problem found, not just the first.
struct ValidationReport {
  std::string table;                    ///< the table root, as shown in messages
  std::vector<Version> versions_checked;  ///< snapshots examined, ascending
  int64_t files_checked = 0;            ///< distinct data files examined
  bool deep = false;
  std::vector<ValidationProblem> problems;  ///< in the order found
  /// Deep only: data files written without page checksums (older bazof,
  /// other writers). Their pages decoded, but a flipped bit in them cannot be
  /// told from data: they are neither problems nor verified (docs/spec.md
  /// §6.1). `problem` says why.
  std::vector<ValidationProblem> unverifiable;

  /// No problems. (Unverifiable files do not make a table invalid.)
  bool ok() const { return problems.empty(); }
  /// Deep, no problems, and every data file's pages verified by CRC.
  bool verified() const { return deep && problems.empty() && unverifiable.empty(); }
};

/// Validates the table `name` under `location` (as Table::Open takes them).
/// Problems with the table are returned in the report, never as an error;
/// the result is an error only when the table cannot be found (kNotFound),
/// the requested version does not exist or was vacuumed (kNotFound), or
/// the storage cannot be listed (kIOError). Reads only; never writes.
arrow::Result<ValidationReport> ValidateTable(const std::string& location, const std::string& name,
                                              const ValidateOptions& options = {},
                                              const StorageOptions& storage_options = {});

/// Same, on a Storage rooted at the table's directory.
arrow::Result<ValidationReport> ValidateTable(const std::shared_ptr<io::Storage>& storage,
                                              const ValidateOptions& options = {});

}  // namespace bazof

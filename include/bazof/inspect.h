// Looking at a table's past: its commits, and every event of one key.
#pragma once

#include <arrow/result.h>
#include <arrow/table.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bazof/table.h"

namespace bazof {

/// One committed version.
struct LogEntry {
  Version version;
  std::optional<CommitInfo> commit;  ///< nullopt for legacy snapshots
};

/// Every retained version, from Table::OldestVersion() to the current one,
/// in order (versions removed by vacuum are not listed). O(versions)
/// snapshot reads.
arrow::Result<std::vector<LogEntry>> ReadLog(const Table& table);

/// The log as a table, one row per entry: version (int64), timestamp
/// (string, RFC 3339 wall clock; null for legacy), operation (string;
/// "legacy" for legacy snapshots), rows_added, files_added, files_removed
/// (int64; null for legacy), description (string; what an alter changed;
/// null for legacy). The CLI's `log` prints this table.
arrow::Result<std::shared_ptr<arrow::Table>> LogTable(const std::vector<LogEntry>& log);

/// A wall-clock commit time (microseconds since 1970-01-01T00:00:00Z): when
/// a version was committed, as its CommitInfo::timestamp records. Not an
/// event time.
struct CommitTime {
  int64_t micros = 0;
};

/// Parses a commit time as ParseEventTime parses event times ("2024-05-01",
/// "2024-05-01T12:00:00Z", offsets); kInvalidArgument naming `what`.
arrow::Result<CommitTime> ParseCommitTime(std::string_view text, std::string_view what = "commit time");

/// The latest retained version committed at or before `t` (commit-time
/// travel, docs/spec.md "Commit-time travel"). kNotFound when `t` precedes
/// the first retained commit; kInvalidArgument when no retained version
/// records a commit time (legacy tables). O(versions) snapshot reads.
arrow::Result<Version> VersionAtCommitTime(const Table& table, CommitTime t);

/// Every event of one key committed in versions <= `version` (default:
/// current), in event-time order (ties: commit order). Columns: the key
/// column(s), the event-time column, `version` (int64, the committing
/// version), `deleted` (bool), then the value columns. `key` gives
/// (column, value) per key column as PutRequest does.
arrow::Result<std::shared_ptr<arrow::Table>> KeyHistory(
    const Table& table, const std::vector<std::pair<std::string, std::string>>& key,
    std::optional<Version> version = std::nullopt);

}  // namespace bazof

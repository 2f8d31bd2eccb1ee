// The as-of join (point-in-time join): for every row of a "spine" of
// (key, time) rows, the table's state of that key as of that row's time
// (docs/spec.md, "As-of join").
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/table.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bazof/event_time.h"

namespace bazof {

class Table;

/// Options of an as-of join, validated by JoinAsOfBuilder::Build().
struct JoinAsOfOptions {
  /// The spine's time column: a timestamp (any unit, any zone) or a date
  /// (midnight UTC). Required.
  std::string on;
  /// The spine's key columns, matched in order to the table's key columns.
  /// Empty = the table's key column names.
  std::vector<std::string> by;
  /// Value columns of the table to return; nullopt = all of them.
  std::optional<std::vector<std::string>> columns;
  /// Bitemporal form: only events committed in versions <= version count
  /// ("as known at version V"). nullopt = the current version.
  std::optional<Version> version;
  /// Appended to a table column's name while it equals a spine column's (or
  /// an earlier output column's) name.
  std::string suffix = "_right";
  int64_t batch_size = 64 * 1024;
  /// Threads reading the table's data files (one file per thread at a time);
  /// 0 = number of cores.
  int threads = 0;
  /// Memory budget of the table-side reads in bytes (docs/spec.md, "Memory
  /// budget"); the spine and the result are the caller's. 0 = the table's
  /// memory.limit property (default 512 MiB); below 32 MiB: kInvalidArgument.
  int64_t memory_limit_bytes = 0;
};

/// A planned as-of join. Thread-safe; each ToReader() call runs the join again.
class JoinAsOf {
 public:
  virtual ~JoinAsOf() = default;
  /// Output schema: the spine's columns as given, then the table's event-time
  /// column (the matched event's time) and the requested value columns (all
  /// nullable; renamed by the suffix rule on collision).
  virtual std::shared_ptr<arrow::Schema> schema() const = 0;
  /// The data files the join reads (after pruning to the spine's keys).
  virtual std::vector<std::string> files() const = 0;
  /// Runs the join: every spine row, in spine order. A spine row whose key or
  /// time is null, whose key has no event at or before its time, or whose
  /// last such event is a tombstone gets nulls in the table's columns.
  /// Memory: the spine, its sort permutation and about 24 bytes per spine row
  /// and thread for candidates, the matched rows (returned columns only), and
  /// per thread the decoded columns of one row group.
  virtual arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> ToReader() const = 0;
  /// Runs the join into one table.
  arrow::Result<std::shared_ptr<arrow::Table>> ToTable() const;
};

/// Builds an as-of join of `spine` against `table`. Build() checks the
/// spine's columns against the table (a missing column, a key column of an
/// incompatible type, or a time column that is neither timestamp nor date is
/// kInvalidArgument naming the column).
class JoinAsOfBuilder {
 public:
  JoinAsOfBuilder(std::shared_ptr<const Table> table, std::shared_ptr<arrow::Table> spine)
      : table_(std::move(table)), spine_(std::move(spine)) {}
  JoinAsOfBuilder& On(std::string column) { options_.on = std::move(column); return *this; }
  JoinAsOfBuilder& By(std::vector<std::string> columns) { options_.by = std::move(columns); return *this; }
  JoinAsOfBuilder& Columns(std::vector<std::string> columns) { options_.columns = std::move(columns); return *this; }
  JoinAsOfBuilder& AtVersion(Version v) { options_.version = v; return *this; }
  JoinAsOfBuilder& Threads(int n) { options_.threads = n; return *this; }
  JoinAsOfBuilder& MemoryLimit(int64_t bytes) { options_.memory_limit_bytes = bytes; return *this; }
  JoinAsOfBuilder& BatchSize(int64_t n) { options_.batch_size = n; return *this; }
  JoinAsOfBuilder& Options(JoinAsOfOptions o) { options_ = std::move(o); return *this; }
  arrow::Result<std::shared_ptr<JoinAsOf>> Build() const;

 private:
  std::shared_ptr<const Table> table_;
  std::shared_ptr<arrow::Table> spine_;
  JoinAsOfOptions options_;
};

/// Convenience: the join of a spine stream (read whole into memory).
arrow::Result<std::shared_ptr<JoinAsOf>> MakeJoinAsOf(std::shared_ptr<const Table> table,
                                                      arrow::RecordBatchReader& spine,
                                                      JoinAsOfOptions options);

}  // namespace bazof

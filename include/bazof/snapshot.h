// The metadata model: one immutable snapshot per table version.
// See docs/spec.md ("Snapshot JSON") for the persisted form.
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bazof/event_time.h"

namespace bazof {

/// Highest snapshot format this build reads and writes.
inline constexpr int kFormatVersion = 1;
/// Reserved column: true marks a tombstone row.
inline constexpr const char* kDeletedColumn = "_bazof_deleted";
/// Reserved column of compacted files: the version that committed each row's
/// event (informational: history reports it; no scan depends on it).
inline constexpr const char* kVersionColumn = "_bazof_version";
/// Prefix of every reserved column name.
inline constexpr const char* kReservedPrefix = "_bazof_";

/// One column of the table: a stable id, a name and an Arrow type.
struct ColumnSpec {
  std::string name;
  int32_t id = 0;  ///< 0 = unknown (legacy tables); ids are never reused.
  std::shared_ptr<arrow::DataType> type;
  bool nullable = true;
};

/// The table's columns: key column(s), the event-time column, value columns.
struct TableSchema {
  std::vector<ColumnSpec> key_columns;
  ColumnSpec event_time;
  std::vector<ColumnSpec> value_columns;
  int32_t next_column_id = 1;

  /// Index into value_columns of the column named `name`, or -1.
  int FindValueColumn(const std::string& name) const;
};

/// A key value: one scalar per key column (typed as the key columns).
using KeyValue = std::vector<std::shared_ptr<arrow::Scalar>>;

/// A Parquet data file referenced by a snapshot.
struct DataFileRef {
  std::string path;                ///< relative to the table root, '/'-separated
  std::optional<EventTime> start;  ///< smallest event time in the file (legacy: declared start)
  std::optional<EventTime> end;    ///< largest event time in the file (legacy: declared end)
  std::optional<Version> version;  ///< delta: committing version; base: built_from_version
  int64_t rows = -1;               ///< -1 = not recorded
  int64_t size = -1;               ///< bytes; -1 = not recorded
  int64_t tombstones = -1;         ///< -1 = not recorded
  KeyValue min_key, max_key;       ///< empty = not recorded
  bool sorted = false;             ///< rows sorted by (key, event_time)
};

/// A range of event time [start, end] with an optional base (the table's state
/// at `start`) and the deltas (events) filed under it. Legacy tables nest
/// segments; format-1 tables do not.
struct Segment {
  std::string id;
  EventTime start;
  std::optional<EventTime> end;  ///< inclusive; nullopt = open-ended
  std::optional<DataFileRef> base;
  std::vector<DataFileRef> deltas;
  std::vector<Segment> segments;

  /// True if start <= t <= end (open-ended: start <= t).
  bool Covers(EventTime t) const { return start <= t && (!end || t <= *end); }
};

/// What a commit did (format 1; legacy snapshots have none).
struct CommitInfo {
  std::string operation;
  std::string timestamp;  ///< wall clock, RFC 3339 UTC
  int64_t rows_added = 0;
  std::vector<std::string> files_added;
  std::vector<std::string> files_removed;
};

/// One version of a table, as read from s<N>.json.
struct Snapshot {
  int format_version = 0;  ///< 0 = legacy (bazof 0.1 / azof 0.2)
  Version version;
  TableSchema schema;
  bool schema_recorded = true;  ///< false for bazof 0.1 (schema inferred from data)
  std::optional<CommitInfo> commit;
  /// Table properties (docs/spec.md, "Table properties"): string to string,
  /// carried from version to version; unknown names are kept as they are.
  std::map<std::string, std::string> properties;
  std::vector<Segment> segments;

  /// Every data file the snapshot references (bases and deltas, nested too).
  std::vector<const DataFileRef*> AllFiles() const;
};

}  // namespace bazof

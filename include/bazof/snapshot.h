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

/// Highest snapshot format this build reads and writes. Writers write
/// format 1 unless the snapshot has a history horizon, which needs format 2
/// (docs/spec.md, "Format versions"); readers read 1 and 2.
inline constexpr int kFormatVersion = 2;
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
  /// A short human-readable account of the change (alter: "add column 'c'
  /// int32"); empty = none. Informational.
  std::string description;
};

/// Upper bounds (inclusive, microseconds) of the lateness histogram's
/// buckets; one more bucket holds everything later than the last bound.
/// Frozen: persisted as bucket counts (docs/spec.md, "Completeness watermark").
inline constexpr int64_t kLatenessBucketBounds[] = {
    1000000LL,            // 1 s
    60000000LL,           // 1 min
    3600000000LL,         // 1 h
    86400000000LL,        // 1 d
    7 * 86400000000LL,    // 7 d
    30 * 86400000000LL,   // 30 d
    365 * 86400000000LL,  // 365 d
};
inline constexpr size_t kLatenessBuckets = sizeof(kLatenessBucketBounds) / sizeof(int64_t) + 1;

/// How late events arrived behind the watermark, over the whole history of
/// the table (cumulative from version to version). An event committed in
/// version V is late if version V-1 had a watermark W and its event time is
/// <= W; its lateness is W minus its event time.
struct LatenessProfile {
  int64_t count = 0;   ///< late events (tombstones included)
  int64_t max_us = 0;  ///< greatest lateness (0 if count == 0)
  /// Late events per bucket of kLatenessBucketBounds (kLatenessBuckets long,
  /// or empty when count == 0).
  std::vector<int64_t> buckets;

  /// Adds one late event of lateness `us` (>= 0).
  void Add(int64_t us);
  /// Adds another profile's counts.
  void Merge(const LatenessProfile& other);
  /// An upper bound of the q-quantile (0 < q <= 1) of lateness: the bound
  /// of the bucket holding it, capped at max_us. 0 if count == 0.
  int64_t Quantile(double q) const;
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
  /// Completeness watermark: scans as of T <= watermark are complete (the
  /// writers promise no more events at or before it, though late ones are
  /// accepted and counted in `lateness`). nullopt = none set. Monotonic.
  std::optional<EventTime> watermark;
  /// Lateness of the events that arrived behind the watermark.
  LatenessProfile lateness;
  /// History horizon: events before it were collapsed into each key's state
  /// at it, so scans as of T < horizon are refused. nullopt = full history.
  std::optional<EventTime> horizon;
  /// Set by Forget (its own version F): vacuum expires every version below
  /// it, whatever the retention rules. Carried forward. nullopt = none.
  std::optional<Version> erase_below;

  /// Every data file the snapshot references (bases and deltas, nested too).
  std::vector<const DataFileRef*> AllFiles() const;
};

}  // namespace bazof

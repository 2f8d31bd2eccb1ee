// Views of a table's timeline (docs/spec.md, "Validity intervals" and
// "Changes"): validity intervals (SCD type 2) and the changes between two
// (event time, version) points. Both are streamed from merges of the sorted
// runs (intervals: the all-events merge; changes: two as-of merges joined by
// key) and returned as a Scan, like ScanBuilder::Build().
#pragma once

#include <arrow/compute/expression.h>
#include <arrow/result.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bazof/event_time.h"
#include "bazof/table.h"

namespace bazof {

/// Options of MakeIntervals().
struct IntervalOptions {
  /// Keep intervals overlapping [start, end): valid_from < end and (valid_to
  /// is null or valid_to > start). Times are never clipped. nullopt =
  /// unbounded on that side.
  std::optional<EventTime> start, end;
  std::optional<Version> version;  ///< nullopt = current version
  /// Value columns to return; nullopt = all.
  std::optional<std::vector<std::string>> columns;
  /// Keeps only intervals for which it is true. May name key columns,
  /// valid_from, valid_to and any value column of the table. Comparisons of
  /// a single key column with literals also narrow the key range read.
  std::optional<arrow::compute::Expression> filter;
  /// false (default): one interval per event (an SCD2 row per event, even if
  /// its values equal the previous event's). true: consecutive events whose
  /// returned value columns are equal form one interval (dbt's "check"
  /// snapshots).
  bool coalesce = false;
  /// Keep only keys in [encoded_key_lower, encoded_key_upper), in the
  /// encoded form of ScanOptions::encoded_key_lower (a split's key range,
  /// bazof/split.h); nullopt = unbounded on that side.
  std::optional<std::string> encoded_key_lower, encoded_key_upper;
  int64_t batch_size = 64 * 1024;
  int threads = 0;  ///< merge threads; 0 = number of cores
};

/// Validity intervals: for each key and each event that is not a tombstone,
/// one row: key column(s), `valid_from` (the event's time), `valid_to` (the
/// key's next event time, tombstones included; null while current), then the
/// value columns. Rows sorted by (key, valid_from). Same tie rules as scans.
/// kInvalidArgument for unknown columns, a bad filter, start >= end, or a
/// bazof 0.1 / azof 0.2 table.
arrow::Result<std::shared_ptr<Scan>> MakeIntervals(const Table& table, const IntervalOptions& options);

/// Options of MakeChanges(): the old point (from_time, from_version) and the
/// new one (to_time, to_version).
struct ChangeOptions {
  EventTime from_time = EventTime::Max();  ///< inclusive; Max() = latest
  EventTime to_time = EventTime::Max();    ///< inclusive; Max() = latest
  std::optional<Version> from_version;     ///< nullopt = current version
  std::optional<Version> to_version;       ///< nullopt = current version
  /// Value columns compared and returned; nullopt = all.
  std::optional<std::vector<std::string>> columns;
  int64_t batch_size = 64 * 1024;
  int threads = 0;  ///< merge threads in all, half to each as-of scan (at least one); 0 = number of cores
  /// The memory budget (docs/spec.md §22); 0 = the to-version's memory.limit
  /// property, else 512 MiB. The key side holds at most three quarters of
  /// it; the merge-join's two scans each run under half (at least the
  /// minimum).
  int64_t memory_limit_bytes = 0;
  /// Keep only keys in [encoded_key_lower, encoded_key_upper), in the
  /// encoded form of ScanOptions::encoded_key_lower (a split's key range,
  /// bazof/split.h); nullopt = unbounded on that side.
  std::optional<std::string> encoded_key_lower, encoded_key_upper;
};

/// The keys whose state differs between scan(from_time, from_version) and
/// scan(to_time, to_version): key column(s), `kind` (utf8: "insert", "update"
/// or "delete"), `old_<event time column>`, `new_<event time column>`, then
/// `old_<c>`, `new_<c>` per value column c (null on the absent side). A key
/// present at both points counts as changed when a returned value column
/// differs (nulls equal nulls, NaN equals NaN); a new event with the same
/// values is no change. Rows sorted by key. Columns the older version lacks
/// read as null. Evaluated key side first (docs/spec.md §19.3): each point's
/// winners from the files' key and event-time columns, values decoded only
/// for the keys whose winners differ; the answer is materialized (memory
/// grows with the keys, within three quarters of the memory budget). Tables it does not apply to (format 0, unsorted
/// files, event time other than timestamp[us], more keys than the budget
/// holds) get a streaming merge-join by key of the two as-of merges instead.
arrow::Result<std::shared_ptr<Scan>> MakeChanges(const Table& table, const ChangeOptions& options);

}  // namespace bazof

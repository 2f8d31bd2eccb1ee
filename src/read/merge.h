// The streaming as-of merge of sorted runs (docs/spec.md, "Read semantics").
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "bazof/event_time.h"
#include "read/run_reader.h"

namespace bazof::read {

/// What a merge emits per key.
enum class MergeMode {
  /// The as-of winner: the row with the greatest (event_time, run rank, row
  /// position) among rows with event_time <= as_of, unless it is a tombstone.
  kAsOf,
  /// Every event time of the key up to as_of, ascending, each represented
  /// by its tie winner (greatest run rank, then row position), tombstones
  /// included; the output schema ends with `_bazof_deleted` and
  /// `_bazof_version` (the version that committed each event).
  /// Compaction rewrites tables from this stream.
  kAllEvents,
  /// Validity intervals (docs/spec.md §19.1) computed from the kAllEvents
  /// stream of each key as it is merged: per non-tombstone event, its
  /// values with `valid_from` (its time) and `valid_to` (the next event's
  /// time, null for the last), windowed and optionally coalesced as
  /// IntervalSpec says. The output schema is keys, valid_from, valid_to,
  /// values (see IntervalSchema).
  kIntervals,
};

/// What kIntervals keeps (docs/spec.md §19.1): rows overlapping [start, end)
/// (times in microseconds); with `coalesce`, consecutive events whose first
/// `compared` value columns are equal form one row. `num_keys`: the runs'
/// key columns (their batches are keys, event time, values).
struct IntervalSpec {
  size_t num_keys = 0;
  int64_t start = INT64_MIN;
  int64_t end = INT64_MAX;
  bool coalesce = false;
  int compared = 0;
};

/// The kIntervals output schema for a scan shape's output schema (keys,
/// event time, values): the event-time field becomes `valid_from` and a
/// nullable `valid_to` of the same type follows it.
std::shared_ptr<arrow::Schema> IntervalSchema(const arrow::Schema& scan_schema, size_t num_keys);

/// Merges runs sorted by (key, event_time). Output is sorted by key (then
/// event time), in batches of about batch_size rows; a key's rows are never
/// split across batches. Memory: at most about three batches per run (the
/// current one and those the output batch still gathers from) plus one output
/// batch.
class MergeReader {
 public:
  MergeReader(std::vector<std::unique_ptr<RunSource>> runs, std::shared_ptr<arrow::Schema> schema,
              EventTime as_of, std::vector<std::string> key_in, int64_t batch_size,
              MergeMode mode = MergeMode::kAsOf, IntervalSpec intervals = {});
  ~MergeReader();

  /// Next output batch, or nullptr at the end.
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Next();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bazof::read

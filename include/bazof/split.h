// Scan splits: one pinned scan cut into key ranges that other processes (or
// machines) read independently (docs/spec.md, "Scan splits"). Engines such as
// Spark and Ray plan splits on a driver and ship them to workers as JSON.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bazof/event_time.h"
#include "bazof/snapshot.h"
#include "bazof/table.h"
#include "bazof/views.h"

namespace bazof {

/// Version of the split JSON this build writes and reads.
inline constexpr int kSplitFormat = 1;

/// What a split reads.
enum class SplitKind {
  kScan,    ///< each key's state as of the split's as-of (ScanBuilder's result)
  kEvents,  ///< every event up to as-of (ScanOptions::all_events)
  kIntervals,  ///< validity intervals (MakeIntervals, bazof/views.h)
  kChanges,    ///< the changes between two points (MakeChanges, bazof/views.h)
};

/// "scan", "events", "intervals" or "changes": the JSON's `kind`.
const char* KindName(SplitKind kind);

/// One key range of a pinned scan. Plain data: copy it, serialize it, read it
/// anywhere the table is reachable. The scan is pinned to `version`, so every
/// reader sees the same snapshot even if the table moves on.
struct Split {
  SplitKind kind = SplitKind::kScan;
  Version version;                                  ///< the table version read
  EventTime as_of = EventTime::Max();               ///< inclusive; Max() = latest
  std::optional<std::vector<std::string>> columns;  ///< nullopt = all value columns
  std::optional<std::string> filter;                ///< arrow::compute::Serialize bytes
  /// Key range [lower, upper) in the encoded key form (docs/spec.md, "Scan
  /// splits"); nullopt = unbounded on that side.
  std::optional<std::string> lower, upper;
  /// kIntervals: the window [start, end) (nullopt = unbounded) and whether
  /// equal consecutive values coalesce (IntervalOptions); `filter` is the
  /// intervals' filter and `as_of` is unused.
  std::optional<EventTime> start, end;
  bool coalesce = false;
  /// kChanges: the old point (from_time at from_version) and the new one
  /// (to_time at `version`), times inclusive (Max() = latest).
  EventTime from_time = EventTime::Max(), to_time = EventTime::Max();
  Version from_version;
  int index = 0;  ///< position among the planned splits (key order)
  int count = 1;  ///< number of planned splits
  /// Informational: estimated bytes and rows read (from file and row-group
  /// statistics) and the data files whose key range meets the split's.
  int64_t estimated_bytes = 0, estimated_rows = 0;
  std::vector<std::string> files;
  std::string table;  ///< informational: where the table was when planned

  /// JSON text (UTF-8) with a "split_format" field; byte strings as hex.
  std::string ToJson() const;
  /// Parses ToJson()'s output. kInvalidArgument naming the field for
  /// anything malformed (never a crash); newer split_format values refused.
  static arrow::Result<Split> FromJson(std::string_view json);
};

/// How PlanSplits cuts the key space.
struct SplitOptions {
  /// Bytes of data files each split should read (estimated). nullopt: 128
  /// MiB, or, when max_splits is set, the data cut into max_splits parts.
  std::optional<int64_t> target_bytes;
  /// At most this many splits (nullopt = no limit).
  std::optional<int> max_splits;
  SplitKind kind = SplitKind::kScan;
};

/// Plans the scan `scan` describes (as-of, version, columns, filter, key_in,
/// key_min/key_max, encoded key range) as splits in key order: disjoint
/// ranges, so that the union of the splits' results is the scan's result and
/// no key is in two splits. Without key restrictions they cover the whole
/// key space (the first open below, the last open above); with them (key
/// lists and ranges, or filter terms on the single key column: ==, is_in,
/// <, <=, >, >=), splits that hold none of the keys the scan can return are
/// dropped, and at least one split remains. Key lists and ranges travel in
/// each split's filter (as is_in / >= / <= terms on the key column). Cut
/// points come from the key statistics of the files the scan reads (Parquet
/// row-group min/max where present, else the snapshot's per-file min/max
/// keys), so that each split reads about target_bytes. Reads snapshot
/// metadata and Parquet footers, no data pages. The version is resolved now
/// (current version when the scan names none). kInvalidArgument for what
/// Build() refuses (bad key text, key lists on composite keys), an empty
/// encoded range, or bad options.
arrow::Result<std::vector<Split>> PlanSplits(const ScanBuilder& scan, const SplitOptions& options = {});

/// Plans the validity intervals `intervals` describes (bazof/views.h: start,
/// end, version, columns, filter, coalesce, encoded key range) as splits of
/// kind kIntervals. A key's intervals depend on its events alone, so each
/// split is a key range of the all-events stream, cut as PlanSplits cuts an
/// `events` scan (narrowed to the keys the filter's terms on a single key
/// column allow), and the concatenation of the splits' results in index
/// order is MakeIntervals' result. Validates the options as MakeIntervals
/// does (kInvalidArgument); the version is resolved now.
arrow::Result<std::vector<Split>> PlanIntervalSplits(const Table& table, const IntervalOptions& intervals,
                                                     const SplitOptions& options = {});

/// Plans the changes `changes` describes (bazof/views.h: both points, columns,
/// encoded key range) as splits of kind kChanges, both versions pinned now.
/// A key's change depends on its own events only, so each split is a key
/// range, cut as PlanSplits cuts the new point's as-of scan, and the
/// concatenation of the splits' results in index order is MakeChanges'
/// result. Validates the options as MakeChanges does.
arrow::Result<std::vector<Split>> PlanChangeSplits(const Table& table, const ChangeOptions& changes,
                                                   const SplitOptions& options = {});

/// The scan of one split on `table` (opened anywhere on the same storage):
/// the same Scan as ScanBuilder::Build() returns for the split's options,
/// restricted to its key range, at its pinned version (kNotFound, "... was
/// vacuumed ...", if that version is gone); for a kIntervals split, the
/// intervals MakeIntervals returns for its options and key range; for a
/// kChanges split, MakeChanges' rows for its points and key range. `threads`
/// and `batch_size` as in ScanOptions.
arrow::Result<std::shared_ptr<Scan>> ReadSplit(const Table& table, const Split& split, int threads = 0,
                                               int64_t batch_size = 64 * 1024);

}  // namespace bazof

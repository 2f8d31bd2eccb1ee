// The key side of changes (docs/spec.md §19.3): each point's winner per key
// found from the files' key and event-time columns alone, values taken only
// for the keys whose winners differ.
#pragma once

#include <arrow/api.h>

#include <memory>
#include <string>
#include <vector>

#include "bazof/snapshot.h"
#include "read/run_reader.h"

namespace bazof::read {

class FooterCache;

/// One side of a changes query: the as-of scan (snapshot, time) it stands
/// for and the columns it returns.
struct ChangesPoint {
  std::shared_ptr<const Snapshot> snapshot;
  EventTime time;
  std::shared_ptr<const ScanShape> shape;  ///< keys, event time, values
};

/// The keys whose winners differ between the points, in key order.
struct ChangedWinners {
  /// Key column(s) of the keys (the shapes' key types), one row per key.
  arrow::ArrayVector keys;
  /// Per side (0 = old, 1 = new): event time and value columns (the side's
  /// shape output types, after the keys) of its winners, and per key its
  /// row there, or -1 when the key has no state at that point (no event at
  /// or before the time, or a tombstone).
  arrow::ArrayVector columns[2];
  std::vector<int64_t> rows[2];
};

/// Whether FindChangedWinners should answer for these points: format 1 files
/// all sorted by key, an event time of timestamp[us], and at least half of
/// the planned rows in files both points plan (where it pays).
bool KeySideApplies(const ChangesPoint& from, const ChangesPoint& to);

/// The share of the memory budget the key side may hold (its entries, the
/// winners and their decoded values): three quarters; the rest is for the
/// batches being read.
inline int64_t KeySideMemoryShare(int64_t memory_limit) { return memory_limit / 4 * 3; }

/// Every key whose winning stored event (file, row) differs between `from`
/// and `to`: the winners are found on the key side (keys and event times
/// of each planned file), and the event time, values and tombstone flag are
/// decoded only for those keys' winners (page-level reads where they are
/// sparse). Keys whose winner is the same stored event at both points are
/// left out (their state is the same) when `drop_same_winners`: the caller
/// passes false when the older version lacks a returned column (a rename
/// would then show the same stored event as null on the old side only).
/// Only keys in `range` (a split's: row groups whose key statistics miss it
/// are not read). `threads` >= 1. kCapacityError, before it holds more, when what it keeps
/// (each file's candidates, the winners, the estimated decoded values)
/// would exceed KeySideMemoryShare(memory_limit): the caller then answers
/// with the streaming merge-join.
arrow::Result<ChangedWinners> FindChangedWinners(io::Storage& storage, FooterCache* footer_cache,
                                                 const ChangesPoint& from, const ChangesPoint& to,
                                                 const KeyBounds& range, bool drop_same_winners, int threads,
                                                 int64_t memory_limit);

}  // namespace bazof::read

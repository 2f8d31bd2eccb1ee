// The table's timeline: completeness watermark, lateness profile, history
// horizon, forgetting keys (docs/spec.md §20).
#pragma once

#include <arrow/result.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bazof/event_time.h"
#include "bazof/snapshot.h"
#include "bazof/table.h"
#include "bazof/write.h"

namespace bazof {

/// Commits a version that only advances the completeness watermark to `t`
/// (operation "watermark"; no data). kInvalidArgument if `t` is before the
/// current watermark (watermarks never move back; an equal one is allowed).
/// Retries like an append when another writer commits first.
arrow::Result<CommitResult> SetWatermark(const std::shared_ptr<Table>& table, EventTime t);

/// Whether scan(as_of) at `snapshot` is complete: a watermark is set and
/// as_of <= watermark.
bool IsComplete(const Snapshot& snapshot, EventTime as_of);

/// The history horizon the table's retention.event_time property asks for
/// at `snapshot`: the watermark (or, without one, the greatest event time the
/// metadata records) minus the duration. nullopt if the property is not set
/// or the table holds no event. kCorruption if the property does not parse.
arrow::Result<std::optional<EventTime>> RetentionHorizon(const Snapshot& snapshot);

/// What a forget did.
struct ForgetResult {
  bool committed = false;         ///< false: no file of the current version holds the keys
  Version version;                ///< the new version F (when committed)
  int64_t events_removed = 0;     ///< rows removed (deltas and bases)
  int64_t files_rewritten = 0;    ///< files rewritten without the keys
  int64_t files_dropped = 0;      ///< files that held only the keys
  std::vector<std::string> files_added;
  std::vector<std::string> files_removed;
};

/// Forgets `keys` (single-column keys, as text parsed by the key's type;
/// docs/spec.md, "Forget"): every data file of the current version holding
/// one of them is rewritten without its rows (a file left empty is dropped),
/// committed as version F (operation "forget"; the keys themselves are not
/// recorded anywhere) whose snapshot has erase_below = F: the next vacuum
/// expires every version below F, whatever its retention rules, and deletes
/// the files only they reference. Until then, versions below F still return
/// the keys; afterwards no retained version does, and every other key reads
/// as before in every retained version. Events of the keys committed after F
/// are not affected. kConflict if another writer commits meanwhile (run it
/// again); kInvalidArgument for a key that does not parse. Composite keys
/// need ForgetKeys.
arrow::Result<ForgetResult> Forget(const std::shared_ptr<Table>& table, const std::vector<std::string>& keys);
/// Forget with keys of any arity, each as (column, value) text pairs (as
/// ScanBuilder::KeysIn and PutRequest::key take them): every key column
/// named once; a single-column key may leave its column empty.
/// kInvalidArgument for an unknown or missing key column or a value that
/// does not parse by its column's type.
arrow::Result<ForgetResult> ForgetKeys(const std::shared_ptr<Table>& table,
                                       const std::vector<std::vector<std::pair<std::string, std::string>>>& keys);

}  // namespace bazof

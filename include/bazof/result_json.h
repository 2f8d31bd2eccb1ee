// One JSON form of each operation's result, shared by the CLI's
// `--format json` and the Python package's result objects, so the two never
// disagree on a field (docs/spec.md, "Result JSON").
#pragma once

#include <string>

#include "bazof/compact.h"
#include "bazof/restore.h"
#include "bazof/vacuum.h"
#include "bazof/validate.h"
#include "bazof/write.h"

namespace bazof {

/// The JSON object `bazof compact --format json` prints for `r`, a
/// compaction of the table at `table` (its location). Fields from `version`
/// on are present only when a version was committed; `nothing_to_compact` and
/// `reason` always are. Compact (one line), UTF-8 (invalid bytes replaced).
std::string ToJson(const CompactResult& r, const std::string& table, bool dry_run);

/// The JSON object of a write (`bazof delete --format json`): table,
/// committed, version (null when nothing was committed), rows, files,
/// key_had_no_events, warning (empty when none), spilled_runs and
/// spilled_bytes; for an append (memory_limit_bytes > 0) also merge_passes,
/// memory_limit_bytes and peak_memory_bytes.
std::string ToJson(const CommitResult& r, const std::string& table);

/// The JSON object of a restore (`bazof restore --format json`): table,
/// version, restored_version, files, files_added, files_removed.
std::string ToJson(const RestoreResult& r, const std::string& table);

/// The JSON object of a predicate delete (`bazof delete --where ...
/// --format json`): table, dry_run, keys (the count), committed, version
/// (null when nothing was committed) and matched (the keys, each a list of
/// its key column values as text).
std::string ToJson(const DeleteWhereResult& r, const std::string& table, bool dry_run);

/// The JSON object `bazof validate --format json` prints: table, valid,
/// deep, versions_checked, files_checked, problems and unverifiable (lists of
/// {object, problem, versions}, plus `text`, the one-line form, when
/// `with_text`), verified.
std::string ToJson(const ValidationReport& r, bool with_text = false);

/// The JSON object `bazof vacuum --format json` prints for a vacuum of the
/// table at `table`.
std::string ToJson(const VacuumResult& r, const std::string& table);

}  // namespace bazof

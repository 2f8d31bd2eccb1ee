// The files of a table other than data files (docs/spec.md §3): their names,
// and reading the version pointer, snapshots and the retention hint.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "bazof/snapshot.h"
#include "io/storage.h"

namespace bazof::metadata {

/// The version pointer: decimal N, a hint (readers probe for newer snapshots).
inline constexpr const char* kVersionFile = "version.txt";
/// Written by vacuum before it deletes snapshots (docs/spec.md, "Vacuum and
/// retention"): which versions were vacuumed. A hint for messages and for
/// opening a table whose version pointer names a vacuumed version.
inline constexpr const char* kRetentionFile = "retention.json";

/// The largest version number (18 digits): versions are counted up from it
/// without overflow checks, so larger ones are corruption wherever read.
inline constexpr int64_t kMaxVersion = 999'999'999'999'999'999;

/// "s<N>.json".
std::string SnapshotFileName(int64_t version);

/// N for a name that is exactly "s<N>.json" (decimal, no leading zeros);
/// nullopt for anything else (including temporary files "s<N>.json.tmp-…").
std::optional<int64_t> ParseSnapshotFileName(std::string_view name);

/// Parses the content of version.txt (surrounding whitespace ignored).
/// kCorruption naming `what` (and quoting the text, escaped and cut) if it
/// is not a decimal from 0 to kMaxVersion.
arrow::Result<int64_t> ParseVersionPointer(const std::string& text, const std::string& what);

/// Reads and parses s<version>.json, checking that its `version` field
/// matches the name. kNotFound ("version N of table '…' does not exist (no
/// sN.json)") if the file is missing. Does not infer a bazof 0.1 schema.
arrow::Result<std::shared_ptr<Snapshot>> ReadSnapshotFile(io::Storage& storage, int64_t version);

/// bazof 0.1 snapshots carry no schema: fills the value columns from the
/// first data file the snapshot names (docs/spec.md §9). No-op otherwise.
arrow::Status InferLegacySchema(io::Storage& storage, Snapshot* snapshot);

/// Content of retention.json: versions first_version .. oldest_retained-1
/// were vacuumed; oldest_retained .. current are retained.
struct RetentionHint {
  int64_t oldest_retained = 0;
  int64_t first_version = 0;  ///< the table's first version (0 after create, 1 for gen/legacy)
};

/// retention.json, or nullopt if the table has none. kCorruption if it does
/// not parse (callers that only use it as a hint ignore that).
arrow::Result<std::optional<RetentionHint>> ReadRetentionHint(io::Storage& storage);

/// The JSON text of a retention hint.
std::string SerializeRetentionHint(const RetentionHint& hint);

}  // namespace bazof::metadata

// Snapshot <-> JSON (docs/spec.md, "Snapshot JSON").
#pragma once

#include <arrow/result.h>

#include <string>
#include <string_view>

#include "bazof/snapshot.h"

namespace bazof::metadata {

/// Parses s<N>.json. `what` names the file in errors. Refuses unsafe file
/// names and format versions newer than kFormatVersion. A legacy snapshot
/// without a schema gets schema_recorded = false and only key/event_time.
arrow::Result<Snapshot> ParseSnapshot(std::string_view json, std::string_view what);

/// Serializes a format-1 snapshot (pretty-printed, stable field order).
arrow::Result<std::string> SerializeSnapshot(const Snapshot& snapshot);

}  // namespace bazof::metadata

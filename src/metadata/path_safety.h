// File names in snapshots are relative to the table root and must never
// escape it (docs/spec.md, "Storage layout").
#pragma once

#include <arrow/status.h>

#include <string_view>

namespace bazof::metadata {

/// OK if `name` is a safe relative file name; kCorruption otherwise, saying
/// why. Refused: empty, absolute, '.'/'..' or empty segments, backslash, ':'
/// (schemes, drive letters), control characters.
arrow::Status CheckRelativeFileName(std::string_view name);

}  // namespace bazof::metadata

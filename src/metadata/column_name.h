// Rules for the names of new columns (create, alter).
#pragma once

#include <optional>
#include <string>

namespace bazof::metadata {

/// Why `name` cannot name a new column, or nullopt if it can. Empty names,
/// names starting with the reserved prefix "_bazof_" and "_deleted" (the
/// tombstone flag of write input) are refused.
std::optional<std::string> ColumnNameProblem(const std::string& name);

}  // namespace bazof::metadata

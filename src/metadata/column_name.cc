#include "metadata/column_name.h"

#include "bazof/snapshot.h"
#include "text_escape.h"

namespace bazof::metadata {

std::optional<std::string> ColumnNameProblem(const std::string& name) {
  if (name.empty()) return "empty column name";
  if (!IsValidUtf8(name)) return "column name '" + EscapeForMessage(name) + "' is not valid UTF-8";
  if (name.starts_with(kReservedPrefix) || name == "_deleted") {
    return "column name '" + name + "' is reserved";
  }
  return std::nullopt;
}

}  // namespace bazof::metadata

#include "metadata/key_text.h"

#include <arrow/type.h>
#include <arrow/type_traits.h>

#include "bazof/error.h"
#include "text_escape.h"

namespace bazof::metadata {

arrow::Result<std::vector<std::string>> KeyTexts(
    const TableSchema& schema, const std::vector<std::pair<std::string, std::string>>& key) {
  const auto& columns = schema.key_columns;
  for (const auto& kv : key) {
    if (kv.first.empty()) continue;
    bool known = false;
    for (const auto& k : columns) known |= k.name == kv.first;
    if (!known) return InvalidArgument("--key: '", kv.first, "' is not a key column");
  }
  if (key.size() != columns.size()) {
    std::string names;
    for (const auto& k : columns) names += (names.empty() ? "" : ", ") + k.name;
    return InvalidArgument("--key: the table has ", columns.size(), " key column(s) (", names, "), got ",
                           key.size(), " value(s)");
  }
  std::vector<std::string> texts;
  for (const auto& k : columns) {
    const std::pair<std::string, std::string>* given = nullptr;
    for (const auto& kv : key) {
      if (kv.first == k.name || (kv.first.empty() && columns.size() == 1)) given = &kv;
    }
    if (!given) return InvalidArgument("--key: no value for key column '", k.name, "'");
    if (arrow::is_string(k.type->id())) {
      ARROW_RETURN_NOT_OK(CheckUtf8(given->second, "--key (column '" + k.name + "')"));
    }
    texts.push_back(given->second);
  }
  return texts;
}

}  // namespace bazof::metadata

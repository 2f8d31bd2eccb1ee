#include "write/utf8_check.h"

#include <arrow/array.h>
#include <arrow/type.h>

#include "bazof/error.h"

#include "text_escape.h"

namespace bazof::write {
namespace {

template <typename ArrayType>
arrow::Status Check(const ArrayType& a, const std::string& source, const std::string& column, int64_t first_row) {
  for (int64_t r = 0; r < a.length(); ++r) {
    if (a.IsValid(r) && !IsValidUtf8(a.GetView(r))) {
      return CheckUtf8(a.GetView(r), source + ": row " + std::to_string(first_row + r) + ": column '" + column + "'");
    }
  }
  return arrow::Status::OK();
}

}  // namespace

arrow::Status CheckUtf8Column(const arrow::Array& a, const std::string& source, const std::string& column,
                              int64_t first_row) {
  switch (a.type_id()) {
    case arrow::Type::STRING:
      return Check(static_cast<const arrow::StringArray&>(a), source, column, first_row);
    case arrow::Type::LARGE_STRING:
      return Check(static_cast<const arrow::LargeStringArray&>(a), source, column, first_row);
    case arrow::Type::STRING_VIEW:
      return Check(static_cast<const arrow::StringViewArray&>(a), source, column, first_row);
    default:
      return arrow::Status::OK();
  }
}

arrow::Status CheckDistinctColumns(const arrow::Schema& schema, const std::string& source) {
  const auto& fields = schema.fields();
  for (size_t i = 0; i < fields.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (fields[i]->name() == fields[j]->name()) {
        return InvalidArgument(source, ": column '", fields[i]->name(), "' is duplicated (columns ", j + 1, " and ",
                               i + 1, ")");
      }
    }
  }
  return arrow::Status::OK();
}

}  // namespace bazof::write

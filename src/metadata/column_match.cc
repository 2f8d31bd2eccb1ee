#include "metadata/column_match.h"

#include <arrow/type.h>
#include <arrow/util/key_value_metadata.h>

#include <charconv>
#include <string>

namespace bazof::metadata {

int FileFieldId(const arrow::Field& field) {
  if (!field.metadata()) return 0;
  auto v = field.metadata()->Get("PARQUET:field_id");
  if (!v.ok()) return 0;
  int id = 0;
  auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), id);
  if (ec != std::errc() || ptr != v->data() + v->size() || id < 0) return 0;
  return id;
}

int FindValueColumn(const arrow::Schema& file, const ColumnSpec& spec, bool match_by_id) {
  bool file_has_ids = false;
  for (const auto& f : file.fields()) file_has_ids = file_has_ids || FileFieldId(*f) > 0;
  if (!(match_by_id && spec.id > 0 && file_has_ids)) return file.GetFieldIndex(spec.name);
  int found = -1;
  for (int f = 0; f < file.num_fields(); ++f) {
    if (FileFieldId(*file.field(f)) == spec.id) found = f;
  }
  return found;
}

}  // namespace bazof::metadata

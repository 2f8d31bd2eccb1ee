// Which column of a data file holds a table's value column (docs/spec.md §6,
// §12.1): the one rule the reader and validate share.
#pragma once

#include <arrow/type_fwd.h>

#include "bazof/snapshot.h"

namespace bazof::metadata {

/// The Parquet field id a file column carries (`PARQUET:field_id`), 0 if none.
int FileFieldId(const arrow::Field& field);

/// Index in `file` of the value column `spec`, or -1 if the file lacks it.
/// With `match_by_id` (format 1) and a file that carries field ids, by id
/// alone: after a rename, or a drop and re-add, a name in an older file may
/// belong to another column. Otherwise (legacy tables, files without ids) by
/// name.
int FindValueColumn(const arrow::Schema& file, const ColumnSpec& spec, bool match_by_id);

}  // namespace bazof::metadata

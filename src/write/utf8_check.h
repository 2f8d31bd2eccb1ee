// Checks of append input: column names are distinct; appended text must be UTF-8: string columns are written as Parquet STRING
// and key bounds end up in snapshot JSON (docs/spec.md §10a).
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <string>

namespace bazof::write {

/// For a string array (string, large string, string view): kInvalidArgument
/// "<source>: row <first_row + i>: column '<column>': not valid UTF-8 ..." for
/// the first value that is not UTF-8. Other types: OK.
arrow::Status CheckUtf8Column(const arrow::Array& array, const std::string& source, const std::string& column,
                              int64_t first_row);

/// Input columns are matched by name: kInvalidArgument "<source>: column 'x'
/// is duplicated (columns 3 and 4)" if a name appears twice.
arrow::Status CheckDistinctColumns(const arrow::Schema& schema, const std::string& source);

}  // namespace bazof::write

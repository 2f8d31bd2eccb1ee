// Text to typed values, as every write surface parses it (docs/spec.md §10a).
#pragma once

#include <arrow/array.h>
#include <arrow/result.h>

#include <memory>
#include <string>
#include <vector>

#include <arrow/util/value_parsing.h>

namespace bazof::write {

/// Converts a text column to `type`. Timestamps: ISO-8601 by Arrow's parser,
/// no zone = UTC, offsets converted to UTC, a date alone = midnight UTC.
/// Other types: Arrow's safe cast (decimals rescale, "1.5" is not an int).
/// Errors name the row (`first_row` is the 1-based row of element 0), the
/// column and the value.
/// `timestamp_formats`: strptime formats (Arrow's TimestampParser, as CSV's
/// ConvertOptions::timestamp_parsers takes them) tried in order after
/// ISO-8601; a value with no zone is UTC.
arrow::Result<std::shared_ptr<arrow::Array>> ParseText(
    const arrow::StringArray& text, const std::shared_ptr<arrow::DataType>& type, const std::string& column,
    int64_t first_row, const std::vector<std::shared_ptr<arrow::TimestampParser>>& timestamp_formats = {});

}  // namespace bazof::write

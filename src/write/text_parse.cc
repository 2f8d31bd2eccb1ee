#include "write/text_parse.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/util/value_parsing.h>

#include "bazof/error.h"
#include "text_escape.h"
#include "timestamp_text.h"

namespace bazof::write {

// Converts one text column to `type`. Timestamps use Arrow's ISO-8601
// parser with the format's rule that a timestamp without a zone is UTC (and
// offsets convert to UTC); everything else is Arrow's cast. On failure the
// error names the row (1-based, header excluded), the column and the value.
arrow::Result<std::shared_ptr<arrow::Array>> ParseText(
    const arrow::StringArray& text, const std::shared_ptr<arrow::DataType>& type, const std::string& column,
    int64_t first_row, const std::vector<std::shared_ptr<arrow::TimestampParser>>& timestamp_formats) {
  auto bad = [&](int64_t i, const char* what) {
    return InvalidArgument("row ", first_row + i, ": column '", column, "': '",
                           QuoteForMessage(text.GetView(i), 100), "' is not ", what);
  };
  if (type->id() == arrow::Type::TIMESTAMP) {
    const auto unit = static_cast<const arrow::TimestampType&>(*type).unit();
    arrow::TimestampBuilder b(type, arrow::default_memory_pool());
    ARROW_RETURN_NOT_OK(b.Reserve(text.length()));
    for (int64_t i = 0; i < text.length(); ++i) {
      if (text.IsNull(i)) {
        b.UnsafeAppendNull();
        continue;
      }
      int64_t v = 0;
      auto s = text.GetView(i);
      bool parsed = ParseTimestampFloored(s, unit, &v);
      for (size_t f = 0; !parsed && f < timestamp_formats.size(); ++f) {
        parsed = (*timestamp_formats[f])(s.data(), s.size(), unit, &v);
      }
      if (!parsed) {
        return bad(i, timestamp_formats.empty() ? "an ISO-8601 timestamp"
                                                : "an ISO-8601 timestamp nor in a --timestamp-format");
      }
      b.UnsafeAppend(v);
    }
    return b.Finish();
  }
  auto cast = arrow::compute::Cast(text, type, arrow::compute::CastOptions::Safe());
  if (cast.ok()) return *cast;
  // Find the first value that does not convert, to say where it is.
  for (int64_t i = 0; i < text.length(); ++i) {
    if (!text.IsNull(i) && !arrow::compute::Cast(*text.Slice(i, 1), type).ok()) {
      return bad(i, ("a valid " + type->ToString()).c_str());
    }
  }
  return InvalidArgument("column '", column, "': ", cast.status().message());
}

}  // namespace bazof::write

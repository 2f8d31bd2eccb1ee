#include "timestamp_text.h"

#include <arrow/type.h>
#include <arrow/util/value_parsing.h>

#include <string>

namespace bazof {

bool ParseTimestampFloored(std::string_view text, arrow::TimeUnit::type unit, int64_t* out) {
  if (arrow::internal::ParseTimestampISO8601(text.data(), text.size(), unit, out)) return true;
  // The fraction follows the seconds of a time part ("...T12:34:56.789...").
  const size_t t = text.find_first_of("Tt ");
  if (t == std::string_view::npos) return false;
  const size_t dot = text.find_first_of(".,", t);
  if (dot == std::string_view::npos) return false;
  size_t end = dot + 1;
  while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
  const size_t digits = end - dot - 1;
  size_t keep = 0;
  switch (unit) {
    case arrow::TimeUnit::SECOND:
      keep = 0;
      break;
    case arrow::TimeUnit::MILLI:
      keep = 3;
      break;
    case arrow::TimeUnit::MICRO:
      keep = 6;
      break;
    case arrow::TimeUnit::NANO:
      keep = 9;
      break;
  }
  // ISO-8601 allows any number of fraction digits; Arrow's parser takes 9.
  if (digits == 0 || digits <= keep) return false;
  std::string cut(text.substr(0, keep == 0 ? dot : dot + 1 + keep));
  cut.append(text.substr(end));
  return arrow::internal::ParseTimestampISO8601(cut.data(), cut.size(), unit, out);
}

}  // namespace bazof

// ISO-8601 / RFC 3339 timestamp text -> a count of `unit`, flooring digits
// finer than the unit (docs/spec.md: "finer digits are floored"), so
// "2024-01-01T00:00:00.123456789Z" reads as ...123 in a timestamp[ms] column.
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <string_view>

namespace bazof {

/// Parses `text` with Arrow's ISO-8601 parser into `unit`. Fractional-second
/// digits beyond the unit's precision (any number of them) are dropped first:
/// the fraction only ever adds to the whole seconds, so dropping digits
/// floors, before 1970 too. False if the text is not a timestamp.
bool ParseTimestampFloored(std::string_view text, arrow::TimeUnit::type unit, int64_t* out);

}  // namespace bazof

// Sizes typed by users: `--memory-limit 512MiB`, the `memory.limit` property.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <string_view>

namespace bazof {

/// Parses a byte count: a non-negative integer with an optional unit, no
/// space between: none or B (bytes), KiB/MiB/GiB/TiB (powers of 1024),
/// KB/MB/GB/TB (powers of 1000), spelled exactly so. "123", "64KiB", "512MiB",
/// "2GiB", "1GB" (= 10^9). kInvalidArgument naming the text for anything
/// else (a sign, a fraction, an unknown unit, a value over INT64_MAX).
arrow::Result<int64_t> ParseByteSize(std::string_view text);

}  // namespace bazof

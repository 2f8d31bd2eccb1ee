// Parsing sizes typed by users (src/util/byte_size.h).
#include "util/byte_size.h"

#include <array>
#include <charconv>
#include <limits>
#include <string>
#include <utility>

#include "bazof/error.h"

namespace bazof {

arrow::Result<int64_t> ParseByteSize(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument("size '", std::string(text), "': ", why,
                           " (expected an integer with an optional unit: B, KiB, MiB, GiB, TiB, KB, MB, GB, TB;"
                           " e.g. 512MiB)");
  };
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return bad("no number");
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + digits, value);
  if (ec != std::errc() || end != text.data() + digits) return bad("number out of range");
  const std::string_view unit = text.substr(digits);
  static constexpr std::array<std::pair<std::string_view, uint64_t>, 10> kUnits{{
      {"", 1},
      {"B", 1},
      {"KiB", 1ull << 10},
      {"MiB", 1ull << 20},
      {"GiB", 1ull << 30},
      {"TiB", 1ull << 40},
      {"KB", 1000ull},
      {"MB", 1000ull * 1000},
      {"GB", 1000ull * 1000 * 1000},
      {"TB", 1000ull * 1000 * 1000 * 1000},
  }};
  for (const auto& [name, factor] : kUnits) {
    if (unit != name) continue;
    if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / factor) {
      return bad("too large");
    }
    return static_cast<int64_t>(value * factor);
  }
  return bad("unknown unit '" + std::string(unit) + "'");
}

}  // namespace bazof

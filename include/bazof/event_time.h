// Event time and commit version as distinct types, so they cannot be mixed up.
#pragma once

#include <arrow/result.h>

#include <compare>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace bazof {

/// A point in event time: microseconds since 1970-01-01T00:00:00Z (UTC).
/// Event times of any Parquet unit are compared at this precision
/// (nanoseconds floor to microseconds).
class EventTime {
 public:
  constexpr EventTime() = default;
  static constexpr EventTime FromMicros(int64_t micros) { return EventTime(micros); }
  /// +infinity: "latest".
  static constexpr EventTime Max() { return EventTime(std::numeric_limits<int64_t>::max()); }
  static constexpr EventTime Min() { return EventTime(std::numeric_limits<int64_t>::min()); }

  constexpr int64_t micros() const { return micros_; }
  constexpr bool is_max() const { return micros_ == std::numeric_limits<int64_t>::max(); }
  constexpr auto operator<=>(const EventTime&) const = default;

 private:
  constexpr explicit EventTime(int64_t micros) : micros_(micros) {}
  int64_t micros_ = 0;
};

/// A committed version number (0, 1, 2, ...): commit time, not event time.
class Version {
 public:
  constexpr Version() = default;
  constexpr explicit Version(int64_t v) : v_(v) {}
  constexpr int64_t value() const { return v_; }
  constexpr auto operator<=>(const Version&) const = default;

 private:
  int64_t v_ = 0;
};

/// Parses an ISO-8601 date or timestamp: "2019-01-17" (midnight UTC),
/// "2019-01-17T10:00:00" (UTC), with "Z", or with an offset ("+02:00",
/// "+0200", "+02"); fractional seconds up to 6 digits; ' ' may replace 'T'.
/// Returns kInvalidArgument naming `what` (e.g. "--as-of") otherwise.
arrow::Result<EventTime> ParseEventTime(std::string_view text, std::string_view what = "time");

/// Formats as RFC 3339 UTC with milliseconds ("2024-02-01T00:00:00.000Z"),
/// the form snapshot JSON uses; sub-millisecond digits are kept when present.
std::string FormatEventTime(EventTime t);

}  // namespace bazof

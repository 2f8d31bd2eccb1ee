#include "bazof/event_time.h"

#include <arrow/util/value_parsing.h>
#include <arrow/vendored/datetime.h>

#include <cstdio>

#include "bazof/error.h"
#include "timestamp_text.h"

namespace bazof {

arrow::Result<EventTime> ParseEventTime(std::string_view text, std::string_view what) {
  int64_t micros = 0;
  if (!ParseTimestampFloored(text, arrow::TimeUnit::MICRO, &micros)) {
    return InvalidArgument(what, " '", text,
                           "': not an ISO-8601 date or timestamp (e.g. 2019-01-17, "
                           "2019-01-17T10:00:00Z, 2019-01-17T12:00:00+02:00)");
  }
  return EventTime::FromMicros(micros);
}

std::string FormatEventTime(EventTime t) {
  using namespace arrow_vendored::date;
  using std::chrono::microseconds;
  if (t.is_max()) return "+inf";
  if (t == EventTime::Min()) return "-inf";
  sys_time<microseconds> tp{microseconds{t.micros()}};
  auto day = floor<days>(tp);
  year_month_day ymd{day};
  hh_mm_ss<microseconds> hms{tp - day};
  int64_t sub_us = hms.subseconds().count();
  char buf[64];
  int n = std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(ymd.year()),
                        static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                        static_cast<int>(hms.hours().count()),
                        static_cast<int>(hms.minutes().count()),
                        static_cast<int>(hms.seconds().count()));
  if (sub_us % 1000 == 0) {
    std::snprintf(buf + n, sizeof(buf) - n, ".%03lldZ", static_cast<long long>(sub_us / 1000));
  } else {
    std::snprintf(buf + n, sizeof(buf) - n, ".%06lldZ", static_cast<long long>(sub_us));
  }
  return buf;
}

}  // namespace bazof

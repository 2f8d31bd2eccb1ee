#include "bazof/event_time.h"

#include <gtest/gtest.h>

#include "bazof/error.h"

namespace bazof {
namespace {

int64_t Us(std::string_view s) { return ParseEventTime(s).ValueOrDie().micros(); }

TEST(EventTimeTest, DateMeansMidnightUtc) { EXPECT_EQ(Us("2019-01-17"), 1547683200000000); }

TEST(EventTimeTest, NaiveDateTimeIsUtc) {
  EXPECT_EQ(Us("2019-01-17T10:00:00"), 1547683200000000 + 10 * 3600 * 1000000LL);
  EXPECT_EQ(Us("2019-01-17 10:00:00"), Us("2019-01-17T10:00:00Z"));
}

TEST(EventTimeTest, OffsetsConvertToUtc) {
  EXPECT_EQ(Us("2024-02-17T02:00:00+02:00"), Us("2024-02-17T00:00:00Z"));
  EXPECT_EQ(Us("2024-02-16T19:00:00-05:00"), Us("2024-02-17T00:00:00Z"));
  EXPECT_EQ(Us("2024-02-17T02:00:00+0200"), Us("2024-02-17"));
}

TEST(EventTimeTest, FractionalSeconds) {
  EXPECT_EQ(Us("2000-03-31T23:59:59.999Z") + 1000, Us("2000-04-01"));
  EXPECT_EQ(Us("1970-01-01T00:00:00.000001Z"), 1);
}

TEST(EventTimeTest, RejectsGarbageWithInvalidArgument) {
  for (const char* bad : {"yesterday", "2024-13-01", "2024-02-30", "", "2024-01-01T25:00:00",
                          "2024-01-01Tfoo"}) {
    auto r = ParseEventTime(bad, "--as-of");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kInvalidArgument);
    EXPECT_NE(r.status().message().find("--as-of"), std::string::npos);
  }
}

TEST(EventTimeTest, FormatRoundTrips) {
  EXPECT_EQ(FormatEventTime(ParseEventTime("2024-02-01").ValueOrDie()), "2024-02-01T00:00:00.000Z");
  EXPECT_EQ(FormatEventTime(EventTime::FromMicros(1)), "1970-01-01T00:00:00.000001Z");
  EXPECT_EQ(FormatEventTime(ParseEventTime("1969-12-31T23:59:59.5Z").ValueOrDie()),
            "1969-12-31T23:59:59.500Z");
}

}  // namespace
}  // namespace bazof

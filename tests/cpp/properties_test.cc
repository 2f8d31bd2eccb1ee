#include "metadata/properties.h"

#include <gtest/gtest.h>

#include "bazof/error.h"

namespace bazof::metadata {
namespace {

TEST(PropertiesTest, Durations) {
  EXPECT_EQ(ParseDuration("30d", "x").ValueOrDie(), 30LL * 86400 * 1000000);
  EXPECT_EQ(ParseDuration("500ms", "x").ValueOrDie(), 500000);
  EXPECT_EQ(ParseDuration("2w", "x").ValueOrDie(), 14LL * 86400 * 1000000);
  EXPECT_EQ(ParseDuration("7us", "x").ValueOrDie(), 7);
  for (const char* bad : {"", "d", "0d", "-1d", "30", "30days", "1.5h", "99999999999999999w"}) {
    auto r = ParseDuration(bad, "--older-than");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kInvalidArgument);
    EXPECT_NE(r.status().message().find("--older-than '" + std::string(bad) + "'"), std::string::npos);
  }
  for (const char* text : {"30d", "12h", "90s", "1500ms", "2w", "7us"}) {
    EXPECT_EQ(ParseDuration(FormatDuration(ParseDuration(text, "").ValueOrDie()), "").ValueOrDie(),
              ParseDuration(text, "").ValueOrDie());
  }
  EXPECT_EQ(FormatDuration(ParseDuration("1500ms", "").ValueOrDie()), "1500ms");
  EXPECT_EQ(FormatDuration(ParseDuration("14d", "").ValueOrDie()), "2w");
}

TEST(PropertiesTest, ByteSizes) {
  EXPECT_EQ(ParseByteSize("128MiB", "x").ValueOrDie(), 128LL << 20);
  EXPECT_EQ(ParseByteSize("64MB", "x").ValueOrDie(), 64000000);
  EXPECT_EQ(ParseByteSize("4096", "x").ValueOrDie(), 4096);
  for (const char* bad : {"", "MiB", "0", "12mb", "1.5GiB", "-3"}) {
    EXPECT_FALSE(ParseByteSize(bad, "x").ok()) << bad;
  }
}

TEST(PropertiesTest, ValidationOfNamesAndKnownValues) {
  EXPECT_TRUE(ValidateProperty("compaction.auto", "true").ok());
  EXPECT_TRUE(ValidateProperty("team.owner", "anything at all").ok());
  EXPECT_FALSE(ValidateProperty("compaction.auto", "yes").ok());
  EXPECT_FALSE(ValidateProperty("compaction.max_deltas", "0").ok());
  EXPECT_FALSE(ValidateProperty("compaction.max_read_amplification", "0.5").ok());
  EXPECT_FALSE(ValidateProperty("compaction.segment_duration", "30").ok());
  for (const char* bad : {"", "Upper.case", "a..b", ".a", "a.", "sp ace"}) {
    EXPECT_FALSE(ValidateProperty(bad, "x").ok()) << bad;
  }
}

TEST(PropertiesTest, PolicyDefaultsAndOverrides) {
  auto d = PolicyFromProperties({}).ValueOrDie();
  EXPECT_EQ(d.segment_duration_us, 0);  // auto
  EXPECT_TRUE(ValidateProperty("compaction.segment_duration", "auto").ok());
  EXPECT_EQ(d.target_file_bytes, 128LL << 20);
  EXPECT_EQ(d.max_deltas, 32);
  EXPECT_FALSE(d.auto_compact);
  auto p = PolicyFromProperties({{"compaction.auto", "true"}, {"compaction.segment_duration", "1d"}})
               .ValueOrDie();
  EXPECT_TRUE(p.auto_compact);
  EXPECT_EQ(p.segment_duration_us, 86400LL * 1000000);
  auto bad = PolicyFromProperties({{"compaction.max_deltas", "many"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(ErrorKindOf(bad.status()), ErrorKind::kCorruption);
}

}  // namespace
}  // namespace bazof::metadata

// Sizes typed by users (src/util/byte_size.h).
#include "util/byte_size.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace bazof {
namespace {

TEST(ByteSizeTest, UnitsArePowersOf1024OrOf1000) {
  EXPECT_EQ(*ParseByteSize("123"), 123);
  EXPECT_EQ(*ParseByteSize("0"), 0);
  EXPECT_EQ(*ParseByteSize("7B"), 7);
  EXPECT_EQ(*ParseByteSize("64KiB"), 64 * 1024);
  EXPECT_EQ(*ParseByteSize("512MiB"), int64_t{512} << 20);
  EXPECT_EQ(*ParseByteSize("2GiB"), int64_t{2} << 30);
  EXPECT_EQ(*ParseByteSize("3TiB"), int64_t{3} << 40);
  EXPECT_EQ(*ParseByteSize("1KB"), 1000);
  EXPECT_EQ(*ParseByteSize("5MB"), 5000000);
  EXPECT_EQ(*ParseByteSize("1GB"), 1000000000);
  EXPECT_EQ(*ParseByteSize("2TB"), 2000000000000);
}

TEST(ByteSizeTest, AnythingElseIsRefusedNamingTheText) {
  for (const char* bad : {"", "MiB", "-1", "1.5GiB", "1 GiB", "1gib", "1XB", "12Mi", "9223372036854775808",
                          "8589934592GiB", " 1"}) {
    auto r = ParseByteSize(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find(std::string("'") + bad + "'"), std::string::npos) << r.status().message();
  }
  EXPECT_EQ(*ParseByteSize("9223372036854775807"), INT64_MAX);
}

}  // namespace
}  // namespace bazof

#include "metadata/path_safety.h"

#include <gtest/gtest.h>

#include "bazof/error.h"

namespace bazof::metadata {
namespace {

TEST(PathSafetyTest, AcceptsPlainRelativeNames) {
  for (const char* ok : {"base.parquet", "data/v1-abc.parquet", "a/b/c.parquet", "..x.parquet"}) {
    EXPECT_TRUE(CheckRelativeFileName(ok).ok()) << ok;
  }
}

TEST(PathSafetyTest, RefusesEscapes) {
  for (const char* bad : {"", "/etc/passwd", "../x.parquet", "a/../../x.parquet", "a/..",
                          "./x.parquet", "a//b.parquet", "s3://b/x.parquet", "C:x", "a\\b",
                          "file:///etc/passwd", "a/\n"}) {
    auto st = CheckRelativeFileName(bad);
    EXPECT_FALSE(st.ok()) << bad;
    EXPECT_EQ(ErrorKindOf(st), ErrorKind::kCorruption) << bad;
  }
}

}  // namespace
}  // namespace bazof::metadata

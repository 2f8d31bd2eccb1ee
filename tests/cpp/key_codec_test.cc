#include "read/key_codec.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace bazof::read {
namespace {

std::vector<std::string> Codes(const KeyCodec& codec, std::vector<std::shared_ptr<arrow::Array>> cols) {
  KeyCodes kc;
  EXPECT_TRUE(codec.Encode(cols, &kc).ok());
  return {kc.views.begin(), kc.views.end()};
}

TEST(KeyCodecTest, Int64OrderSurvivesEncoding) {
  auto codec = KeyCodec::Make({arrow::int64()}).ValueOrDie();
  std::vector<int64_t> values = {INT64_MIN, -5, -1, 0, 1, 7, 1 << 20, INT64_MAX};
  arrow::Int64Builder b;
  ASSERT_TRUE(b.AppendValues(values).ok());
  auto codes = Codes(codec, {b.Finish().ValueOrDie()});
  EXPECT_TRUE(std::is_sorted(codes.begin(), codes.end()));
  EXPECT_EQ(std::adjacent_find(codes.begin(), codes.end()), codes.end());
}

TEST(KeyCodecTest, CompositeKeysOrderLexicographically) {
  auto codec = KeyCodec::Make({arrow::utf8(), arrow::int32()}).ValueOrDie();
  // Random (string with embedded NULs, int) pairs: byte order of the codes
  // must equal tuple order.
  std::mt19937 rng(7);
  std::vector<std::pair<std::string, int32_t>> rows;
  for (int i = 0; i < 500; ++i) {
    std::string s;
    for (int n = rng() % 4; n > 0; --n) s.push_back(static_cast<char>("a\0b"[rng() % 3]));
    rows.push_back({s, static_cast<int32_t>(rng() % 7) - 3});
  }
  arrow::StringBuilder sb;
  arrow::Int32Builder ib;
  for (auto& [s, i] : rows) {
    ASSERT_TRUE(sb.Append(s).ok());
    ASSERT_TRUE(ib.Append(i).ok());
  }
  auto codes = Codes(codec, {sb.Finish().ValueOrDie(), ib.Finish().ValueOrDie()});
  for (size_t a = 0; a < rows.size(); ++a) {
    for (size_t b = a + 1; b < rows.size(); b += 37) {
      EXPECT_EQ(rows[a] < rows[b], codes[a] < codes[b]);
      EXPECT_EQ(rows[a] == rows[b], codes[a] == codes[b]);
    }
  }
}

TEST(KeyCodecTest, FirstColumnPrefixBoundsFullKeys) {
  auto codec = KeyCodec::Make({arrow::utf8(), arrow::int32()}).ValueOrDie();
  auto bound = codec.EncodeFirstColumn(arrow::StringScalar("m")).ValueOrDie();
  auto below = codec.EncodeScalars({std::make_shared<arrow::StringScalar>("l"),
                                    std::make_shared<arrow::Int32Scalar>(INT32_MAX)}).ValueOrDie();
  auto at = codec.EncodeScalars({std::make_shared<arrow::StringScalar>("m"),
                                 std::make_shared<arrow::Int32Scalar>(INT32_MIN)}).ValueOrDie();
  auto longer = codec.EncodeScalars({std::make_shared<arrow::StringScalar>("ma"),
                                     std::make_shared<arrow::Int32Scalar>(0)}).ValueOrDie();
  EXPECT_LT(below, bound);
  EXPECT_GE(at, bound);
  EXPECT_GT(longer, at);
}

// Statistics' bytes (row groups', pages') give a string first column's bound
// as its scalar does: single keys as they are, composite keys escaped; other
// first columns have no byte form.
TEST(KeyCodecTest, FirstColumnBytesEncodeAsTheirScalar) {
  std::mt19937_64 rng(17);
  for (auto types : std::vector<std::vector<std::shared_ptr<arrow::DataType>>>{
           {arrow::utf8()}, {arrow::binary()}, {arrow::large_utf8()}, {arrow::utf8(), arrow::int32()},
           {arrow::binary(), arrow::utf8()}}) {
    auto codec = KeyCodec::Make(types).ValueOrDie();
    ASSERT_TRUE(codec.FirstColumnIsBytes());
    for (int i = 0; i < 200; ++i) {
      std::string bytes(rng() % 12, '\0');
      for (auto& c : bytes) c = static_cast<char>(rng() % 4 == 0 ? 0 : 'a' + rng() % 3);  // NULs in them
      auto scalar = types[0]->id() == arrow::Type::BINARY
                        ? std::shared_ptr<arrow::Scalar>(std::make_shared<arrow::BinaryScalar>(bytes))
                        : std::make_shared<arrow::StringScalar>(bytes);
      EXPECT_EQ(codec.EncodeFirstColumnBytes(bytes), codec.EncodeFirstColumn(*scalar).ValueOrDie())
          << types.size() << " columns, " << i;
    }
  }
  EXPECT_FALSE(KeyCodec::Make({arrow::int64()}).ValueOrDie().FirstColumnIsBytes());
  EXPECT_FALSE(KeyCodec::Make({arrow::int32(), arrow::utf8()}).ValueOrDie().FirstColumnIsBytes());
}

TEST(KeyCodecTest, NullKeyIsCorruption) {
  auto codec = KeyCodec::Make({arrow::utf8()}).ValueOrDie();
  arrow::StringBuilder b;
  ASSERT_TRUE(b.Append("a").ok());
  ASSERT_TRUE(b.AppendNull().ok());
  KeyCodes kc;
  auto st = codec.Encode({b.Finish().ValueOrDie()}, &kc);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("null key at row 1"), std::string::npos);
}

TEST(KeyCodecTest, UnsupportedKeyTypeRefused) {
  EXPECT_FALSE(KeyCodec::Make({arrow::list(arrow::int32())}).ok());
  EXPECT_FALSE(KeyCodec::Make({arrow::float64()}).ok());
  EXPECT_FALSE(KeyCodec::Make({}).ok());
}

}  // namespace
}  // namespace bazof::read

// The checked JSON accessors (metadata/json_reader.h) and message escaping
// (text_escape.h): every wrong type, missing field and out-of-range number is
// one kCorruption naming the file and the field's path.
#include "metadata/json_reader.h"

#include <gtest/gtest.h>

#include "bazof/error.h"
#include "metadata/table_files.h"
#include "test_util.h"
#include "text_escape.h"

namespace bazof::metadata {
namespace {

std::unique_ptr<JsonDoc> Doc(const std::string& text) {
  return JsonDoc::Parse(text, "snapshot", "/t/s3.json").ValueOrDie();
}

void ExpectError(const arrow::Status& st, const std::string& message) {
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(ErrorKindOf(st), ErrorKind::kCorruption);
  EXPECT_EQ(st.message(), message);
}

TEST(JsonReaderTest, WrongTypesNameTheFileAndPath) {
  auto doc = Doc(R"({"segments": [{"deltas": [{"rows": 1}, {"rows": []}]}]})");
  auto seg = doc->Root().Field("segments").ValueOrDie().Elements().ValueOrDie()[0];
  auto deltas = seg.Field("deltas").ValueOrDie().Elements().ValueOrDie();
  EXPECT_EQ(deltas[0].Field("rows").ValueOrDie().Int().ValueOrDie(), 1);
  ExpectError(deltas[1].Field("rows").ValueOrDie().Int().status(),
              "snapshot '/t/s3.json': field 'segments[0].deltas[1].rows': expected an integer, found an array");
  ExpectError(deltas[1].Field("size").status(), "snapshot '/t/s3.json': field 'segments[0].deltas[1].size': missing");
  ExpectError(seg.Field("deltas").ValueOrDie().Field("x").status(),
              "snapshot '/t/s3.json': field 'segments[0].deltas': expected an object, found an array");
  ExpectError(doc->Root().Field("segments").ValueOrDie().String().status(),
              "snapshot '/t/s3.json': field 'segments': expected a string, found an array");
}

TEST(JsonReaderTest, EveryTypeIsNamed) {
  auto doc = Doc(R"({"n": null, "b": true, "i": -3, "u": 18446744073709551615, "f": 1e300,
                    "big": 1180591620717411303424, "s": "x", "a": [], "o": {}})");
  auto root = doc->Root();
  auto int_of = [&](const char* name) { return root.Field(name).ValueOrDie().Int(); };
  ExpectError(root.Field("n").status(), "snapshot '/t/s3.json': field 'n': missing");
  EXPECT_FALSE(root.OptField("n").ValueOrDie().has_value());
  ExpectError(int_of("b").status(), "snapshot '/t/s3.json': field 'b': expected an integer, found a boolean");
  EXPECT_EQ(int_of("i").ValueOrDie(), -3);
  ExpectError(int_of("u").status(),
              "snapshot '/t/s3.json': field 'u': 18446744073709551615 is out of range (expected a 64-bit signed integer)");
  ExpectError(int_of("f").status(), "snapshot '/t/s3.json': field 'f': expected an integer, found a number");
  ExpectError(int_of("big").status(), "snapshot '/t/s3.json': field 'big': expected an integer, found a number");
  ExpectError(int_of("s").status(), "snapshot '/t/s3.json': field 's': expected an integer, found a string");
  ExpectError(int_of("o").status(), "snapshot '/t/s3.json': field 'o': expected an integer, found an object");
  ExpectError(root.Field("i").ValueOrDie().Int(0).status(),
              "snapshot '/t/s3.json': field 'i': -3 is out of range (expected an integer >= 0)");
  ExpectError(root.Field("i").ValueOrDie().Int(1, 5).status(),
              "snapshot '/t/s3.json': field 'i': -3 is out of range (expected an integer >= 1 and <= 5)");
  ExpectError(root.Field("s").ValueOrDie().Bool().status(),
              "snapshot '/t/s3.json': field 's': expected a boolean, found a string");
  ExpectError(root.Field("o").ValueOrDie().StringList().status(),
              "snapshot '/t/s3.json': field 'o': expected an array, found an object");
  ExpectError(root.Field("a").ValueOrDie().Members().status(),
              "snapshot '/t/s3.json': field 'a': expected an object, found an array");
}

TEST(JsonReaderTest, InvalidJsonAndUtf8AreCorruption) {
  for (std::string text : {std::string("{"), std::string("{\"a\": \"\xff\"}"), std::string("\xef\xbb"),
                           std::string(1, '\0')}) {
    auto r = JsonDoc::Parse(text, "snapshot", "/t/s1.json");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kCorruption);
    EXPECT_EQ(r.status().message(), "snapshot '/t/s1.json': not valid JSON (or not valid UTF-8)");
  }
  auto doc = Doc(R"({"l": ["a", 1]})");
  ExpectError(doc->Root().Field("l").ValueOrDie().StringList().status(),
              "snapshot '/t/s3.json': field 'l[1]': expected a string, found an integer");
}

TEST(VersionPointerTest, OverflowAndGarbageAreCorruptionQuotedEscaped) {
  EXPECT_EQ(ParseVersionPointer(" 42\n", "v.txt").ValueOrDie(), 42);
  EXPECT_EQ(ParseVersionPointer("999999999999999999", "v.txt").ValueOrDie(), kMaxVersion);
  for (const char* text : {"1000000000000000000", "9223372036854775807", "9223372036854775808",
                           "99999999999999999999999"}) {
    auto r = ParseVersionPointer(text, "v.txt");
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(ErrorKindOf(r.status()), ErrorKind::kCorruption);
    EXPECT_NE(r.status().message().find("out of range"), std::string::npos) << r.status().message();
  }
  auto r = ParseVersionPointer("1\n2\x1b[31m\xff" + std::string(100, 'x'), "v.txt");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "version pointer 'v.txt': '1\\n2\\x1b[31m\\xffxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' is not a version number");
  EXPECT_FALSE(ParseVersionPointer("-1", "v.txt").ok());
  EXPECT_FALSE(ParseVersionPointer("+1", "v.txt").ok());
}

TEST(TextEscapeTest, OneLineValidUtf8) {
  EXPECT_EQ(EscapeForMessage("plain é ü 日本"), "plain é ü 日本");
  EXPECT_EQ(EscapeForMessage("a\nb\r\tc\x1b\x7f"), "a\\nb\\r\\tc\\x1b\\x7f");
  EXPECT_EQ(EscapeForMessage(std::string("nul\0x", 5)), "nul\\x00x");
  EXPECT_EQ(EscapeForMessage("bad \xff\xc3 end"), "bad \\xff\\xc3 end");
  EXPECT_EQ(EscapeForMessage("\xc0\xaf"), "\\xc0\\xaf");            // overlong '/'
  EXPECT_EQ(EscapeForMessage("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // surrogate
  EXPECT_EQ(EscapeForMessage("nel\xc2\x85 ls\xe2\x80\xa8"), "nel\\u0085 ls\\u2028");
  EXPECT_EQ(QuoteForMessage("abcdef", 3), "abc...");
  EXPECT_EQ(QuoteForMessage("ab\xc3\xa9", 3), "ab...");  // not cut inside é
  auto st = OneLine(Corruption("x\ny"));
  EXPECT_EQ(st.message(), "x\\ny");
  EXPECT_EQ(ErrorKindOf(st), ErrorKind::kCorruption);
  EXPECT_TRUE(IsValidUtf8("é"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  auto bad = CheckUtf8("ab\xff", "--key");
  EXPECT_EQ(ErrorKindOf(bad), ErrorKind::kInvalidArgument);
  EXPECT_EQ(bad.message(), "--key: not valid UTF-8 (byte 2 of 'ab\\xff')");
}

}  // namespace
}  // namespace bazof::metadata

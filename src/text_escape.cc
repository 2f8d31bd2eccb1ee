#include "text_escape.h"

#include <arrow/util/utf8.h>

#include <cstdio>

#include "bazof/error.h"

namespace bazof {
namespace {

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlongs,
// no surrogates, <= U+10FFFF), or 0 if it is malformed.
size_t SequenceLength(std::string_view s, size_t i, uint32_t* code_point) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  size_t n = 0;
  uint32_t cp = 0, min = 0;
  if (c < 0x80) {
    *code_point = c;
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    n = 2, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  *code_point = cp;
  return n;
}

void AppendHex(std::string* out, const char* prefix, unsigned value, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%s%0*x", prefix, digits, value);
  out->append(buf);
}

}  // namespace

std::string EscapeForMessage(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    const size_t n = SequenceLength(text, i, &cp);
    if (n == 0) {
      AppendHex(&out, "\\x", static_cast<unsigned char>(text[i]), 2);
      ++i;
      continue;
    }
    if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp < 0x20 || cp == 0x7F) {
      AppendHex(&out, "\\x", cp, 2);
    } else if ((cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029) {
      AppendHex(&out, "\\u", cp, 4);
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
  return out;
}

std::string QuoteForMessage(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return EscapeForMessage(text);
  // Cut on a character boundary so the cut itself adds no \x escapes.
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return EscapeForMessage(text.substr(0, cut)) + "...";
}

std::string ErrorLine(const arrow::Status& status) {
  return EscapeForMessage(MessageWithReason(status));
}

arrow::Status OneLine(const arrow::Status& status) {
  if (status.ok()) return status;
  std::string escaped = EscapeForMessage(status.message());
  if (escaped == status.message()) return status;
  return arrow::Status(status.code(), std::move(escaped), status.detail());
}

bool IsValidUtf8(std::string_view text) {
  arrow::util::InitializeUTF8();
  return arrow::util::ValidateUTF8(reinterpret_cast<const uint8_t*>(text.data()),
                                   static_cast<int64_t>(text.size()));
}

arrow::Status CheckUtf8(std::string_view text, std::string_view what) {
  if (IsValidUtf8(text)) return arrow::Status::OK();
  // Find the offending byte for the message.
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    const size_t n = SequenceLength(text, i, &cp);
    if (n == 0) {
      return InvalidArgument(what, ": not valid UTF-8 (byte ", i, " of '", QuoteForMessage(text), "')");
    }
    i += n;
  }
  return InvalidArgument(what, ": not valid UTF-8");
}

}  // namespace bazof

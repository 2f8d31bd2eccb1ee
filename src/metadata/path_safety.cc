#include "metadata/path_safety.h"

#include "bazof/error.h"

namespace bazof::metadata {

arrow::Status CheckRelativeFileName(std::string_view name) {
  auto refuse = [&](std::string_view why) {
    return Corruption("file name '", name, "' escapes the table root (", why, ")");
  };
  if (name.empty()) return Corruption("empty file name");
  if (name.front() == '/') return refuse("absolute path");
  for (char c : name) {
    if (c == '\\') return refuse("backslash");
    if (c == ':') return refuse("scheme or drive");
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return refuse("control character");
  }
  size_t pos = 0;
  while (pos <= name.size()) {
    size_t next = name.find('/', pos);
    if (next == std::string_view::npos) next = name.size();
    std::string_view part = name.substr(pos, next - pos);
    if (part.empty()) return refuse("empty path segment");
    if (part == "." || part == "..") return refuse("'.' or '..' segment");
    pos = next + 1;
  }
  return arrow::Status::OK();
}

}  // namespace bazof::metadata

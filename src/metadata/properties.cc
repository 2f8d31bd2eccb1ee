#include "metadata/properties.h"

#include <cctype>
#include <charconv>
#include <limits>

#include "bazof/error.h"
#include "text_escape.h"
#include "util/byte_size.h"
#include "util/memory_budget.h"

namespace bazof::metadata {
namespace {

// Splits "<digits><suffix>"; false if there are no digits or they overflow.
bool SplitNumber(const std::string& text, int64_t* number, std::string* suffix) {
  const char* begin = text.data();
  const char* end = begin + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, *number);
  if (ec != std::errc() || ptr == begin) return false;
  suffix->assign(ptr, end);
  return true;
}

bool MultiplyChecked(int64_t a, int64_t b, int64_t* out) {
  return !__builtin_mul_overflow(a, b, out);
}

}  // namespace

arrow::Result<int64_t> ParseDuration(const std::string& text, const std::string& what) {
  static const std::map<std::string, int64_t> kUnits = {
      {"us", 1}, {"ms", 1000}, {"s", 1000000}, {"m", 60000000LL}, {"h", 3600000000LL},
      {"d", 86400000000LL}, {"w", 7 * 86400000000LL}, {"y", 365 * 86400000000LL}};
  int64_t n = 0;
  std::string unit;
  int64_t micros = 0;
  if (!SplitNumber(text, &n, &unit) || n <= 0 || !kUnits.count(unit) ||
      !MultiplyChecked(n, kUnits.at(unit), &micros)) {
    return InvalidArgument(what + " '" + text +
                           "': not a positive duration like 7y, 30d, 12h, 15m, 90s, 500ms or 2w");
  }
  return micros;
}

arrow::Result<int64_t> ParseDurationOrZero(const std::string& text, const std::string& what) {
  int64_t n = -1;
  std::string unit;
  if (text == "0" || (SplitNumber(text, &n, &unit) && n == 0 && ParseDuration("1" + unit, what).ok())) {
    return 0;
  }
  return ParseDuration(text, what);
}

std::string FormatDuration(int64_t micros) {
  static const std::vector<std::pair<const char*, int64_t>> kUnits = {
      {"w", 7 * 86400000000LL}, {"d", 86400000000LL}, {"h", 3600000000LL}, {"m", 60000000LL},
      {"s", 1000000}, {"ms", 1000}, {"us", 1}};
  for (const auto& [unit, size] : kUnits) {
    if (micros != 0 && micros % size == 0) return std::to_string(micros / size) + unit;
  }
  return std::to_string(micros) + "us";
}

arrow::Result<int64_t> ParseByteSize(const std::string& text, const std::string& what) {
  static const std::map<std::string, int64_t> kUnits = {
      {"", 1}, {"B", 1}, {"KB", 1000}, {"MB", 1000000}, {"GB", 1000000000LL},
      {"KiB", 1024}, {"MiB", 1024 * 1024}, {"GiB", 1024LL * 1024 * 1024}};
  int64_t n = 0;
  std::string unit;
  int64_t bytes = 0;
  if (!SplitNumber(text, &n, &unit) || n <= 0 || !kUnits.count(unit) ||
      !MultiplyChecked(n, kUnits.at(unit), &bytes)) {
    return InvalidArgument(what + " '" + text + "': not a positive size like 128MiB, 64MB or 1048576");
  }
  return bytes;
}

const std::vector<KnownProperty>& KnownProperties() {
  static const std::vector<KnownProperty> kProps = {
      {"compaction.segment_duration", "auto",
       "Event-time length of the segments compaction lays out (each gets a base), or auto: "
       "segments holding about as many events as the table has keys."},
      {"compaction.min_segment_rows", "100000",
       "Fewest events an auto-layout segment holds (unless the whole table holds fewer: then it is one "
       "segment), so compaction never cuts a small table into many small files."},
      {"compaction.target_file_size", "128MiB", "Size at which compaction starts a new data file."},
      {"compaction.max_deltas", "32",
       "Compaction is advised (and run, with compaction.auto) when a latest scan reads more delta files."},
      {"compaction.max_read_amplification", "4",
       "Compaction is advised when a latest scan reads more than this many rows per row of its "
       "largest file."},
      {"compaction.auto", "false", "Compact after a commit when the policy advises it."},
      {"memory.limit", "512MiB",
       "Memory budget of a scan, join or compaction of the table (Arrow memory pool bytes), unless "
       "--memory-limit overrides it; at least 32MiB (docs/spec.md, \"Memory budget\")."},
      {"write.row_group_rows", "auto",
       "Rows per Parquet row group in the data files bazof writes, 1 to 67108864, or auto: 65536 in the "
       "files compaction writes (fewer if the memory budget would not hold one per encoding thread; more "
       "for a file so large that its footer would outgrow its share of the budget), 131072 in appended "
       "files. Keyed reads decode by page either way. Changes new files only; reads of any row-group size "
       "are the same."},
      {"write.page_bytes", "auto",
       "Target size of a Parquet data page in the data files bazof writes, a byte size from 4KiB to 64MiB, "
       "or auto: 128KiB in appended files, what the memory budget gives each open file in compaction "
       "(64KiB down to 8KiB; a set value caps it). A merge holds a page per column of every file it "
       "reads. Changes new files only; reads are the same."},
      {"write.page_rows", "auto",
       "Most rows per Parquet data page in the data files bazof writes, 1 to 1048576, or auto: 512 in the "
       "files compaction writes (a keyed read or as-of join decodes only the pages that hold its rows, "
       "through the page index), Parquet's default (20000) in appended files. Changes new files only; "
       "reads are the same."},
      {"retention.event_time", "none",
       "History horizon compaction applies: events older than this before the watermark (or, without "
       "one, before the latest event time) are collapsed into each key's state (like compact --horizon)."},
  };
  return kProps;
}

namespace {

arrow::Status CheckValue(const std::string& name, const std::string& value, const std::string& what) {
  if (name == "compaction.segment_duration") {
    return value == "auto" ? arrow::Status::OK() : ParseDuration(value, what).status();
  }
  if (name == "retention.event_time") {
    return value == "none" ? arrow::Status::OK() : ParseDuration(value, what).status();
  }
  if (name == "compaction.target_file_size") return ParseByteSize(value, what).status();
  if (name == "memory.limit") {
    auto bytes = ::bazof::ParseByteSize(value);
    if (!bytes.ok()) return InvalidArgument(what + ": " + bytes.status().message());
    return CheckMemoryLimit(*bytes, what);
  }
  if (name == "compaction.max_deltas" || name == "compaction.min_segment_rows") {
    int64_t n = 0;
    std::string rest;
    if (!SplitNumber(value, &n, &rest) || !rest.empty() || n < 1) {
      return InvalidArgument(what + " '" + value + "': not an integer >= 1");
    }
    return arrow::Status::OK();
  }
  // `auto` or a row count from 1 to `max`.
  auto rows_or_auto = [&](int64_t max) -> arrow::Status {
    if (value == "auto") return arrow::Status::OK();
    int64_t n = 0;
    std::string rest;
    if (!SplitNumber(value, &n, &rest) || !rest.empty() || n < 1 || n > max) {
      return InvalidArgument(what + " '" + value + "': not auto or an integer from 1 to " + std::to_string(max));
    }
    return arrow::Status::OK();
  };
  if (name == "write.row_group_rows") return rows_or_auto(kMaxRowGroupRows);
  if (name == "write.page_rows") return rows_or_auto(kMaxPageRows);
  if (name == "write.page_bytes") {
    if (value == "auto") return arrow::Status::OK();
    auto bytes = ParseByteSize(value, what);
    if (!bytes.ok() || *bytes < kMinPageBytes || *bytes > kMaxPageBytes) {
      return InvalidArgument(what + " '" + value + "': not auto or a byte size from 4KiB to 64MiB");
    }
    return arrow::Status::OK();
  }
  if (name == "compaction.max_read_amplification") {
    double x = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), x);
    if (ec != std::errc() || ptr != value.data() + value.size() || !(x >= 1)) {
      return InvalidArgument(what + " '" + value + "': not a number >= 1");
    }
    return arrow::Status::OK();
  }
  if (name == "compaction.auto") {
    if (value != "true" && value != "false") return InvalidArgument(what + " '" + value + "': not true or false");
    return arrow::Status::OK();
  }
  return arrow::Status::OK();
}

}  // namespace

arrow::Status ValidateProperty(const std::string& name, const std::string& value) {
  bool ok = !name.empty() && name.front() != '.' && name.back() != '.' &&
            name.find("..") == std::string::npos;
  for (char c : name) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
          c == '_' || c == '.')) {
      ok = false;
    }
  }
  if (!ok) {
    return InvalidArgument("property name '" + name +
                           "': use dotted lower case, like compaction.segment_duration");
  }
  ARROW_RETURN_NOT_OK(CheckUtf8(value, "property " + name + " value"));
  return CheckValue(name, value, "property " + name);
}

arrow::Result<CompactionPolicy> PolicyFromProperties(const std::map<std::string, std::string>& properties) {
  auto get = [&](const char* name) -> std::string {
    if (auto it = properties.find(name); it != properties.end()) return it->second;
    for (const auto& p : KnownProperties()) {
      if (std::string(p.name) == name) return p.default_value;
    }
    return "";
  };
  auto stored = [](const arrow::Status& st) {
    return Corruption("table property: " + st.message());
  };
  CompactionPolicy policy;
  for (const auto& p : KnownProperties()) {
    if (auto st = CheckValue(p.name, get(p.name), std::string("property ") + p.name); !st.ok()) return stored(st);
  }
  const std::string duration = get("compaction.segment_duration");
  policy.segment_duration_us = duration == "auto" ? 0 : ParseDuration(duration, "").ValueOrDie();
  policy.target_file_bytes = ParseByteSize(get("compaction.target_file_size"), "").ValueOrDie();
  // Both were checked above (from_chars, no overflow); these cannot fail.
  {
    const std::string text = get("compaction.min_segment_rows");
    std::from_chars(text.data(), text.data() + text.size(), policy.min_segment_rows);
  }
  {
    const std::string text = get("compaction.max_deltas");
    std::from_chars(text.data(), text.data() + text.size(), policy.max_deltas);
  }
  {
    const std::string text = get("compaction.max_read_amplification");
    std::from_chars(text.data(), text.data() + text.size(), policy.max_read_amplification);
  }
  policy.auto_compact = get("compaction.auto") == "true";
  return policy;
}

arrow::Result<std::optional<int64_t>> StoredWriteSize(const std::map<std::string, std::string>& properties,
                                                     const std::string& name) {
  auto it = properties.find(name);
  if (it == properties.end() || it->second == "auto") return std::nullopt;
  if (auto st = CheckValue(name, it->second, "property " + name); !st.ok()) {
    return Corruption("table property: " + st.message());
  }
  // CheckValue accepted it: an integer (rows) or a byte size.
  if (name == "write.page_bytes") return ParseByteSize(it->second, "").ValueOrDie();
  int64_t n = 0;
  std::from_chars(it->second.data(), it->second.data() + it->second.size(), n);
  return n;
}

arrow::Result<int64_t> RowGroupRows(const std::map<std::string, std::string>& properties, int64_t auto_rows) {
  ARROW_ASSIGN_OR_RAISE(auto rows, StoredWriteSize(properties, "write.row_group_rows"));
  return rows.value_or(auto_rows);
}

arrow::Result<int64_t> PageRows(const std::map<std::string, std::string>& properties, int64_t auto_rows) {
  ARROW_ASSIGN_OR_RAISE(auto rows, StoredWriteSize(properties, "write.page_rows"));
  return rows.value_or(auto_rows);
}

arrow::Result<int64_t> PageBytes(const std::map<std::string, std::string>& properties, int64_t auto_bytes) {
  ARROW_ASSIGN_OR_RAISE(auto bytes, StoredWriteSize(properties, "write.page_bytes"));
  return bytes.value_or(auto_bytes);
}

}  // namespace bazof::metadata

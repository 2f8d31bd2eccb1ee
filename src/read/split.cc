// ReadSplit and the split JSON (docs/spec.md, "Scan splits").
#include <arrow/api.h>
#include <arrow/compute/expression.h>
#include <nlohmann/json.hpp>

#include <limits>
#include <utility>

#include "bazof/error.h"
#include "bazof/split.h"

namespace bazof {
namespace {

using json = nlohmann::json;

constexpr const char* kHex = "0123456789abcdef";

std::string ToHex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

arrow::Status Bad(const std::string& field, const std::string& problem) {
  return InvalidArgument("split: field '", field, "' ", problem);
}

arrow::Result<std::optional<std::string>> OptHex(const json& doc, const char* field) {
  auto it = doc.find(field);
  if (it == doc.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) return Bad(field, "is not a hex string");
  const auto& text = it->get_ref<const std::string&>();
  if (text.size() % 2 != 0) return Bad(field, "has an odd number of hex digits");
  std::string out;
  out.reserve(text.size() / 2);
  for (size_t i = 0; i < text.size(); i += 2) {
    const int hi = HexDigit(text[i]), lo = HexDigit(text[i + 1]);
    if (hi < 0 || lo < 0) return Bad(field, "is not a hex string");
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

arrow::Result<int64_t> Int(const json& doc, const char* field, std::optional<int64_t> fallback = std::nullopt) {
  auto it = doc.find(field);
  if (it == doc.end() || it->is_null()) {
    if (fallback) return *fallback;
    return Bad(field, "is missing");
  }
  if (!it->is_number_integer()) return Bad(field, "is not an integer");
  return it->get<int64_t>();
}

// An event time in microseconds, or null / absent (nullopt).
arrow::Result<std::optional<EventTime>> OptMicros(const json& doc, const char* field) {
  auto it = doc.find(field);
  if (it == doc.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer()) return Bad(field, "is not an integer (microseconds) or null");
  return EventTime::FromMicros(it->get<int64_t>());
}

}  // namespace

const char* KindName(SplitKind kind) {
  switch (kind) {
    case SplitKind::kEvents:
      return "events";
    case SplitKind::kIntervals:
      return "intervals";
    case SplitKind::kChanges:
      return "changes";
    case SplitKind::kScan:
      break;
  }
  return "scan";
}

std::string Split::ToJson() const {
  json doc;
  doc["split_format"] = kSplitFormat;
  doc["kind"] = KindName(kind);
  doc["table"] = table;
  doc["version"] = version.value();
  doc["as_of"] = as_of.is_max() ? json(nullptr) : json(as_of.micros());
  doc["columns"] = columns ? json(*columns) : json(nullptr);
  doc["filter"] = filter ? json(ToHex(*filter)) : json(nullptr);
  doc["key_lower"] = lower ? json(ToHex(*lower)) : json(nullptr);
  doc["key_upper"] = upper ? json(ToHex(*upper)) : json(nullptr);
  if (kind == SplitKind::kIntervals) {
    doc["start"] = start ? json(start->micros()) : json(nullptr);
    doc["end"] = end ? json(end->micros()) : json(nullptr);
    doc["coalesce"] = coalesce;
  }
  if (kind == SplitKind::kChanges) {
    doc["from_time"] = from_time.is_max() ? json(nullptr) : json(from_time.micros());
    doc["to_time"] = to_time.is_max() ? json(nullptr) : json(to_time.micros());
    doc["from_version"] = from_version.value();
  }
  doc["index"] = index;
  doc["count"] = count;
  doc["estimated_bytes"] = estimated_bytes;
  doc["estimated_rows"] = estimated_rows;
  doc["files"] = files;
  // Key bytes may be any bytes; the hex fields keep the JSON UTF-8.
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

arrow::Result<Split> Split::FromJson(std::string_view text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return InvalidArgument("split: not valid JSON");
  if (!doc.is_object()) return InvalidArgument("split: not a JSON object");
  Split s;
  ARROW_ASSIGN_OR_RAISE(auto format, Int(doc, "split_format"));
  if (format < 1 || format > kSplitFormat) {
    return InvalidArgument("split: unsupported split_format ", format, " (this build reads 1..", kSplitFormat, ")");
  }
  if (auto it = doc.find("kind"); it != doc.end() && !it->is_null()) {
    if (!it->is_string()) return Bad("kind", "is not a string");
    const auto& k = it->get_ref<const std::string&>();
    if (k == "scan") s.kind = SplitKind::kScan;
    else if (k == "events") s.kind = SplitKind::kEvents;
    else if (k == "intervals") s.kind = SplitKind::kIntervals;
    else if (k == "changes") s.kind = SplitKind::kChanges;
    else return Bad("kind", "is '" + k + "', not 'scan', 'events', 'intervals' or 'changes'");
  }
  ARROW_ASSIGN_OR_RAISE(auto from_time, OptMicros(doc, "from_time"));
  ARROW_ASSIGN_OR_RAISE(auto to_time, OptMicros(doc, "to_time"));
  s.from_time = from_time.value_or(EventTime::Max());
  s.to_time = to_time.value_or(EventTime::Max());
  ARROW_ASSIGN_OR_RAISE(s.start, OptMicros(doc, "start"));
  ARROW_ASSIGN_OR_RAISE(s.end, OptMicros(doc, "end"));
  if (s.start && s.end && *s.end <= *s.start) return Bad("end", "is not after start");
  if (auto it = doc.find("coalesce"); it != doc.end() && !it->is_null()) {
    if (!it->is_boolean()) return Bad("coalesce", "is not true or false");
    s.coalesce = it->get<bool>();
  }
  if (auto it = doc.find("table"); it != doc.end() && it->is_string()) s.table = it->get<std::string>();
  ARROW_ASSIGN_OR_RAISE(auto v, Int(doc, "version"));
  if (v < 0) return Bad("version", "is negative");
  s.version = Version(v);
  if (s.kind == SplitKind::kChanges) {
    ARROW_ASSIGN_OR_RAISE(auto fv, Int(doc, "from_version"));
    if (fv < 0) return Bad("from_version", "is negative");
    s.from_version = Version(fv);
  }
  ARROW_ASSIGN_OR_RAISE(auto as_of, OptMicros(doc, "as_of"));
  s.as_of = as_of.value_or(EventTime::Max());
  if (auto it = doc.find("columns"); it != doc.end() && !it->is_null()) {
    if (!it->is_array()) return Bad("columns", "is not an array of names");
    std::vector<std::string> cols;
    for (const auto& c : *it) {
      if (!c.is_string()) return Bad("columns", "is not an array of names");
      cols.push_back(c.get<std::string>());
    }
    s.columns = std::move(cols);
  }
  ARROW_ASSIGN_OR_RAISE(s.filter, OptHex(doc, "filter"));
  if (s.filter) {
    auto expr = arrow::compute::Deserialize(arrow::Buffer::FromString(*s.filter));
    if (!expr.ok()) return Bad("filter", "is not a serialized Arrow expression: " + expr.status().message());
  }
  ARROW_ASSIGN_OR_RAISE(s.lower, OptHex(doc, "key_lower"));
  ARROW_ASSIGN_OR_RAISE(s.upper, OptHex(doc, "key_upper"));
  if (s.lower && s.upper && *s.upper <= *s.lower) return Bad("key_upper", "is not above key_lower");
  ARROW_ASSIGN_OR_RAISE(auto index, Int(doc, "index", 0));
  ARROW_ASSIGN_OR_RAISE(auto count, Int(doc, "count", 1));
  if (count < 1 || index < 0 || index >= count || count > std::numeric_limits<int>::max()) {
    return Bad("index", "is outside 0..count-1");
  }
  s.index = static_cast<int>(index);
  s.count = static_cast<int>(count);
  ARROW_ASSIGN_OR_RAISE(s.estimated_bytes, Int(doc, "estimated_bytes", 0));
  ARROW_ASSIGN_OR_RAISE(s.estimated_rows, Int(doc, "estimated_rows", 0));
  if (auto it = doc.find("files"); it != doc.end() && !it->is_null()) {
    if (!it->is_array()) return Bad("files", "is not an array of names");
    for (const auto& f : *it) {
      if (!f.is_string()) return Bad("files", "is not an array of names");
      s.files.push_back(f.get<std::string>());
    }
  }
  return s;
}

arrow::Result<std::shared_ptr<Scan>> ReadSplit(const Table& table, const Split& split, int threads,
                                               int64_t batch_size) {
  const std::string where = "split " + std::to_string(split.index) + ": ";
  std::optional<arrow::compute::Expression> filter;
  if (split.filter) {
    auto expr = arrow::compute::Deserialize(arrow::Buffer::FromString(*split.filter));
    if (!expr.ok()) return InvalidArgument("split: filter: ", expr.status().message());
    filter = *std::move(expr);
  }
  if (split.kind == SplitKind::kChanges) {
    ChangeOptions o;
    o.from_time = split.from_time;
    o.to_time = split.to_time;
    o.from_version = split.from_version;
    o.to_version = split.version;
    o.columns = split.columns;
    o.encoded_key_lower = split.lower;
    o.encoded_key_upper = split.upper;
    o.batch_size = batch_size;
    o.threads = threads;
    auto view = MakeChanges(table, o);
    if (!view.ok()) return WithContext(view.status(), where);
    return view;
  }
  if (split.kind == SplitKind::kIntervals) {
    IntervalOptions o;
    o.start = split.start;
    o.end = split.end;
    o.version = split.version;
    o.columns = split.columns;
    o.filter = std::move(filter);
    o.coalesce = split.coalesce;
    o.encoded_key_lower = split.lower;
    o.encoded_key_upper = split.upper;
    o.batch_size = batch_size;
    o.threads = threads;
    auto view = MakeIntervals(table, o);
    if (!view.ok()) return WithContext(view.status(), where);
    return view;
  }
  auto builder = table.NewScan();
  builder.AtVersion(split.version).AsOf(split.as_of).BatchSize(batch_size).Threads(threads);
  if (split.columns) builder.Columns(*split.columns);
  if (filter) builder.Filter(*std::move(filter));
  builder.EncodedKeyRange(split.lower, split.upper);
  builder.AllEvents(split.kind == SplitKind::kEvents);
  auto scan = builder.Build();
  if (!scan.ok()) return WithContext(scan.status(), where);
  return scan;
}

}  // namespace bazof

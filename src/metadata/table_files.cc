#include "metadata/table_files.h"

#include <arrow/api.h>
#include <parquet/arrow/reader.h>

#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>

#include "bazof/error.h"
#include "metadata/json_reader.h"
#include "metadata/snapshot_json.h"
#include "text_escape.h"

namespace bazof::metadata {

std::string SnapshotFileName(int64_t version) { return "s" + std::to_string(version) + ".json"; }

std::optional<int64_t> ParseSnapshotFileName(std::string_view name) {
  if (name.size() < 7 || name.front() != 's' || !name.ends_with(".json")) return std::nullopt;
  std::string_view digits = name.substr(1, name.size() - 6);
  if (digits.empty() || digits.size() > 18 || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  int64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

arrow::Result<int64_t> ParseVersionPointer(const std::string& text, const std::string& what) {
  size_t b = 0, e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
  std::string_view digits(text.data() + b, e - b);
  // from_chars: overflow-checked (a 19+ digit pointer is refused, not wrapped).
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  const bool all_digits = !digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos;
  const bool out_of_range = all_digits && (ec == std::errc::result_out_of_range || v > kMaxVersion);
  if (!all_digits || out_of_range || ec != std::errc() || ptr != digits.data() + digits.size()) {
    return Corruption("version pointer '", what, "': '", QuoteForMessage(digits),
                      out_of_range ? "' is not a version number (out of range)" : "' is not a version number");
  }
  return v;
}

arrow::Result<std::shared_ptr<Snapshot>> ReadSnapshotFile(io::Storage& storage, int64_t v) {
  const std::string name = SnapshotFileName(v);
  auto text = storage.ReadFile(name);
  if (!text.ok()) {
    if (ErrorKindOf(text.status()) == ErrorKind::kNotFound) {
      return NotFound("version ", v, " of table '", storage.display_root(), "' does not exist (no ",
                      name, ")");
    }
    return text.status();
  }
  ARROW_ASSIGN_OR_RAISE(auto snap, ParseSnapshot(*text, storage.Describe(name)));
  if (snap.format_version >= 1 && snap.version.value() != v) {
    return Corruption("snapshot '", storage.Describe(name), "': field 'version' is ",
                      snap.version.value(), ", the file name says ", v);
  }
  snap.version = Version(v);
  return std::make_shared<Snapshot>(std::move(snap));
}

arrow::Status InferLegacySchema(io::Storage& storage, Snapshot* snap) {
  if (snap->schema_recorded) return arrow::Status::OK();
  auto files = snap->AllFiles();
  if (files.empty()) return arrow::Status::OK();
  const std::string& name = files.front()->path;
  ARROW_ASSIGN_OR_RAISE(auto input, storage.OpenForRead(name));
  auto reader = parquet::arrow::OpenFile(input, arrow::default_memory_pool());
  if (!reader.ok()) {
    return Corruption("data file '", storage.Describe(name), "': not a Parquet file (",
                      reader.status().message(), ")");
  }
  std::shared_ptr<arrow::Schema> schema;
  ARROW_RETURN_NOT_OK((*reader)->GetSchema(&schema));
  for (const auto& f : schema->fields()) {
    if (f->name() == snap->schema.key_columns[0].name || f->name() == snap->schema.event_time.name ||
        f->name().starts_with(kReservedPrefix)) {
      continue;
    }
    snap->schema.value_columns.push_back(ColumnSpec{f->name(), 0, f->type(), true});
  }
  return arrow::Status::OK();
}

arrow::Result<std::optional<RetentionHint>> ReadRetentionHint(io::Storage& storage) {
  auto text = storage.ReadFile(kRetentionFile);
  if (!text.ok()) {
    if (ErrorKindOf(text.status()) == ErrorKind::kNotFound) return std::nullopt;
    return text.status();
  }
  ARROW_ASSIGN_OR_RAISE(auto doc, JsonDoc::Parse(*text, "retention hint", storage.Describe(kRetentionFile)));
  const JsonNode root = doc->Root();
  RetentionHint hint;
  for (auto [name, field] : {std::pair{"oldest_retained_version", &hint.oldest_retained},
                             std::pair{"first_version", &hint.first_version}}) {
    ARROW_ASSIGN_OR_RAISE(auto node, root.Field(name));
    ARROW_ASSIGN_OR_RAISE(*field, node.Int(0, kMaxVersion));
  }
  if (hint.first_version > hint.oldest_retained) {
    return doc->Error("first_version", "greater than oldest_retained_version");
  }
  return hint;
}

std::string SerializeRetentionHint(const RetentionHint& hint) {
  nlohmann::json doc;
  doc["oldest_retained_version"] = hint.oldest_retained;
  doc["first_version"] = hint.first_version;
  return doc.dump() + "\n";
}

}  // namespace bazof::metadata

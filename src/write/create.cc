// bazof create: a new table at version 0 (schema, one open segment, no data).
#include <arrow/type.h>

#include <set>

#include "bazof/error.h"
#include "bazof/write.h"
#include "io/storage.h"
#include "metadata/column_name.h"
#include "metadata/properties.h"
#include "metadata/types.h"
#include "read/key_codec.h"
#include "write/commit.h"

namespace bazof {
namespace {

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

// Splits on commas outside parentheses ("decimal(18,4)" stays whole).
std::vector<std::string> SplitTopLevel(const std::string& s) {
  std::vector<std::string> out;
  int depth = 0;
  std::string cur;
  for (char c : s) {
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (c == ',' && depth == 0) {
      out.push_back(Trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!Trim(cur).empty() || !out.empty()) out.push_back(Trim(cur));
  return out;
}

arrow::Status CheckName(const std::string& name, const char* flag) {
  if (auto problem = metadata::ColumnNameProblem(name)) return InvalidArgument(flag, ": ", *problem);
  return arrow::Status::OK();
}

}  // namespace

namespace {

// How the caller's inputs are named in messages (CLI flags, API parameters).
struct Labels {
  const char* schema;
  const char* key;
  const char* event_time;
};

arrow::Result<TableSchema> AssembleSchema(std::vector<ColumnSpec> listed, const std::vector<std::string>& key_columns,
                                          const std::string& event_time_column, const Labels& labels);

}  // namespace

arrow::Result<TableSchema> ParseSchemaSpec(const std::string& spec,
                                           const std::vector<std::string>& key_columns,
                                           const std::string& event_time_column) {
  std::vector<ColumnSpec> listed;
  std::set<std::string> seen;
  for (const auto& entry : SplitTopLevel(spec)) {
    auto colon = entry.find(':');
    if (colon == std::string::npos) {
      return InvalidArgument("--schema: '", entry, "' is not name:type");
    }
    ColumnSpec c;
    c.name = Trim(entry.substr(0, colon));
    ARROW_RETURN_NOT_OK(CheckName(c.name, "--schema"));
    if (!seen.insert(c.name).second) return InvalidArgument("--schema: column '", c.name, "' is listed twice");
    auto type = metadata::ParseUserTypeName(Trim(entry.substr(colon + 1)));
    if (!type.ok()) return InvalidArgument("--schema: column '", c.name, "': ", type.status().message());
    c.type = *type;
    listed.push_back(std::move(c));
  }
  return AssembleSchema(std::move(listed), key_columns, event_time_column, {"--schema", "--key", "--event-time"});
}

arrow::Result<TableSchema> TableSchemaFromArrow(const arrow::Schema& arrow_schema,
                                                const std::vector<std::string>& key_columns,
                                                const std::string& event_time_column) {
  std::vector<ColumnSpec> listed;
  std::set<std::string> seen;
  for (const auto& f : arrow_schema.fields()) {
    ColumnSpec c;
    c.name = f->name();
    ARROW_RETURN_NOT_OK(CheckName(c.name, "schema"));
    if (!seen.insert(c.name).second) return InvalidArgument("schema: column '", c.name, "' is listed twice");
    // Through the format's type names, so that exactly the format's types
    // are accepted (any time zone becomes UTC, large_string becomes string).
    auto name = metadata::TypeName(*f->type());
    if (!name.ok()) return InvalidArgument("schema: column '", c.name, "': ", name.status().message());
    ARROW_ASSIGN_OR_RAISE(c.type, metadata::ParseTypeName(*name));
    listed.push_back(std::move(c));
  }
  return AssembleSchema(std::move(listed), key_columns, event_time_column, {"schema", "key", "event_time"});
}

namespace {

arrow::Result<TableSchema> AssembleSchema(std::vector<ColumnSpec> listed, const std::vector<std::string>& key_columns,
                                          const std::string& event_time_column, const Labels& labels) {
  if (key_columns.empty()) return InvalidArgument(labels.key, ": at least one key column is needed");
  auto take = [&](const std::string& name) -> std::optional<ColumnSpec> {
    for (auto it = listed.begin(); it != listed.end(); ++it) {
      if (it->name == name) {
        ColumnSpec c = *it;
        listed.erase(it);
        return c;
      }
    }
    return std::nullopt;
  };

  TableSchema schema;
  int32_t next_id = 1;
  std::set<std::string> key_seen;
  for (const auto& k : key_columns) {
    ARROW_RETURN_NOT_OK(CheckName(k, labels.key));
    if (!key_seen.insert(k).second) return InvalidArgument(labels.key, ": column '", k, "' is listed twice");
    if (k == event_time_column) return InvalidArgument(labels.key, ": '", k, "' is the event-time column");
    ColumnSpec c = take(k).value_or(ColumnSpec{k, 0, arrow::utf8(), false});
    c.id = next_id++;
    c.nullable = false;
    schema.key_columns.push_back(std::move(c));
  }
  for (const auto& k : schema.key_columns) {
    if (!read::KeyCodec::Make({k.type}).ok()) {
      return InvalidArgument(labels.key, ": column '", k.name, "' has type ",
                             metadata::TypeName(*k.type).ValueOr(k.type->ToString()),
                             ", which cannot be a key (use string, binary, bool, an integer, date or timestamp)");
    }
  }

  ARROW_RETURN_NOT_OK(CheckName(event_time_column, labels.event_time));
  ColumnSpec et = take(event_time_column)
                      .value_or(ColumnSpec{event_time_column, 0,
                                           arrow::timestamp(arrow::TimeUnit::MILLI, "UTC"), false});
  if (et.type->id() != arrow::Type::TIMESTAMP) {
    return InvalidArgument(labels.event_time, ": column '", et.name, "' must be a timestamp, not ",
                           metadata::TypeName(*et.type).ValueOr(et.type->ToString()));
  }
  et.id = next_id++;
  et.nullable = false;
  schema.event_time = std::move(et);
  for (auto& c : listed) {
    c.id = next_id++;
    c.nullable = true;
    schema.value_columns.push_back(std::move(c));
  }
  schema.next_column_id = next_id;
  return schema;
}

}  // namespace

arrow::Result<std::shared_ptr<Table>> CreateTable(const std::string& location,
                                                  const std::string& name,
                                                  const TableSchema& schema,
                                                  const StorageOptions& options,
                                                  const std::map<std::string, std::string>& properties) {
  for (const auto& [prop, value] : properties) ARROW_RETURN_NOT_OK(metadata::ValidateProperty(prop, value));
  ARROW_ASSIGN_OR_RAISE(auto storage, io::OpenStorage(location, name, /*create_location=*/true, options));
  return CreateTable(std::move(storage), schema, properties);
}

arrow::Result<std::shared_ptr<Table>> CreateTable(std::shared_ptr<io::Storage> storage,
                                                  const TableSchema& schema,
                                                  const std::map<std::string, std::string>& properties) {
  for (const auto& [prop, value] : properties) ARROW_RETURN_NOT_OK(metadata::ValidateProperty(prop, value));
  for (const char* existing : {"version.txt", "s0.json", "s1.json"}) {
    ARROW_ASSIGN_OR_RAISE(bool exists, storage->Exists(existing));
    if (exists) return Conflict("table '", storage->display_root(), "' already exists");
  }
  ARROW_RETURN_NOT_OK(storage->CreateRoot());
  Snapshot snap;
  snap.format_version = kFormatVersion;
  snap.version = Version(0);
  snap.schema = schema;
  snap.properties = properties;
  snap.commit = CommitInfo{"create", write::WallClockNow(), 0, {}, {}};
  // One open-ended segment: deltas are filed under it until compaction
  // (a later issue) cuts the timeline into segments with bases.
  Segment seg;
  seg.id = "seg-0";
  seg.start = EventTime::FromMicros(0);
  snap.segments.push_back(std::move(seg));
  auto st = write::CommitSnapshot(*storage, snap);
  if (ErrorKindOf(st) == ErrorKind::kConflict) {
    return Conflict("table '", storage->display_root(), "' already exists");
  }
  ARROW_RETURN_NOT_OK(st);
  return Table::Open(std::move(storage));
}

}  // namespace bazof

#include "metadata/snapshot_json.h"

#include <arrow/scalar.h>
#include <arrow/type.h>

#include <nlohmann/json.hpp>

#include "bazof/error.h"
#include "metadata/path_safety.h"
#include "metadata/types.h"

namespace bazof::metadata {
namespace {

using nlohmann::json;

// Parsing context: names the file and the JSON path in every error.
struct Ctx {
  std::string_view what;
  arrow::Status Error(const std::string& where, const std::string& problem) const {
    return Corruption("snapshot '", what, "': ", where.empty() ? "" : where + ": ", problem);
  }
};

arrow::Result<const json*> Field(const Ctx& ctx, const json& obj, const std::string& where,
                                 const char* name, bool required) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) {
    if (required) return ctx.Error(where, std::string("missing field '") + name + "'");
    return nullptr;
  }
  return &*it;
}

arrow::Result<std::string> GetString(const Ctx& ctx, const json& obj, const std::string& where,
                                     const char* name) {
  ARROW_ASSIGN_OR_RAISE(auto v, Field(ctx, obj, where, name, true));
  if (!v->is_string()) return ctx.Error(where, std::string("field '") + name + "' is not a string");
  return v->get<std::string>();
}

arrow::Result<int64_t> GetInt(const Ctx& ctx, const json& v, const std::string& where,
                              const char* name) {
  if (!v.is_number_integer()) {
    return ctx.Error(where, std::string("field '") + name + "' is not an integer");
  }
  return v.get<int64_t>();
}

arrow::Result<EventTime> GetTime(const Ctx& ctx, const json& obj, const std::string& where,
                                 const char* name) {
  ARROW_ASSIGN_OR_RAISE(auto s, GetString(ctx, obj, where, name));
  auto t = ParseEventTime(s, name);
  if (!t.ok()) return ctx.Error(where, "field '" + std::string(name) + "' = '" + s + "' is not an RFC 3339 timestamp");
  return *t;
}

arrow::Result<std::optional<EventTime>> GetOptTime(const Ctx& ctx, const json& obj,
                                                   const std::string& where, const char* name) {
  ARROW_ASSIGN_OR_RAISE(auto v, Field(ctx, obj, where, name, false));
  if (!v) return std::nullopt;
  ARROW_ASSIGN_OR_RAISE(auto t, GetTime(ctx, obj, where, name));
  return t;
}

arrow::Result<ColumnSpec> ParseColumn(const Ctx& ctx, const json& c, const std::string& where,
                                      bool legacy_type_required) {
  if (!c.is_object()) return ctx.Error(where, "column is not an object");
  ColumnSpec col;
  ARROW_ASSIGN_OR_RAISE(col.name, GetString(ctx, c, where, "name"));
  ARROW_ASSIGN_OR_RAISE(auto type, Field(ctx, c, where, "type", false));
  if (type) {
    if (!type->is_string()) return ctx.Error(where, "field 'type' is not a string");
    auto parsed = ParseTypeName(type->get<std::string>());
    if (!parsed.ok()) return ctx.Error(where, parsed.status().message());
    col.type = *parsed;
  } else {
    ARROW_ASSIGN_OR_RAISE(auto dt, Field(ctx, c, where, "data_type", legacy_type_required));
    if (!dt) return ctx.Error(where, "missing field 'type'");
    if (!dt->is_string()) return ctx.Error(where, "field 'data_type' is not a string");
    auto parsed = ParseLegacyTypeName(dt->get<std::string>());
    if (!parsed.ok()) return ctx.Error(where, parsed.status().message());
    col.type = *parsed;
  }
  if (auto it = c.find("nullable"); it != c.end()) {
    if (!it->is_boolean()) return ctx.Error(where, "field 'nullable' is not a boolean");
    col.nullable = it->get<bool>();
  }
  if (auto it = c.find("id"); it != c.end()) {
    ARROW_ASSIGN_OR_RAISE(auto id, GetInt(ctx, *it, where, "id"));
    if (id <= 0 || id > INT32_MAX) return ctx.Error(where, "field 'id' must be a positive int32");
    col.id = static_cast<int32_t>(id);
  } else if (!legacy_type_required) {
    // Format 1 (the only case where the legacy type is optional): every
    // column has an id (docs/spec.md §4). Accepting none would let the next
    // commit write "id": 0, which no reader accepts.
    return ctx.Error(where, "missing field 'id'");
  }
  return col;
}

arrow::Result<KeyValue> ParseKey(const Ctx& ctx, const json& v, const std::string& where,
                                 const char* name, const TableSchema& schema) {
  if (!v.is_array() || v.size() != schema.key_columns.size()) {
    return ctx.Error(where, std::string("field '") + name + "' must be an array with one value per key column");
  }
  KeyValue key;
  for (size_t i = 0; i < v.size(); ++i) {
    const auto& type = schema.key_columns[i].type;
    std::string text = v[i].is_string() ? v[i].get<std::string>() : v[i].dump();
    auto scalar = arrow::Scalar::Parse(type, text);
    if (!scalar.ok()) {
      return ctx.Error(where, std::string("field '") + name + "': '" + text + "' is not a " + type->ToString());
    }
    key.push_back(*scalar);
  }
  return key;
}

arrow::Result<DataFileRef> ParseFile(const Ctx& ctx, const json& f, const std::string& where,
                                     const TableSchema& schema, bool is_delta) {
  if (!f.is_object()) return ctx.Error(where, "not an object");
  DataFileRef ref;
  ARROW_ASSIGN_OR_RAISE(ref.path, GetString(ctx, f, where, "file"));
  auto safe = CheckRelativeFileName(ref.path);
  if (!safe.ok()) return ctx.Error(where, safe.message());
  if (is_delta) {
    ARROW_ASSIGN_OR_RAISE(ref.start, GetTime(ctx, f, where, "start"));
    ARROW_ASSIGN_OR_RAISE(ref.end, GetTime(ctx, f, where, "end"));
  }
  for (auto [name, field] : {std::pair{"rows", &ref.rows}, std::pair{"size", &ref.size},
                             std::pair{"tombstones", &ref.tombstones}}) {
    if (auto it = f.find(name); it != f.end()) {
      ARROW_ASSIGN_OR_RAISE(*field, GetInt(ctx, *it, where, name));
    }
  }
  if (auto it = f.find("version"); it != f.end()) {
    ARROW_ASSIGN_OR_RAISE(auto v, GetInt(ctx, *it, where, "version"));
    ref.version = Version(v);
  }
  if (auto it = f.find("built_from_version"); it != f.end()) {
    ARROW_ASSIGN_OR_RAISE(auto v, GetInt(ctx, *it, where, "built_from_version"));
    ref.version = Version(v);
  }
  if (auto it = f.find("min_event_time"); it != f.end()) {
    ARROW_ASSIGN_OR_RAISE(ref.start, GetTime(ctx, f, where, "min_event_time"));
  }
  if (auto it = f.find("max_event_time"); it != f.end()) {
    ARROW_ASSIGN_OR_RAISE(ref.end, GetTime(ctx, f, where, "max_event_time"));
  }
  if (auto it = f.find("min_key"); it != f.end()) {
    ARROW_ASSIGN_OR_RAISE(ref.min_key, ParseKey(ctx, *it, where, "min_key", schema));
  }
  if (auto it = f.find("max_key"); it != f.end()) {
    ARROW_ASSIGN_OR_RAISE(ref.max_key, ParseKey(ctx, *it, where, "max_key", schema));
  }
  if (auto it = f.find("sorted"); it != f.end()) {
    if (!it->is_boolean()) return ctx.Error(where, "field 'sorted' is not a boolean");
    ref.sorted = it->get<bool>();
  }
  return ref;
}

arrow::Status ParseSegments(const Ctx& ctx, const json& arr, const std::string& where,
                            const TableSchema& schema, bool format1,
                            std::vector<Segment>* out) {
  if (!arr.is_array()) return ctx.Error(where, "'segments' is not an array");
  for (size_t i = 0; i < arr.size(); ++i) {
    const json& s = arr[i];
    std::string w = where + "[" + std::to_string(i) + "]";
    if (!s.is_object()) return ctx.Error(w, "segment is not an object");
    Segment seg;
    if (auto it = s.find("id"); it != s.end()) {
      if (!it->is_string()) return ctx.Error(w, "field 'id' is not a string");
      seg.id = it->get<std::string>();
      w = "segment '" + seg.id + "'";
    }
    ARROW_ASSIGN_OR_RAISE(seg.start, GetTime(ctx, s, w, "start"));
    ARROW_ASSIGN_OR_RAISE(seg.end, GetOptTime(ctx, s, w, "end"));
    if (seg.end && *seg.end < seg.start) return ctx.Error(w, "'end' is before 'start'");
    ARROW_ASSIGN_OR_RAISE(auto file, Field(ctx, s, w, "file", false));
    if (file) {
      json base = json::object();
      if (auto it = s.find("base"); it != s.end() && it->is_object()) base = *it;
      base["file"] = *file;
      ARROW_ASSIGN_OR_RAISE(auto ref, ParseFile(ctx, base, w + ": base", schema, false));
      if (format1 && !ref.version) return ctx.Error(w + ": base", "missing field 'built_from_version'");
      seg.base = std::move(ref);
    }
    if (auto it = s.find("delta"); it != s.end() && !it->is_null()) {
      if (!it->is_array()) return ctx.Error(w, "'delta' is not an array");
      for (size_t j = 0; j < it->size(); ++j) {
        std::string dw = w + ": delta[" + std::to_string(j) + "]";
        ARROW_ASSIGN_OR_RAISE(auto ref, ParseFile(ctx, (*it)[j], dw, schema, true));
        if (format1 && !ref.version) return ctx.Error(dw, "missing field 'version'");
        seg.deltas.push_back(std::move(ref));
      }
    }
    if (auto it = s.find("segments"); it != s.end() && !it->is_null()) {
      ARROW_RETURN_NOT_OK(ParseSegments(ctx, *it, w + ": segments", schema, format1, &seg.segments));
    }
    out->push_back(std::move(seg));
  }
  return arrow::Status::OK();
}

ColumnSpec LegacyKey() { return {"key", 0, arrow::utf8(), false}; }
ColumnSpec LegacyEventTime() {
  return {"event_time", 0, arrow::timestamp(arrow::TimeUnit::MILLI, "UTC"), false};
}

}  // namespace

arrow::Result<Snapshot> ParseSnapshot(std::string_view text, std::string_view what) {
  Ctx ctx{what};
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return ctx.Error("", "not valid JSON");
  if (!doc.is_object()) return ctx.Error("", "not a JSON object");

  Snapshot snap;
  if (auto it = doc.find("format_version"); it != doc.end()) {
    ARROW_ASSIGN_OR_RAISE(auto fv, GetInt(ctx, *it, "", "format_version"));
    if (fv < 1 || fv > kFormatVersion) {
      return ctx.Error("", "unsupported format_version " + std::to_string(fv) +
                               " (this build reads 1.." + std::to_string(kFormatVersion) + ")");
    }
    snap.format_version = static_cast<int>(fv);
  }
  const bool format1 = snap.format_version >= 1;
  ARROW_ASSIGN_OR_RAISE(auto version, Field(ctx, doc, "", "version", format1));
  if (version) {
    ARROW_ASSIGN_OR_RAISE(auto v, GetInt(ctx, *version, "", "version"));
    snap.version = Version(v);
  }

  ARROW_ASSIGN_OR_RAISE(auto schema, Field(ctx, doc, "", "schema", format1));
  if (schema) {
    if (!schema->is_object()) return ctx.Error("schema", "not an object");
    ARROW_ASSIGN_OR_RAISE(auto cols, Field(ctx, *schema, "schema", "columns", true));
    if (!cols->is_array()) return ctx.Error("schema", "'columns' is not an array");
    for (size_t i = 0; i < cols->size(); ++i) {
      ARROW_ASSIGN_OR_RAISE(auto col, ParseColumn(ctx, (*cols)[i], "schema.columns[" + std::to_string(i) + "]", !format1));
      snap.schema.value_columns.push_back(std::move(col));
    }
    if (format1) {
      ARROW_ASSIGN_OR_RAISE(auto keys, Field(ctx, *schema, "schema", "key_columns", true));
      if (!keys->is_array() || keys->empty()) return ctx.Error("schema", "'key_columns' must be a non-empty array");
      for (size_t i = 0; i < keys->size(); ++i) {
        ARROW_ASSIGN_OR_RAISE(auto col, ParseColumn(ctx, (*keys)[i], "schema.key_columns[" + std::to_string(i) + "]", false));
        col.nullable = false;
        snap.schema.key_columns.push_back(std::move(col));
      }
      ARROW_ASSIGN_OR_RAISE(auto et, Field(ctx, *schema, "schema", "event_time_column", true));
      ARROW_ASSIGN_OR_RAISE(snap.schema.event_time, ParseColumn(ctx, *et, "schema.event_time_column", false));
      if (snap.schema.event_time.type->id() != arrow::Type::TIMESTAMP) {
        return ctx.Error("schema.event_time_column", "type must be a timestamp");
      }
      snap.schema.event_time.nullable = false;
      if (auto it = schema->find("next_column_id"); it != schema->end()) {
        ARROW_ASSIGN_OR_RAISE(auto n, GetInt(ctx, *it, "schema", "next_column_id"));
        snap.schema.next_column_id = static_cast<int32_t>(n);
      }
    } else {
      snap.schema.key_columns = {LegacyKey()};
      snap.schema.event_time = LegacyEventTime();
    }
  } else {
    snap.schema_recorded = false;
    snap.schema.key_columns = {LegacyKey()};
    snap.schema.event_time = LegacyEventTime();
  }

  if (format1) {
    if (auto it = doc.find("commit"); it != doc.end() && it->is_object()) {
      CommitInfo c;
      c.operation = it->value("operation", "");
      c.timestamp = it->value("timestamp", "");
      c.rows_added = it->value("rows_added", int64_t{0});
      c.files_added = it->value("files_added", std::vector<std::string>{});
      c.files_removed = it->value("files_removed", std::vector<std::string>{});
      if (auto d = it->find("description"); d != it->end() && d->is_string()) c.description = d->get<std::string>();
      snap.commit = std::move(c);
    }
    if (auto it = doc.find("properties"); it != doc.end() && !it->is_null()) {
      if (!it->is_object()) return ctx.Error("", "'properties' is not an object");
      for (const auto& [name, value] : it->items()) {
        if (!value.is_string()) return ctx.Error("properties", "'" + name + "' is not a string");
        snap.properties[name] = value.get<std::string>();
      }
    }
  }

  ARROW_ASSIGN_OR_RAISE(auto segments, Field(ctx, doc, "", "segments", true));
  ARROW_RETURN_NOT_OK(ParseSegments(ctx, *segments, "segments", snap.schema, format1, &snap.segments));
  return snap;
}

namespace {

json KeyToJson(const KeyValue& key) {
  json arr = json::array();
  for (const auto& s : key) {
    switch (s->type->id()) {
      case arrow::Type::INT8:
      case arrow::Type::INT16:
      case arrow::Type::INT32:
      case arrow::Type::INT64:
        arr.push_back(std::stoll(s->ToString()));
        break;
      case arrow::Type::UINT8:
      case arrow::Type::UINT16:
      case arrow::Type::UINT32:
      case arrow::Type::UINT64:
        arr.push_back(std::stoull(s->ToString()));
        break;
      default:
        arr.push_back(s->ToString());
    }
  }
  return arr;
}

arrow::Result<json> ColumnToJson(const ColumnSpec& c, bool with_legacy_type) {
  json j;
  j["name"] = c.name;
  if (with_legacy_type) {
    if (auto legacy = LegacyTypeName(*c.type)) j["data_type"] = *legacy;
  }
  j["nullable"] = c.nullable;
  j["id"] = c.id;
  ARROW_ASSIGN_OR_RAISE(auto name, TypeName(*c.type));
  j["type"] = name;
  return j;
}

json FileStatsToJson(const DataFileRef& f, json j) {
  if (f.rows >= 0) j["rows"] = f.rows;
  if (f.size >= 0) j["size"] = f.size;
  if (f.tombstones >= 0) j["tombstones"] = f.tombstones;
  if (!f.min_key.empty()) j["min_key"] = KeyToJson(f.min_key);
  if (!f.max_key.empty()) j["max_key"] = KeyToJson(f.max_key);
  j["sorted"] = f.sorted;
  return j;
}

json SegmentsToJson(const std::vector<Segment>& segments) {
  json arr = json::array();
  for (const auto& s : segments) {
    json j;
    j["id"] = s.id;
    j["start"] = FormatEventTime(s.start);
    if (s.end) j["end"] = FormatEventTime(*s.end);
    if (s.base) {
      j["file"] = s.base->path;
      json b;
      b["built_from_version"] = s.base->version ? s.base->version->value() : 0;
      if (s.base->start) b["min_event_time"] = FormatEventTime(*s.base->start);
      if (s.base->end) b["max_event_time"] = FormatEventTime(*s.base->end);
      j["base"] = FileStatsToJson(*s.base, b);
    }
    json deltas = json::array();
    for (const auto& d : s.deltas) {
      json dj;
      dj["file"] = d.path;
      dj["start"] = FormatEventTime(d.start.value_or(s.start));
      dj["end"] = FormatEventTime(d.end.value_or(s.start));
      dj["version"] = d.version ? d.version->value() : 0;
      deltas.push_back(FileStatsToJson(d, dj));
    }
    if (!deltas.empty()) j["delta"] = deltas;
    if (!s.segments.empty()) j["segments"] = SegmentsToJson(s.segments);
    arr.push_back(j);
  }
  return arr;
}

}  // namespace

arrow::Result<std::string> SerializeSnapshot(const Snapshot& snap) {
  json doc;
  doc["format_version"] = kFormatVersion;
  doc["version"] = snap.version.value();
  json schema;
  json cols = json::array();
  for (const auto& c : snap.schema.value_columns) {
    ARROW_ASSIGN_OR_RAISE(auto j, ColumnToJson(c, true));
    cols.push_back(j);
  }
  schema["columns"] = cols;
  json keys = json::array();
  for (const auto& c : snap.schema.key_columns) {
    ARROW_ASSIGN_OR_RAISE(auto j, ColumnToJson(c, false));
    keys.push_back(j);
  }
  schema["key_columns"] = keys;
  ARROW_ASSIGN_OR_RAISE(schema["event_time_column"], ColumnToJson(snap.schema.event_time, false));
  schema["next_column_id"] = snap.schema.next_column_id;
  doc["schema"] = schema;
  if (snap.commit) {
    json c;
    c["operation"] = snap.commit->operation;
    c["timestamp"] = snap.commit->timestamp;
    c["rows_added"] = snap.commit->rows_added;
    c["files_added"] = snap.commit->files_added;
    c["files_removed"] = snap.commit->files_removed;
    if (!snap.commit->description.empty()) c["description"] = snap.commit->description;
    doc["commit"] = c;
  }
  if (!snap.properties.empty()) doc["properties"] = snap.properties;
  doc["segments"] = SegmentsToJson(snap.segments);
  return doc.dump(2) + "\n";
}

}  // namespace bazof::metadata

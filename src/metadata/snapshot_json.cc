#include "metadata/snapshot_json.h"

#include <arrow/scalar.h>
#include <arrow/type.h>

#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>

#include "bazof/error.h"
#include "metadata/json_reader.h"
#include "metadata/path_safety.h"
#include "metadata/table_files.h"
#include "metadata/types.h"
#include "text_escape.h"

namespace bazof::metadata {
namespace {

using nlohmann::json;

// Every stored value is read through JsonNode's checked accessors
// (metadata/json_reader.h): a wrong type, a missing field or an out-of-range
// number is kCorruption naming the file and the field's path.

constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();
// Legacy snapshots nest segments; deeper nesting than this is corruption
// (and would otherwise recurse without bound).
constexpr int kMaxSegmentDepth = 32;

arrow::Result<EventTime> GetTime(const JsonNode& node) {
  ARROW_ASSIGN_OR_RAISE(auto s, node.String());
  auto t = ParseEventTime(s, node.path());
  if (!t.ok()) return node.Error("'" + QuoteForMessage(s) + "' is not an RFC 3339 timestamp");
  return *t;
}

arrow::Result<std::optional<EventTime>> GetOptTime(const JsonNode& obj, const char* name) {
  ARROW_ASSIGN_OR_RAISE(auto v, obj.OptField(name));
  if (!v) return std::nullopt;
  ARROW_ASSIGN_OR_RAISE(auto t, GetTime(*v));
  return t;
}

arrow::Result<std::shared_ptr<arrow::DataType>> GetType(const JsonNode& node, bool legacy) {
  ARROW_ASSIGN_OR_RAISE(auto name, node.String());
  auto parsed = legacy ? ParseLegacyTypeName(name) : ParseTypeName(name);
  if (!parsed.ok()) return node.Error(parsed.status().message());
  return *parsed;
}

arrow::Result<ColumnSpec> ParseColumn(const JsonNode& c, bool legacy_type_required) {
  ARROW_RETURN_NOT_OK(c.ExpectObject());
  ColumnSpec col;
  ARROW_ASSIGN_OR_RAISE(auto name, c.Field("name"));
  ARROW_ASSIGN_OR_RAISE(col.name, name.String());
  ARROW_ASSIGN_OR_RAISE(auto type, c.OptField("type"));
  if (type) {
    ARROW_ASSIGN_OR_RAISE(col.type, GetType(*type, false));
  } else {
    ARROW_ASSIGN_OR_RAISE(auto dt, c.OptField("data_type"));
    if (!dt) {
      return legacy_type_required ? c.Field("data_type").status() : c.Field("type").status();
    }
    ARROW_ASSIGN_OR_RAISE(col.type, GetType(*dt, true));
  }
  ARROW_ASSIGN_OR_RAISE(auto nullable, c.OptField("nullable"));
  if (nullable) {
    ARROW_ASSIGN_OR_RAISE(col.nullable, nullable->Bool());
  }
  ARROW_ASSIGN_OR_RAISE(auto id, c.OptField("id"));
  if (id) {
    ARROW_ASSIGN_OR_RAISE(auto n, id->Int(1, std::numeric_limits<int32_t>::max()));
    col.id = static_cast<int32_t>(n);
  } else if (!legacy_type_required) {
    // Format 1 (the only case where the legacy type is optional): every
    // column has an id (docs/spec.md §4). Accepting none would let the next
    // commit write "id": 0, which no reader accepts.
    return c.Field("id").status();
  }
  return col;
}

arrow::Result<KeyValue> ParseKey(const JsonNode& v, const TableSchema& schema) {
  ARROW_ASSIGN_OR_RAISE(auto values, v.Elements());
  if (values.size() != schema.key_columns.size()) {
    return v.Error("expected an array with one value per key column (" +
                   std::to_string(schema.key_columns.size()) + "), found " +
                   std::to_string(values.size()));
  }
  KeyValue key;
  for (size_t i = 0; i < values.size(); ++i) {
    const auto& type = schema.key_columns[i].type;
    const json& raw = values[i].raw();
    if (!raw.is_string() && !raw.is_number()) {
      return values[i].Error("expected a string or a number, found " +
                             std::string(values[i].TypeDescription()));
    }
    // Valid UTF-8 by construction (the parser checks), so dump() cannot throw.
    std::string text = raw.is_string() ? raw.get<std::string>() : raw.dump();
    auto scalar = arrow::Scalar::Parse(type, text);
    if (!scalar.ok()) {
      return values[i].Error("'" + QuoteForMessage(text) + "' is not a " + type->ToString());
    }
    key.push_back(*scalar);
  }
  return key;
}

// A data file: `f` holds its stats; the name is in `file` (for a base, the
// segment's `file` field, passed separately).
arrow::Result<DataFileRef> ParseFile(const JsonNode& file, const JsonNode* f,
                                     const TableSchema& schema, bool is_delta) {
  DataFileRef ref;
  ARROW_ASSIGN_OR_RAISE(ref.path, file.String());
  auto safe = CheckRelativeFileName(ref.path);
  if (!safe.ok()) return file.Error(safe.message());
  if (!f) return ref;
  if (is_delta) {
    ARROW_ASSIGN_OR_RAISE(auto start, f->Field("start"));
    ARROW_ASSIGN_OR_RAISE(ref.start, GetTime(start));
    ARROW_ASSIGN_OR_RAISE(auto end, f->Field("end"));
    ARROW_ASSIGN_OR_RAISE(ref.end, GetTime(end));
  }
  for (auto [name, field] : {std::pair{"rows", &ref.rows}, std::pair{"size", &ref.size},
                             std::pair{"tombstones", &ref.tombstones}}) {
    ARROW_ASSIGN_OR_RAISE(auto n, f->OptField(name));
    if (n) {
      ARROW_ASSIGN_OR_RAISE(*field, n->Int(0, kMaxInt64));
    }
  }
  for (const char* name : {"version", "built_from_version"}) {
    ARROW_ASSIGN_OR_RAISE(auto n, f->OptField(name));
    if (n) {
      ARROW_ASSIGN_OR_RAISE(auto v, n->Int(0, kMaxVersion));
      ref.version = Version(v);
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto min_t, GetOptTime(*f, "min_event_time"));
  if (min_t) ref.start = min_t;
  ARROW_ASSIGN_OR_RAISE(auto max_t, GetOptTime(*f, "max_event_time"));
  if (max_t) ref.end = max_t;
  for (auto [name, field] : {std::pair{"min_key", &ref.min_key}, std::pair{"max_key", &ref.max_key}}) {
    ARROW_ASSIGN_OR_RAISE(auto k, f->OptField(name));
    if (k) {
      ARROW_ASSIGN_OR_RAISE(*field, ParseKey(*k, schema));
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto sorted, f->OptField("sorted"));
  if (sorted) {
    ARROW_ASSIGN_OR_RAISE(ref.sorted, sorted->Bool());
  }
  return ref;
}

arrow::Status ParseSegments(const JsonNode& arr, const TableSchema& schema, bool format1, int depth,
                            std::vector<Segment>* out) {
  if (depth > kMaxSegmentDepth) return arr.Error("segments nested too deeply");
  ARROW_ASSIGN_OR_RAISE(auto segments, arr.Elements());
  for (const JsonNode& s : segments) {
    ARROW_RETURN_NOT_OK(s.ExpectObject());
    Segment seg;
    ARROW_ASSIGN_OR_RAISE(auto id, s.OptField("id"));
    if (id) {
      ARROW_ASSIGN_OR_RAISE(seg.id, id->String());
    }
    ARROW_ASSIGN_OR_RAISE(auto start, s.Field("start"));
    ARROW_ASSIGN_OR_RAISE(seg.start, GetTime(start));
    ARROW_ASSIGN_OR_RAISE(seg.end, GetOptTime(s, "end"));
    if (seg.end && *seg.end < seg.start) {
      ARROW_ASSIGN_OR_RAISE(auto end, s.Field("end"));
      return end.Error("'end' is before 'start'");
    }
    ARROW_ASSIGN_OR_RAISE(auto file, s.OptField("file"));
    ARROW_ASSIGN_OR_RAISE(auto base, s.OptField("base"));
    if (base) ARROW_RETURN_NOT_OK(base->ExpectObject());
    if (file) {
      ARROW_ASSIGN_OR_RAISE(auto ref, ParseFile(*file, base ? &*base : nullptr, schema, false));
      if (format1 && !ref.version) {
        if (!base) return s.Field("base").status();
        return base->Field("built_from_version").status();
      }
      seg.base = std::move(ref);
    }
    ARROW_ASSIGN_OR_RAISE(auto delta, s.OptField("delta"));
    if (delta) {
      ARROW_ASSIGN_OR_RAISE(auto deltas, delta->Elements());
      for (const JsonNode& d : deltas) {
        ARROW_RETURN_NOT_OK(d.ExpectObject());
        ARROW_ASSIGN_OR_RAISE(auto dfile, d.Field("file"));
        ARROW_ASSIGN_OR_RAISE(auto ref, ParseFile(dfile, &d, schema, true));
        if (format1 && !ref.version) return d.Field("version").status();
        seg.deltas.push_back(std::move(ref));
      }
    }
    ARROW_ASSIGN_OR_RAISE(auto nested, s.OptField("segments"));
    if (nested) {
      ARROW_RETURN_NOT_OK(ParseSegments(*nested, schema, format1, depth + 1, &seg.segments));
    }
    out->push_back(std::move(seg));
  }
  return arrow::Status::OK();
}

ColumnSpec LegacyKey() { return {"key", 0, arrow::utf8(), false}; }
ColumnSpec LegacyEventTime() {
  return {"event_time", 0, arrow::timestamp(arrow::TimeUnit::MILLI, "UTC"), false};
}

// The informational `commit` object. Like every other field, a wrong type is
// corruption (docs/spec.md §4): readers check every field they read.
arrow::Result<CommitInfo> ParseCommit(const JsonNode& node) {
  ARROW_RETURN_NOT_OK(node.ExpectObject());
  CommitInfo c;
  for (auto [name, field] : {std::pair{"operation", &c.operation}, std::pair{"timestamp", &c.timestamp},
                             std::pair{"description", &c.description}}) {
    ARROW_ASSIGN_OR_RAISE(auto v, node.OptField(name));
    if (v) {
      ARROW_ASSIGN_OR_RAISE(*field, v->String());
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto rows, node.OptField("rows_added"));
  if (rows) {
    ARROW_ASSIGN_OR_RAISE(c.rows_added, rows->Int(0, kMaxInt64));
  }
  for (auto [name, field] : {std::pair{"files_added", &c.files_added},
                             std::pair{"files_removed", &c.files_removed}}) {
    ARROW_ASSIGN_OR_RAISE(auto v, node.OptField(name));
    if (v) {
      ARROW_ASSIGN_OR_RAISE(*field, v->StringList());
    }
  }
  return c;
}

// The optional `timeline` object (docs/spec.md, "Completeness watermark",
// "History horizon").
arrow::Status ParseTimeline(const JsonNode& node, Snapshot* snap) {
  ARROW_RETURN_NOT_OK(node.ExpectObject());
  ARROW_ASSIGN_OR_RAISE(snap->watermark, GetOptTime(node, "watermark"));
  ARROW_ASSIGN_OR_RAISE(snap->horizon, GetOptTime(node, "horizon"));
  ARROW_ASSIGN_OR_RAISE(auto erase, node.OptField("erase_below_version"));
  if (erase) {
    ARROW_ASSIGN_OR_RAISE(auto v, erase->Int(0, kMaxVersion));
    snap->erase_below = Version(v);
  }
  ARROW_ASSIGN_OR_RAISE(auto late, node.OptField("late_events"));
  if (late) {
    ARROW_RETURN_NOT_OK(late->ExpectObject());
    LatenessProfile& p = snap->lateness;
    ARROW_ASSIGN_OR_RAISE(auto count, late->Field("count"));
    ARROW_ASSIGN_OR_RAISE(p.count, count.Int(0, kMaxInt64));
    ARROW_ASSIGN_OR_RAISE(auto max, late->Field("max_lateness_us"));
    ARROW_ASSIGN_OR_RAISE(p.max_us, max.Int(0, kMaxInt64));
    ARROW_ASSIGN_OR_RAISE(auto buckets, late->Field("buckets"));
    ARROW_ASSIGN_OR_RAISE(auto elems, buckets.Elements());
    if (elems.size() != kLatenessBuckets) {
      return buckets.Error("expected " + std::to_string(kLatenessBuckets) + " bucket counts, found " +
                           std::to_string(elems.size()));
    }
    int64_t sum = 0;
    for (const auto& e : elems) {
      ARROW_ASSIGN_OR_RAISE(auto n, e.Int(0, kMaxInt64));
      p.buckets.push_back(n);
      if (__builtin_add_overflow(sum, n, &sum)) return buckets.Error("bucket counts overflow");
    }
    if (sum != p.count) return buckets.Error("bucket counts do not add up to 'count'");
  }
  return arrow::Status::OK();
}

arrow::Status ParseSchema(const JsonNode& schema, bool format1, TableSchema* out) {
  ARROW_ASSIGN_OR_RAISE(auto cols_node, schema.Field("columns"));
  ARROW_ASSIGN_OR_RAISE(auto cols, cols_node.Elements());
  for (const auto& c : cols) {
    ARROW_ASSIGN_OR_RAISE(auto col, ParseColumn(c, !format1));
    out->value_columns.push_back(std::move(col));
  }
  if (!format1) {
    out->key_columns = {LegacyKey()};
    out->event_time = LegacyEventTime();
    return arrow::Status::OK();
  }
  ARROW_ASSIGN_OR_RAISE(auto keys_node, schema.Field("key_columns"));
  ARROW_ASSIGN_OR_RAISE(auto keys, keys_node.Elements());
  if (keys.empty()) return keys_node.Error("expected a non-empty array");
  for (const auto& k : keys) {
    ARROW_ASSIGN_OR_RAISE(auto col, ParseColumn(k, false));
    col.nullable = false;
    out->key_columns.push_back(std::move(col));
  }
  ARROW_ASSIGN_OR_RAISE(auto et, schema.Field("event_time_column"));
  ARROW_ASSIGN_OR_RAISE(out->event_time, ParseColumn(et, false));
  if (out->event_time.type->id() != arrow::Type::TIMESTAMP) {
    ARROW_ASSIGN_OR_RAISE(auto type, et.Field("type"));
    return type.Error("the event-time column's type must be a timestamp");
  }
  out->event_time.nullable = false;
  ARROW_ASSIGN_OR_RAISE(auto next, schema.OptField("next_column_id"));
  if (next) {
    ARROW_ASSIGN_OR_RAISE(auto n, next->Int(1, std::numeric_limits<int32_t>::max()));
    out->next_column_id = static_cast<int32_t>(n);
  }
  return arrow::Status::OK();
}

}  // namespace

arrow::Result<Snapshot> ParseSnapshot(std::string_view text, std::string_view what) {
  ARROW_ASSIGN_OR_RAISE(auto doc, JsonDoc::Parse(text, "snapshot", std::string(what)));
  const JsonNode root = doc->Root();
  ARROW_RETURN_NOT_OK(root.ExpectObject());

  Snapshot snap;
  ARROW_ASSIGN_OR_RAISE(auto fv_node, root.OptField("format_version"));
  if (fv_node) {
    ARROW_ASSIGN_OR_RAISE(auto fv, fv_node->Int());
    if (fv < 1 || fv > kFormatVersion) {
      return fv_node->Error("unsupported format_version " + std::to_string(fv) +
                            " (this build reads 1.." + std::to_string(kFormatVersion) + ")");
    }
    snap.format_version = static_cast<int>(fv);
  }
  const bool format1 = snap.format_version >= 1;
  ARROW_ASSIGN_OR_RAISE(auto version, root.OptField("version"));
  if (!version && format1) return root.Field("version").status();
  if (version) {
    ARROW_ASSIGN_OR_RAISE(auto v, version->Int(0, kMaxVersion));
    snap.version = Version(v);
  }

  ARROW_ASSIGN_OR_RAISE(auto schema, root.OptField("schema"));
  if (!schema && format1) return root.Field("schema").status();
  if (schema) {
    ARROW_RETURN_NOT_OK(schema->ExpectObject());
    ARROW_RETURN_NOT_OK(ParseSchema(*schema, format1, &snap.schema));
  } else {
    snap.schema_recorded = false;
    snap.schema.key_columns = {LegacyKey()};
    snap.schema.event_time = LegacyEventTime();
  }

  if (format1) {
    ARROW_ASSIGN_OR_RAISE(auto commit, root.OptField("commit"));
    if (commit) {
      ARROW_ASSIGN_OR_RAISE(snap.commit, ParseCommit(*commit));
    }
    ARROW_ASSIGN_OR_RAISE(auto timeline, root.OptField("timeline"));
    if (timeline) {
      ARROW_RETURN_NOT_OK(ParseTimeline(*timeline, &snap));
    }
    if (snap.horizon && snap.format_version < 2) {
      // A format-1 reader would ignore the horizon and answer scans before
      // it from the collapsed state: such a snapshot must say format 2.
      ARROW_ASSIGN_OR_RAISE(auto h, timeline->Field("horizon"));
      return h.Error("a history horizon needs format_version 2");
    }
    ARROW_ASSIGN_OR_RAISE(auto props, root.OptField("properties"));
    if (props) {
      ARROW_ASSIGN_OR_RAISE(auto members, props->Members());
      for (const auto& [name, value] : members) {
        ARROW_ASSIGN_OR_RAISE(snap.properties[name], value.String());
      }
    }
  }

  ARROW_ASSIGN_OR_RAISE(auto segments, root.Field("segments"));
  ARROW_RETURN_NOT_OK(ParseSegments(segments, snap.schema, format1, 0, &snap.segments));
  return snap;
}

namespace {

// nullopt when a key cannot be written as JSON text (a binary key that is
// not UTF-8): the bounds are optional, so such a file simply has none.
std::optional<json> KeyToJson(const KeyValue& key) {
  json arr = json::array();
  for (const auto& s : key) {
    const std::string text = s->ToString();
    switch (s->type->id()) {
      case arrow::Type::INT8:
      case arrow::Type::INT16:
      case arrow::Type::INT32:
      case arrow::Type::INT64: {
        int64_t v = 0;
        auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
        arr.push_back(v);
        break;
      }
      case arrow::Type::UINT8:
      case arrow::Type::UINT16:
      case arrow::Type::UINT32:
      case arrow::Type::UINT64: {
        uint64_t v = 0;
        auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
        arr.push_back(v);
        break;
      }
      default:
        if (!IsValidUtf8(text)) return std::nullopt;
        arr.push_back(text);
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
  if (!f.min_key.empty() && !f.max_key.empty()) {
    auto min = KeyToJson(f.min_key), max = KeyToJson(f.max_key);
    if (min && max) {
      j["min_key"] = std::move(*min);
      j["max_key"] = std::move(*max);
    }
  }
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
  // Format 2 only where a format-1 reader would answer wrongly.
  doc["format_version"] = snap.horizon ? 2 : 1;
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
  json timeline = json::object();
  if (snap.watermark) timeline["watermark"] = FormatEventTime(*snap.watermark);
  if (snap.horizon) timeline["horizon"] = FormatEventTime(*snap.horizon);
  if (snap.erase_below) timeline["erase_below_version"] = snap.erase_below->value();
  if (snap.lateness.count > 0) {
    json late;
    late["count"] = snap.lateness.count;
    late["max_lateness_us"] = snap.lateness.max_us;
    late["buckets"] = snap.lateness.buckets;
    timeline["late_events"] = late;
  }
  if (!timeline.empty()) doc["timeline"] = timeline;
  doc["segments"] = SegmentsToJson(snap.segments);
  // Every string in `doc` is UTF-8 (inputs are checked where they enter);
  // should one not be, this is an error, not an exception.
  try {
    return doc.dump(2) + "\n";
  } catch (const json::exception& e) {
    return arrow::Status::Invalid("cannot write snapshot ", snap.version.value(), ": ",
                                  EscapeForMessage(e.what()));
  }
}

}  // namespace bazof::metadata

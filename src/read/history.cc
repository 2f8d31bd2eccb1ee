// bazof log and bazof history.
#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <algorithm>

#include "bazof/error.h"
#include "bazof/inspect.h"
#include "io/storage.h"
#include "read/run_reader.h"

namespace bazof {

arrow::Result<std::vector<LogEntry>> ReadLog(const Table& table) {
  std::vector<LogEntry> out;
  for (int64_t v = 0; v <= table.current_version().value(); ++v) {
    auto snap = table.SnapshotAt(Version(v));
    if (!snap.ok()) {
      // Tables need not start at 0 (gen and legacy tables start at 1).
      if (ErrorKindOf(snap.status()) == ErrorKind::kNotFound && out.empty()) continue;
      return snap.status();
    }
    out.push_back(LogEntry{Version(v), (*snap)->commit});
  }
  return out;
}

arrow::Result<std::shared_ptr<arrow::Table>> KeyHistory(
    const Table& table, const std::vector<std::pair<std::string, std::string>>& key,
    std::optional<Version> version) {
  std::shared_ptr<const Snapshot> snap = table.current_snapshot();
  if (version) {
    ARROW_ASSIGN_OR_RAISE(snap, table.SnapshotAt(*version));
  }
  const TableSchema& schema = snap->schema;

  // The key, encoded as the merge encodes it.
  std::vector<std::shared_ptr<arrow::DataType>> key_types;
  arrow::FieldVector out_fields;
  for (const auto& k : schema.key_columns) {
    key_types.push_back(k.type);
    out_fields.push_back(arrow::field(k.name, k.type, false));
  }
  out_fields.push_back(arrow::field(schema.event_time.name, schema.event_time.type, false));
  ARROW_ASSIGN_OR_RAISE(auto codec, read::KeyCodec::Make(key_types));
  if (key.size() != schema.key_columns.size()) {
    return InvalidArgument("--key: the table has ", schema.key_columns.size(), " key column(s), got ",
                           key.size(), " value(s)");
  }
  KeyValue key_value;
  for (const auto& k : schema.key_columns) {
    auto it = std::find_if(key.begin(), key.end(), [&](const auto& kv) {
      return kv.first == k.name || (kv.first.empty() && schema.key_columns.size() == 1);
    });
    if (it == key.end()) return InvalidArgument("--key: no value for key column '", k.name, "'");
    auto scalar = arrow::Scalar::Parse(k.type, it->second);
    if (!scalar.ok()) {
      return InvalidArgument("--key: '", it->second, "' is not a valid ", k.type->ToString());
    }
    key_value.push_back(*scalar);
  }
  ARROW_ASSIGN_OR_RAISE(auto code, codec.EncodeScalars(key_value));

  std::vector<int> value_columns;
  for (size_t i = 0; i < schema.value_columns.size(); ++i) {
    value_columns.push_back(static_cast<int>(i));
    const auto& v = schema.value_columns[i];
    out_fields.push_back(arrow::field(v.name, v.type, true));
  }
  read::ScanShape shape{schema, value_columns, arrow::schema(out_fields), codec,
                        snap->format_version >= 1};

  // Format-1 deltas hold every event; bases are derived and skipped. Legacy
  // tables have no versions: every file counts, as version 1.
  std::vector<std::pair<DataFileRef, int64_t>> files;  // (file, committing version)
  for (const DataFileRef* f : snap->AllFiles()) {
    const bool is_base = std::any_of(snap->segments.begin(), snap->segments.end(),
                                     [&](const Segment& s) { return s.base && s.base->path == f->path; });
    if (snap->format_version >= 1 && is_base) continue;
    files.emplace_back(*f, f->version ? f->version->value() : snap->version.value());
  }

  std::vector<std::shared_ptr<arrow::RecordBatch>> pieces;
  arrow::FieldVector piece_fields = out_fields;
  piece_fields.insert(piece_fields.begin() + schema.key_columns.size() + 1,
                      {arrow::field("version", arrow::int64(), false),
                       arrow::field("deleted", arrow::boolean(), false),
                       arrow::field("_order", arrow::int64(), false)});
  auto piece_schema = arrow::schema(piece_fields);
  int64_t order = 0;
  read::KeyBounds bounds;
  bounds.key_in = {code};
  for (size_t fi = 0; fi < files.size(); ++fi) {
    planning::PlannedFile planned{files[fi].first, false, static_cast<int64_t>(fi)};
    ARROW_ASSIGN_OR_RAISE(auto opened, read::OpenDataFile(*table.storage(), planned, shape));
    ARROW_ASSIGN_OR_RAISE(auto run, read::RunSource::Make(*table.storage(), opened, shape, bounds, 64 * 1024));
    while (true) {
      ARROW_ASSIGN_OR_RAISE(auto rb, run->Next());
      if (!rb) break;
      const auto& views = rb->keys.views;
      auto lo = std::lower_bound(views.begin() + rb->begin, views.begin() + rb->end, std::string_view(code));
      auto hi = std::upper_bound(lo, views.begin() + rb->end, std::string_view(code));
      const int64_t start = lo - views.begin(), n = hi - lo;
      if (n == 0) continue;
      auto slice = rb->batch->Slice(start, n);
      arrow::Int64Builder vb, ob;
      arrow::BooleanBuilder db;
      for (int64_t r = 0; r < n; ++r) {
        ARROW_RETURN_NOT_OK(vb.Append(files[fi].second));
        ARROW_RETURN_NOT_OK(db.Append(rb->IsDeleted(start + r)));
        ARROW_RETURN_NOT_OK(ob.Append(order++));
      }
      arrow::ArrayVector cols = slice->columns();
      std::shared_ptr<arrow::Array> va, da, oa;
      ARROW_RETURN_NOT_OK(vb.Finish(&va));
      ARROW_RETURN_NOT_OK(db.Finish(&da));
      ARROW_RETURN_NOT_OK(ob.Finish(&oa));
      cols.insert(cols.begin() + schema.key_columns.size() + 1, {va, da, oa});
      pieces.push_back(arrow::RecordBatch::Make(piece_schema, n, cols));
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto all, arrow::Table::FromRecordBatches(piece_schema, pieces));
  // Event-time order; ties in commit order (version, then file, then row).
  arrow::compute::SortOptions sort({arrow::compute::SortKey(schema.event_time.name),
                                    arrow::compute::SortKey("version"), arrow::compute::SortKey("_order")});
  ARROW_ASSIGN_OR_RAISE(auto idx, arrow::compute::SortIndices(all, sort));
  ARROW_ASSIGN_OR_RAISE(auto sorted, arrow::compute::Take(all, idx));
  auto result = sorted.table();
  return result->RemoveColumn(result->schema()->GetFieldIndex("_order"));
}

}  // namespace bazof

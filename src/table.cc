#include "bazof/table.h"
#include "bazof/timeline.h"

#include <arrow/api.h>
#include <arrow/filesystem/filesystem.h>
#include <arrow/util/key_value_metadata.h>
#include <parquet/arrow/reader.h>

#include <algorithm>
#include <iterator>
#include <thread>

#include "bazof/error.h"
#include "compute_init.h"
#include "io/storage.h"
#include "metadata/key_text.h"
#include "metadata/snapshot_json.h"
#include "text_escape.h"
#include "metadata/table_files.h"
#include "planning/planner.h"
#include "read/footer_cache.h"
#include "read/scan_filter.h"
#include "read/scan_reader.h"
#include "util/memory_budget.h"

namespace bazof {
namespace {

using metadata::SnapshotFileName;

// The retention hint, or nullopt when there is none or it does not parse:
// readers only use it to explain or route around vacuumed versions.
std::optional<metadata::RetentionHint> RetentionHintOrNone(io::Storage& storage) {
  auto hint = metadata::ReadRetentionHint(storage);
  return hint.ok() ? *hint : std::nullopt;
}

// Reports the scan's schema, metadata included (docs/spec.md, "Completeness
// watermark"), and stamps it on every batch.
class MetadataReader : public arrow::RecordBatchReader {
 public:
  MetadataReader(std::shared_ptr<arrow::RecordBatchReader> inner, std::shared_ptr<arrow::Schema> schema)
      : inner_(std::move(inner)), schema_(std::move(schema)) {}
  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }
  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* batch) override {
    ARROW_RETURN_NOT_OK(inner_->ReadNext(batch));
    if (*batch) *batch = (*batch)->ReplaceSchemaMetadata(schema_->metadata());
    return arrow::Status::OK();
  }
  arrow::Status Close() override { return inner_->Close(); }

 private:
  std::shared_ptr<arrow::RecordBatchReader> inner_;
  std::shared_ptr<arrow::Schema> schema_;
};

class ScanImpl : public Scan {
 public:
  ScanImpl(std::shared_ptr<io::Storage> storage, std::shared_ptr<const read::ScanShape> shape,
           planning::ScanPlan plan, read::ScanReaderOptions options,
           std::optional<arrow::compute::Expression> bound_filter, std::shared_ptr<arrow::Schema> schema)
      : storage_(std::move(storage)),
        shape_(std::move(shape)),
        plan_(std::move(plan)),
        options_(std::move(options)),
        filter_(std::move(bound_filter)),
        schema_(std::move(schema)) {}

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }

  std::vector<std::string> files() const override {
    std::vector<std::string> out;
    for (const auto& f : plan_.files) out.push_back(f.ref.path);
    return out;
  }

  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> ToReader() const override {
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::RecordBatchReader> reader,
                          read::MakeScanReader(storage_, shape_, plan_.files, options_));
    if (filter_) {
      reader = read::MakeFilterReader(std::move(reader), *filter_, schema_);
    }
    if (!schema_->metadata()) return reader;
    return std::make_shared<MetadataReader>(std::move(reader), schema_);
  }

 private:
  std::shared_ptr<io::Storage> storage_;
  std::shared_ptr<const read::ScanShape> shape_;
  planning::ScanPlan plan_;
  read::ScanReaderOptions options_;
  std::optional<arrow::compute::Expression> filter_;  // bound to shape_->output_schema
  std::shared_ptr<arrow::Schema> schema_;             // what the caller asked for
};

// Value columns (indices) a filter names beyond the projection; errors name
// columns the table does not have.
arrow::Status AddFilterColumns(const arrow::compute::Expression& filter, const TableSchema& schema,
                               const std::string& table, std::vector<int>* value_columns) {
  for (const auto& ref : arrow::compute::FieldsInExpression(filter)) {
    const std::string* name = ref.name();
    if (name == nullptr) return InvalidArgument("filter: only top-level column names are supported, not ", ref.ToString());
    bool is_key = std::any_of(schema.key_columns.begin(), schema.key_columns.end(),
                              [&](const ColumnSpec& k) { return k.name == *name; });
    if (is_key || *name == schema.event_time.name) continue;
    int i = schema.FindValueColumn(*name);
    if (i < 0) return InvalidArgument("filter: unknown column '", *name, "' (table '", table, "')");
    if (std::find(value_columns->begin(), value_columns->end(), i) == value_columns->end()) {
      value_columns->push_back(i);
    }
  }
  return arrow::Status::OK();
}

}  // namespace

Table::Table(std::shared_ptr<io::Storage> storage, std::shared_ptr<const Snapshot> current)
    : storage_(std::move(storage)),
      current_(std::move(current)),
      footer_cache_(std::make_shared<read::FooterCache>()) {}

arrow::Result<std::shared_ptr<Table>> Table::Open(const std::string& location,
                                                  const std::string& name,
                                                  const StorageOptions& options) {
  ARROW_ASSIGN_OR_RAISE(auto storage, io::OpenStorage(location, name, false, options));
  return Open(std::move(storage));
}

arrow::Result<std::shared_ptr<Table>> Table::Open(std::shared_ptr<arrow::fs::FileSystem> fs,
                                                  const std::string& root) {
  return Open(io::Storage::Make(std::move(fs), root, root));
}

arrow::Result<std::shared_ptr<Table>> Table::Open(std::shared_ptr<io::Storage> storage) {
  ARROW_RETURN_NOT_OK(internal::EnsureComputeInitialized());
  ARROW_ASSIGN_OR_RAISE(bool root_exists, storage->RootExists());
  if (!root_exists) {
    return NotFound("table '", storage->display_root(), "' not found (no such directory)");
  }
  // The pointer is a hint; the highest existing snapshot is the truth.
  int64_t v = -1;
  auto text = storage->ReadFile(metadata::kVersionFile);
  if (text.ok()) {
    ARROW_ASSIGN_OR_RAISE(v, metadata::ParseVersionPointer(*text, storage->Describe(metadata::kVersionFile)));
  } else if (ErrorKindOf(text.status()) == ErrorKind::kNotFound) {
    for (int64_t probe : {0, 1}) {
      ARROW_ASSIGN_OR_RAISE(bool exists, storage->Exists(SnapshotFileName(probe)));
      if (exists) {
        v = probe;
        break;
      }
    }
    if (v < 0) {
      // Early versions may have been vacuumed: the hint says where the
      // retained ones begin.
      if (auto hint = RetentionHintOrNone(*storage)) v = hint->oldest_retained;
    }
    if (v < 0) {
      return NotFound("table '", storage->display_root(), "' not found (no version.txt and no s0.json or s1.json)");
    }
  } else {
    return text.status();
  }
  auto probe_up = [&](int64_t from) -> arrow::Result<int64_t> {
    while (true) {
      ARROW_ASSIGN_OR_RAISE(bool newer, storage->Exists(SnapshotFileName(from + 1)));
      if (!newer) return from;
      ++from;
    }
  };
  ARROW_ASSIGN_OR_RAISE(v, probe_up(v));
  auto snap = metadata::ReadSnapshotFile(*storage, v);
  if (!snap.ok() && ErrorKindOf(snap.status()) == ErrorKind::kNotFound) {
    // A lagging pointer may name a version vacuum has since removed; the
    // retained versions start at the hint's oldest.
    auto hint = RetentionHintOrNone(*storage);
    if (hint && hint->oldest_retained > v) {
      ARROW_ASSIGN_OR_RAISE(v, probe_up(hint->oldest_retained));
      snap = metadata::ReadSnapshotFile(*storage, v);
    }
  }
  if (!snap.ok() && ErrorKindOf(snap.status()) == ErrorKind::kNotFound) {
    return Corruption("version pointer '", storage->Describe(metadata::kVersionFile), "' names version ", v,
                      " but ", storage->Describe(SnapshotFileName(v)), " does not exist");
  }
  ARROW_RETURN_NOT_OK(snap.status());
  ARROW_RETURN_NOT_OK(metadata::InferLegacySchema(*storage, snap->get()));
  return std::shared_ptr<Table>(new Table(std::move(storage), *std::move(snap)));
}

arrow::Result<std::shared_ptr<const Snapshot>> Table::SnapshotAt(Version v) const {
  if (v == current_->version) return current_;
  if (v > current_->version || v.value() < 0) {
    return NotFound("version ", v.value(), " of table '", storage_->display_root(),
                    "' does not exist (current version is ", current_->version.value(), ")");
  }
  auto snap = metadata::ReadSnapshotFile(*storage_, v.value());
  if (!snap.ok() && ErrorKindOf(snap.status()) == ErrorKind::kNotFound) {
    auto hint = RetentionHintOrNone(*storage_);
    if (hint && hint->first_version <= v.value() && v.value() < hint->oldest_retained) {
      return NotFound("version ", v.value(), " of table '", storage_->display_root(),
                      "' was vacuumed (oldest retained version: ", hint->oldest_retained, ")");
    }
  }
  ARROW_RETURN_NOT_OK(snap.status());
  ARROW_RETURN_NOT_OK(metadata::InferLegacySchema(*storage_, snap->get()));
  return std::shared_ptr<const Snapshot>(*std::move(snap));
}

arrow::Result<Version> Table::OldestVersion() const {
  int64_t v = 0;
  if (auto hint = RetentionHintOrNone(*storage_)) v = hint->oldest_retained;
  // Without a hint the table starts at 0 (create) or 1 (gen, legacy).
  for (; v < current_->version.value(); ++v) {
    ARROW_ASSIGN_OR_RAISE(bool exists, storage_->Exists(SnapshotFileName(v)));
    if (exists) break;
  }
  return Version(std::min(v, current_->version.value()));
}

const std::string& Table::location() const { return storage_->display_root(); }

ScanBuilder Table::NewScan() const { return ScanBuilder(shared_from_this()); }

arrow::Result<std::shared_ptr<Scan>> ScanBuilder::Build() const {
  const auto& o = options_;
  std::shared_ptr<const Snapshot> snap = table_->current_snapshot();
  if (o.version) {
    ARROW_ASSIGN_OR_RAISE(snap, table_->SnapshotAt(*o.version));
  }
  if (o.batch_size <= 0) return InvalidArgument("batch size must be positive");
  if (snap->horizon && o.as_of < *snap->horizon) {
    return InvalidArgument("table '", table_->location(), "' version ", snap->version.value(), ": as-of ",
                           FormatEventTime(o.as_of), " is before the history horizon ",
                           FormatEventTime(*snap->horizon), " (history before it was compacted away)");
  }
  const bool complete = IsComplete(*snap, o.as_of);
  if (o.require_complete && !complete) {
    if (!snap->watermark) {
      return InvalidArgument("table '", table_->location(), "' version ", snap->version.value(),
                             ": no completeness watermark is set, so no scan is known complete");
    }
    return InvalidArgument("table '", table_->location(), "' version ", snap->version.value(), ": as-of ",
                           FormatEventTime(o.as_of), " is past the completeness watermark ",
                           FormatEventTime(*snap->watermark), " (the result may still change)");
  }

  const TableSchema& schema = snap->schema;
  std::vector<int> value_columns;
  if (o.columns) {
    for (const auto& c : *o.columns) {
      bool is_key = std::any_of(schema.key_columns.begin(), schema.key_columns.end(),
                                [&](const ColumnSpec& k) { return k.name == c; });
      if (is_key || c == schema.event_time.name) continue;  // always returned
      int i = schema.FindValueColumn(c);
      if (i < 0) {
        std::string known;
        for (const auto& v : schema.value_columns) known += (known.empty() ? "" : ", ") + v.name;
        return InvalidArgument("unknown column '", c, "' (table '", table_->location(),
                               "' has value columns: ", known.empty() ? "none" : known, ")");
      }
      if (std::find(value_columns.begin(), value_columns.end(), i) == value_columns.end()) {
        value_columns.push_back(i);
      }
    }
  } else {
    for (size_t i = 0; i < schema.value_columns.size(); ++i) value_columns.push_back(static_cast<int>(i));
  }

  const size_t projected = value_columns.size();
  if (o.filter) ARROW_RETURN_NOT_OK(AddFilterColumns(*o.filter, schema, table_->location(), &value_columns));
  ARROW_ASSIGN_OR_RAISE(auto shape, read::MakeScanShape(*snap, std::move(value_columns)));
  const read::KeyCodec& codec = shape->codec;
  const auto& key_types = codec.types();

  read::ScanReaderOptions ro;
  ro.as_of = o.as_of;
  ro.batch_size = o.batch_size;
  ro.threads = o.threads > 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  ro.footer_cache = table_->footer_cache();
  ARROW_ASSIGN_OR_RAISE(ro.memory_limit_bytes, ResolveMemoryLimit(o.memory_limit_bytes, snap->properties,
                                                                  "scan of '" + table_->location() + "'"));
  FitCachesToBudget(ro.memory_limit_bytes);
  // Listed keys, as the text of each key column, encoded for the reader.
  auto encode_key = [&](const std::vector<std::string>& texts) -> arrow::Result<std::string> {
    KeyValue scalars;
    for (size_t c = 0; c < texts.size(); ++c) {
      const auto& column = schema.key_columns[c].name;
      if (arrow::is_string(key_types[c]->id())) {
        ARROW_RETURN_NOT_OK(CheckUtf8(texts[c], "key (column '" + column + "')"));
      }
      auto scalar = arrow::Scalar::Parse(key_types[c], texts[c]);
      if (!scalar.ok()) {
        return InvalidArgument("key '", texts[c], "' is not a valid ", key_types[c]->ToString(), " (column '",
                               column, "')");
      }
      scalars.push_back(*std::move(scalar));
    }
    return codec.EncodeScalars(scalars);
  };
  if (!o.key_in.empty() && schema.key_columns.size() != 1) {
    return InvalidArgument("table '", table_->location(), "' has a composite key (",
                           schema.key_columns.size(), " columns): list keys by column (keys_in, ",
                           "--key col=value,col=value)");
  }
  for (const auto& k : o.key_in) {
    ARROW_ASSIGN_OR_RAISE(auto code, encode_key({k}));
    ro.key_in.push_back(std::move(code));
  }
  for (const auto& pairs : o.keys_in) {
    ARROW_ASSIGN_OR_RAISE(auto texts, metadata::KeyTexts(schema, pairs));
    ARROW_ASSIGN_OR_RAISE(auto code, encode_key(texts));
    ro.key_in.push_back(std::move(code));
  }
  if (!ro.key_in.empty()) {
    std::sort(ro.key_in.begin(), ro.key_in.end());
    ro.key_in.erase(std::unique(ro.key_in.begin(), ro.key_in.end()), ro.key_in.end());
  }

  if (o.key_min || o.key_max) {
    if (schema.key_columns.size() != 1) {
      return InvalidArgument("key filters on composite keys are not supported yet");
    }
    auto encode = [&](const std::string& k, const char* what) -> arrow::Result<std::string> {
      if (arrow::is_string(key_types[0]->id())) {
        ARROW_RETURN_NOT_OK(CheckUtf8(k, std::string(what) + " (column '" + schema.key_columns[0].name + "')"));
      }
      auto scalar = arrow::Scalar::Parse(key_types[0], k);
      if (!scalar.ok()) {
        return InvalidArgument(what, " '", k, "' is not a valid ", key_types[0]->ToString(),
                               " (column '", schema.key_columns[0].name, "')");
      }
      return codec.EncodeScalars({*scalar});
    };
    if (o.key_min) {
      ARROW_ASSIGN_OR_RAISE(ro.key_lower, encode(*o.key_min, "key minimum"));
    }
    if (o.key_max) {
      ARROW_ASSIGN_OR_RAISE(auto max, encode(*o.key_max, "key maximum"));
      // The smallest byte string above `max`: turns the inclusive bound into
      // the exclusive one the reader takes.
      ro.key_upper = max + std::string(1, '\0');
    }
  }

  std::optional<arrow::compute::Expression> bound;
  auto out_schema = shape->output_schema;
  if (o.filter) {
    auto b = o.filter->Bind(*shape->output_schema);
    if (!b.ok()) return InvalidArgument("filter ", o.filter->ToString(), ": ", b.status().message());
    if (!b->type()->Equals(arrow::boolean()) && b->type()->id() != arrow::Type::NA) {
      return InvalidArgument("filter ", o.filter->ToString(), " is ", b->type()->ToString(), ", not boolean");
    }
    bound = *std::move(b);
    arrow::FieldVector fields(out_schema->fields().begin(),
                              out_schema->fields().begin() + schema.key_columns.size() + 1 + projected);
    out_schema = arrow::schema(std::move(fields));
    std::vector<std::string> key_names;
    for (const auto& k : schema.key_columns) key_names.push_back(k.name);
    auto keys = read::DeriveKeyConstraints(*o.filter, key_names, codec);
    if (keys.key_in && !keys.key_in->empty()) {
      if (ro.key_in.empty()) {
        ro.key_in = std::move(*keys.key_in);
      } else {
        std::vector<std::string> both;
        std::set_intersection(ro.key_in.begin(), ro.key_in.end(), keys.key_in->begin(), keys.key_in->end(),
                              std::back_inserter(both));
        // An empty intersection matches nothing; the filter still removes
        // every row, so the wider set is merely read for nothing.
        if (!both.empty()) ro.key_in = std::move(both);
      }
    }
    if (keys.lower && (!ro.key_lower || *ro.key_lower < *keys.lower)) ro.key_lower = keys.lower;
    if (keys.upper) {
      std::string upper = *keys.upper + std::string(1, '\0');  // inclusive -> exclusive
      if (!ro.key_upper || upper < *ro.key_upper) ro.key_upper = std::move(upper);
    }
  }

  // A split's key range narrows whatever the options and filter allowed.
  read::NarrowRange(&ro.key_lower, &ro.key_upper, o.encoded_key_lower, o.encoded_key_upper);
  if (o.all_events) {
    if (out_schema->num_fields() != shape->output_schema->num_fields()) {
      return InvalidArgument("all-events scans: the filter may name only returned columns");
    }
    ro.mode = read::MergeMode::kAllEvents;
    arrow::FieldVector fields = out_schema->fields();
    fields.push_back(arrow::field(kDeletedColumn, arrow::boolean(), false));
    fields.push_back(arrow::field(kVersionColumn, arrow::int64(), false));
    out_schema = arrow::schema(std::move(fields));
  }

  planning::ScanPlan plan;
  if (o.all_events) {
    // Deltas hold every event (a base only the state at its start, derived
    // from them), so the event stream reads deltas only, as compaction does.
    if (snap->format_version < 1) {
      return InvalidArgument("all-events scans of bazof 0.1 / azof 0.2 tables are not supported (table '",
                             table_->location(), "')");
    }
    plan = planning::PlanScan(planning::WithoutBases(*snap), o.as_of);
  } else {
    plan = planning::PlanScan(*snap, o.as_of);
  }
  if (ro.key_lower || ro.key_upper || !ro.key_in.empty()) {
    // Files whose recorded key range misses the scan's keys are not opened.
    const read::KeyBounds wanted{ro.key_lower, ro.key_upper, ro.key_in};
    std::vector<planning::PlannedFile> kept;
    for (auto& f : plan.files) {
      if (read::MayHoldKeys(f.ref, codec, wanted)) kept.push_back(std::move(f));
    }
    plan.files = std::move(kept);
  }
  if (snap->watermark || snap->horizon) {
    auto md = std::make_shared<arrow::KeyValueMetadata>();
    if (snap->watermark) {
      md->Append("bazof.watermark", FormatEventTime(*snap->watermark));
      md->Append("bazof.complete", complete ? "true" : "false");
    }
    if (snap->horizon) md->Append("bazof.horizon", FormatEventTime(*snap->horizon));
    out_schema = out_schema->WithMetadata(md);
  }
  return std::make_shared<ScanImpl>(table_->storage(), std::move(shape), std::move(plan), std::move(ro),
                                    std::move(bound), std::move(out_schema));
}

arrow::Result<std::shared_ptr<arrow::Table>> Scan::ToTable() const {
  ARROW_ASSIGN_OR_RAISE(auto reader, ToReader());
  return reader->ToTable();
}

}  // namespace bazof

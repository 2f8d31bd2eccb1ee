// Validity intervals (docs/spec.md, "Validity intervals"): the all-events
// merge emits each key's [valid_from, valid_to) rows as it merges the key
// (read/merge.cc, MergeMode::kIntervals); this file plans and validates.
#include <arrow/api.h>

#include <algorithm>
#include <limits>
#include <thread>
#include <tuple>

#include "bazof/error.h"
#include "bazof/views.h"
#include "planning/planner.h"
#include "read/key_codec.h"
#include "read/run_reader.h"
#include "read/scan_reader.h"
#include "read/scan_filter.h"
#include "read/views_util.h"

namespace bazof {
namespace {

constexpr const char* kValidFrom = "valid_from";
constexpr const char* kValidTo = "valid_to";

}  // namespace

arrow::Result<std::shared_ptr<Scan>> MakeIntervals(const Table& table, const IntervalOptions& o) {
  const EventTime start = o.start.value_or(EventTime::Min());
  const EventTime end = o.end.value_or(EventTime::Max());
  if (start >= end) {
    return InvalidArgument("intervals: start ", FormatEventTime(start), " is not before end ",
                           FormatEventTime(end));
  }
  std::shared_ptr<const Snapshot> snap = table.current_snapshot();
  if (o.version) {
    ARROW_ASSIGN_OR_RAISE(snap, table.SnapshotAt(*o.version));
  }
  if (snap->format_version < 1) {
    return InvalidArgument("intervals of bazof 0.1 / azof 0.2 tables are not supported (table '",
                           table.location(), "')");
  }
  const TableSchema& schema = snap->schema;
  auto is_key = [&](const std::string& name) {
    return std::any_of(schema.key_columns.begin(), schema.key_columns.end(),
                       [&](const ColumnSpec& k) { return k.name == name; });
  };
  for (const char* reserved : {kValidFrom, kValidTo}) {
    if (is_key(reserved) || schema.FindValueColumn(reserved) >= 0) {
      return InvalidArgument("intervals: table '", table.location(), "' has a column named '", reserved,
                             "', which intervals return as the interval's bound");
    }
  }

  // Value columns returned, then those only the filter needs.
  std::vector<std::string> columns;
  if (o.columns) {
    for (const auto& c : *o.columns) {
      if (is_key(c) || c == schema.event_time.name) continue;
      if (std::find(columns.begin(), columns.end(), c) == columns.end()) columns.push_back(c);
    }
  } else {
    for (const auto& v : schema.value_columns) columns.push_back(v.name);
  }
  const size_t projected = columns.size();
  if (o.filter) {
    for (const auto& ref : arrow::compute::FieldsInExpression(*o.filter)) {
      const std::string* name = ref.name();
      if (name == nullptr) return InvalidArgument("filter: only top-level column names are supported, not ", ref.ToString());
      if (is_key(*name) || *name == kValidFrom || *name == kValidTo) continue;
      if (schema.FindValueColumn(*name) < 0) {
        return InvalidArgument("filter: unknown column '", *name, "' (table '", table.location(),
                               "'; intervals have valid_from and valid_to, not '", schema.event_time.name, "')");
      }
      if (std::find(columns.begin(), columns.end(), *name) == columns.end()) columns.push_back(*name);
    }
  }

  std::vector<std::shared_ptr<arrow::DataType>> key_types;
  for (const auto& k : schema.key_columns) key_types.push_back(k.type);
  ARROW_ASSIGN_OR_RAISE(auto codec, read::KeyCodec::Make(key_types));

  std::vector<int> value_columns;
  for (const auto& c : columns) {
    const int i = schema.FindValueColumn(c);
    if (i < 0) {
      std::string known;
      for (const auto& v : schema.value_columns) known += (known.empty() ? "" : ", ") + v.name;
      return InvalidArgument("unknown column '", c, "' (table '", table.location(),
                             "' has value columns: ", known.empty() ? "none" : known, ")");
    }
    value_columns.push_back(i);
  }
  ARROW_ASSIGN_OR_RAISE(auto shape, read::MakeScanShape(*snap, std::move(value_columns)));

  // The intervals come out of the all-events merge itself (read/merge.cc,
  // kIntervals), one per key range and thread. The next event after `end`
  // closes the last interval, so the merge runs to the latest event time.
  read::ScanReaderOptions ro;
  ro.mode = read::MergeMode::kIntervals;
  ro.intervals.start = start.micros();
  ro.intervals.end = end.micros();
  ro.intervals.coalesce = o.coalesce;
  ro.intervals.compared = static_cast<int>(projected);
  if (o.batch_size <= 0) return InvalidArgument("batch size must be positive");
  ro.batch_size = o.batch_size;
  ro.threads = o.threads > 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  ro.partitions_per_thread = 0;  // auto: the output is as large as the input
  ro.footer_cache = table.footer_cache();
  if (o.filter && schema.key_columns.size() == 1) {
    std::tie(ro.key_lower, ro.key_upper) =
        read::EncodedRange(read::DeriveKeyConstraints(*o.filter, schema.key_columns[0].name, codec));
  }
  // A split's key range narrows whatever the filter allowed.
  read::NarrowRange(&ro.key_lower, &ro.key_upper, o.encoded_key_lower, o.encoded_key_upper);
  // Deltas hold every event (a base only the state at its start, derived
  // from them), so the event stream reads deltas only, as compaction does.
  planning::ScanPlan plan = planning::PlanScan(planning::WithoutBases(*snap), EventTime::Max());
  std::vector<std::string> files;
  {
    const read::KeyBounds wanted{ro.key_lower, ro.key_upper, {}};
    std::vector<planning::PlannedFile> kept;
    for (auto& f : plan.files) {
      if (!read::MayHoldKeys(f.ref, codec, wanted)) continue;  // not opened
      files.push_back(f.ref.path);
      kept.push_back(std::move(f));
    }
    plan.files = std::move(kept);
  }

  const size_t nkeys = schema.key_columns.size();
  auto full_schema = read::IntervalSchema(*shape->output_schema, nkeys);
  auto out_schema = arrow::schema(
      arrow::FieldVector(full_schema->fields().begin(), full_schema->fields().begin() + nkeys + 2 + projected));

  std::optional<arrow::compute::Expression> bound;
  if (o.filter) {
    auto b = o.filter->Bind(*full_schema);
    if (!b.ok()) return InvalidArgument("filter ", o.filter->ToString(), ": ", b.status().message());
    if (!b->type()->Equals(arrow::boolean()) && b->type()->id() != arrow::Type::NA) {
      return InvalidArgument("filter ", o.filter->ToString(), " is ", b->type()->ToString(), ", not boolean");
    }
    bound = *std::move(b);
  }
  auto storage = table.storage();
  auto make = [=]() -> arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> {
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::RecordBatchReader> out,
                          read::MakeScanReader(storage, shape, plan.files, ro));
    if (bound) out = read::MakeFilterReader(std::move(out), *bound, out_schema);
    return out;
  };
  return std::make_shared<read::FunctionScan>(out_schema, std::move(files), std::move(make));
}

}  // namespace bazof

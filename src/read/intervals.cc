// Validity intervals (docs/spec.md, "Validity intervals"): each key's
// all-events stream turned into [valid_from, valid_to) rows in one pass.
#include <arrow/api.h>

#include <algorithm>
#include <limits>

#include "bazof/error.h"
#include "bazof/views.h"
#include "read/key_codec.h"
#include "read/scan_filter.h"
#include "read/views_util.h"

namespace bazof {
namespace {

constexpr const char* kValidFrom = "valid_from";
constexpr const char* kValidTo = "valid_to";

// Reads the all-events stream (key(s), event time, values, _bazof_deleted,
// _bazof_version; a key's events never straddle batches, in event-time
// order, one per event time) and emits the intervals of each batch.
class IntervalReader : public arrow::RecordBatchReader {
 public:
  IntervalReader(std::shared_ptr<arrow::RecordBatchReader> events, read::KeyCodec codec,
                 std::shared_ptr<arrow::Schema> schema, int compared, EventTime start, EventTime end,
                 bool coalesce)
      : events_(std::move(events)),
        codec_(std::move(codec)),
        schema_(std::move(schema)),
        compared_(compared),
        start_(start.micros()),
        end_(end.micros()),
        coalesce_(coalesce) {}

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    while (true) {
      std::shared_ptr<arrow::RecordBatch> in;
      ARROW_RETURN_NOT_OK(events_->ReadNext(&in));
      if (!in) {
        *out = nullptr;
        return arrow::Status::OK();
      }
      ARROW_ASSIGN_OR_RAISE(*out, Intervals(*in));
      if ((*out)->num_rows() > 0) return arrow::Status::OK();
    }
  }

  arrow::Status Close() override { return events_->Close(); }

 private:
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Intervals(const arrow::RecordBatch& in) {
    const int keys = static_cast<int>(codec_.num_columns());
    const int64_t n = in.num_rows();
    const int values = in.num_columns() - keys - 3;
    std::vector<std::shared_ptr<arrow::Array>> key_columns(in.columns().begin(), in.columns().begin() + keys);
    read::KeyCodes codes;
    ARROW_RETURN_NOT_OK(codec_.Encode(key_columns, &codes));
    const auto& et = in.column(keys);
    read::TimestampMicros(*et, &micros_);
    const auto& deleted = static_cast<const arrow::BooleanArray&>(*in.column(in.num_columns() - 2));

    auto next_of = [&](int64_t r) -> int64_t {
      return r + 1 < n && codes.views[r + 1] == codes.views[r] ? r + 1 : -1;
    };
    auto same_values = [&](int64_t a, int64_t b) {
      for (int c = 0; c < compared_; ++c) {
        const auto& col = *in.column(keys + 1 + c);
        if (!read::CellsEqual(col, a, col, b)) return false;
      }
      return true;
    };
    arrow::Int64Builder from, to;
    for (int64_t i = 0; i < n; ++i) {
      if (deleted.Value(i)) continue;  // a tombstone only closes the interval before it
      int64_t last = i, next = next_of(i);
      if (coalesce_) {
        while (next >= 0 && !deleted.Value(next) && same_values(last, next)) {
          last = next;
          next = next_of(next);
        }
      }
      const int64_t valid_to = next >= 0 ? micros_[next] : std::numeric_limits<int64_t>::max();
      if (micros_[i] < end_ && valid_to > start_) {
        ARROW_RETURN_NOT_OK(from.Append(i));
        ARROW_RETURN_NOT_OK(next >= 0 ? to.Append(next) : to.AppendNull());
      }
      i = last;
    }
    std::shared_ptr<arrow::Array> from_idx, to_idx;
    ARROW_RETURN_NOT_OK(from.Finish(&from_idx));
    ARROW_RETURN_NOT_OK(to.Finish(&to_idx));
    // Every event an interval of its own (no tombstone, window or
    // coalescing removed one): the columns are the input's, zero-copy.
    const bool all_rows = from_idx->length() == n;
    auto rows_of = [&](const std::shared_ptr<arrow::Array>& a) -> arrow::Result<std::shared_ptr<arrow::Array>> {
      if (all_rows) return a;
      return read::TakeRows(a, from_idx);
    };
    arrow::ArrayVector cols;
    for (int k = 0; k < keys; ++k) {
      ARROW_ASSIGN_OR_RAISE(auto a, rows_of(in.column(k)));
      cols.push_back(std::move(a));
    }
    ARROW_ASSIGN_OR_RAISE(auto vf, rows_of(et));
    ARROW_ASSIGN_OR_RAISE(auto vt, read::TakeRows(et, to_idx));
    cols.push_back(std::move(vf));
    cols.push_back(std::move(vt));
    for (int c = 0; c < values; ++c) {
      ARROW_ASSIGN_OR_RAISE(auto a, rows_of(in.column(keys + 1 + c)));
      cols.push_back(std::move(a));
    }
    return arrow::RecordBatch::Make(schema_, from_idx->length(), std::move(cols));
  }

  std::shared_ptr<arrow::RecordBatchReader> events_;
  read::KeyCodec codec_;
  std::shared_ptr<arrow::Schema> schema_;
  int compared_;
  int64_t start_, end_;
  bool coalesce_;
  std::vector<int64_t> micros_;
};

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

  // The next event after `end` closes the last interval, so the stream runs
  // to the latest event time.
  auto builder = table.NewScan();
  builder.AllEvents().Columns(columns).BatchSize(o.batch_size);
  if (o.version) builder.AtVersion(*o.version);
  if (o.threads > 0) builder.Threads(o.threads);
  if (o.filter && schema.key_columns.size() == 1) {
    auto keys = read::DeriveKeyConstraints(*o.filter, schema.key_columns[0].name, codec);
    std::optional<std::string> lower = keys.lower, upper = keys.upper;
    if (keys.key_in && !keys.key_in->empty()) {
      if (!lower || *lower < keys.key_in->front()) lower = keys.key_in->front();
      if (!upper || keys.key_in->back() < *upper) upper = keys.key_in->back();
    }
    if (upper) *upper += std::string(1, '\0');  // inclusive -> exclusive
    if (lower || upper) builder.EncodedKeyRange(lower, upper);
  }
  ARROW_ASSIGN_OR_RAISE(auto events, builder.Build());

  const auto& ev_fields = events->schema()->fields();
  const size_t nkeys = schema.key_columns.size();
  arrow::FieldVector fields(ev_fields.begin(), ev_fields.begin() + nkeys);
  fields.push_back(arrow::field(kValidFrom, schema.event_time.type, false));
  fields.push_back(arrow::field(kValidTo, schema.event_time.type, true));
  fields.insert(fields.end(), ev_fields.begin() + nkeys + 1, ev_fields.end() - 2);
  auto full_schema = arrow::schema(fields);
  auto out_schema = arrow::schema(arrow::FieldVector(fields.begin(), fields.begin() + nkeys + 2 + projected));

  std::optional<arrow::compute::Expression> bound;
  if (o.filter) {
    auto b = o.filter->Bind(*full_schema);
    if (!b.ok()) return InvalidArgument("filter ", o.filter->ToString(), ": ", b.status().message());
    if (!b->type()->Equals(arrow::boolean()) && b->type()->id() != arrow::Type::NA) {
      return InvalidArgument("filter ", o.filter->ToString(), " is ", b->type()->ToString(), ", not boolean");
    }
    bound = *std::move(b);
  }
  const int compared = static_cast<int>(projected);
  const bool coalesce = o.coalesce;
  auto make = [=]() -> arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> {
    ARROW_ASSIGN_OR_RAISE(auto reader, events->ToReader());
    std::shared_ptr<arrow::RecordBatchReader> out =
        std::make_shared<IntervalReader>(std::move(reader), codec, full_schema, compared, start, end, coalesce);
    if (bound) out = read::MakeFilterReader(std::move(out), *bound, out_schema);
    return out;
  };
  return std::make_shared<read::FunctionScan>(out_schema, events->files(), std::move(make));
}

}  // namespace bazof

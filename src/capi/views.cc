// C API: the timeline views (validity intervals, changes) as Arrow C streams.
#include <arrow/api.h>
#include <arrow/c/bridge.h>
#include <arrow/compute/api.h>

#include <optional>
#include <string>

#include "bazof/bazof.h"
#include "bazof/views.h"
#include "capi/capi_internal.h"
#include "read/guarded_reader.h"

namespace bazof::capi {
namespace {

namespace cp = arrow::compute;

/// An optional event time given as text (NULL = none).
arrow::Result<std::optional<EventTime>> OptionalTime(const char* text, const char* what) {
  if (!text) return std::nullopt;
  ARROW_ASSIGN_OR_RAISE(auto t, ParseEventTime(text, what));
  return t;
}

arrow::Result<std::optional<Version>> OptionalVersion(int64_t v) {
  if (v < 0) return std::nullopt;
  return Version(v);
}

/// The scan options' key filters (key_in, key range) as a filter expression
/// on the single key column: MakeIntervals narrows the key range it reads
/// from such comparisons.
arrow::Result<std::optional<cp::Expression>> KeyFilter(const bazof_table& handle, const Table& table,
                                                       const bazof_scan_options& o, const char* view) {
  if (o.key_in.empty() && !o.key_min && !o.key_max) return std::nullopt;
  const auto& keys = table.current_snapshot()->schema.key_columns;
  if (keys.size() != 1) {
    return InvalidArgument(view, ": key filters need a single-column key; table '", handle.name, "' has ",
                           keys.size(), " key columns");
  }
  const auto& key = keys[0];
  auto parse = [&](const std::string& text) -> arrow::Result<cp::Expression> {
    auto scalar = arrow::Scalar::Parse(key.type, text);
    if (!scalar.ok()) {
      return InvalidArgument(view, ": key '", text, "' is not a valid ", key.type->ToString(), " (column '",
                             key.name, "')");
    }
    return cp::literal(*std::move(scalar));
  };
  std::vector<cp::Expression> all;
  if (!o.key_in.empty()) {
    std::vector<cp::Expression> any;
    for (const auto& k : o.key_in) {
      ARROW_ASSIGN_OR_RAISE(auto lit, parse(k));
      any.push_back(cp::equal(cp::field_ref(key.name), std::move(lit)));
    }
    all.push_back(cp::or_(std::move(any)));
  }
  if (o.key_min) {
    ARROW_ASSIGN_OR_RAISE(auto lit, parse(*o.key_min));
    all.push_back(cp::greater_equal(cp::field_ref(key.name), std::move(lit)));
  }
  if (o.key_max) {
    ARROW_ASSIGN_OR_RAISE(auto lit, parse(*o.key_max));
    all.push_back(cp::less_equal(cp::field_ref(key.name), std::move(lit)));
  }
  return cp::and_(std::move(all));
}

arrow::Status Export(arrow::Result<std::shared_ptr<Scan>> view, ArrowArrayStream* out) {
  ARROW_ASSIGN_OR_RAISE(auto scan, std::move(view));
  ARROW_ASSIGN_OR_RAISE(auto reader, scan->ToReader());
  return arrow::ExportRecordBatchReader(read::GuardReader(std::move(reader)), out);
}

}  // namespace

arrow::Result<IntervalOptions> IntervalOptionsOf(const bazof_table& table, const char* start, const char* end,
                                                 int coalesce, const bazof_scan_options* options) {
  auto t = table.Get();
  IntervalOptions o;
  ARROW_ASSIGN_OR_RAISE(o.start, OptionalTime(start, "intervals start"));
  ARROW_ASSIGN_OR_RAISE(o.end, OptionalTime(end, "intervals end"));
  o.coalesce = coalesce != 0;
  o.batch_size = table.batch_size;
  o.threads = table.threads;
  if (options) {
    if (options->as_of) {
      return InvalidArgument("intervals: the as-of time of the options does not apply; give start and end");
    }
    if (options->version) o.version = Version(*options->version);
    if (options->columns) o.columns = *options->columns;
    ARROW_ASSIGN_OR_RAISE(o.filter, KeyFilter(table, *t, *options, "intervals"));
    if (options->batch_size) o.batch_size = *options->batch_size;
    if (options->threads) o.threads = *options->threads;
  }
  return o;
}

arrow::Result<ChangeOptions> ChangeOptionsOf(const bazof_table& table, const char* from_time, int64_t from_version,
                                             const char* to_time, int64_t to_version,
                                             const bazof_scan_options* options) {
  ChangeOptions o;
  ARROW_ASSIGN_OR_RAISE(auto from, OptionalTime(from_time, "changes from"));
  ARROW_ASSIGN_OR_RAISE(auto to, OptionalTime(to_time, "changes to"));
  if (from) o.from_time = *from;
  if (to) o.to_time = *to;
  ARROW_ASSIGN_OR_RAISE(o.from_version, OptionalVersion(from_version));
  ARROW_ASSIGN_OR_RAISE(o.to_version, OptionalVersion(to_version));
  o.batch_size = table.batch_size;
  o.threads = table.threads;
  if (options) {
    if (options->as_of || options->version || !options->key_in.empty() || options->key_min || options->key_max) {
      return InvalidArgument("changes: the two points are given as arguments; as-of, version and "
                             "key filters of the options do not apply");
    }
    if (options->columns) o.columns = *options->columns;
    if (options->batch_size) o.batch_size = *options->batch_size;
    if (options->threads) o.threads = *options->threads;
  }
  return o;
}

}  // namespace bazof::capi

using bazof::capi::Guard;
using bazof::capi::NullArgument;

extern "C" {

bazof_code bazof_table_intervals(const bazof_table* table, const char* start, const char* end, int coalesce,
                                 const bazof_scan_options* options, struct ArrowArrayStream* out,
                                 char** error) {
  return Guard(error, [&]() -> arrow::Status {
    if (!table) return NullArgument("table");
    if (!out) return NullArgument("out");
    ARROW_ASSIGN_OR_RAISE(auto o, bazof::capi::IntervalOptionsOf(*table, start, end, coalesce, options));
    return bazof::capi::Export(bazof::MakeIntervals(*table->Get(), o), out);
  });
}

bazof_code bazof_table_changes(const bazof_table* table, const char* from_time, int64_t from_version,
                               const char* to_time, int64_t to_version, const bazof_scan_options* options,
                               struct ArrowArrayStream* out, char** error) {
  return Guard(error, [&]() -> arrow::Status {
    if (!table) return NullArgument("table");
    if (!out) return NullArgument("out");
    ARROW_ASSIGN_OR_RAISE(auto o, bazof::capi::ChangeOptionsOf(*table, from_time, from_version, to_time,
                                                              to_version, options));
    return bazof::capi::Export(bazof::MakeChanges(*table->Get(), o), out);
  });
}

}  // extern "C"

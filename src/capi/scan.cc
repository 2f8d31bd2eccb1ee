// C API: scan options, scans exported as Arrow C streams, scan estimates.
#include <arrow/api.h>
#include <arrow/c/bridge.h>

#include <unordered_map>

#include "bazof/bazof.h"
#include "capi/capi_internal.h"
#include "read/guarded_reader.h"

namespace bazof::capi {
namespace {

arrow::Result<std::shared_ptr<Scan>> BuildScan(const bazof_table& handle,
                                               const bazof_scan_options* o) {
  auto table = handle.Get();
  ScanBuilder b = table->NewScan();
  b.BatchSize(handle.batch_size).Threads(handle.threads);
  if (o) {
    if (o->as_of) b.AsOf(*o->as_of);
    if (o->version) b.AtVersion(Version(*o->version));
    if (o->columns) b.Columns(*o->columns);
    if (!o->key_in.empty()) b.KeyIn(o->key_in);
    if (!o->keys_in.empty()) b.KeysIn(o->keys_in);
    if (o->key_min || o->key_max) b.KeyRange(o->key_min, o->key_max);
    if (o->batch_size) b.BatchSize(*o->batch_size);
    if (o->threads) b.Threads(*o->threads);
  }
  return b.Build();
}

}  // namespace
}  // namespace bazof::capi

using bazof::capi::Guard;
using bazof::capi::NullArgument;

extern "C" {

bazof_scan_options* bazof_scan_options_new(void) {
  try {
    return new bazof_scan_options();
  } catch (...) {
    return nullptr;
  }
}

void bazof_scan_options_free(bazof_scan_options* options) { delete options; }

bazof_code bazof_scan_options_set_as_of(bazof_scan_options* options, const char* event_time,
                                        char** error) {
  return Guard(error, [&]() -> arrow::Status {
    if (!options) return NullArgument("scan options");
    if (!event_time) {
      options->as_of.reset();
      return arrow::Status::OK();
    }
    ARROW_ASSIGN_OR_RAISE(options->as_of, bazof::ParseEventTime(event_time, "as-of"));
    return arrow::Status::OK();
  });
}

bazof_code bazof_scan_options_set_as_of_micros(bazof_scan_options* options, int64_t micros,
                                               char** error) {
  return Guard(error, [&]() -> arrow::Status {
    if (!options) return NullArgument("scan options");
    options->as_of = bazof::EventTime::FromMicros(micros);
    return arrow::Status::OK();
  });
}

bazof_code bazof_scan_options_set_version(bazof_scan_options* options, int64_t version,
                                          char** error) {
  return Guard(error, [&]() -> arrow::Status {
    if (!options) return NullArgument("scan options");
    if (version < 0) {
      options->version.reset();
    } else {
      options->version = version;
    }
    return arrow::Status::OK();
  });
}

bazof_code bazof_scan_options_set_columns(bazof_scan_options* options, const char* const* columns,
                                          size_t n, char** error) {
  return Guard(error, [&]() -> arrow::Status {
    if (!options) return NullArgument("scan options");
    ARROW_ASSIGN_OR_RAISE(options->columns, bazof::capi::Strings(columns, n, "columns"));
    return arrow::Status::OK();
  });
}

bazof_code bazof_scan_options_set_key_in(bazof_scan_options* options, const char* const* keys,
                                         size_t n, char** error) {
  return Guard(error, [&]() -> arrow::Status {
    if (!options) return NullArgument("scan options");
    ARROW_ASSIGN_OR_RAISE(options->key_in, bazof::capi::Strings(keys, n, "keys"));
    return arrow::Status::OK();
  });
}

bazof_code bazof_scan_options_set_keys(bazof_scan_options* options, const char* const* key_columns,
                                       size_t n_columns, const char* const* values, size_t n_keys,
                                       char** error) {
  return Guard(error, [&]() -> arrow::Status {
    if (!options) return NullArgument("scan options");
    if (n_keys > 0 && n_columns == 0) return bazof::InvalidArgument("keys: n_columns is 0");
    ARROW_ASSIGN_OR_RAISE(auto texts, bazof::capi::Strings(values, n_keys * n_columns, "values"));
    std::vector<std::string> columns(n_columns);
    if (key_columns) {
      for (size_t c = 0; c < n_columns; ++c) {
        if (!key_columns[c]) return bazof::InvalidArgument("key_columns[", c, "] is NULL");
        columns[c] = key_columns[c];
      }
    } else if (n_columns != 1 && n_keys > 0) {
      return bazof::InvalidArgument("keys: key_columns is NULL with ", n_columns, " columns (name them)");
    }
    std::vector<std::vector<std::pair<std::string, std::string>>> keys(n_keys);
    for (size_t k = 0; k < n_keys; ++k) {
      for (size_t c = 0; c < n_columns; ++c) keys[k].emplace_back(columns[c], texts[k * n_columns + c]);
    }
    options->keys_in = std::move(keys);
    return arrow::Status::OK();
  });
}

bazof_code bazof_scan_options_set_key_range(bazof_scan_options* options, const char* min,
                                            const char* max, char** error) {
  return Guard(error, [&]() -> arrow::Status {
    if (!options) return NullArgument("scan options");
    options->key_min = min ? std::optional<std::string>(min) : std::nullopt;
    options->key_max = max ? std::optional<std::string>(max) : std::nullopt;
    return arrow::Status::OK();
  });
}

bazof_code bazof_scan_options_set_batch_size(bazof_scan_options* options, int64_t rows,
                                             char** error) {
  return Guard(error, [&]() -> arrow::Status {
    if (!options) return NullArgument("scan options");
    if (rows <= 0) return bazof::InvalidArgument("batch size ", rows, " is not positive");
    options->batch_size = rows;
    return arrow::Status::OK();
  });
}

bazof_code bazof_scan_options_set_threads(bazof_scan_options* options, int32_t threads,
                                          char** error) {
  return Guard(error, [&]() -> arrow::Status {
    if (!options) return NullArgument("scan options");
    if (threads <= 0) return bazof::InvalidArgument("threads ", threads, " is not positive");
    options->threads = threads;
    return arrow::Status::OK();
  });
}

bazof_code bazof_table_scan(const bazof_table* table, const bazof_scan_options* options,
                            struct ArrowArrayStream* out, char** error) {
  return Guard(error, [&]() -> arrow::Status {
    if (!table) return NullArgument("table");
    if (!out) return NullArgument("out");
    ARROW_ASSIGN_OR_RAISE(auto scan, bazof::capi::BuildScan(*table, options));
    ARROW_ASSIGN_OR_RAISE(auto reader, scan->ToReader());
    return arrow::ExportRecordBatchReader(bazof::read::GuardReader(std::move(reader)), out);
  });
}

bazof_code bazof_table_scan_estimate(const bazof_table* table, const bazof_scan_options* options,
                                     int64_t* out_files, int64_t* out_max_rows, char** error) {
  return Guard(error, [&]() -> arrow::Status {
    if (!table) return NullArgument("table");
    ARROW_ASSIGN_OR_RAISE(auto scan, bazof::capi::BuildScan(*table, options));
    auto t = table->Get();
    std::shared_ptr<const bazof::Snapshot> snap = t->current_snapshot();
    if (options && options->version) {
      ARROW_ASSIGN_OR_RAISE(snap, t->SnapshotAt(bazof::Version(*options->version)));
    }
    std::unordered_map<std::string, int64_t> rows_by_path;
    for (const auto* f : snap->AllFiles()) rows_by_path[f->path] = f->rows;
    const auto files = scan->files();
    int64_t rows = 0;
    for (const auto& path : files) {
      auto it = rows_by_path.find(path);
      if (it == rows_by_path.end() || it->second < 0) {
        rows = -1;
        break;
      }
      if (__builtin_add_overflow(rows, it->second, &rows)) rows = INT64_MAX;
    }
    if (out_files) *out_files = static_cast<int64_t>(files.size());
    if (out_max_rows) *out_max_rows = rows;
    return arrow::Status::OK();
  });
}

}  // extern "C"

// C API: append from an Arrow C stream, put and delete.
#include <arrow/api.h>
#include <arrow/c/bridge.h>

#include "bazof/bazof.h"
#include "bazof/write.h"
#include "capi/capi_internal.h"
#include "util/memory_budget.h"

namespace bazof::capi {
namespace {

// Every write goes through here: after a commit the handle re-reads the
// table, so the writer's next scan sees its own write. The commit is done
// whatever the re-read says: a failed re-read must not report the write as
// failed (a caller would retry it), so it leaves the handle as it was.
arrow::Status Finish(bazof_table* handle, const CommitResult& result, int64_t* out_version) {
  if (out_version) *out_version = result.committed ? result.version.value() : -1;
  if (!result.committed) return arrow::Status::OK();
  auto fresh = Table::Open(handle->location, handle->name, handle->storage_options);
  if (fresh.ok()) handle->Set(*std::move(fresh));
  return arrow::Status::OK();
}

arrow::Result<std::vector<std::pair<std::string, std::string>>> Pairs(const char* const* names,
                                                                     const char* const* values,
                                                                     size_t n, const char* what) {
  std::vector<std::pair<std::string, std::string>> out;
  if (n == 0) return out;
  if (!values) return NullArgument(what);
  for (size_t i = 0; i < n; ++i) {
    if (!values[i]) return InvalidArgument(what, "[", i, "] is NULL");
    out.emplace_back(names && names[i] ? names[i] : "", values[i]);
  }
  return out;
}

arrow::Status PutOrDelete(bazof_table* table, const char* const* key_columns,
                          const char* const* key_values, size_t n_key, const char* event_time,
                          const char* const* value_columns, const char* const* values,
                          size_t n_values, bool deleted, int64_t* out_version, bool partial = false) {
  if (out_version) *out_version = -1;
  if (!table) return NullArgument("table");
  if (!event_time) return NullArgument("event time");
  if (n_key == 0) return InvalidArgument("no key given");
  PutRequest request;
  ARROW_ASSIGN_OR_RAISE(request.key, Pairs(key_columns, key_values, n_key, "key values"));
  request.event_time = event_time;
  if (n_values > 0 && !value_columns) return NullArgument("value columns");
  ARROW_ASSIGN_OR_RAISE(request.values, Pairs(value_columns, values, n_values, "values"));
  for (size_t i = 0; i < request.values.size(); ++i) {
    if (request.values[i].first.empty()) return InvalidArgument("value column ", i, " has no name");
  }
  request.deleted = deleted;
  request.partial = partial;
  ARROW_ASSIGN_OR_RAISE(auto result, Put(table->Get(), request));
  return Finish(table, result, out_version);
}

// The options of bazof_table_append_with_options (include/bazof/bazof.h).
arrow::Status ApplyAppendOptions(const char* const* keys, const char* const* values, size_t n,
                                 AppendOptions* options) {
  if (n == 0) return arrow::Status::OK();
  if (!keys || !values) return NullArgument("option keys or values");
  bool seen_limit = false, seen_dir = false;
  for (size_t i = 0; i < n; ++i) {
    if (!keys[i] || !values[i]) return InvalidArgument("option ", i, " has a NULL key or value");
    std::string_view key(keys[i]);
    bool* seen = key == "memory_limit" ? &seen_limit : key == "spill_dir" ? &seen_dir : nullptr;
    if (!seen) return InvalidArgument("unknown append option '", key, "' (known: memory_limit, spill_dir)");
    if (*seen) return InvalidArgument("append option '", key, "' is given twice");
    *seen = true;
    if (key == "memory_limit") {
      // The one parse of a budget (CLI --memory-limit, Python memory_limit).
      ARROW_ASSIGN_OR_RAISE(options->memory_limit_bytes, ParseMemoryLimit(values[i], "option 'memory_limit'"));
    } else {
      if (!*values[i]) return InvalidArgument("option 'spill_dir' is empty");
      options->spill_dir = values[i];
    }
  }
  return arrow::Status::OK();
}

arrow::Status AppendStream(bazof_table* table, ArrowArrayStream* input, const char* const* option_keys,
                           const char* const* option_values, size_t n_options, int64_t* out_version) {
  if (out_version) *out_version = -1;
  if (!table) return NullArgument("table");
  if (!input) return NullArgument("input stream");
  if (!input->release) return InvalidArgument("input stream is already released");
  AppendOptions options;
  options.source = "input stream";
  ARROW_RETURN_NOT_OK(ApplyAppendOptions(option_keys, option_values, n_options, &options));
  ARROW_ASSIGN_OR_RAISE(auto reader, arrow::ImportRecordBatchReader(input));
  ARROW_ASSIGN_OR_RAISE(auto result, Append(table->Get(), *reader, options));
  return Finish(table, result, out_version);
}

}  // namespace
}  // namespace bazof::capi

using bazof::capi::Guard;
using bazof::capi::NullArgument;

extern "C" {

bazof_code bazof_table_append(bazof_table* table, struct ArrowArrayStream* input,
                              int64_t* out_version, char** error) {
  bazof::capi::StreamReleaseGuard release_input(input);
  return Guard(error, [&]() -> arrow::Status {
    return bazof::capi::AppendStream(table, input, nullptr, nullptr, 0, out_version);
  });
}

bazof_code bazof_table_append_with_options(bazof_table* table, struct ArrowArrayStream* input,
                                           const char* const* option_keys, const char* const* option_values,
                                           size_t n_options, int64_t* out_version, char** error) {
  bazof::capi::StreamReleaseGuard release_input(input);
  return Guard(error, [&]() -> arrow::Status {
    return bazof::capi::AppendStream(table, input, option_keys, option_values, n_options, out_version);
  });
}

bazof_code bazof_table_put(bazof_table* table, const char* const* key_columns,
                           const char* const* key_values, size_t n_key, const char* event_time,
                           const char* const* value_columns, const char* const* values,
                           size_t n_values, int64_t* out_version, char** error) {
  return Guard(error, [&]() -> arrow::Status {
    return bazof::capi::PutOrDelete(table, key_columns, key_values, n_key, event_time,
                                    value_columns, values, n_values, false, out_version);
  });
}

bazof_code bazof_table_put_partial(bazof_table* table, const char* const* key_columns,
                                   const char* const* key_values, size_t n_key, const char* event_time,
                                   const char* const* value_columns, const char* const* values,
                                   size_t n_values, int64_t* out_version, char** error) {
  return Guard(error, [&]() -> arrow::Status {
    return bazof::capi::PutOrDelete(table, key_columns, key_values, n_key, event_time, value_columns,
                                    values, n_values, false, out_version, true);
  });
}

bazof_code bazof_table_delete(bazof_table* table, const char* const* key_columns,
                              const char* const* key_values, size_t n_key, const char* event_time,
                              int64_t* out_version, char** error) {
  return Guard(error, [&]() -> arrow::Status {
    return bazof::capi::PutOrDelete(table, key_columns, key_values, n_key, event_time, nullptr,
                                    nullptr, 0, true, out_version);
  });
}

}  // extern "C"

// C API: errors, time, opening/creating tables, schema and log.
#include <arrow/api.h>
#include <arrow/c/bridge.h>

#include <charconv>

#include "bazof/bazof.h"
#include "bazof/event_time.h"
#include "bazof/inspect.h"
#include "bazof/write.h"
#include "capi/capi_internal.h"
#include "text_escape.h"

namespace bazof::capi {

bazof_code CodeOf(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kNotFound:
      return BAZOF_NOT_FOUND;
    case ErrorKind::kInvalidArgument:
      return BAZOF_INVALID_ARGUMENT;
    case ErrorKind::kCorruption:
      return BAZOF_CORRUPTION;
    case ErrorKind::kConflict:
      return BAZOF_CONFLICT;
    case ErrorKind::kCommitStateUnknown:
      return BAZOF_COMMIT_STATE_UNKNOWN;
    case ErrorKind::kIOError:
      return BAZOF_IO_ERROR;
  }
  return BAZOF_INTERNAL;
}

namespace {

// malloc'd copy, so that a C caller could also free() it.
void SetMessage(char** error, const std::string& message) noexcept {
  if (!error) return;
  char* copy = static_cast<char*>(std::malloc(message.size() + 1));
  if (copy) std::memcpy(copy, message.c_str(), message.size() + 1);
  *error = copy;
}

}  // namespace

bazof_code Report(const arrow::Status& status, char** error) {
  if (status.ok()) {
    if (error) *error = nullptr;
    return BAZOF_OK;
  }
  SetMessage(error, ErrorLine(status));
  if (status.IsOutOfMemory()) return BAZOF_INTERNAL;
  return CodeOf(ErrorKindOf(status));
}

bazof_code Internal(const char* what, char** error) noexcept {
  try {
    SetMessage(error, "internal error: " + EscapeForMessage(what));
  } catch (...) {
    if (error) *error = nullptr;
  }
  return BAZOF_INTERNAL;
}

arrow::Status NullArgument(const char* what) { return InvalidArgument(what, " is NULL"); }

arrow::Result<std::vector<std::string>> Strings(const char* const* items, size_t n,
                                                const char* what) {
  std::vector<std::string> out;
  if (n == 0) return out;
  if (!items) return NullArgument(what);
  for (size_t i = 0; i < n; ++i) {
    if (!items[i]) return InvalidArgument(what, "[", i, "] is NULL");
    out.emplace_back(items[i]);
  }
  return out;
}

namespace {

arrow::Result<int64_t> PositiveOption(const char* key, const char* value) {
  std::string_view text(value);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v <= 0) {
    return InvalidArgument("option '", key, "': '", text, "' is not a positive integer");
  }
  return v;
}

arrow::Status ApplyOptions(bazof_table* t, const char* const* keys, const char* const* values,
                           size_t n) {
  if (n == 0) return arrow::Status::OK();
  if (!keys || !values) return NullArgument("option keys or values");
  for (size_t i = 0; i < n; ++i) {
    if (!keys[i] || !values[i]) return InvalidArgument("option ", i, " has a NULL key or value");
    std::string_view key(keys[i]);
    if (key == "threads") {
      ARROW_ASSIGN_OR_RAISE(auto v, PositiveOption(keys[i], values[i]));
      if (v > 4096) return InvalidArgument("option 'threads': ", v, " is more than 4096");
      t->threads = static_cast<int>(v);
    } else if (key == "batch_size") {
      ARROW_ASSIGN_OR_RAISE(t->batch_size, PositiveOption(keys[i], values[i]));
    } else if (key.starts_with("s3.") && key.size() > 3) {
      // Object storage (include/bazof/storage_options.h); the core checks the key.
      t->storage_options[std::string(key.substr(3))] = values[i];
    } else {
      return InvalidArgument("unknown option '", key, "' (known: threads, batch_size, s3.<storage option>)");
    }
  }
  return arrow::Status::OK();
}

}  // namespace
}  // namespace bazof::capi

using bazof::capi::Guard;
using bazof::capi::NullArgument;

extern "C" {

int32_t bazof_c_api_version(void) { return BAZOF_C_API_VERSION; }

const char* bazof_code_name(bazof_code code) {
  switch (code) {
    case BAZOF_OK:
      return "ok";
    case BAZOF_NOT_FOUND:
      return "not_found";
    case BAZOF_INVALID_ARGUMENT:
      return "invalid_argument";
    case BAZOF_CORRUPTION:
      return "corruption";
    case BAZOF_CONFLICT:
      return "conflict";
    case BAZOF_COMMIT_STATE_UNKNOWN:
      return "commit_state_unknown";
    case BAZOF_IO_ERROR:
      return "io_error";
    case BAZOF_INTERNAL:
      return "internal";
    default:
      return "unknown";
  }
}

void bazof_string_free(char* s) { std::free(s); }

bazof_code bazof_parse_event_time(const char* text, int64_t* out_micros, char** error) {
  return Guard(error, [&]() -> arrow::Status {
    if (!text) return NullArgument("event time");
    if (!out_micros) return NullArgument("out_micros");
    ARROW_ASSIGN_OR_RAISE(auto t, bazof::ParseEventTime(text, "event time"));
    *out_micros = t.micros();
    return arrow::Status::OK();
  });
}

bazof_code bazof_table_open(const char* location, const char* name, const char* const* option_keys,
                            const char* const* option_values, size_t n_options, bazof_table** out,
                            char** error) {
  return Guard(error, [&]() -> arrow::Status {
    if (!out) return NullArgument("out");
    *out = nullptr;
    if (!location) return NullArgument("location");
    if (!name) return NullArgument("table name");
    auto handle = std::make_unique<bazof_table>();
    ARROW_RETURN_NOT_OK(
        bazof::capi::ApplyOptions(handle.get(), option_keys, option_values, n_options));
    ARROW_ASSIGN_OR_RAISE(handle->table, bazof::Table::Open(location, name, handle->storage_options));
    handle->location = location;
    handle->name = name;
    *out = handle.release();
    return arrow::Status::OK();
  });
}

bazof_code bazof_table_create(const char* location, const char* name, const char* schema_spec,
                              const char* const* key_columns, size_t n_key_columns,
                              const char* event_time_column, bazof_table** out, char** error) {
  return Guard(error, [&]() -> arrow::Status {
    if (!out) return NullArgument("out");
    *out = nullptr;
    if (!location) return NullArgument("location");
    if (!name) return NullArgument("table name");
    if (!schema_spec) return NullArgument("schema");
    ARROW_ASSIGN_OR_RAISE(auto keys,
                          bazof::capi::Strings(key_columns, n_key_columns, "key_columns"));
    if (keys.empty()) keys = {"key"};
    const char* event_time = event_time_column ? event_time_column : "event_time";
    ARROW_ASSIGN_OR_RAISE(auto schema, bazof::ParseSchemaSpec(schema_spec, keys, event_time));
    auto handle = std::make_unique<bazof_table>();
    ARROW_ASSIGN_OR_RAISE(handle->table, bazof::CreateTable(location, name, schema));
    handle->location = location;
    handle->name = name;
    *out = handle.release();
    return arrow::Status::OK();
  });
}

void bazof_table_free(bazof_table* table) { delete table; }

bazof_code bazof_table_refresh(bazof_table* table, char** error) {
  return Guard(error, [&]() -> arrow::Status {
    if (!table) return NullArgument("table");
    ARROW_ASSIGN_OR_RAISE(auto fresh, bazof::Table::Open(table->location, table->name, table->storage_options));
    table->Set(std::move(fresh));
    return arrow::Status::OK();
  });
}

int64_t bazof_table_current_version(const bazof_table* table) {
  if (!table) return -1;
  return table->Get()->current_version().value();
}

bazof_code bazof_table_schema(const bazof_table* table, int64_t version, struct ArrowSchema* out,
                              char** error) {
  return Guard(error, [&]() -> arrow::Status {
    if (!table) return NullArgument("table");
    if (!out) return NullArgument("out");
    auto t = table->Get();
    std::shared_ptr<const bazof::Snapshot> snap = t->current_snapshot();
    if (version >= 0) {
      ARROW_ASSIGN_OR_RAISE(snap, t->SnapshotAt(bazof::Version(version)));
    }
    // A scan's own output schema, so the two can never disagree.
    ARROW_ASSIGN_OR_RAISE(auto scan, t->NewScan().AtVersion(snap->version).Build());
    auto schema = scan->schema();
    const size_t keys = snap->schema.key_columns.size();
    arrow::FieldVector fields;
    for (int i = 0; i < schema->num_fields(); ++i) {
      const size_t at = static_cast<size_t>(i);
      const char* role = at < keys ? "key" : at == keys ? "event_time" : "value";
      auto metadata = arrow::key_value_metadata({"bazof.role"}, {role});
      fields.push_back(schema->field(i)->WithMergedMetadata(metadata));
    }
    return arrow::ExportSchema(*arrow::schema(fields, schema->metadata()), out);
  });
}

bazof_code bazof_table_log(const bazof_table* table, struct ArrowArrayStream* out, char** error) {
  return Guard(error, [&]() -> arrow::Status {
    if (!table) return NullArgument("table");
    if (!out) return NullArgument("out");
    ARROW_ASSIGN_OR_RAISE(auto log, bazof::ReadLog(*table->Get()));
    ARROW_ASSIGN_OR_RAISE(auto log_table, bazof::LogTable(log));
    auto reader = std::make_shared<arrow::TableBatchReader>(log_table);
    return arrow::ExportRecordBatchReader(reader, out);
  });
}

}  // extern "C"

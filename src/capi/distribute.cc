// C API: scan splits and staged commits (include/bazof/bazof.h,
// "Distribution"); splits and staged descriptors cross as JSON text.
#include <arrow/api.h>
#include <arrow/c/bridge.h>

#include <cstdlib>
#include <cstring>

#include "bazof/bazof.h"
#include "bazof/split.h"
#include "bazof/stage.h"
#include "capi/capi_internal.h"
#include "read/guarded_reader.h"

namespace bazof::capi {
namespace {

arrow::Result<char*> CopyString(const std::string& s) {
  char* copy = static_cast<char*>(std::malloc(s.size() + 1));
  if (!copy) return arrow::Status::OutOfMemory("out of memory copying a string");
  std::memcpy(copy, s.c_str(), s.size() + 1);
  return copy;
}

arrow::Result<std::vector<StagedFiles>> ParseStaged(const char* const* staged_json, size_t n) {
  if (n > 0 && !staged_json) return NullArgument("staged");
  std::vector<StagedFiles> out;
  for (size_t i = 0; i < n; ++i) {
    if (!staged_json[i]) return InvalidArgument("staged[", i, "] is NULL");
    ARROW_ASSIGN_OR_RAISE(auto s, StagedFiles::FromJson(staged_json[i]));
    out.push_back(std::move(s));
  }
  return out;
}

// Hands planned splits to C as an array of JSON texts.
arrow::Status SplitsOut(const std::vector<Split>& splits, char*** out_splits, size_t* out_n) {
  char** arr = static_cast<char**>(std::calloc(splits.size(), sizeof(char*)));
  if (!arr && !splits.empty()) return arrow::Status::OutOfMemory("out of memory");
  for (size_t i = 0; i < splits.size(); ++i) {
    auto copy = CopyString(splits[i].ToJson());
    if (!copy.ok()) {
      bazof_strings_free(arr, i);
      return copy.status();
    }
    arr[i] = *copy;
  }
  *out_splits = arr;
  *out_n = splits.size();
  return arrow::Status::OK();
}

// The planning functions' arguments: no splits until planned; the table
// and both outputs given.
arrow::Status CheckSplitsOut(const bazof_table* table, char*** out_splits, size_t* out_n) {
  if (out_splits) *out_splits = nullptr;
  if (out_n) *out_n = 0;
  if (!table) return NullArgument("table");
  if (!out_splits || !out_n) return NullArgument("out_splits");
  return arrow::Status::OK();
}

// Split sizing as the C functions take it: <= 0 = default / no limit.
SplitOptions SplitOptionsOf(int64_t target_bytes, int32_t max_splits) {
  SplitOptions so;
  if (target_bytes > 0) so.target_bytes = target_bytes;
  if (max_splits > 0) so.max_splits = max_splits;
  return so;
}

}  // namespace
}  // namespace bazof::capi

using bazof::capi::Guard;
using bazof::capi::NullArgument;

extern "C" {

void bazof_strings_free(char** strings, size_t n) {
  if (!strings) return;
  for (size_t i = 0; i < n; ++i) std::free(strings[i]);
  std::free(strings);
}

bazof_code bazof_table_plan_splits(const bazof_table* table, const bazof_scan_options* o,
                                   int64_t target_bytes, int32_t max_splits, char*** out_splits,
                                   size_t* out_n, char** error) {
  return Guard(error, [&]() -> arrow::Status {
    ARROW_RETURN_NOT_OK(bazof::capi::CheckSplitsOut(table, out_splits, out_n));
    auto t = table->Get();
    bazof::ScanBuilder b = t->NewScan();
    if (o) {
      if (o->as_of) b.AsOf(*o->as_of);
      if (o->version) b.AtVersion(bazof::Version(*o->version));
      if (o->columns) b.Columns(*o->columns);
      if (!o->key_in.empty()) b.KeyIn(o->key_in);
      if (o->key_min || o->key_max) b.KeyRange(o->key_min, o->key_max);
    }
    ARROW_ASSIGN_OR_RAISE(auto splits,
                          bazof::PlanSplits(b, bazof::capi::SplitOptionsOf(target_bytes, max_splits)));
    return bazof::capi::SplitsOut(splits, out_splits, out_n);
  });
}

bazof_code bazof_table_plan_change_splits(const bazof_table* table, const char* from_time, int64_t from_version,
                                          const char* to_time, int64_t to_version, const bazof_scan_options* options,
                                          int64_t target_bytes, int32_t max_splits, char*** out_splits,
                                          size_t* out_n, char** error) {
  return Guard(error, [&]() -> arrow::Status {
    ARROW_RETURN_NOT_OK(bazof::capi::CheckSplitsOut(table, out_splits, out_n));
    ARROW_ASSIGN_OR_RAISE(auto o, bazof::capi::ChangeOptionsOf(*table, from_time, from_version, to_time,
                                                              to_version, options));
    ARROW_ASSIGN_OR_RAISE(auto splits, bazof::PlanChangeSplits(*table->Get(), o,
                                                               bazof::capi::SplitOptionsOf(target_bytes, max_splits)));
    return bazof::capi::SplitsOut(splits, out_splits, out_n);
  });
}

bazof_code bazof_table_plan_interval_splits(const bazof_table* table, const char* start, const char* end,
                                            int coalesce, const bazof_scan_options* options, int64_t target_bytes,
                                            int32_t max_splits, char*** out_splits, size_t* out_n, char** error) {
  return Guard(error, [&]() -> arrow::Status {
    ARROW_RETURN_NOT_OK(bazof::capi::CheckSplitsOut(table, out_splits, out_n));
    ARROW_ASSIGN_OR_RAISE(auto o, bazof::capi::IntervalOptionsOf(*table, start, end, coalesce, options));
    ARROW_ASSIGN_OR_RAISE(auto splits, bazof::PlanIntervalSplits(*table->Get(), o,
                                                                 bazof::capi::SplitOptionsOf(target_bytes, max_splits)));
    return bazof::capi::SplitsOut(splits, out_splits, out_n);
  });
}

bazof_code bazof_table_scan_split(const bazof_table* table, const char* split_json,
                                  struct ArrowArrayStream* out, char** error) {
  return Guard(error, [&]() -> arrow::Status {
    if (!table) return NullArgument("table");
    if (!split_json) return NullArgument("split");
    if (!out) return NullArgument("out");
    ARROW_ASSIGN_OR_RAISE(auto split, bazof::Split::FromJson(split_json));
    ARROW_ASSIGN_OR_RAISE(auto scan, bazof::ReadSplit(*table->Get(), split, table->threads, table->batch_size));
    ARROW_ASSIGN_OR_RAISE(auto reader, scan->ToReader());
    return arrow::ExportRecordBatchReader(bazof::read::GuardReader(std::move(reader)), out);
  });
}

bazof_code bazof_table_stage(const bazof_table* table, struct ArrowArrayStream* input, int64_t task,
                             char** out_staged, char** error) {
  bazof::capi::StreamReleaseGuard release_input(input);
  return Guard(error, [&]() -> arrow::Status {
    if (out_staged) *out_staged = nullptr;
    if (!table) return NullArgument("table");
    if (!input) return NullArgument("input stream");
    if (!out_staged) return NullArgument("out_staged");
    if (!input->release) return bazof::InvalidArgument("input stream is already released");
    if (task < 0) return bazof::InvalidArgument("task ", task, " is negative");
    ARROW_ASSIGN_OR_RAISE(auto reader, arrow::ImportRecordBatchReader(input));
    bazof::StageOptions options;
    options.task = task;
    options.source = "input stream";
    ARROW_ASSIGN_OR_RAISE(auto staged, bazof::Stage(*table->Get(), *reader, options));
    ARROW_ASSIGN_OR_RAISE(auto json, staged.ToJson());
    ARROW_ASSIGN_OR_RAISE(*out_staged, bazof::capi::CopyString(json));
    return arrow::Status::OK();
  });
}

bazof_code bazof_table_commit_staged(bazof_table* table, const char* const* staged_json, size_t n,
                                     const char* operation, int64_t* out_version, char** error) {
  return Guard(error, [&]() -> arrow::Status {
    if (out_version) *out_version = -1;
    if (!table) return NullArgument("table");
    ARROW_ASSIGN_OR_RAISE(auto staged, bazof::capi::ParseStaged(staged_json, n));
    bazof::CommitStagedOptions options;
    if (operation) options.operation = operation;
    if (options.operation.empty()) return bazof::InvalidArgument("operation is empty");
    ARROW_ASSIGN_OR_RAISE(auto result, bazof::CommitStaged(table->Get(), staged, options));
    if (!result.committed) return arrow::Status::OK();
    if (out_version) *out_version = result.version.value();
    auto fresh = bazof::Table::Open(table->location, table->name, table->storage_options);
    if (fresh.ok()) table->Set(*std::move(fresh));
    return arrow::Status::OK();
  });
}

bazof_code bazof_table_abort_staged(const bazof_table* table, const char* const* staged_json, size_t n,
                                    char** error) {
  return Guard(error, [&]() -> arrow::Status {
    if (!table) return NullArgument("table");
    ARROW_ASSIGN_OR_RAISE(auto staged, bazof::capi::ParseStaged(staged_json, n));
    return bazof::AbortStaged(*table->Get(), staged);
  });
}

}  // extern "C"

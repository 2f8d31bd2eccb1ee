// Internals of the C API (include/bazof/bazof.h): the opaque handles and the
// one adapter from arrow::Status to (bazof_code, message).
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bazof/storage_options.h"
#include "bazof/bazof.h"
#include "bazof/error.h"
#include "bazof/table.h"
#include "bazof/views.h"

/// An open table. The snapshot it reads is swapped by refresh and by writes,
/// so the pointer is guarded; a scan takes its own reference first.
struct bazof_table {
  std::string location;
  std::string name;
  bazof::StorageOptions storage_options;  // the "s3.*" options of bazof_table_open
  mutable std::mutex mu;
  std::shared_ptr<bazof::Table> table;
  int64_t batch_size = 64 * 1024;
  int threads = 0;  // 0 = cores

  std::shared_ptr<bazof::Table> Get() const {
    std::lock_guard<std::mutex> lock(mu);
    return table;
  }
  void Set(std::shared_ptr<bazof::Table> t) {
    std::lock_guard<std::mutex> lock(mu);
    table = std::move(t);
  }
};

/// Scan options as set through the C API; turned into a ScanBuilder by
/// bazof_table_scan.
struct bazof_scan_options {
  std::optional<bazof::EventTime> as_of;
  std::optional<int64_t> version;
  std::optional<std::vector<std::string>> columns;
  std::vector<std::string> key_in;
  std::vector<std::vector<std::pair<std::string, std::string>>> keys_in;
  std::optional<std::string> key_min, key_max;
  std::optional<int64_t> batch_size;
  std::optional<int> threads;
};

namespace bazof::capi {

bazof_code CodeOf(ErrorKind kind);

/// Stores `status`'s message in *error (when error is not NULL) and returns
/// its code. OK statuses clear *error and return BAZOF_OK.
bazof_code Report(const arrow::Status& status, char** error);

/// Runs `body` (returning arrow::Status), reporting its status; exceptions
/// (bad_alloc, bugs) become BAZOF_INTERNAL: nothing C++ crosses the ABI.
/// Stores an internal-error message in *error and returns BAZOF_INTERNAL.
bazof_code Internal(const char* what, char** error) noexcept;

/// Runs `body` (returning arrow::Status), reporting its status; exceptions
/// (bad_alloc, bugs) become BAZOF_INTERNAL: nothing C++ crosses the ABI.
template <typename F>
bazof_code Guard(char** error, F&& body) noexcept {
  if (error) *error = nullptr;
  try {
    return Report(body(), error);
  } catch (const std::exception& e) {
    return Internal(e.what(), error);
  } catch (...) {
    return Internal("unknown exception", error);
  }
}

/// Releases an input stream the C API consumes when it goes out of scope,
/// on every path that did not move it into a reader (import leaves release
/// NULL): the contract says such a stream is consumed whatever happens.
class StreamReleaseGuard {
 public:
  explicit StreamReleaseGuard(ArrowArrayStream* stream) : stream_(stream) {}
  StreamReleaseGuard(const StreamReleaseGuard&) = delete;
  StreamReleaseGuard& operator=(const StreamReleaseGuard&) = delete;
  ~StreamReleaseGuard() {
    if (stream_ && stream_->release) stream_->release(stream_);
  }

 private:
  ArrowArrayStream* stream_;
};

/// kInvalidArgument "<what> is NULL".
arrow::Status NullArgument(const char* what);

/// The options of the validity intervals bazof_table_intervals and
/// bazof_table_plan_interval_splits take (views.cc): the window as ISO-8601
/// text (NULL = unbounded), coalesce, and `options` (may be NULL: version,
/// columns, key filters, batch size, threads; an as-of time is refused).
arrow::Result<IntervalOptions> IntervalOptionsOf(const bazof_table& table, const char* start, const char* end,
                                                 int coalesce, const bazof_scan_options* options);

/// The options of bazof_table_changes and bazof_table_plan_change_splits
/// (views.cc): the points (times as ISO-8601 text, NULL = latest; a version
/// < 0 = current) and `options` (may be NULL: columns, batch size, threads;
/// as-of, version and key filters are refused).
arrow::Result<ChangeOptions> ChangeOptionsOf(const bazof_table& table, const char* from_time, int64_t from_version,
                                             const char* to_time, int64_t to_version,
                                             const bazof_scan_options* options);

/// Copies n C strings (each must be non-NULL) into a vector.
arrow::Result<std::vector<std::string>> Strings(const char* const* items, size_t n,
                                                const char* what);

}  // namespace bazof::capi

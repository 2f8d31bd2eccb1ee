// Counts an operation's progress and reports it through a ProgressCallback
// with the contract of include/bazof/progress.h: throttled, monotonic, one
// call at a time, done == total at the end.
#pragma once

#include <arrow/record_batch.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "bazof/progress.h"

namespace bazof::internal {

class ProgressReporter {
 public:
  /// Starts a phase (reports done = 0) unless `callback` is empty (it is
  /// copied).
  ProgressReporter(const ProgressCallback& callback, std::string phase, std::string unit, int64_t total);
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  /// Thread-safe: adds `n` units done (done stays <= a known total).
  void Add(int64_t n);
  /// Thread-safe: done becomes max(done, `done`).
  void Set(int64_t done);
  /// Ends the phase: done = total (total = done if it was unknown). Once.
  void Finish();
  bool enabled() const { return static_cast<bool>(callback_); }

 private:
  void Update(int64_t done, bool add);

  const ProgressCallback callback_;
  std::mutex mu_;
  Progress state_;
  int64_t reported_ = -1;
  bool finished_ = false;
  std::chrono::steady_clock::time_point last_;
};

/// Passes `inner`'s batches through, adding their rows to `progress`.
class CountingReader : public arrow::RecordBatchReader {
 public:
  CountingReader(arrow::RecordBatchReader& inner, ProgressReporter& progress) : inner_(inner), progress_(progress) {}
  std::shared_ptr<arrow::Schema> schema() const override { return inner_.schema(); }
  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* batch) override {
    ARROW_RETURN_NOT_OK(inner_.ReadNext(batch));
    if (*batch) progress_.Add((*batch)->num_rows());
    return arrow::Status::OK();
  }

 private:
  arrow::RecordBatchReader& inner_;
  ProgressReporter& progress_;
};

}  // namespace bazof::internal

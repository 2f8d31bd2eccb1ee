// Helpers shared by the timeline views (read/intervals.cc, read/changes.cc).
#pragma once

#include <arrow/api.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bazof/table.h"

namespace bazof::read {

/// An event found in one of several files: its event time, its file's
/// index in the plan, its row in that file.
struct EventAt {
  int64_t micros;
  int64_t file;
  int64_t row;
};

/// Whether event a is later than event b under the tie rule of reads that
/// find winners in several files (docs/spec.md §7): event time, then the
/// file's rank (`rank_of(file)`, asked only when the times tie), then the
/// file's place in the plan, then the row.
template <typename RankOf>
bool Later(const EventAt& a, const EventAt& b, RankOf&& rank_of) {
  if (a.micros != b.micros) return a.micros > b.micros;
  const int64_t ra = rank_of(a.file), rb = rank_of(b.file);
  if (ra != rb) return ra > rb;
  if (a.file != b.file) return a.file > b.file;
  return a.row > b.row;
}

/// Whether row i of `a` equals row j of `b` (same type): nulls equal nulls,
/// NaN equals NaN.
bool CellsEqual(const arrow::Array& a, int64_t i, const arrow::Array& b, int64_t j);

/// Arrow Take with int64 indices, nulls allowed (they give null rows).
arrow::Result<std::shared_ptr<arrow::Array>> TakeRows(const std::shared_ptr<arrow::Array>& values,
                                                      const std::shared_ptr<arrow::Array>& indices);

/// Runs fn(i, worker) for i in [0, n) on up to `threads` threads (worker in
/// [0, threads)); the first error stops the others from taking more and is
/// returned. One thread: inline, in order.
arrow::Status ParallelFor(int64_t n, int threads, const std::function<arrow::Status(int64_t, int)>& fn);

/// A Scan whose reader comes from a function (the views are Scans, so every
/// surface that streams a scan streams them too).
class FunctionScan : public Scan {
 public:
  using Make = std::function<arrow::Result<std::shared_ptr<arrow::RecordBatchReader>>()>;
  FunctionScan(std::shared_ptr<arrow::Schema> schema, std::vector<std::string> files, Make make)
      : schema_(std::move(schema)), files_(std::move(files)), make_(std::move(make)) {}
  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }
  std::vector<std::string> files() const override { return files_; }
  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> ToReader() const override { return make_(); }

 private:
  std::shared_ptr<arrow::Schema> schema_;
  std::vector<std::string> files_;
  Make make_;
};

}  // namespace bazof::read

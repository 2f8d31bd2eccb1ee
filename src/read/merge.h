// The streaming as-of merge of sorted runs (docs/spec.md, "Read semantics").
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>

#include <memory>
#include <vector>

#include "bazof/event_time.h"
#include "read/run_reader.h"

namespace bazof::read {

/// Merges runs sorted by (key, event_time). For each key it keeps the row
/// with the greatest (event_time, run rank, row position) among rows with
/// event_time <= as_of, and emits it unless it is a tombstone. Output is
/// sorted by key, in batches of up to batch_size rows. Memory: one batch per
/// run plus one output batch.
class MergeReader {
 public:
  MergeReader(std::vector<std::unique_ptr<RunSource>> runs, std::shared_ptr<arrow::Schema> schema,
              EventTime as_of, std::vector<std::string> key_in, int64_t batch_size);
  ~MergeReader();

  /// Next output batch, or nullptr at the end.
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Next();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bazof::read

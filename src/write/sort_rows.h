// The in-memory sort of an append's rows by (encoded key, event time), and
// the gather that takes the sorted rows out of the input (issue #15: the
// sort and the gather were most of an append of shuffled input).
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace bazof::write {

/// The rows of `batch` in sorted order: by its leading `num_keys` key
/// column(s) as encoded keys (read/key_codec.h), then the int64-backed
/// event-time column after them, then input row (stable: of equal (key,
/// event time) rows the earlier input row comes first). std::nullopt when
/// the batch is already in that order. Null keys: kCorruption naming the row;
/// more than 2^32 - 1 rows: kInvalidArgument.
arrow::Result<std::optional<std::vector<uint32_t>>> SortOrder(const arrow::RecordBatch& batch, size_t num_keys);

/// Rows order[begin, end) of `batch`, in that order, as a new batch: one
/// gather per column (Arrow's Take), touching only those rows.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> GatherRows(const std::shared_ptr<arrow::RecordBatch>& batch,
                                                              const std::vector<uint32_t>& order, int64_t begin,
                                                              int64_t end);

}  // namespace bazof::write

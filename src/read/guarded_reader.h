// A RecordBatchReader that turns an exception escaping the reader it wraps
// into an error status: the last-resort guard for readers handed across the
// C ABI (the C API's and Python's Arrow streams), where an exception would
// abort the process.
#pragma once

#include <arrow/record_batch.h>

#include <memory>

namespace bazof::read {

/// Wraps `inner`; ReadNext and Close never throw (an escaped exception is
/// an "internal error: ..." status, escaped to one line).
std::shared_ptr<arrow::RecordBatchReader> GuardReader(std::shared_ptr<arrow::RecordBatchReader> inner);

}  // namespace bazof::read

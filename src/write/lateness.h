// Lateness of committed events behind the watermark (docs/spec.md,
// "Completeness watermark").
#pragma once

#include <arrow/result.h>

#include <vector>

#include "bazof/snapshot.h"
#include "io/storage.h"

namespace bazof::write {

/// The lateness profile of the events in `files` (data files of `schema`)
/// against `watermark`: events at or before it count, by watermark minus
/// event time. Reads only the event-time column of the files whose recorded
/// range starts at or before the watermark.
arrow::Result<LatenessProfile> LatenessOf(io::Storage& storage, const TableSchema& schema,
                                          const std::vector<DataFileRef>& files, EventTime watermark);

}  // namespace bazof::write

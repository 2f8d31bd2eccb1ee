// Storage over an S3-compatible object store (docs/spec.md §10, "Object
// storage"): data files through Arrow's S3 filesystem (ranged GETs,
// multipart uploads), metadata through S3Client, commits by conditional PUT.
#pragma once

#include <arrow/result.h>

#include <memory>
#include <string>

#include "bazof/storage_options.h"
#include "io/storage.h"

namespace bazof::io {

/// Storage for table `table` under `location` (s3://bucket/prefix[?query]).
/// Makes no request: a missing bucket or bad credentials surface on first use.
arrow::Result<std::shared_ptr<Storage>> OpenS3Storage(const std::string& location,
                                                      const std::string& table,
                                                      const StorageOptions& options);

}  // namespace bazof::io

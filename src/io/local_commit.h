// Durable, exclusive file creation on a local POSIX filesystem.
#pragma once

#include <arrow/status.h>

#include <string>
#include <string_view>

namespace bazof::io {

/// Creates `path` with `bytes`, failing with kConflict if it exists:
///
///   write <path>.tmp-<random> ── fsync ── link(tmp, path) ── unlink(tmp) ── fsync(dir)
///                                              │
///                                   EEXIST → kConflict (nothing created)
///
/// link(2) never replaces an existing target, unlike rename(2), so two
/// writers racing for the same version cannot both succeed.
arrow::Status LocalCreateExclusive(const std::string& path, std::string_view bytes);

/// Writes `path` via a temporary file and rename (atomic replace), fsynced.
arrow::Status LocalReplace(const std::string& path, std::string_view bytes);

/// fsyncs an existing file and its directory.
arrow::Status SyncLocalFile(const std::string& path);

/// fsyncs a directory so that entries created in it survive a crash.
arrow::Status FsyncDirectory(const std::string& dir);

}  // namespace bazof::io

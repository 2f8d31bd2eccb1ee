// The one narrow interface through which bazof touches storage.
//
// Contract (what the rest of bazof relies on; docs/spec.md, "Commit protocol"):
//  * Names are relative to the table root and already checked by
//    metadata::CheckRelativeFileName; Storage never resolves '..'.
//  * ReadFile/OpenForRead see every file whose creation has returned OK
//    (read-after-write consistency; local disks and S3 both give it).
//  * CreateExclusive(name, bytes) is the commit point: it either creates the
//    complete file and returns OK, or leaves no file and returns kConflict
//    (the name already exists) or another error. Readers never observe a
//    partial file. On a local disk the file and its directory are fsynced
//    before OK. On S3 it is a PUT with If-None-Match: * (s3_storage.cc); on
//    other filesystems, and on S3 servers configured without conditional
//    writes, it is check-then-write and safe for a single writer only.
//  * WriteFile(name, ...) writes a data file under a fresh, unique name;
//    the name is referenced only after the write returned OK.
//  * ReplaceFile(name, bytes) overwrites a small file (version.txt); it is a
//    hint, so a torn or stale value is tolerated by readers.
//  * ListFiles and DeleteFile are for maintenance (vacuum, validate) only:
//    the read and write paths never list (docs/spec.md §3). A listing may
//    miss files created while it runs (object stores list eventually);
//    callers protect young files with a grace period, never by listing
//    twice. ListFiles reports each file's size and modification time; only
//    vacuum's grace period uses the time, never a reader.
//  * DeleteFile(name) removes one file; it is idempotent (a missing file is
//    OK, so an interrupted vacuum can simply run again) and, on a local disk,
//    durable before it returns (the directory is fsynced), so deletions
//    issued in order survive a crash in that order.
//  * ListPendingUploads/AbortUpload (object stores) are for vacuum only; like
//    orphans, uploads younger than the grace period are left alone, since a
//    writer may still be completing them.
//  * Nothing else here derives information from modification times.
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <arrow/filesystem/filesystem.h>
#include <arrow/io/interfaces.h>
#include <arrow/result.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bazof/storage_options.h"

namespace bazof::io {

/// One file found by Storage::ListFiles.
struct ListedFile {
  std::string name;  ///< relative to the table root, '/'-separated
  int64_t size = -1;  ///< bytes; -1 = unknown
  /// Last modification; arrow::fs::kNoTime when the storage does not say.
  arrow::fs::TimePoint mtime = arrow::fs::kNoTime;
};

/// An incomplete multipart upload (object stores): an object a writer began
/// uploading in parts and never completed or aborted. Invisible to listings,
/// yet its parts are stored (and billed) until aborted.
struct PendingUpload {
  std::string name;       ///< the object being uploaded, relative to the table root
  std::string upload_id;  ///< the store's id of the upload
  /// When the upload was initiated; arrow::fs::kNoTime when not reported.
  arrow::fs::TimePoint initiated = arrow::fs::kNoTime;
};

class Storage {
 public:
  virtual ~Storage() = default;

  /// Storage over `fs`, rooted at `root` (a path in fs's namespace).
  /// `display_root` is how the root is shown in messages (URI or path).
  static std::shared_ptr<Storage> Make(std::shared_ptr<arrow::fs::FileSystem> fs, std::string root,
                                       std::string display_root);

  /// How `name` is shown in messages: display_root + "/" + name.
  virtual std::string Describe(std::string_view name) const = 0;
  virtual const std::string& display_root() const = 0;

  /// True if the root directory exists.
  virtual arrow::Result<bool> RootExists() = 0;
  /// True if `name` exists as a file.
  virtual arrow::Result<bool> Exists(std::string_view name) = 0;
  /// Whole contents of a small file; kNotFound if it does not exist.
  virtual arrow::Result<std::string> ReadFile(std::string_view name) = 0;
  /// Random access to a data file; kNotFound if it does not exist.
  /// `size` >= 0 is the file's size as the snapshot records it: object stores
  /// then skip the request that would ask for it (S3: a HEAD per file).
  virtual arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenForRead(
      std::string_view name, int64_t size = -1) = 0;
  /// A stream writing a new data file (parent directories are created).
  virtual arrow::Result<std::shared_ptr<arrow::io::OutputStream>> OpenForWrite(
      std::string_view name) = 0;
  /// Makes a written file durable before it is referenced (local: fsync of
  /// the file and its directory; object stores: nothing to do).
  virtual arrow::Status Sync(std::string_view name) = 0;
  /// The commit point; see the contract above.
  virtual arrow::Status CreateExclusive(std::string_view name, std::string_view bytes) = 0;
  /// Overwrites a small hint file.
  virtual arrow::Status ReplaceFile(std::string_view name, std::string_view bytes) = 0;
  /// Makes sure the root directory exists.
  virtual arrow::Status CreateRoot() = 0;
  /// The files (not directories) under `dir` ("" = the root), recursively or
  /// not, with names relative to the root. A missing directory lists as
  /// empty. Order unspecified. Maintenance only; see the contract above.
  virtual arrow::Result<std::vector<ListedFile>> ListFiles(std::string_view dir, bool recursive) = 0;
  /// Deletes the file `name`: OK if it is gone afterwards (also when it was
  /// already missing); durable on a local disk. Never deletes a directory.
  virtual arrow::Status DeleteFile(std::string_view name) = 0;
  /// The incomplete multipart uploads of objects under the root (vacuum
  /// only). Storages without multipart uploads (local disks) have none; an
  /// S3 server that does not implement the listing reports none.
  virtual arrow::Result<std::vector<PendingUpload>> ListPendingUploads() {
    return std::vector<PendingUpload>{};
  }
  /// Aborts one upload, freeing its parts: OK if it is gone afterwards (also
  /// when it was already completed or aborted).
  virtual arrow::Status AbortUpload(const PendingUpload& /*upload*/) { return arrow::Status::OK(); }
  /// Whether each read request costs far more than the bytes it returns
  /// (object stores: tens of ms per GET). Readers that fetch many small
  /// ranges of one file then merge nearby ranges into one request, reading
  /// the bytes between them, instead of issuing a request per range.
  virtual bool high_latency() const { return false; }
};

/// Resolves a table location (local path, file:// or s3:// URI) and table
/// name into a Storage rooted at the table's directory. A local `location`
/// must exist unless `create_location` (then it is created); an s3:// bucket
/// is never created. `options` configure object storage (storage_options.h).
arrow::Result<std::shared_ptr<Storage>> OpenStorage(const std::string& location,
                                                    const std::string& table,
                                                    bool create_location = false,
                                                    const StorageOptions& options = {});

}  // namespace bazof::io

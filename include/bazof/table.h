// Opening a bazof table and reading it as of an event time and a version.
#pragma once

#include <arrow/compute/expression.h>
#include <arrow/filesystem/type_fwd.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bazof/event_time.h"
#include "bazof/snapshot.h"
#include "bazof/storage_options.h"

namespace bazof {

namespace io {
class Storage;
}
namespace read {
class FooterCache;
}

class Scan;
class ScanBuilder;

/// A handle on one table. Opening reads the version pointer and probes for
/// newer snapshots (no listing). Thread-safe: scans may run concurrently.
class Table : public std::enable_shared_from_this<Table> {
 public:
  /// Opens table `name` under `location`: a local directory, a file:// URI or
  /// an s3://bucket/prefix URI (configured by `options`, see
  /// storage_options.h). kNotFound if the location or table is absent.
  static arrow::Result<std::shared_ptr<Table>> Open(const std::string& location,
                                                    const std::string& name,
                                                    const StorageOptions& options = {});

  /// Opens the table whose root directory is `root` on an injected filesystem
  /// (e.g. arrow::fs::internal::MockFileSystem in tests).
  static arrow::Result<std::shared_ptr<Table>> Open(std::shared_ptr<arrow::fs::FileSystem> fs,
                                                    const std::string& root);

  /// Opens over an already-made Storage (used by writers and tests).
  static arrow::Result<std::shared_ptr<Table>> Open(std::shared_ptr<io::Storage> storage);

  /// The current version: the highest committed snapshot found at open.
  Version current_version() const { return current_->version; }

  /// The current snapshot.
  const std::shared_ptr<const Snapshot>& current_snapshot() const { return current_; }

  /// Snapshot of version `v`. kNotFound if it does not exist; for a version
  /// that vacuum removed the message says so: "version N of table '…' was
  /// vacuumed (oldest retained version: M)".
  arrow::Result<std::shared_ptr<const Snapshot>> SnapshotAt(Version v) const;

  /// The oldest retained version: versions from it to current_version() can
  /// be read (older ones were vacuumed or never existed). Reads the retention
  /// hint and probes one or two snapshots; no listing.
  arrow::Result<Version> OldestVersion() const;

  /// Starts building a scan of this table.
  ScanBuilder NewScan() const;

  /// Where the table lives, as shown in messages.
  const std::string& location() const;
  const std::shared_ptr<io::Storage>& storage() const { return storage_; }

  /// The Parquet footers this Table has read (bounded: 64 MiB of serialized
  /// footers, least recently used evicted; docs/spec.md §7b). Shared by its
  /// scans, histories and splits, so repeated keyed reads read no metadata.
  /// Data files never change once written, so entries never go stale.
  /// Thread-safe.
  const std::shared_ptr<read::FooterCache>& footer_cache() const { return footer_cache_; }

 private:
  Table(std::shared_ptr<io::Storage> storage, std::shared_ptr<const Snapshot> current);
  std::shared_ptr<io::Storage> storage_;
  std::shared_ptr<const Snapshot> current_;
  std::shared_ptr<read::FooterCache> footer_cache_;
};

/// Options of a scan, validated by ScanBuilder::Build().
struct ScanOptions {
  EventTime as_of = EventTime::Max();  ///< inclusive; Max() = latest
  std::optional<Version> version;      ///< nullopt = current version
  /// Value columns to return (key and event-time columns always come first).
  /// nullopt = all value columns.
  std::optional<std::vector<std::string>> columns;
  /// Keep only these keys (single-column keys, as text parsed by the key's
  /// type). Empty = all keys.
  std::vector<std::string> key_in;
  /// Keep only these keys, for keys of any number of columns (docs/spec.md
  /// "Key text"): each key as (column, text) pairs, one per key column, text
  /// parsed by the column's type; a single-column key may leave the column
  /// empty. Adds to key_in; empty = no restriction. Files and row groups
  /// that cannot hold a listed key are not read.
  std::vector<std::vector<std::pair<std::string, std::string>>> keys_in;
  /// Keep only keys in [key_min, key_max] (inclusive; single-column keys, as
  /// text parsed by the key's type). nullopt = unbounded on that side.
  std::optional<std::string> key_min, key_max;
  int64_t batch_size = 64 * 1024;
  /// Threads merging key ranges in parallel; 0 = number of cores.
  int threads = 0;
  /// Memory budget of the reader in bytes (docs/spec.md, "Memory budget"):
  /// batches, queues and read-ahead shrink to fit it; the batches the caller
  /// keeps are its own. 0 = the table's memory.limit property (default
  /// 512 MiB); below the minimum (32 MiB): kInvalidArgument.
  int64_t memory_limit_bytes = 0;
  /// Keep only result rows for which this Arrow expression is true (rows
  /// where it is false or null are dropped). It may name any column of the
  /// table, projected or not. Comparisons of the (single) key column with
  /// literals -- ==, is_in, <, <=, >, >=, joined by `and` -- also narrow
  /// which keys and row groups are read. The filter applies to the as-of
  /// result (each key's winning event), never to the events before merging.
  std::optional<arrow::compute::Expression> filter;
  /// Keep only keys in [encoded_key_lower, encoded_key_upper): lower
  /// inclusive, upper exclusive, nullopt = unbounded; keys in their encoded
  /// form (docs/spec.md, "Scan splits"), as splits carry them. Files and row
  /// groups outside the range are not read.
  std::optional<std::string> encoded_key_lower, encoded_key_upper;
  /// Every event up to as_of instead of each key's state: per key and event
  /// time, the event that wins the tie there (tombstones included), in
  /// (key, event time) order; the schema gains trailing `_bazof_deleted`
  /// (bool) and `_bazof_version` (int64, the committing version) columns.
  /// A filter then applies to each event and may name only returned columns.
  bool all_events = false;
  /// Refuse (kInvalidArgument) unless the scan is complete: the snapshot has
  /// a completeness watermark and as_of <= it (docs/spec.md, "Completeness
  /// watermark"). Either way, a snapshot with a watermark puts
  /// `bazof.watermark` and `bazof.complete` in the schema's metadata.
  bool require_complete = false;
};

/// Builds a scan. Build() checks the options against the table.
class ScanBuilder {
 public:
  explicit ScanBuilder(std::shared_ptr<const Table> table) : table_(std::move(table)) {}
  ScanBuilder& AsOf(EventTime t) { options_.as_of = t; return *this; }
  ScanBuilder& AtVersion(Version v) { options_.version = v; return *this; }
  ScanBuilder& Columns(std::vector<std::string> columns) { options_.columns = std::move(columns); return *this; }
  ScanBuilder& KeyIn(std::vector<std::string> keys) { options_.key_in = std::move(keys); return *this; }
  /// See ScanOptions::keys_in.
  ScanBuilder& KeysIn(std::vector<std::vector<std::pair<std::string, std::string>>> keys) {
    options_.keys_in = std::move(keys);
    return *this;
  }
  ScanBuilder& KeyRange(std::optional<std::string> min, std::optional<std::string> max) {
    options_.key_min = std::move(min);
    options_.key_max = std::move(max);
    return *this;
  }
  ScanBuilder& Filter(arrow::compute::Expression filter) { options_.filter = std::move(filter); return *this; }
  ScanBuilder& BatchSize(int64_t n) { options_.batch_size = n; return *this; }
  ScanBuilder& Threads(int n) { options_.threads = n; return *this; }
  ScanBuilder& MemoryLimit(int64_t bytes) { options_.memory_limit_bytes = bytes; return *this; }
  /// See ScanOptions::encoded_key_lower / encoded_key_upper.
  ScanBuilder& EncodedKeyRange(std::optional<std::string> lower, std::optional<std::string> upper) {
    options_.encoded_key_lower = std::move(lower);
    options_.encoded_key_upper = std::move(upper);
    return *this;
  }
  /// See ScanOptions::all_events.
  ScanBuilder& AllEvents(bool on = true) { options_.all_events = on; return *this; }
  /// See ScanOptions::require_complete.
  ScanBuilder& RequireComplete(bool on = true) { options_.require_complete = on; return *this; }
  arrow::Result<std::shared_ptr<Scan>> Build() const;

  const ScanOptions& options() const { return options_; }
  const std::shared_ptr<const Table>& table() const { return table_; }

 private:
  std::shared_ptr<const Table> table_;
  ScanOptions options_;
};

/// A planned scan: which files it reads, and a streaming reader of its result
/// (rows sorted by key; columns: key(s), event time, projected values).
class Scan {
 public:
  virtual ~Scan() = default;
  /// Output schema.
  virtual std::shared_ptr<arrow::Schema> schema() const = 0;
  /// The data files the scan reads, in plan order (for info/explain).
  virtual std::vector<std::string> files() const = 0;
  /// Starts reading. Memory is bounded by batch size x files x threads.
  virtual arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> ToReader() const = 0;
  /// Reads everything into a table (convenience for small results).
  arrow::Result<std::shared_ptr<arrow::Table>> ToTable() const;
};

}  // namespace bazof

// A bounded in-process cache of Parquet footers (docs/spec.md §7b).
//
// Data files are immutable once referenced (their names are unique and never
// reused), so a footer read once stays valid for the life of the process. A
// Table owns one cache; scans, histories and splits of that Table share it,
// so repeated keyed lookups read no metadata after the first.
#pragma once

#include <parquet/metadata.h>

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace bazof::read {

class FooterCache {
 public:
  /// Default capacity: the serialized size of the footers held.
  static constexpr int64_t kDefaultCapacityBytes = 64 << 20;

  /// A cache holding at most `capacity_bytes` of footers (by their serialized
  /// size), least recently used evicted first. 0 disables it.
  explicit FooterCache(int64_t capacity_bytes = kDefaultCapacityBytes) : capacity_(capacity_bytes) {}

  /// The footer of `path` (a name relative to the table root), or nullptr.
  /// Thread-safe.
  std::shared_ptr<parquet::FileMetaData> Get(const std::string& path);

  /// Remembers the footer of `path`. A footer larger than the capacity is not
  /// kept. Thread-safe.
  void Put(const std::string& path, std::shared_ptr<parquet::FileMetaData> metadata);

  /// Lookups answered from the cache / not, since construction.
  int64_t hits() const;
  int64_t misses() const;
  /// Footers held and their serialized bytes.
  int64_t entries() const;
  int64_t bytes() const;

 private:
  struct Entry {
    std::string path;
    std::shared_ptr<parquet::FileMetaData> metadata;
    int64_t bytes;
  };
  mutable std::mutex mu_;
  int64_t capacity_;
  int64_t bytes_ = 0, hits_ = 0, misses_ = 0;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace bazof::read

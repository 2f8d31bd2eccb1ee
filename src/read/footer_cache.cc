#include "read/footer_cache.h"

#include <algorithm>

namespace bazof::read {

std::shared_ptr<parquet::FileMetaData> FooterCache::Get(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(path);
  if (it == index_.end()) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->metadata;
}

void FooterCache::Put(const std::string& path, std::shared_ptr<parquet::FileMetaData> metadata) {
  if (!metadata) return;
  // The serialized footer's size; the parsed form is a small multiple of it.
  const int64_t size = std::max<int64_t>(1, metadata->size());
  std::lock_guard<std::mutex> lock(mu_);
  if (size > capacity_) return;
  if (auto it = index_.find(path); it != index_.end()) {
    bytes_ -= it->second->bytes;
    lru_.erase(it->second);
    index_.erase(it);
  }
  lru_.push_front(Entry{path, std::move(metadata), size});
  index_[path] = lru_.begin();
  bytes_ += size;
  while (bytes_ > capacity_ && !lru_.empty()) {
    bytes_ -= lru_.back().bytes;
    index_.erase(lru_.back().path);
    lru_.pop_back();
  }
}

int64_t FooterCache::hits() const {
  std::lock_guard<std::mutex> lock(mu_);
  return hits_;
}
int64_t FooterCache::misses() const {
  std::lock_guard<std::mutex> lock(mu_);
  return misses_;
}
int64_t FooterCache::entries() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(index_.size());
}
int64_t FooterCache::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

}  // namespace bazof::read

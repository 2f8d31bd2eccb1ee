#include "read/recycling_pool.h"

#include <arrow/status.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

namespace bazof::read {
namespace {

constexpr int64_t kMinRecycled = 32 * 1024;
constexpr int64_t kMaxCachedBytes = 64 * 1024 * 1024;
std::atomic<int64_t> g_cache_limit{kMaxCachedBytes};
constexpr int kClasses = 4 * 48;  // 4 classes per power of two, up to 2^48

class RecyclingMemoryPool final : public arrow::MemoryPool {
 public:
  explicit RecyclingMemoryPool(arrow::MemoryPool* base) : base_(base), free_(kClasses) {}

  arrow::Status Allocate(int64_t size, int64_t alignment, uint8_t** out) override {
    const int c = ClassOf(size, alignment);
    if (c < 0) return Counted(base_->Allocate(size, alignment, out), size);
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto& list = free_[c];
      if (!list.empty()) {
        *out = list.back();
        list.pop_back();
        cached_bytes_ -= ClassSize(c);
        return Counted(arrow::Status::OK(), size);
      }
    }
    return Counted(base_->Allocate(ClassSize(c), alignment, out), size);
  }

  arrow::Status Reallocate(int64_t old_size, int64_t new_size, int64_t alignment, uint8_t** ptr) override {
    const int old_class = ClassOf(old_size, alignment);
    const int new_class = ClassOf(new_size, alignment);
    if (old_class < 0 && new_class < 0) {
      ARROW_RETURN_NOT_OK(base_->Reallocate(old_size, new_size, alignment, ptr));
      allocated_ += new_size - old_size;
      return arrow::Status::OK();
    }
    if (old_class == new_class) {  // the block already holds new_size
      allocated_ += new_size - old_size;
      return arrow::Status::OK();
    }
    uint8_t* fresh = nullptr;
    ARROW_RETURN_NOT_OK(Allocate(new_size, alignment, &fresh));
    std::memcpy(fresh, *ptr, static_cast<size_t>(std::min(old_size, new_size)));
    Free(*ptr, old_size, alignment);
    *ptr = fresh;
    return arrow::Status::OK();
  }

  void Free(uint8_t* buffer, int64_t size, int64_t alignment) override {
    allocated_ -= size;
    const int c = ClassOf(size, alignment);
    if (c < 0) {
      base_->Free(buffer, size, alignment);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (cached_bytes_ + ClassSize(c) <= g_cache_limit.load(std::memory_order_relaxed)) {
        free_[c].push_back(buffer);
        cached_bytes_ += ClassSize(c);
        return;
      }
    }
    base_->Free(buffer, ClassSize(c), alignment);
  }

  // Frees cached blocks until at most `limit` bytes are kept.
  void Trim(int64_t limit) {
    std::lock_guard<std::mutex> lock(mu_);
    for (int c = kClasses - 1; c >= 0 && cached_bytes_ > limit; --c) {
      auto& list = free_[c];
      while (!list.empty() && cached_bytes_ > limit) {
        base_->Free(list.back(), ClassSize(c), arrow::kDefaultBufferAlignment);
        list.pop_back();
        cached_bytes_ -= ClassSize(c);
      }
    }
  }

  int64_t bytes_allocated() const override { return allocated_.load(); }
  int64_t max_memory() const override { return base_->max_memory(); }
  int64_t total_bytes_allocated() const override { return base_->total_bytes_allocated(); }
  int64_t num_allocations() const override { return base_->num_allocations(); }
  std::string backend_name() const override { return base_->backend_name(); }

 private:
  // Size class of a block (-1: not recycled): 4 classes per power of two.
  static int ClassOf(int64_t size, int64_t alignment) {
    if (size < kMinRecycled || alignment != arrow::kDefaultBufferAlignment) return -1;
    const int log = 63 - std::countl_zero(static_cast<uint64_t>(size - 1));  // 2^log < size <= 2^(log+1)
    const int64_t quarter = int64_t{1} << (log - 2);
    const int64_t steps = (size - (int64_t{1} << log) + quarter - 1) / quarter;  // 1..4
    const int c = log * 4 + static_cast<int>(steps) - 1;
    return c < kClasses ? c : -1;
  }
  static int64_t ClassSize(int c) {
    const int log = c / 4;
    return (int64_t{1} << log) + (c % 4 + 1) * (int64_t{1} << (log - 2));
  }
  arrow::Status Counted(arrow::Status st, int64_t size) {
    if (st.ok()) allocated_ += size;
    return st;
  }

  arrow::MemoryPool* base_;
  std::mutex mu_;
  std::vector<std::vector<uint8_t*>> free_;
  int64_t cached_bytes_ = 0;
  std::atomic<int64_t> allocated_{0};
};

// mimalloc (the pyarrow wheel's default pool) hands the pages of freed
// blocks back to the kernel and takes fresh ones, which the kernel zeroes
// (as transparent huge pages: 2 MiB per fault): measured on W1 intervals (10M
// rows, 2 threads), the kernel clearing pages was 36-45% of the CPU samples
// and the read path cost 25% more CPU than over glibc's malloc, which keeps
// freed memory in its heaps (bench/results/RESULTS.md, "Intervals: the read
// path's allocator"). So the read path allocates from the system allocator
// when the process's default pool is mimalloc, and from the default pool
// otherwise (the CLI's is already the system allocator, §22).
arrow::MemoryPool* BasePool() {
  arrow::MemoryPool* d = arrow::default_memory_pool();
  return d->backend_name() == "mimalloc" ? arrow::system_memory_pool() : d;
}

}  // namespace

arrow::MemoryPool* RecyclingBasePool() {
  static arrow::MemoryPool* base = BasePool();
  return base;
}

namespace {

RecyclingMemoryPool* ThePool() {
  static auto* pool = new RecyclingMemoryPool(RecyclingBasePool());
  return pool;
}

}  // namespace

arrow::MemoryPool* RecyclingPool() { return ThePool(); }

void SetRecyclingCacheLimit(int64_t bytes) {
  g_cache_limit.store(std::max<int64_t>(0, std::min(bytes, kMaxCachedBytes)));
  ThePool()->Trim(g_cache_limit.load());
}

}  // namespace bazof::read

// A memory pool for the read path that keeps recently freed large blocks for
// reuse instead of handing them back to the allocator.
//
// Why: a scan decodes and assembles the same buffer sizes batch after batch.
// Arrow's default allocator (mimalloc in the pyarrow wheel) returns freed
// pages to the kernel after a few milliseconds, so each batch faulted its
// buffers in again and the kernel zeroed them: measured on W1 intervals, a
// quarter of the CPU time was the kernel clearing pages. Reusing blocks keeps
// them mapped; blocks beyond the cache come from glibc's malloc instead of
// mimalloc (RecyclingBasePool) for the same reason.
#pragma once

#include <arrow/memory_pool.h>

#include <cstddef>
#include <new>
#include <vector>

namespace bazof::read {

/// The process-wide recycling pool over RecyclingBasePool(). Blocks
/// of at least 32 KiB with the default alignment are rounded up to a size
/// class and, when freed, kept (up to 64 MiB in all) for the next allocation
/// of that class; everything else goes straight to the default pool.
/// Thread-safe; never destroyed (buffers handed to callers may outlive any
/// reader).
arrow::MemoryPool* RecyclingPool();

/// Where the recycling pool's blocks come from: arrow::default_memory_pool(),
/// or arrow::system_memory_pool() when the default is mimalloc (which gives
/// freed pages back and faults fresh zeroed ones in for every batch).
arrow::MemoryPool* RecyclingBasePool();

/// Caps the bytes of freed blocks the recycling pool keeps (default 64 MiB):
/// a memory budget smaller than a few times that lowers it
/// (util/memory_budget.h). Blocks already cached beyond it are released.
void SetRecyclingCacheLimit(int64_t bytes);

/// A standard allocator over RecyclingPool(), for the per-batch vectors of
/// the read path (encoded key views, event times): glibc's malloc gives such
/// blocks back to the kernel on free (trimming the heap top or unmapping),
/// so each batch faulted them in again and the kernel zeroed them. Throws
/// std::bad_alloc when the pool fails, as std::allocator does.
template <typename T>
struct RecyclingAllocator {
  using value_type = T;
  RecyclingAllocator() = default;
  template <typename U>
  RecyclingAllocator(const RecyclingAllocator<U>&) {}  // NOLINT: allocator rebinding
  T* allocate(std::size_t n) {
    uint8_t* p = nullptr;
    if (!RecyclingPool()->Allocate(static_cast<int64_t>(n * sizeof(T)), &p).ok()) throw std::bad_alloc();
    return reinterpret_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t n) {
    RecyclingPool()->Free(reinterpret_cast<uint8_t*>(p), static_cast<int64_t>(n * sizeof(T)));
  }
  template <typename U>
  bool operator==(const RecyclingAllocator<U>&) const { return true; }
};

/// A std::vector whose block comes from RecyclingPool().
template <typename T>
using RecycledVector = std::vector<T, RecyclingAllocator<T>>;

}  // namespace bazof::read

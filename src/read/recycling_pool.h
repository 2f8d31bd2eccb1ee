// A memory pool for the read path that keeps recently freed large blocks for
// reuse instead of handing them back to the allocator.
//
// Why: a scan decodes and assembles the same buffer sizes batch after batch.
// Arrow's default allocator (mimalloc in the pyarrow wheel) returns freed
// pages to the kernel after a few milliseconds, so each batch faulted its
// buffers in again and the kernel zeroed them: measured on W1 intervals, a
// quarter of the CPU time was the kernel clearing pages. Reusing blocks keeps
// them mapped.
#pragma once

#include <arrow/memory_pool.h>

namespace bazof::read {

/// The process-wide recycling pool over arrow::default_memory_pool(). Blocks
/// of at least 32 KiB with the default alignment are rounded up to a size
/// class and, when freed, kept (up to 64 MiB in all) for the next allocation
/// of that class; everything else goes straight to the default pool.
/// Thread-safe; never destroyed (buffers handed to callers may outlive any
/// reader).
arrow::MemoryPool* RecyclingPool();

/// Caps the bytes of freed blocks the recycling pool keeps (default 64 MiB):
/// a memory budget smaller than a few times that lowers it
/// (util/memory_budget.h). Blocks already cached beyond it are released.
void SetRecyclingCacheLimit(int64_t bytes);

}  // namespace bazof::read

// The memory budget of an operation (docs/spec.md §"Memory budget"): one
// limit, from --memory-limit / an option or the table's memory.limit
// property, shared by the merge, the run readers and the writers.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace bazof {

/// The documented smallest budget of every operation (scan, compact, join,
/// append; docs/spec.md §22): 32 MiB. Below it the budget cannot be kept
/// anyway: a merge holds a batch per run and thread, and every writer
/// (compaction's, an append's) buffers a Parquet row group's encoded pages
/// of several MiB on top of what the budget divides.
inline constexpr int64_t kMinMemoryLimit = 32LL << 20;
/// The budget when neither an option nor memory.limit sets one (512 MiB).
inline constexpr int64_t kDefaultMemoryLimit = 512LL << 20;

/// kMinMemoryLimit, unless the environment variable
/// BAZOF_MEMORY_LIMIT_MINIMUM (a positive byte size) lowers it: for tests
/// that prove the budget on small tables in seconds, and the append tests
/// that force dozens of spilled runs from kilobytes of input. It never
/// raises the minimum; a malformed value is ignored.
int64_t MinimumMemoryLimit();

/// The budget an operation on a table with `properties` runs under:
/// `option` when > 0, else the memory.limit property, else
/// kDefaultMemoryLimit. kInvalidArgument naming `what` when `option` is
/// negative or the budget is below MinimumMemoryLimit(); kCorruption when the
/// stored property does not parse.
arrow::Result<int64_t> ResolveMemoryLimit(int64_t option, const std::map<std::string, std::string>& properties,
                                          std::string_view what);

/// Checks one budget value against the minimum (kInvalidArgument naming `what`).
arrow::Status CheckMemoryLimit(int64_t bytes, std::string_view what);

/// A budget given as text ("512MiB", "2GiB", "1GB", bytes), checked against
/// the minimum: the one parse of --memory-limit (CLI), memory_limit (Python)
/// and "memory_limit" (C API). kInvalidArgument naming `what`.
arrow::Result<int64_t> ParseMemoryLimit(std::string_view text, std::string_view what);

/// The peak of bytes allocated from Arrow's default memory pool by this
/// process so far, plus the read path's own allocator's peak when that is
/// another one (read/recycling_pool.h: under mimalloc the read path allocates
/// from the system allocator): the accounting the budget is measured by.
int64_t PeakMemoryBytes();

/// Gives the memory the C heap (glibc's malloc_trim) and Arrow's default
/// pool (ReleaseUnused) hold free back to the system: after a phase that
/// freed much, before the next allocates its own (otherwise the heap keeps
/// the first phase's pages and peak RSS is the sum of both).
void ReleaseFreedMemory();

/// Sets the cap of the read path's recycled-block cache (read/recycling_pool.h)
/// to fit `budget`: an eighth of it, at most 64 MiB.
void FitCachesToBudget(int64_t budget);

}  // namespace bazof

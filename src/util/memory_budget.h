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

/// The documented smallest budget an operation accepts (32 MiB).
inline constexpr int64_t kMinMemoryLimit = 32LL << 20;
/// The budget when neither an option nor memory.limit sets one (512 MiB).
inline constexpr int64_t kDefaultMemoryLimit = 512LL << 20;

/// kMinMemoryLimit, unless the environment variable
/// BAZOF_MEMORY_LIMIT_MINIMUM (a byte size) lowers it: for tests that prove
/// the budget on small tables in seconds.
int64_t MinimumMemoryLimit();

/// The budget an operation on a table with `properties` runs under:
/// `option` when > 0, else the memory.limit property, else
/// kDefaultMemoryLimit. kInvalidArgument naming `what` when below
/// MinimumMemoryLimit(); kCorruption when the stored property does not parse.
arrow::Result<int64_t> ResolveMemoryLimit(int64_t option, const std::map<std::string, std::string>& properties,
                                          std::string_view what);

/// Checks one budget value against the minimum (kInvalidArgument naming `what`).
arrow::Status CheckMemoryLimit(int64_t bytes, std::string_view what);

/// The peak of bytes allocated from Arrow's default memory pool by this
/// process so far (every bazof buffer comes from it): the accounting the
/// budget is measured by.
int64_t PeakMemoryBytes();

/// Sets the cap of the read path's recycled-block cache (read/recycling_pool.h)
/// to fit `budget`: an eighth of it, at most 64 MiB.
void FitCachesToBudget(int64_t budget);

}  // namespace bazof

#include "util/memory_budget.h"

#include <arrow/memory_pool.h>

#include <algorithm>
#include <cstdlib>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "bazof/error.h"
#include "read/recycling_pool.h"
#include "util/byte_size.h"

namespace bazof {
namespace {

std::string Mib(int64_t bytes) {
  if (bytes % (1 << 20) == 0) return std::to_string(bytes >> 20) + "MiB";
  return std::to_string(bytes) + " bytes";
}

}  // namespace

int64_t MinimumMemoryLimit() {
  if (const char* env = std::getenv("BAZOF_MEMORY_LIMIT_MINIMUM"); env && *env) {
    auto v = ParseByteSize(env);
    if (v.ok() && *v > 0) return std::min(*v, kMinMemoryLimit);
  }
  return kMinMemoryLimit;
}

arrow::Status CheckMemoryLimit(int64_t bytes, std::string_view what) {
  const int64_t min = MinimumMemoryLimit();
  if (bytes < min) {
    return InvalidArgument(std::string(what), ": memory limit ", Mib(bytes), " is below the minimum ", Mib(min),
                           " (bazof needs at least that much to merge and write)");
  }
  return arrow::Status::OK();
}

arrow::Result<int64_t> ResolveMemoryLimit(int64_t option, const std::map<std::string, std::string>& properties,
                                          std::string_view what) {
  if (option < 0) return InvalidArgument(std::string(what), ": memory limit ", option, " is negative");
  int64_t limit = kDefaultMemoryLimit;
  if (option > 0) {
    limit = option;
  } else if (auto it = properties.find("memory.limit"); it != properties.end()) {
    auto parsed = ParseByteSize(it->second);
    if (!parsed.ok()) return Corruption(std::string(what), ": table property memory.limit: ", parsed.status().message());
    limit = *parsed;
  }
  ARROW_RETURN_NOT_OK(CheckMemoryLimit(limit, what));
  return limit;
}

arrow::Result<int64_t> ParseMemoryLimit(std::string_view text, std::string_view what) {
  auto bytes = ParseByteSize(std::string(text));
  if (!bytes.ok()) return InvalidArgument(std::string(what), ": ", bytes.status().message());
  ARROW_RETURN_NOT_OK(CheckMemoryLimit(*bytes, what));
  return *bytes;
}

int64_t PeakMemoryBytes() {
  arrow::MemoryPool* d = arrow::default_memory_pool();
  arrow::MemoryPool* reads = read::RecyclingBasePool();
  // The read path may allocate from another allocator than the default pool:
  // both peaks, summed (an upper bound of the joint peak).
  return d->max_memory() + (reads == d ? 0 : reads->max_memory());
}

void FitCachesToBudget(int64_t budget) {
  read::SetRecyclingCacheLimit(std::min<int64_t>(64LL << 20, budget / 8));
}

void ReleaseFreedMemory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
  arrow::default_memory_pool()->ReleaseUnused();
}

}  // namespace bazof

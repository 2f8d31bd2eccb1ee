// Arrow >= 21 registers its compute functions only on request; every bazof
// entry point that may use them calls this first (cheap after the first call).
#pragma once

#include <arrow/status.h>

namespace bazof::internal {

arrow::Status EnsureComputeInitialized();

}  // namespace bazof::internal
